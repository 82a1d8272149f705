// /api/cameras over the real users, sessions and guard, the camera store on disk and the in-process bus: admins only;
// a camera with credentials that are never answered nor logged; bad input refused with the field named; zones checked
// (crossing edges, points outside the frame) with the zone's path; every change in the audit trail with who made it;
// each change on bus topic "cameras" for the workers; the latest frame served for the editor; kept across a restart.
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { encodeBusFrame, type DeadLetter } from '../contracts/index.js';
import { captureLogger, signIn, tmpDir, waitFor, type ApiCall } from '../test/helpers.js';
import { authPlugin, startUsers, type Users } from '../users/index.js';
import { CameraRegistrySchema } from '../vision/cameras/config.js';
import { ModelsConfigSchema } from '../vision/detectors/index.js';
import { CameraService, CameraStore, cameraRoutes } from './index.js';
import sharp from 'sharp';

const ADMIN = 'cameras-admin-password';
const SECRET = 'Cam3ra-S3cret!';
const dir = tmpDir('camera-routes');
const log = captureLogger();
const bus = new MemoryBus({ logger: log.logger });
const dead: DeadLetter[] = [];
const fileCamera = CameraRegistrySchema.parse({
  cameras: [
    {
      id: 'cam-file',
      district: 'xinhua',
      gridCell: '320582008024372',
      location: { lat: 31.5, lon: 120.1 },
      postedLocation: '文化路',
      width: 640,
      height: 360,
    },
  ],
}).cameras[0]!;
const models = ModelsConfigSchema.parse({
  default: 'city',
  models: [
    { name: 'city', path: 'x.onnx', family: 'yolo' },
    { name: 'wide', path: 'x.onnx', family: 'yolo', inputWidth: 640, inputHeight: 384 },
  ],
});

let app: FastifyInstance;
let store: CameraStore;
let service: CameraService;
let users: Users;
let closeUsers: () => Promise<void>;
let admin: ApiCall;
let url: string;
const published: { cameras: { id: string; zones: { id: string }[] }[] }[] = [];

const camera = (o: Record<string, unknown> = {}) => ({
  id: 'cam-wenhua-01',
  district: 'xinhua',
  place: '文化路390号北侧',
  gridCell: '320582008024372',
  location: { lat: 31.51769, lon: 120.15745 },
  width: 1280,
  height: 720,
  fps: 1,
  source: { type: 'snapshot', url: 'http://192.0.2.10/ISAPI/Streaming/channels/101/picture' },
  credentials: { username: 'admin', password: SECRET },
  ...o,
});
const square = [
  [500, 400],
  [900, 400],
  [900, 600],
  [500, 600],
];

async function start() {
  store = await CameraStore.open(path.join(dir, 'cameras.duckdb'));
  service = await CameraService.open({
    store,
    fileCameras: [fileCamera],
    bus,
    audit: (e) => users.store.audit(e),
    deadLetters: { add: async (d) => void dead.push(...d) },
    logger: log.logger,
  });
  app = Fastify();
  await app.register(authPlugin, { users });
  await app.register(cameraRoutes, { cameras: service, models });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  admin = await signIn(url, 'admin', ADMIN);
}

async function stop() {
  await app.close();
  await service.close();
  await store.close();
}

beforeAll(async () => {
  const u = await startUsers({ dataDir: dir, logger: log.logger, adminPassword: ADMIN, kdf: { ln: 10, r: 8, p: 1 } });
  users = u.users;
  closeUsers = () => u.close();
  await users.create({ username: 'zhao.min', password: 'reviewer-password', role: 'reviewer' }, 'admin', '127.0.0.1');
  await bus.subscribe(
    'cameras',
    'test',
    async (b) => void published.push(...b.map((m) => JSON.parse(m.value.toString()) as (typeof published)[number])),
  );
  await start();
});

afterAll(async () => {
  await stop();
  await closeUsers();
  await bus.close();
});

