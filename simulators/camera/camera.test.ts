import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CameraRegistrySchema, type Zone } from '../../vision/cameras/config.js';
import { ConfigError } from '../../runtime/config.js';
import { parseSeedList, writeDataset, yoloLabels } from './dataset.js';
import { createScenario, groundPoint } from './index.js';
import { LAYOUT_FAMILIES, pointInPolygon } from './layout.js';
import { SceneRenderer } from './render.js';
import { makeScenario } from './scenario.js';

const zoneOf = (zones: Zone[], id: string | null) => zones.find((z) => z.id === id);

describe('camera simulator', () => {
  it('renders the same bytes and truth for the same seed, in any order', async () => {
    const a = createScenario(11, { durationS: 120 });
    const b = createScenario(11, { durationS: 120 });
    expect(b.truth).toEqual(a.truth);
    expect(b.camera).toEqual(a.camera);
    const fa = await a.frame(40);
    await b.frame(90); // warms other sprites first: caches must not change the output
    const fb = await b.frame(40);
    expect(fb.jpeg.equals(fa.jpeg)).toBe(true);
    expect(fb.boxes).toEqual(fa.boxes);
    expect(fa.jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
    // A live feed passes its own start time: the registry entry must not depend on it.
    const t = Date.parse('2026-06-01T09:00:00+08:00');
    expect(createScenario(11, { startTs: t }).camera).toEqual(
      createScenario(11, { startTs: t + 13 * 3_600_000 }).camera,
    );
  });

  it('differs between seeds', async () => {
    const a = createScenario(21, { durationS: 60 });
    const b = createScenario(22, { durationS: 60 });
    expect(b.camera.zones).not.toEqual(a.camera.zones);
    expect((await b.frame(10)).jpeg.equals((await a.frame(10)).jpeg)).toBe(false);
  });

  it('emits camera entries that validate as a registry, with zones inside the frame', () => {
    for (let seed = 0; seed < 40; seed++) {
      const s = makeScenario(seed, { family: seed % LAYOUT_FAMILIES.length, durationS: 60 });
      const reg = CameraRegistrySchema.safeParse({ timeZone: 'Asia/Shanghai', cameras: [s.camera] });
      expect(reg.success, JSON.stringify(reg.error?.issues)).toBe(true);
      const c = s.camera;
      expect(c.zones.filter((z) => z.type === 'no-parking').length).toBeGreaterThanOrEqual(1);
      expect(c.zones.filter((z) => z.type === 'storefront').length).toBeGreaterThanOrEqual(1);
      for (const z of c.zones) {
        const pts = z.type === 'no-parking' ? z.polygon : [...z.sidewalk, ...z.storeLine];
        for (const [x, y] of pts) {
          expect(x).toBeGreaterThanOrEqual(0);
          expect(y).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(c.width);
          expect(y).toBeLessThanOrEqual(c.height);
        }
      }
    }
  });

  it('keeps every violating object in its zone for its whole interval, and brief stops below the dwell', async () => {
    let violations = 0;
    let outsideWindow = 0;
    for (const seed of [3, 4, 5, 6, 8, 30, 31]) {
      const s = makeScenario(seed);
      const r = new SceneRenderer(s);
      const zones = s.camera.zones;
      for (const v of s.truth.violations) {
        violations++;
        const z = zoneOf(zones, v.zoneId)!;
        expect(z, v.zoneId).toBeDefined();
        const dwellMs = z.dwellS * 1000;
        expect(v.to - v.from).toBeGreaterThanOrEqual(dwellMs);
        expect(v.thresholdAt).toBeGreaterThanOrEqual(v.from + dwellMs);
        expect(v.thresholdAt).toBeLessThanOrEqual(v.to);
        const poly = z.type === 'no-parking' ? z.polygon : z.sidewalk;
        for (let ts = v.from; ts <= v.to; ts += s.frameMs) {
          const o = await r.objectBox(v.objectId, ts - s.startTs);
          expect(o, `${v.objectId} at ${ts}`).not.toBeNull();
          expect(o!.stationary).toBe(true);
          expect(pointInPolygon(groundPoint(o!.full), poly), `${v.objectId} in ${v.zoneId} at ${ts}`).toBe(true);
        }
        if (v.type === 'illegal-parking') expect(v.plate).toMatch(/^.[A-Z]·[0-9A-Z]{5,6}$/);
      }
      for (const n of s.truth.nonViolations) {
        const z = zoneOf(zones, n.zoneId);
        const o = await r.objectBox(n.objectId, Math.round((n.from + n.to) / 2 / s.frameMs) * s.frameMs - s.startTs);
        const g = o ? groundPoint(o.full) : null;
        if (n.reason === 'brief-stop' || n.reason === 'brief-put-out') {
          expect(n.to - n.from).toBeLessThan(z!.dwellS * 1000);
        }
        if (n.reason === 'outside-window') {
          outsideWindow++;
          expect(n.dwellInWindowS).toBeLessThan(z!.dwellS);
          expect(n.to - n.from).toBeGreaterThanOrEqual(z!.dwellS * 1000);
        }
        if (n.reason === 'legal-bay') {
          for (const np of zones) if (np.type === 'no-parking') expect(pointInPolygon(g!, np.polygon)).toBe(false);
        }
        if (n.reason === 'inside-store-line' && z?.type === 'storefront')
          expect(pointInPolygon(g!, z.sidewalk)).toBe(false);
      }
    }
    expect(violations).toBeGreaterThan(5);
    expect(outsideWindow).toBeGreaterThan(0);
  });

  it('reports visible boxes clipped to the frame and legible plates on parked cars', async () => {
    const sim = createScenario(5);
    const v = sim.truth.violations.find((x) => x.type === 'illegal-parking')!;
    const seq = Math.round((v.from + 20_000 - sim.startTs) / sim.scenario.frameMs);
    const f = await sim.frame(seq);
    for (const b of f.boxes) {
      const [x1, y1, x2, y2] = b.box;
      expect(x1).toBeGreaterThanOrEqual(0);
      expect(y1).toBeGreaterThanOrEqual(0);
      expect(x2).toBeLessThanOrEqual(f.boxes.length ? 1280 : 0);
      expect(y2).toBeLessThanOrEqual(720);
      expect(b.visible).toBeGreaterThanOrEqual(0);
      expect(b.visible).toBeLessThanOrEqual(1);
      expect(b.ignore).toBe(b.visible < 0.3 || x2 - x1 < 6 || y2 - y1 < 6);
    }
    const car = f.boxes.find((b) => b.objectId === v.objectId)!;
    expect(car.plate).toBe(v.plate);
    const [px1, py1, px2, py2] = car.plateBox!;
    expect(px2 - px1).toBeGreaterThanOrEqual(70);
    expect(py2 - py1).toBeGreaterThanOrEqual(22);
  });

  it('writes a YOLO dataset split by seed and keeps evaluation seeds out', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-'));
    try {
      const sum = await writeDataset({
        out,
        seeds: [1, 2],
        framesPerSeed: 2,
        valFraction: 0.5,
        width: 640,
        height: 360,
      });
      expect(sum.seeds).toEqual({ train: [1], val: [2] });
      expect(fs.readdirSync(path.join(out, 'images', 'train'))).toHaveLength(2);
      expect(fs.readdirSync(path.join(out, 'labels', 'val'))).toHaveLength(2);
      expect(fs.readFileSync(path.join(out, 'data.yaml'), 'utf8')).toMatch(
        /names:\n {2}0: vehicle\n {2}1: stall\n {2}2: person/,
      );
      for (const f of fs.readdirSync(path.join(out, 'labels', 'train'))) {
        for (const line of fs
          .readFileSync(path.join(out, 'labels', 'train', f), 'utf8')
          .split('\n')
          .filter(Boolean)) {
          const [c, ...v] = line.split(' ').map(Number);
          expect([0, 1, 2]).toContain(c);
          for (const x of v) expect(x >= 0 && x <= 1).toBe(true);
        }
      }
      await expect(writeDataset({ out, seeds: [10_001] })).rejects.toThrow(ConfigError);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('parses seed lists and writes normalised label lines', () => {
    expect(parseSeedList('1-3,7')).toEqual([1, 2, 3, 7]);
    expect(() => parseSeedList('3-1')).toThrow(ConfigError);
    expect(() => parseSeedList('a')).toThrow(ConfigError);
    const lines = yoloLabels(
      [
        {
          objectId: 'a',
          cls: 'stall',
          kind: 'table',
          box: [100, 100, 200, 150],
          full: [100, 100, 200, 150],
          visible: 1,
          ignore: false,
          stationary: true,
        },
        {
          objectId: 'b',
          cls: 'person',
          kind: 'walking',
          box: [0, 0, 10, 30],
          full: [0, 0, 10, 90],
          visible: 0.2,
          ignore: true,
          stationary: false,
        },
      ],
      1000,
      500,
      { minVisible: 0.3, minPx: 3 },
    );
    expect(lines).toEqual(['1 0.150000 0.250000 0.100000 0.100000']);
  });
});
