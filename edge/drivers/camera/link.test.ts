// The camera link reads its camera's commands topic on a real Mosquitto (MQTT 5, QoS 1): a "play" published as the
// notice service does reaches the speaker program; a bad command goes to the gateway's dead-letter topic through the
// agent's gateway link; a command for another camera never arrives. Mosquitto runs as deploy/mosquitto ships it:
// each camera with its own account, the notice service with `notices`, the gateway with its own, under the ACL.
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cameraCommandsTopic, gatewayDeadLettersTopic } from '../../../contracts/index.js';
import { silentLogger } from '../../../runtime/log.js';
import { tmpDir, uniq, waitFor } from '../../../test/helpers.js';
import { startAclBroker, type AclBroker } from '../../../test/mosquitto-acl.js';
import { EdgeConfigSchema } from '../../config.js';
import { GatewayLink } from '../../gateway.js';
import { CameraLink } from './link.js';

let broker: AclBroker;
beforeAll(async () => {
  broker = await startAclBroker();
});
afterAll(async () => {
  await broker?.close();
});
/** The notice service's connection, as it publishes loudspeaker commands. */
const noticeService = () =>
  mqtt.connectAsync(broker.url, { clientId: uniq('notices'), protocolVersion: 5, ...broker.login('notices') });

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

describe('camera link commands', () => {
  it('plays a loudspeaker command sent over MQTT, and dead-letters a bad one through the gateway link', async () => {
    const dir = tmpDir('camlink');
    const said = path.join(dir, 'said.txt');
    const gatewayId = uniq('gw');
    const camId = uniq('cam');
    const other = uniq('cam');
    await broker.add(
      [gatewayId, camId, other],
      [`user ${gatewayId}`, `topic write city/v1/_gateway/${gatewayId}/dead-letters`],
    );
    const cfg = EdgeConfigSchema.parse({
      gatewayId,
      gatewayCredentials: broker.login(gatewayId),
      mqtt: { url: broker.url, settleMs: 0 },
      buffer: { dir: path.join(dir, 'buffer'), fsyncMs: 0 },
      cameras: [
        {
          id: camId,
          ...broker.login(camId),
          district: 'xinhua',
          source: { type: 'files', dir, intervalMs: 1000 },
          speaker: {
            command: [
              process.execPath,
              '-e',
              `require('fs').appendFileSync(${JSON.stringify(said)}, process.argv[1] + '\\n')`,
            ],
          },
        },
        { id: other, ...broker.login(other), district: 'xinhua', source: { type: 'files', dir, intervalMs: 1000 } },
      ],
    });
    const gateway = new GatewayLink(cfg, 'camera', cfg.gatewayCredentials, silentLogger);
    cleanup.push(() => gateway.close(1000));
    const link = new CameraLink(cfg, cfg.cameras[0]!, silentLogger, undefined, { deadLetters: gateway });
    const otherLink = new CameraLink(cfg, cfg.cameras[1]!, silentLogger);
    cleanup.push(
      () => link.stop(0),
      () => otherLink.stop(0),
    );

    const watcher = await mqtt.connectAsync(broker.url, {
      clientId: uniq('watch'),
      protocolVersion: 5,
      ...broker.login('ops'),
    });
    cleanup.push(() => watcher.endAsync(true));
    const dead: { source: string; reason: string }[] = [];
    watcher.on('message', (_t, p) => dead.push(JSON.parse(p.toString()) as { source: string; reason: string }));
    await watcher.subscribeAsync(gatewayDeadLettersTopic(gatewayId), { qos: 1 });
    await Promise.all([link.commandsSubscribed(), otherLink.commandsSubscribed()]);

    const notices = await noticeService();
    cleanup.push(() => notices.endAsync(true));
    const topic = cameraCommandsTopic({ district: 'xinhua', cameraId: camId });
    await notices.publishAsync(
      topic,
      JSON.stringify({
        type: 'play',
        id: 'evt-1:loudspeaker',
        text: '请将摊位收回店内',
        repeat: 2,
        issuedAt: Date.now(),
      }),
      { qos: 1 },
    );
    await notices.publishAsync(topic, '{"type":"play","id":"x"', { qos: 1 });
    // A redelivery of the first: played once.
    await notices.publishAsync(
      topic,
      JSON.stringify({
        type: 'play',
        id: 'evt-1:loudspeaker',
        text: '请将摊位收回店内',
        repeat: 2,
        issuedAt: Date.now(),
      }),
      { qos: 1 },
    );

    expect(
      await waitFor(
        () => link.commandStats.played === 1 && link.commandStats.rejected === 1 && link.commandStats.duplicates === 1,
        10_000,
        50,
      ),
    ).toBe(true);
    await link.commandsIdle();
    expect(fs.readFileSync(said, 'utf8')).toBe('请将摊位收回店内\n请将摊位收回店内\n');
    expect(await waitFor(() => dead.length === 1, 10_000, 50)).toBe(true);
    expect(dead[0]).toMatchObject({ source: topic, reason: expect.stringMatching(/not JSON/) });
    // The other camera's link heard nothing of it.
    expect(otherLink.commandStats).toMatchObject({ played: 0, rejected: 0, duplicates: 0 });
  });
});

