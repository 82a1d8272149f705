// A camera registered in the console, on the whole platform as `npm start` runs it (the embedded default, no camera in
// CAMERAS_FILE): the vision worker runs without file cameras and takes the console camera and its zone live; the
// event it raises is confirmed by a reviewer, and the notify loop judges the camera by its console entry (published
// long ago: it enforces, so the unknown keeper's event becomes a case), not as an unknown, unpublished camera.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedLiveScene, type LiveFeed } from '../app/camera-feed.js';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { silentLogger } from '../runtime/log.js';
import { createLiveScene } from '../simulators/camera/live.js';
import { ADMIN_PASSWORD, signIn, tmpDir, waitFor, type ApiCall } from './helpers.js';

const scene = createLiveScene(7201, { dwellS: 3, fps: 2, startTs: Date.now() - 1000 });
const dataDir = tmpDir('console-cameras-e2e');
let p: Platform;
let admin: ApiCall;
let feed: LiveFeed;

beforeAll(async () => {
  fs.writeFileSync(path.join(dataDir, 'cameras.json'), JSON.stringify({ timeZone: 'Asia/Shanghai', cameras: [] }));
  const shipped = JSON.parse(fs.readFileSync('config/notices.json', 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(
    path.join(dataDir, 'notices.json'),
    JSON.stringify({ ...shipped, graceS: { ...(shipped.graceS as object), 'illegal-parking': 5 } }),
  );
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: 'off',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    SIMULATE: '0',
    PLATES: '0',
    ADMIN_PASSWORD,
    CAMERAS_FILE: path.join(dataDir, 'cameras.json'),
    NOTICES_FILE: path.join(dataDir, 'notices.json'),
  });
  p = await startPlatform(cfg, silentLogger);
  admin = await signIn(p.apiUrl);
}, 120_000);

afterAll(async () => {
  await feed?.stop();
  await p?.stop();
});

describe('a console camera on the platform', () => {
  it('is enforced by the worker and the notify loop from its console entry', async () => {
    const cam = scene.camera;
    const created = await admin('/api/cameras', {
      id: cam.id,
      district: cam.district,
      place: cam.postedLocation,
      gridCell: '320582008024372',
      location: cam.location,
      width: cam.width,
      height: cam.height,
      fps: 2,
      publishedAt: '2020-01-01',
      // Frames come from the scene below, onto the bus; the source is only where the embedded gateway would look.
      source: { type: 'snapshot', url: 'http://127.0.0.1:9/none.jpg', intervalMs: 60_000 },
    });
    expect(created.status).toBe(201);
    const np = cam.zones.find((z) => z.type === 'no-parking')!;
    expect((await admin(`/api/cameras/${cam.id}/zones`, { zones: [np] }, 'PUT')).status).toBe(200);
    scene.parkVehicle({ zoneId: np.id, kind: 'sedan' });
    feed = feedLiveScene({ scene, bus: p.bus, logger: silentLogger });

    let event: { id: string; camera: { id: string }; zone: { id: string } } | undefined;
    expect(
      await waitFor(
        async () => {
          const r = await admin('/api/events?limit=100');
          event = (r.body.items as (typeof event)[]).find((e) => e!.camera.id === cam.id);
          return !!event;
        },
        60_000,
        500,
      ),
    ).toBe(true);
    expect(event!.zone.id).toBe(np.id);
    expect((await admin(`/api/events/${encodeURIComponent(event!.id)}/review`, { decision: 'confirm' })).status).toBe(
      200,
    );
    let notice: Record<string, unknown> | null = null;
    expect(
      await waitFor(
        async () => {
          const r = await admin(`/api/notices/${encodeURIComponent(event!.id)}`);
          notice = r.status === 200 ? r.body : null;
          return notice !== null;
        },
        20_000,
        300,
      ),
    ).toBe(true);
    expect(notice!).not.toMatchObject({ status: 'not-enforcing' });
    expect(notice!).toMatchObject({ status: 'case', reason: 'no-contact' });
  }, 120_000);
});
