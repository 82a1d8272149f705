// Cameras and zones in the console, in real headless Chromium, end to end in one process: the real users, sessions and
// guard, the camera routes, store and feed, the in-process bus, and a vision worker with the shipped model. A parked
// car on a live simulated street is streamed over RTSP by a real mediamtx that wants the camera's account (the edge
// camera tests' server, scripts/services.d/rtsp.sh). An admin registers the camera with its RTSP URL and account,
// waits for its picture, draws a bow tie (refused in the browser, naming the crossing
// edges), then draws a no-parking zone with the mouse around a parked car, sets its dwell and saves; the running worker
// raises an illegal-parking event in that zone, and the audit trail names the admin. Both languages, no missing label.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { startCameras } from '../cameras/index.js';
import { consolePlugin } from '../console/plugin.js';
import {
  publishClip,
  rtspTools,
  startRtspServer,
  type Publisher,
  type RtspServer,
} from '../edge/drivers/camera/testdata/rtsp-server.js';
import type { DeadLetter, EnforcementEvent } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import { createLiveScene, type LiveScene } from '../simulators/camera/live.js';
import { authPlugin, startUsers, type Users } from '../users/index.js';
import { loadModelsConfig } from '../vision/detectors/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { VisionWorker } from '../vision/worker.js';
import { launch, login, screenshot, type Browser } from './console-browser.js';
import { captureLogger, ROOT, tmpDir, waitFor } from './helpers.js';

const ADMIN = 'cameras-console-admin';
// mediamtx takes only A-Z a-z 0-9 and !$()*+.;<=>[]^_-,@#& in credentials: '@', '#' and '&' test the encoding.
const CAM_PASSWORD = 'Hik@Pa55#w&rd';
const dir = tmpDir('console-cameras');
const bus = new MemoryBus({ logger: silentLogger });
const dead: DeadLetter[] = [];
const events: EnforcementEvent[] = [];
const log = captureLogger();

let scene: LiveScene;
let rtsp: RtspServer;
let publisher: Publisher;
let cams: Awaited<ReturnType<typeof startCameras>>;
let app: FastifyInstance;
let url: string;
let users: Users;
let closeAll: (() => Promise<void>)[] = [];
let browser: Browser;
let tab: Page;

