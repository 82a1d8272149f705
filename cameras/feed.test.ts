// The embedded default's feed of the console's cameras: a snapshot camera behind HTTP Basic is read with the account
// stored apart, its frames reach bus topic "frames" keyed by the camera; new credentials restart it, and a deleted
// camera is no longer read; a camera behind HTTP Digest (Hikvision's ISAPI picture; Debian's lighttpd, the edge
// camera tests' server) is read too. The account is never logged.
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { decodeBusFrame, type Frame } from '../contracts/index.js';
import { startSnapshotServer } from '../edge/drivers/camera/testdata/snapshot-server.js';
import { captureLogger, tmpDir, waitFor } from '../test/helpers.js';
import { CameraService, CameraStore, feedConsoleCameras } from './index.js';

const log = captureLogger();
const bus = new MemoryBus({ logger: log.logger });
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe('feedConsoleCameras', () => {
  it('reads a snapshot camera with its stored account onto the bus, follows new credentials, stops for a deleted camera', async () => {
    const jpeg = await sharp({ create: { width: 320, height: 180, channels: 3, background: '#567' } })
      .jpeg()
      .toBuffer();
    let password = 'Hik@Pa55:w0rd';
    let served = 0;
    let refused = 0;
    const server = http.createServer((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from(`isapi:${password}`).toString('base64')}`) {
        refused++;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="camera"' }).end();
        return;
      }
      served++;
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ISAPI/Streaming/channels/101/picture`;

    const frames: Frame[] = [];
    await bus.subscribe('frames', 'test', async (b) => void frames.push(...b.map((m) => decodeBusFrame(m.value))));
    const store = await CameraStore.open(path.join(tmpDir('camera-feed'), 'cameras.duckdb'));
    cleanup.push(() => store.close());
    const service = await CameraService.open({
      store,
      fileCameras: [],
      bus,
      audit: async () => undefined,
      deadLetters: { add: async () => undefined },
      logger: log.logger,
      latestFrames: false,
    });
    cleanup.push(() => service.close());
    const feed = feedConsoleCameras({ cameras: service, bus, logger: log.logger });
    cleanup.push(() => feed.stop());
    const admin = { username: 'admin', ip: '127.0.0.1' };
    const settings = {
      id: 'cam-1',
      district: 'xinhua',
      place: '文化路',
      gridCell: '320582008024372',
      location: { lat: 31.5, lon: 120.1 },
      width: 320,
      height: 180,
      source: { type: 'snapshot', url, intervalMs: 100 },
    };
    await service.create({ ...settings, credentials: { username: 'isapi', password } }, admin);
    expect(await waitFor(() => frames.length >= 2, 10_000)).toBe(true);
    expect(frames[0]).toMatchObject({ cameraId: 'cam-1', district: 'xinhua' });
    expect(frames[0]!.jpeg.equals(jpeg)).toBe(true);

    // The camera's password is changed on the camera, then in the console: refused until then, read again after.
    password = 'N3w-pass';
    expect(await waitFor(() => refused > 0, 10_000)).toBe(true);
    const before = served;
    await service.update('cam-1', { ...settings, credentials: { username: 'isapi', password } }, admin);
    expect(await waitFor(() => served > before + 1, 10_000)).toBe(true);

    await service.remove('cam-1', admin);
    await new Promise((r) => setTimeout(r, 300));
    const after = served + refused;
    await new Promise((r) => setTimeout(r, 500));
    expect(served + refused).toBe(after);
    expect(JSON.stringify(log.lines)).not.toContain('Hik@Pa55');
    expect(JSON.stringify(log.lines)).not.toContain('N3w-pass');
  });

  it('reads a camera behind HTTP Digest with its stored account', async () => {
    const jpeg = await sharp({ create: { width: 320, height: 180, channels: 3, background: '#765' } })
      .jpeg()
      .toBuffer();
    const camera = await startSnapshotServer(tmpDir('camera-feed-digest'), jpeg);
    cleanup.push(() => camera.stop());
    const frames: Frame[] = [];
    await bus.subscribe(
      'frames',
      'test-digest',
      async (b) => void frames.push(...b.map((m) => decodeBusFrame(m.value)).filter((f) => f.cameraId === 'cam-d')),
    );
    const store = await CameraStore.open(path.join(tmpDir('camera-feed-digest-store'), 'cameras.duckdb'));
    cleanup.push(() => store.close());
    const service = await CameraService.open({
      store,
      fileCameras: [],
      bus,
      audit: async () => undefined,
      deadLetters: { add: async () => undefined },
      logger: log.logger,
      latestFrames: false,
    });
    cleanup.push(() => service.close());
    const feed = feedConsoleCameras({ cameras: service, bus, logger: log.logger });
    cleanup.push(() => feed.stop());
    await service.create(
      {
        id: 'cam-d',
        district: 'xinhua',
        place: '文化路',
        gridCell: '320582008024372',
        location: { lat: 31.5, lon: 120.1 },
        width: 320,
        height: 180,
        source: { type: 'snapshot', url: `${camera.base}/digest-sha256/snap.jpg`, intervalMs: 200, auth: 'digest' },
        credentials: { username: camera.username, password: camera.password },
      },
      { username: 'admin', ip: '127.0.0.1' },
    );
    expect(await waitFor(() => frames.length >= 2, 10_000)).toBe(true);
    expect(frames[0]!.jpeg.equals(jpeg)).toBe(true);
    expect(JSON.stringify(log.lines)).not.toContain(camera.password);
  });
});
