// The live scene: objects put out and taken away on command, on the scene's wall-clock timeline; its camera entry
// enforces at all hours with the dwell asked for. Checked on the truth boxes (no detector).
import { describe, expect, it } from 'vitest';
import { CameraRegistrySchema } from '../../vision/cameras/config.js';
import { pointInPolygon } from './layout.js';
import { createLiveScene, groundPoint } from './index.js';

describe('live scene', () => {
  it('shows a stall on the sidewalk from when it is put out until it is removed, and nothing else', async () => {
    const t0 = Date.parse('2026-06-01T12:00:00+08:00');
    const sc = createLiveScene(10_012, { startTs: t0, dwellS: 3, publishedAt: '2026-01-01' });
    expect(CameraRegistrySchema.parse(sc.registry).cameras[0]!.id).toBe(sc.camera.id);
    expect(sc.camera.publishedAt).toBe('2026-01-01');
    for (const z of sc.camera.zones) {
      expect(z.dwellS).toBe(3);
      expect(z.type === 'no-parking' ? z.windows : z.businessHours).toEqual([{ from: '00:00', to: '24:00' }]);
    }
    expect((await sc.frameAt(t0)).boxes).toEqual([]);
    const zoneId = sc.storefrontZones[1]!;
    const id = sc.putStall({ zoneId, at: t0 + 2000 });
    expect((await sc.frameAt(t0 + 1000)).boxes).toEqual([]);
    const f = await sc.frameAt(t0 + 2500);
    expect(f.boxes.map((b) => [b.objectId, b.cls])).toEqual([[id, 'stall']]);
    const zone = sc.camera.zones.find((z) => z.id === zoneId)!;
    if (zone.type !== 'storefront') throw new Error('not a storefront');
    expect(pointInPolygon(groundPoint(f.boxes[0]!.box), zone.sidewalk)).toBe(true);
    expect(await sc.boxOf(id, t0 + 60_000)).not.toBeNull();

    sc.remove(id, t0 + 90_000);
    expect((await sc.frameAt(t0 + 89_000)).boxes).toHaveLength(1);
    expect((await sc.frameAt(t0 + 90_000)).boxes).toEqual([]);
    expect(await sc.boxOf(id, t0 + 95_000)).toBeNull();
    expect(sc.objects()).toEqual([{ id, cls: 'stall', zoneId, from: t0 + 2000, removedAt: t0 + 90_000 }]);
  });

  it('parks a vehicle inside a no-parking zone, and refuses unknown zones, objects and times before the start', async () => {
    const t0 = Date.parse('2026-06-01T12:00:00+08:00');
    const sc = createLiveScene(10_013, { startTs: t0 });
    const id = sc.parkVehicle({ at: t0 });
    const f = await sc.frameAt(t0 + 1000);
    expect(f.boxes.map((b) => b.objectId)).toEqual([id]);
    const zone = sc.camera.zones.find((z) => z.id === sc.noParkingZones[0])!;
    if (zone.type !== 'no-parking') throw new Error('not a no-parking zone');
    expect(pointInPolygon(groundPoint(f.boxes[0]!.box), zone.polygon)).toBe(true);
    expect(() => sc.putStall({ zoneId: 'sf-99' })).toThrow(/no storefront zone "sf-99"/);
    expect(() => sc.parkVehicle({ zoneId: 'sf-1' })).toThrow(/no no-parking zone "sf-1"/);
    expect(() => sc.remove('nothing')).toThrow(/no object "nothing"/);
    expect(() => sc.putStall({ at: t0 - 1 })).toThrow(/before the scene's start/);
    expect(() => sc.putStall({ place: 2 })).toThrow(/0\.\.1/);
    expect(() => createLiveScene(1, { dwellS: 0 })).toThrow(/dwellS/);
  });
});