describe('camera link session', () => {
  it('keeps the commands sent while the link is away (for speaker.maxAgeS) and says the fresh ones when it is back', async () => {
    const dir = tmpDir('camlink-away');
    const said = path.join(dir, 'said.txt');
    const camId = uniq('cam');
    await broker.add([camId]);
    const cfg = EdgeConfigSchema.parse({
      gatewayId: uniq('gw'),
      mqtt: { url: broker.url, settleMs: 0 },
      buffer: { dir: path.join(dir, 'buffer'), fsyncMs: 0 },
      cameras: [
        {
          id: camId,
          ...broker.login(camId),
          district: 'xinhua',
          source: { type: 'files', dir, intervalMs: 1000 },
          speaker: {
            command: [
              process.execPath,
              '-e',
              `require('fs').appendFileSync(${JSON.stringify(said)}, process.argv[1] + '\\n')`,
            ],
            maxAgeS: 60,
          },
        },
      ],
    });
    const cam = cfg.cameras[0]!;
    const first = new CameraLink(cfg, cam, silentLogger);
    await first.commandsSubscribed();
    // The agent stops (or its uplink drops) ...
    await first.stop(0);

    // ... and meanwhile the notice service sends a command, and one issued too long ago waits at the broker too.
    const notices = await noticeService();
    cleanup.push(() => notices.endAsync(true));
    const topic = cameraCommandsTopic({ district: 'xinhua', cameraId: cam.id });
    await notices.publishAsync(
      topic,
      JSON.stringify({
        type: 'play',
        id: 'evt-away:loudspeaker',
        text: '请将车辆驶离禁停区',
        repeat: 1,
        issuedAt: Date.now(),
      }),
      { qos: 1 },
    );
    await notices.publishAsync(
      topic,
      JSON.stringify({
        type: 'play',
        id: 'evt-old:loudspeaker',
        text: '过期的提醒',
        repeat: 1,
        issuedAt: Date.now() - 120_000,
      }),
      { qos: 1 },
    );

    // The agent is back (same client id): the broker hands over what it kept; the stale one is not said.
    const back = new CameraLink(cfg, cam, silentLogger);
    cleanup.push(() => back.stop(0));
    expect(await waitFor(() => back.commandStats.played === 1 && back.commandStats.stale === 1, 10_000, 50)).toBe(true);
    await back.commandsIdle();
    expect(fs.readFileSync(said, 'utf8')).toBe('请将车辆驶离禁停区\n');
  });

  it('without a speaker keeps nothing: a clean session', async () => {
    const dir = tmpDir('camlink-clean');
    const camId = uniq('cam');
    await broker.add([camId]);
    const cfg = EdgeConfigSchema.parse({
      gatewayId: uniq('gw'),
      mqtt: { url: broker.url, settleMs: 0 },
      buffer: { dir: path.join(dir, 'buffer'), fsyncMs: 0 },
      cameras: [
        { id: camId, ...broker.login(camId), district: 'xinhua', source: { type: 'files', dir, intervalMs: 1000 } },
      ],
    });
    const cam = cfg.cameras[0]!;
    const first = new CameraLink(cfg, cam, silentLogger);
    await first.commandsSubscribed();
    await first.stop(0);
    const notices = await noticeService();
    cleanup.push(() => notices.endAsync(true));
    await notices.publishAsync(
      cameraCommandsTopic({ district: 'xinhua', cameraId: cam.id }),
      JSON.stringify({ type: 'play', id: 'evt-gone:loudspeaker', text: '无人听到', repeat: 1, issuedAt: Date.now() }),
      { qos: 1 },
    );
    const back = new CameraLink(cfg, cam, silentLogger);
    cleanup.push(() => back.stop(0));
    await back.commandsSubscribed();
    await new Promise((r) => setTimeout(r, 500));
    expect(back.commandStats).toMatchObject({ played: 0, stale: 0, rejected: 0 });
  });
});