beforeAll(async () => {
  scene = createLiveScene(10_014, { fps: 1, startTs: Date.now() - 5_000, publishedAt: '2020-01-01' });
  // A car stands in the scene's first no-parking zone and stays: a clip of it, looped by the camera's RTSP server.
  const at = Date.now() - 4_000;
  scene.parkVehicle({ zoneId: scene.noParkingZones[0]!, kind: 'sedan', at, place: 0.5 });
  const frames = path.join(dir, 'frames');
  fs.mkdirSync(frames, { recursive: true });
  for (let i = 0; i < 10; i++)
    fs.writeFileSync(
      path.join(frames, `${String(i).padStart(5, '0')}.jpg`),
      (await scene.frameAt(at + 2_000 + i * 1000)).jpeg,
    );
  const clip = path.join(dir, 'parked.mp4');
  // A keyframe every second, as cameras send by default.
  execFileSync(rtspTools().ffmpeg, [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-framerate',
    '5',
    '-i',
    path.join(frames, '%05d.jpg'),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '5',
    '-pix_fmt',
    'yuv420p',
    clip,
  ]);
  rtsp = await startRtspServer({ dir, cameraPassword: CAM_PASSWORD });
  publisher = publishClip(rtsp, clip, 'Streaming/Channels/101');

  const u = await startUsers({ dataDir: dir, logger: silentLogger, adminPassword: ADMIN, kdf: { ln: 10, r: 8, p: 1 } });
  users = u.users;
  closeAll.push(() => u.close());
  const models = loadModelsConfig(path.join(ROOT, 'config/models.json'));
  cams = await startCameras({
    dataDir: dir,
    fileCameras: [],
    bus,
    audit: (e) => users.store.audit(e),
    deadLetters: { add: async (d) => void dead.push(...d) },
    models,
    logger: log.logger,
    feed: true,
  });
  closeAll.push(() => cams.close());
  // The worker starts with no camera at all: the console's come over the bus.
  const worker = await VisionWorker.open({
    cameras: { timeZone: 'Asia/Shanghai', cameras: [] },
    models,
    evidence: new EvidenceStore(path.join(dir, 'evidence')),
    bus,
    deadLetters: { add: async (d) => void dead.push(...d), list: async () => ({ items: dead, total: dead.length }) },
    logger: log.logger,
    plates: null,
    rechecks: false,
    rules: { confirmS: 1 },
  });
  await worker.start();
  closeAll.push(() => worker.close());
  await bus.subscribe(
    'events',
    'test',
    async (b) => void events.push(...b.map((m) => JSON.parse(m.value.toString()) as EnforcementEvent)),
  );

  app = Fastify();
  await app.register(authPlugin, { users });
  await app.register(consolePlugin);
  await cams.routes(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  browser = await launch();
  tab = await browser.page();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  for (const c of closeAll.reverse()) await c().catch(() => undefined);
  closeAll = [];
  await publisher?.stop();
  await rtsp?.stop();
  await bus.close();
});

/** Clicks the zone editor's picture at frame pixel (x, y). */
async function clickFrame(x: number, y: number) {
  const box = (await tab.locator('svg.zone-canvas').boundingBox())!;
  await tab.mouse.click(box.x + (x * box.width) / scene.camera.width, box.y + (y * box.height) / scene.camera.height);
}

describe('console: cameras and zones', () => {
  it('registers a camera, draws a no-parking zone with the mouse, and the running worker raises an event in it', async () => {
    const cam = scene.camera;
    await login(tab, url, 'admin', ADMIN);
    await tab.locator('nav a[data-nav=cameras]').click();
    await tab.locator('form.camera-form').waitFor();
    const form = tab.locator('form.camera-form');
    await form.locator('input[name=id]').fill('cam-wenhua-01');
    await form.locator('input[name=district]').fill(cam.district);
    await form.locator('input[name=place]').fill('文化路390号北侧');
    await form.locator('input[name=gridCell]').fill('320582008024372');
    await form.locator('input[name=lat]').fill(String(cam.location.lat));
    await form.locator('input[name=lon]').fill(String(cam.location.lon));
    await form.locator('input[name=width]').fill(String(cam.width));
    await form.locator('input[name=height]').fill(String(cam.height));
    await form.locator('input[name=width]').dispatchEvent('change');
    await form.locator('input[name=publishedAt]').fill('2020-01-01');
    await form.locator('select[name=sourceType]').selectOption('rtsp');
    await form.locator('input[name=url]').fill(rtsp.url('Streaming/Channels/101'));
    await form.locator('input[name=username]').fill(rtsp.camera.username);
    await form.locator('input[name=password]').fill(CAM_PASSWORD);
    // The shipped models.json names the model for a fixed street camera (fixedCamera: coco-fixed): it is offered.
    await expect.poll(() => tab.locator('[data-test=model-hint]').textContent()).toContain('coco-fixed');
    expect(await form.locator('select[name=model]').inputValue()).toBe('coco-fixed');
    // The shipped simulator-trained model sees the simulated street.
    await form.locator('select[name=model]').selectOption('city');
    await form.locator('button[type=submit]').click();

    // The editor, over the camera's picture once its first frame has come (through the account).
    await tab.waitForURL((u) => u.hash === '#/cameras/cam-wenhua-01');
    expect(await waitFor(() => cams.service.latestFrame('cam-wenhua-01') !== null, 30_000)).toBe(true);
    await tab.reload();
    await expect
      .poll(() => tab.locator('[data-test=frame-note]').textContent(), { timeout: 10_000 })
      .toMatch(/画面时间/);

    // A bow tie: the browser says which edges cross and will not save.
    const np = cam.zones.find((z) => z.type === 'no-parking')!;
    const xs = np.polygon.map((p) => p[0]);
    const ys = np.polygon.map((p) => p[1]);
    const [x0, x1, y0, y1] = [
      Math.max(0, Math.min(...xs) - 20),
      Math.min(cam.width, Math.max(...xs) + 20),
      Math.max(0, Math.min(...ys) - 30),
      Math.min(cam.height, Math.max(...ys) + 10),
    ];
    await tab.locator('button[data-tool=no-parking]').click();
    for (const [x, y] of [
      [x0, y0],
      [x1, y1],
      [x1, y0],
      [x0, y1],
    ] as const)
      await clickFrame(x, y);
    await tab.locator('[data-test=finish]').click();
    await expect.poll(() => tab.locator('[data-test=problems]').textContent()).toContain('第 1 条边与第 3 条边相交');
    expect(await tab.locator('[data-test=save]').isDisabled()).toBe(true);
    await tab.locator('[data-action=delete-zone]').click();
    expect(await tab.locator('[data-test=problems] li').count()).toBe(0);

    // The zone around the parked car, in order, closed by clicking its first point; dwell 3 s.
    await tab.locator('button[data-tool=no-parking]').click();
    for (const [x, y] of [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
      [x0, y0],
    ] as const)
      await clickFrame(x, y);
    await expect.poll(() => tab.locator('svg.zone-canvas g.shape[data-id=np-1] polygon').count()).toBe(1);
    await tab.locator('input[name=dwellS]').fill('3');
    await tab.locator('input[name=dwellS]').press('Tab');
    await tab.locator('input[name=windows]').fill('00:00-24:00');
    await tab.locator('input[name=windows]').press('Tab');
    // A point dragged with the mouse moves (and comes back).
    const handle = tab.locator('circle[data-test=handle]').first();
    const hb = (await handle.boundingBox())!;
    await tab.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
    await tab.mouse.down();
    await tab.mouse.move(hb.x + hb.width / 2 + 30, hb.y + hb.height / 2 + 10, { steps: 3 });
    await tab.mouse.up();
    expect(Number(await handle.getAttribute('cx'))).toBeGreaterThan(x0 + 20);
    await tab.mouse.move(hb.x + hb.width / 2 + 30, hb.y + hb.height / 2 + 10);
    await tab.mouse.down();
    await tab.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2, { steps: 3 });
    await tab.mouse.up();
    await tab.locator('[data-test=save]').click();
    await expect.poll(() => tab.locator('.toast.ok').last().textContent()).toContain('区域已保存');
    await screenshot(tab, 'zone-editor', { onlyIfMissing: true });

    // The running worker takes the zone and raises the event in it.
    expect(await waitFor(() => events.some((e) => e.zone.id === 'np-1'), 30_000)).toBe(true);
    const e = events.find((x) => x.zone.id === 'np-1')!;
    expect(cams.service.get('cam-wenhua-01')!.camera.publishedAt).toBe('2020-01-01');
    expect(e).toMatchObject({
      type: 'illegal-parking',
      camera: { id: 'cam-wenhua-01', gridCell: '320582008024372', postedLocation: '文化路390号北侧' },
      zone: { id: 'np-1' },
    });
    const audit = await users.store.listAudit();
    expect(audit.find((a) => a.action === 'camera_zones_changed')).toMatchObject({
      username: 'cam-wenhua-01',
      by: 'admin',
    });
    expect(audit.find((a) => a.action === 'camera_created')).toMatchObject({ username: 'cam-wenhua-01', by: 'admin' });
    // The camera's account was used (mediamtx lets no one else read) and never shown or logged.
    expect(await tab.content()).not.toContain(CAM_PASSWORD);
    expect(JSON.stringify(log.lines)).not.toContain(CAM_PASSWORD);
    expect(JSON.stringify(audit)).not.toContain(CAM_PASSWORD);
    expect(browser.problems.filter((p) => !/404/.test(p))).toEqual([]);
  }, 120_000);

  it('shows the cameras and the editor in English, with every label', async () => {
    await tab.goto(`${url}/#/cameras`);
    await tab.locator('[data-test=lang]').click();
    await expect.poll(() => tab.locator('h1').textContent()).toBe('Cameras and zones');
    expect(await tab.locator('tr.camera[data-id=cam-wenhua-01]').textContent()).toContain('1 zones, 0 masks');
    await tab.locator('tr.camera[data-id=cam-wenhua-01] a').click();
    await expect.poll(() => tab.locator('h1').textContent()).toBe('Zones of cam-wenhua-01');
    await tab.locator('ul.zone-list button').first().click();
    const text = await tab.locator('#view').textContent();
    expect(text).toContain('No-parking hours');
    expect(text).not.toMatch(/\b(cameras|zones|nav)\.[a-zA-Z]/);
    await tab.locator('[data-test=lang]').click();
  });

  it("changes a camera's settings and keeps its account and zones", async () => {
    await tab.goto(`${url}/#/cameras`);
    await tab.locator('tr.camera[data-id=cam-wenhua-01] [data-action=edit]').click();
    const form = tab.locator('form.camera-form');
    expect(await form.locator('input[name=id]').getAttribute('readonly')).not.toBeNull();
    expect(await form.locator('input[name=url]').inputValue()).toBe(rtsp.url('Streaming/Channels/101'));
    await form.locator('input[name=place]').fill('文化路392号北侧');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => tab.locator('.toast.ok').last().textContent())
      .toContain('已保存摄像头 cam-wenhua-01 的设置');
    const c = cams.service.get('cam-wenhua-01')!;
    expect(c).toMatchObject({
      hasCredentials: true,
      camera: { postedLocation: '文化路392号北侧', publishedAt: '2020-01-01', zones: [{ id: 'np-1' }] },
    });
    expect((await users.store.listAudit()).find((a) => a.action === 'camera_updated')).toMatchObject({
      by: 'admin',
      detail: 'postedLocation',
    });
    // The toast shows before the list is loaded again, so the row is waited for, not read at once.
    await expect.poll(() => tab.locator('tr.camera[data-id=cam-wenhua-01]').textContent()).toContain('文化路392号北侧');
  });

  it("sets a camera's motion gate in the form, keeping the settings the form does not show", async () => {
    await tab.goto(`${url}/#/cameras`);
    await tab.locator('tr.camera[data-id=cam-wenhua-01] [data-action=edit]').click();
    const form = tab.locator('form.camera-form');
    const motion = form.locator('[data-test=motion]');
    expect(await motion.textContent()).toContain('运动检测');
    expect(await form.locator('input[name=motionEnabled]').isChecked()).toBe(true);
    expect(await form.locator('input[name=motionReverifyS]').inputValue()).toBe('10');
    await form.locator('input[name=motionThreshold]').fill('25');
    await form.locator('input[name=motionReverifyS]').fill('20');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => cams.service.get('cam-wenhua-01')!.camera.motion)
      .toMatchObject({ enabled: true, threshold: 25, reverifyS: 20, wholeFrameS: 60, width: 160 });
    await expect
      .poll(async () => (await users.store.listAudit()).find((a) => a.action === 'camera_updated')?.detail)
      .toBe('motion');

    // Off: the numbers cannot be changed while the gate is off, and are kept for when it is on again.
    await tab.locator('tr.camera[data-id=cam-wenhua-01] [data-action=edit]').click();
    expect(await form.locator('input[name=motionThreshold]').inputValue()).toBe('25');
    await form.locator('input[name=motionEnabled]').uncheck();
    expect(await form.locator('input[name=motionThreshold]').isDisabled()).toBe(true);
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => cams.service.get('cam-wenhua-01')!.camera.motion)
      .toMatchObject({ enabled: false, threshold: 25, reverifyS: 20 });
  });
});