describe('/api/cameras', () => {
  it('is for admins only', async () => {
    expect((await fetch(`${url}/api/cameras`)).status).toBe(401);
    const reviewer = await signIn(url, 'zhao.min', 'reviewer-password');
    expect((await reviewer('/api/cameras')).status).toBe(403);
    expect((await reviewer('/api/cameras', camera())).status).toBe(403);
    expect((await reviewer('/api/cameras/cam-file/frame')).status).toBe(403);
  });

  it('registers a camera; its credentials are stored apart and never answered nor logged', async () => {
    const r = await admin('/api/cameras', camera());
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      origin: 'console',
      hasCredentials: true,
      camera: {
        id: 'cam-wenhua-01',
        postedLocation: '文化路390号北侧',
        gridCell: '320582008024372',
        zones: [],
        masks: [],
      },
    });
    const list = await admin('/api/cameras');
    expect(
      (list.body.items as { camera: { id: string }; origin: string }[]).map((c) => [c.camera.id, c.origin]),
    ).toEqual([
      ['cam-file', 'file'],
      ['cam-wenhua-01', 'console'],
    ]);
    expect(JSON.stringify(list.body) + JSON.stringify(r.body)).not.toContain(SECRET);
    expect(await store.credentials('cam-wenhua-01')).toEqual({ username: 'admin', password: SECRET });
    expect(JSON.stringify(log.lines)).not.toContain(SECRET);
    const audit = (await users.store.listAudit()).find((a) => a.action === 'camera_created')!;
    expect(audit).toMatchObject({
      username: 'cam-wenhua-01',
      by: 'admin',
      ip: '127.0.0.1',
      detail: 'snapshot http://192.0.2.10/ISAPI/Streaming/channels/101/picture, with credentials',
    });
    expect(JSON.stringify(await users.store.listAudit())).not.toContain(SECRET);
    // The workers hear of it.
    expect(await waitFor(() => published.at(-1)?.cameras.some((c) => c.id === 'cam-wenhua-01') ?? false, 5000)).toBe(
      true,
    );
    // The models, with their input shapes, for the form.
    expect((await admin('/api/cameras/models')).body).toEqual({
      default: 'city',
      fixedCamera: null,
      items: [
        { name: 'city', family: 'yolo', input: null },
        { name: 'wide', family: 'yolo', input: { width: 640, height: 384 } },
      ],
    });
  });

  it('refuses bad settings with the field named, an id taken, and a camera of the file', async () => {
    const bad = async (body: unknown) => {
      const r = await admin('/api/cameras', body);
      expect(r.status).toBe(400);
      return r.body.message as string;
    };
    expect(await bad(camera({ id: 'cam-2', gridCell: '32058200802437' }))).toBe(
      'gridCell: a grid cell (单元网格) code is 15 digits',
    );
    expect(
      await bad(
        camera({ id: 'cam-2', source: { type: 'snapshot', url: `http://admin:${SECRET}@192.0.2.10/snap.jpg` } }),
      ),
    ).toBe('source.url: put the user name and password in the credentials fields, not in the URL');
    expect(await bad(camera({ id: 'cam-2', source: { type: 'files', dir: '/etc' } }))).toMatch(
      /^source\.type: a camera registered in the console reads snapshot or rtsp/,
    );
    expect(await bad(camera({ id: 'cam 2' }))).toMatch(/^id: only letters/);
    expect(JSON.stringify(log.lines)).not.toContain(SECRET);
    const taken = await admin('/api/cameras', camera());
    expect(taken.status).toBe(409);
    const file = await admin('/api/cameras', camera({ id: 'cam-file' }));
    expect([file.status, file.body.message]).toEqual([
      409,
      'camera "cam-file" is in the registry file (CAMERAS_FILE): change it there, or choose another id',
    ]);
    expect((await admin('/api/cameras/cam-file/zones', { zones: [] }, 'PUT')).status).toBe(409);
    expect((await admin('/api/cameras/nope/zones', { zones: [] }, 'PUT')).status).toBe(404);
  });

  it('checks zones on the server: crossing edges and points outside the frame, with the zone named', async () => {
    const put = (body: unknown) => admin('/api/cameras/cam-wenhua-01/zones', body, 'PUT');
    const bowTie = await put({
      zones: [
        {
          type: 'no-parking',
          id: 'np-1',
          name: '禁停区',
          polygon: [
            [500, 400],
            [900, 600],
            [900, 400],
            [500, 600],
          ],
        },
      ],
    });
    expect(bowTie.status).toBe(400);
    expect(bowTie.body.issues).toEqual([
      {
        path: ['zones', 0, 'polygon'],
        message: "the polygon's edges 1 and 3 cross each other: draw its points in order around the area",
      },
    ]);
    const outside = await put({
      zones: [
        {
          type: 'storefront',
          id: 'sf-1',
          name: '门前',
          storeLine: [
            [0, 300],
            [1400, 300],
          ],
          sidewalk: square,
        },
      ],
    });
    expect(outside.body.issues).toEqual([
      { path: ['zones', 0, 'storeLine'], message: 'point 1400,300 lies outside the 1280x720 frame' },
    ]);
    const window = await put({
      zones: [
        { type: 'no-parking', id: 'np-1', name: '禁停区', polygon: square, windows: [{ from: '07:00', to: '25:00' }] },
      ],
    });
    expect(window.body.issues).toEqual([
      { path: ['zones', 0, 'windows', 0, 'to'], message: 'times are "HH:MM", 00:00 to 24:00' },
    ]);
    expect((await admin('/api/cameras/cam-wenhua-01')).body).toMatchObject({ camera: { zones: [] } });
  });

  it('saves zones and masks, attributed in the audit trail, and publishes them to the workers', async () => {
    const body = {
      zones: [
        {
          type: 'no-parking',
          id: 'np-1',
          name: '文化路禁停区',
          polygon: square,
          windows: [{ from: '07:00', to: '22:00' }],
          dwellS: 120,
        },
        {
          type: 'storefront',
          id: 'sf-1',
          name: '包子铺门前',
          storeLine: [
            [0, 300],
            [146, 298],
          ],
          sidewalk: [
            [0, 300],
            [146, 298],
            [146, 390],
            [0, 391],
          ],
        },
      ],
      masks: [
        {
          id: 'm-1',
          polygon: [
            [0, 0],
            [300, 0],
            [300, 40],
            [0, 40],
          ],
        },
      ],
    };
    const r = await admin('/api/cameras/cam-wenhua-01/zones', body, 'PUT');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      camera: {
        zones: [
          { id: 'np-1', dwellS: 120, roles: ['vehicle'] },
          { id: 'sf-1', dwellS: 600 },
        ],
        masks: [{ id: 'm-1' }],
      },
    });
    expect(
      published
        .at(-1)!
        .cameras.find((c) => c.id === 'cam-wenhua-01')!
        .zones.map((z) => z.id),
    ).toEqual(['np-1', 'sf-1']);
    const audit = (await users.store.listAudit()).find((a) => a.action === 'camera_zones_changed')!;
    expect(audit).toMatchObject({ username: 'cam-wenhua-01', by: 'admin' });
    expect(audit.detail).toBe(
      'added np-1 (no-parking, 4 points, dwell 120 s, 07:00-22:00); added sf-1 (storefront, line 2 points, sidewalk 4 points, dwell 600 s, 00:00-24:00); masks: m-1 (4 points)',
    );
    // Settings that would leave a zone outside the frame are refused; the zones stay.
    const smaller = await admin(
      '/api/cameras/cam-wenhua-01',
      camera({ width: 640, height: 360, credentials: undefined }),
      'PUT',
    );
    expect(smaller.status).toBe(400);
    expect(smaller.body.message).toMatch(
      /^the camera's zones do not fit these settings: zones\.0\.polygon: point 500,400 lies outside the 640x360 frame/,
    );
    const moved = await admin(
      '/api/cameras/cam-wenhua-01',
      camera({ place: '文化路392号', fps: 2, credentials: undefined }),
      'PUT',
    );
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({
      hasCredentials: true,
      camera: { postedLocation: '文化路392号', fps: 2, zones: [{ id: 'np-1' }, { id: 'sf-1' }] },
    });
    expect((await users.store.listAudit()).find((a) => a.action === 'camera_updated')).toMatchObject({
      by: 'admin',
      detail: 'postedLocation, fps',
    });
  });

  it('sets the motion gate: defaults when absent, kept when a change leaves it out, bad values named', async () => {
    const before = service.get('cam-wenhua-01')!.camera.motion;
    expect(before).toMatchObject({ enabled: true, threshold: 18, reverifyS: 10 });
    const off = await admin(
      '/api/cameras/cam-wenhua-01',
      camera({ place: '文化路392号', fps: 2, credentials: undefined, motion: { enabled: false, reverifyS: 30 } }),
      'PUT',
    );
    expect(off.status).toBe(200);
    expect((off.body as { camera: { motion: unknown } }).camera.motion).toEqual({
      ...before,
      enabled: false,
      reverifyS: 30,
    });
    expect((await users.store.listAudit()).find((a) => a.action === 'camera_updated')).toMatchObject({
      detail: 'motion',
    });
    const kept = await admin(
      '/api/cameras/cam-wenhua-01',
      camera({ place: '文化路392号', fps: 2, credentials: undefined }),
      'PUT',
    );
    expect((kept.body as { camera: { motion: unknown } }).camera.motion).toEqual({
      ...before,
      enabled: false,
      reverifyS: 30,
    });
    const bad = await admin(
      '/api/cameras/cam-wenhua-01',
      camera({ place: '文化路392号', fps: 2, credentials: undefined, motion: { threshold: 0 } }),
      'PUT',
    );
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('motion');
    expect(JSON.stringify(bad.body)).toContain('threshold');
    const back = await admin(
      '/api/cameras/cam-wenhua-01',
      camera({ place: '文化路392号', fps: 2, credentials: undefined, motion: {} }),
      'PUT',
    );
    expect((back.body as { camera: { motion: unknown } }).camera.motion).toEqual(before);
  });

  it("serves a camera's latest frame from the bus for the zone editor", async () => {
    expect((await admin('/api/cameras/cam-wenhua-01/frame')).status).toBe(404);
    const jpeg = await sharp({ create: { width: 1280, height: 720, channels: 3, background: '#888' } })
      .jpeg()
      .toBuffer();
    await bus.publish('frames', [
      {
        key: 'cam-wenhua-01',
        value: encodeBusFrame({ district: 'xinhua', cameraId: 'cam-wenhua-01', ts: Date.now(), seq: 1, jpeg }),
      },
    ]);
    expect(
      await waitFor(
        async () =>
          (await fetch(`${url}/api/cameras/cam-wenhua-01/frame`, { headers: { cookie: admin.cookie } })).status === 200,
        5000,
      ),
    ).toBe(true);
    const res = await fetch(`${url}/api/cameras/cam-wenhua-01/frame`, { headers: { cookie: admin.cookie } });
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await res.arrayBuffer()).equals(jpeg)).toBe(true);
    expect((await admin('/api/cameras/cam-wenhua-01')).body).toMatchObject({
      latestFrame: { width: 1280, height: 720 },
    });
  });

  it('keeps cameras and credentials across a restart; a delete is audited and published', async () => {
    await stop();
    await start();
    expect((await admin('/api/cameras/cam-wenhua-01')).body).toMatchObject({
      hasCredentials: true,
      camera: { zones: [{ id: 'np-1' }, { id: 'sf-1' }] },
    });
    expect((await admin('/api/cameras/cam-wenhua-01', undefined, 'DELETE')).status).toBe(204);
    expect((await admin('/api/cameras/cam-wenhua-01')).status).toBe(404);
    expect(await store.credentials('cam-wenhua-01')).toBeNull();
    expect((await users.store.listAudit()).find((a) => a.action === 'camera_deleted')).toMatchObject({
      username: 'cam-wenhua-01',
      by: 'admin',
    });
    expect(published.at(-1)!.cameras).toEqual([]);
  });
});
