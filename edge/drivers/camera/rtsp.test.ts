// The rtsp camera source against a real RTSP server (mediamtx, from scripts/services.d/rtsp.sh) streaming a clip
// made from the camera simulator's frames, through a camera link to the real Mosquitto: frames arrive over TCP and
// UDP transport; the server killed mid-stream makes the camera's retained status offline, and its return online with
// frames again; the camera's password never reaches the log, ffmpeg's own error lines included.
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { framesTopic } from '../../../contracts/index.js';
import { createScenario } from '../../../simulators/camera/index.js';
import { captureLogger, mqttUrl, tmpDir, uniq, waitFor } from '../../../test/helpers.js';
import { EdgeConfigSchema } from '../../config.js';
import { CameraLink } from './link.js';
import { CameraSourceSchema } from './config.js';
import { redactSecrets, RtspSource, rtspSecrets, type RtspSourceConfig } from './rtsp.js';
import {
  makeSimulatorClip,
  publishClip,
  startRtspServer,
  type Publisher,
  type RtspServer,
} from './testdata/rtsp-server.js';

let dir: string;
let server: RtspServer;
let clip: string;
const publishers: Publisher[] = [];
beforeAll(async () => {
  dir = tmpDir('rtsp');
  clip = await makeSimulatorClip(path.join(dir, 'street.mp4'), { seed: 3, frames: 20, fps: 5 });
  server = await startRtspServer({ dir });
});
afterAll(async () => {
  for (const p of publishers) await p.stop();
  await server?.stop();
});
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

/** A camera link on an rtsp source, and what arrives at the broker from it: frames and the retained status. */
async function camera(streamPath: string, source: Record<string, unknown>, logger = captureLogger().logger) {
  const camId = uniq('rtspcam');
  const cfg = EdgeConfigSchema.parse({
    gatewayId: uniq('gw'),
    mqtt: { url: mqttUrl(), settleMs: 0 },
    buffer: { dir: path.join(dir, 'buffer') },
    cameras: [{ id: camId, district: 'xinhua', source: { type: 'rtsp', url: server.url(streamPath), ...source } }],
  });
  const frames: { ts: number; jpeg: Buffer }[] = [];
  const statuses: { online: boolean; reason?: string }[] = [];
  const sub = await mqtt.connectAsync(mqttUrl(), { clientId: uniq('rtsp-sub'), protocolVersion: 5 });
  const status = `city/v1/xinhua/camera/${camId}/status`;
  sub.on('message', (topic, payload, packet) => {
    if (topic === status) statuses.push(JSON.parse(payload.toString()) as { online: boolean });
    else frames.push({ ts: Number(packet.properties?.userProperties?.ts), jpeg: payload });
  });
  await sub.subscribeAsync([framesTopic({ district: 'xinhua', cameraId: camId }), status], { qos: 1 });
  const link = new CameraLink(cfg, cfg.cameras[0]!, logger);
  await link.start();
  cleanup.push(async () => {
    await link.stop(0);
    await sub.endAsync(true);
  });
  return { frames, statuses, link };
}

describe('rtsp camera source', () => {
  it('sends frames of the stream at the configured rate over TCP, goes offline when the server dies mid-stream, and comes back online', async () => {
    publishers.push(publishClip(server, clip, 'street-tcp'));
    const cap = captureLogger();
    const cam = await camera(
      'street-tcp',
      {
        username: server.camera.username,
        password: server.camera.password,
        transport: 'tcp',
        intervalMs: 1000,
        stallS: 6,
        reconnectMinMs: 200,
        reconnectMaxMs: 1000,
      },
      cap.logger,
    );
    expect(await waitFor(() => cam.frames.length >= 3, 30_000)).toBe(true);
    // The simulator's street, as the camera streams it (the clip keeps its size).
    const meta = await sharp(cam.frames[0]!.jpeg).metadata();
    const sim = await sharp((await createScenario(3).frame(0)).jpeg).metadata();
    expect([meta.width, meta.height]).toEqual([sim.width, sim.height]);
    expect(meta.width).toBeGreaterThan(100);
    // One frame per second of wall time (the clip runs at 5 frames/s): capture times about 1 s apart.
    const gaps = cam.frames.slice(1).map((f, i) => f.ts - cam.frames[i]!.ts);
    for (const g of gaps) expect(g).toBeGreaterThan(500);

    await server.kill();
    expect(await waitFor(() => cam.statuses.at(-1)?.online === false, 20_000)).toBe(true);
    expect(cam.statuses.at(-1)!.reason).toMatch(/no frame for 6 s/);
    const before = cam.frames.length;
    await server.start();
    expect(await waitFor(() => cam.statuses.at(-1)?.online === true && cam.frames.length > before, 60_000)).toBe(true);

    const logged = JSON.stringify(cap.lines);
    expect(logged).toContain('camera offline');
    expect(logged).not.toContain(server.camera.password);
    expect(logged).not.toContain(encodeURIComponent(server.camera.password));
  });

  it('reads the stream over UDP transport', async () => {
    publishers.push(publishClip(server, clip, 'street-udp'));
    const cam = await camera('street-udp', {
      username: server.camera.username,
      password: server.camera.password,
      transport: 'udp',
      intervalMs: 500,
      stallS: 6,
    });
    expect(await waitFor(() => cam.frames.length >= 3, 30_000)).toBe(true);
  });

  it("keeps a wrong password out of the log, in its own lines and in ffmpeg's, and reports the camera offline", async () => {
    publishers.push(publishClip(server, clip, 'street-auth'));
    const wrong = 'Wr0ng@pass#word';
    const cap = captureLogger();
    // In the URL, percent-encoded, as vendors document it: ffmpeg quotes this URL in its errors.
    const url = new URL(server.url('street-auth'));
    url.username = 'viewer';
    url.password = encodeURIComponent(wrong);
    const cam = await camera(
      'street-auth',
      { url: url.toString(), stallS: 3, reconnectMinMs: 200, reconnectMaxMs: 500 },
      cap.logger,
    );
    expect(await waitFor(() => cam.statuses.at(-1)?.online === false, 20_000)).toBe(true);
    const logged = JSON.stringify(cap.lines);
    // ffmpeg said why (401) and the line was logged, without the secret.
    expect(logged).toMatch(/401|Unauthorized/);
    expect(logged).not.toContain(wrong);
    expect(logged).not.toContain(encodeURIComponent(wrong));
    expect(cam.frames).toHaveLength(0);
  });
});

describe('rtsp source stall', () => {
  it('reports a camera that accepts the connection and sends nothing offline, and keeps trying', async () => {
    // A silent peer: accepts RTSP connections and never answers (a hung camera, a network that drops everything).
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s)).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as net.AddressInfo).port;
    const statuses: [boolean, string][] = [];
    const src = new RtspSource(
      CameraSourceSchema.parse({
        type: 'rtsp',
        url: `rtsp://127.0.0.1:${port}/hung`,
        stallS: 2,
        reconnectMinMs: 200,
        reconnectMaxMs: 400,
      }) as RtspSourceConfig,
      captureLogger().logger,
      'hung-cam',
      (online, reason) => statuses.push([online, reason]),
    );
    try {
      expect(await waitFor(() => statuses.length > 0 && src.stats.starts >= 2, 15_000)).toBe(true);
      expect(statuses[0]).toEqual([false, 'no frame for 2 s']);
    } finally {
      src.stop();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe('redactSecrets', () => {
  it('replaces the password raw and percent-encoded, and any URL user info', () => {
    const secrets = rtspSecrets({ url: 'rtsp://cam.example/x', username: 'admin', password: 'p@ss word' });
    const t = redactSecrets('rtsp://admin:p%40ss%20word@cam.example/x: 401; tried p@ss word; rtsps://u:v@h/', secrets);
    expect(t).not.toMatch(/p@ss|p%40ss|admin|u:v/);
    expect(t).toContain('rtsp://***@cam.example/x');
  });
});
