// The edge agent's wiring on a real Mosquitto: a camera's refused loudspeaker command reaches the platform as a dead
// letter through the agent's gateway link, which an agent with cameras opens when it has a gateway account.
// Mosquitto runs as deploy/mosquitto ships it (test/mosquitto-acl.ts): the camera and the gateway log in with their own
// accounts, the gateway's block allows its dead-letter topic, commands come from the notices account.
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cameraCommandsTopic, gatewayDeadLettersTopic } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import { tmpDir, uniq } from '../test/helpers.js';
import { startAclBroker, type AclBroker } from '../test/mosquitto-acl.js';
import { EdgeAgent } from './agent.js';
import { EdgeConfigSchema } from './config.js';

let broker: AclBroker;
beforeAll(async () => {
  broker = await startAclBroker();
});
afterAll(async () => {
  await broker?.close();
});

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

/** An agent with one camera; with a gateway account when `gateway` (its ACL block allows its dead letters). */
const config = async (gateway: boolean) => {
  const dir = tmpDir('agent-cam');
  const gatewayId = uniq('gw');
  const camId = uniq('cam');
  await broker.add(
    gateway ? [camId, gatewayId] : [camId],
    gateway ? [`user ${gatewayId}`, `topic write city/v1/_gateway/${gatewayId}/dead-letters`] : [],
  );
  return EdgeConfigSchema.parse({
    gatewayId,
    mqtt: { url: broker.url, settleMs: 0 },
    buffer: { dir: path.join(dir, 'buffer'), fsyncMs: 0 },
    gatewayCredentials: gateway ? broker.login(gatewayId) : {},
    cameras: [
      { id: camId, ...broker.login(camId), district: 'xinhua', source: { type: 'files', dir, intervalMs: 60_000 } },
    ],
  });
};

describe('edge agent with cameras', () => {
  it("dead-letters a camera's refused command through its gateway link", async () => {
    const cfg = await config(true);
    const agent = new EdgeAgent(cfg, silentLogger);
    cleanup.push(() => agent.stop(0));
    await agent.start();
    expect(agent.stats().map((s) => s.deviceId)).toContain('_gateway-camera');

    const watcher = await mqtt.connectAsync(broker.url, {
      clientId: uniq('watch'),
      protocolVersion: 5,
      ...broker.login('ops'),
    });
    cleanup.push(() => watcher.endAsync(true));
    const notices = await mqtt.connectAsync(broker.url, {
      clientId: uniq('notices'),
      protocolVersion: 5,
      ...broker.login('notices'),
    });
    cleanup.push(() => notices.endAsync(true));
    const dead: { source: string; reason: string }[] = [];
    watcher.on('message', (_t, p) => dead.push(JSON.parse(p.toString()) as { source: string; reason: string }));
    await watcher.subscribeAsync(gatewayDeadLettersTopic(cfg.gatewayId), { qos: 1 });

    const topic = cameraCommandsTopic({ district: 'xinhua', cameraId: cfg.cameras[0]!.id });
    // Until the camera link has subscribed, a command has nobody to reach: send until one is refused and reported.
    for (let i = 0; i < 50 && dead.length === 0; i++) {
      await notices.publishAsync(topic, JSON.stringify({ type: 'dance', id: `bad-${i}` }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(dead[0]).toMatchObject({ source: topic, reason: expect.stringMatching(/type/) });
  });

  it('without a gateway account (and no HJ 212) keeps no gateway link', async () => {
    const agent = new EdgeAgent(await config(false), silentLogger);
    cleanup.push(() => agent.stop(0));
    await agent.start();
    expect(agent.stats().some((s) => s.deviceId.startsWith('_gateway'))).toBe(false);
  });
});

describe('edge agent under the broker ACL', () => {
  it('keeps the readings the broker refuses in its buffer, says so, and sends them once the account may publish', async () => {
    const dir = tmpDir('agent-acl');
    const deviceId = uniq('nz');
    const account = uniq('nz-other'); // an account that is not the device's: the ACL lets it publish only on its own topic
    await broker.add([account]);
    const errors: string[] = [];
    const logger = {
      ...silentLogger,
      error: (o: unknown, m?: string) => void errors.push(`${m ?? ''} ${JSON.stringify(o)}`),
      child: () => logger,
    } as unknown as typeof silentLogger;
    const cfg = EdgeConfigSchema.parse({
      gatewayId: uniq('gw'),
      mqtt: { url: broker.url, settleMs: 0, reconnectMaxMs: 1000 },
      buffer: { dir: path.join(dir, 'buffer'), fsyncMs: 0 },
      devices: [
        {
          id: deviceId,
          kind: 'noise',
          district: 'xinhua',
          ...broker.login(account),
          driver: { type: 'simulator', intervalMs: 200, seed: 3 },
        },
      ],
    });
    const watcher = await mqtt.connectAsync(broker.url, {
      clientId: uniq('watch'),
      protocolVersion: 5,
      ...broker.login('ops'),
    });
    cleanup.push(() => watcher.endAsync(true));
    const got: string[] = [];
    watcher.on('message', (_t, p) => got.push(p.toString()));
    await watcher.subscribeAsync(`city/v1/xinhua/noise/${deviceId}/readings`, { qos: 1 });

    const agent = new EdgeAgent(cfg, logger);
    cleanup.push(() => agent.stop(0));
    await agent.start();
    const link = () => agent.stats().find((s) => s.deviceId === deviceId)!;
    await new Promise((r) => setTimeout(r, 2500));
    // Under MQTT 3.1.1 the broker acknowledged these and dropped them: published counted up, the buffer emptied.
    expect(got).toHaveLength(0);
    expect(link().published).toBe(0);
    expect(link().bufferedBytes).toBeGreaterThan(0);
    expect(
      errors.some(
        (e) =>
          e.includes('the broker refused the message') &&
          e.includes(`may not publish on city/v1/xinhua/noise/${deviceId}/readings`),
      ),
    ).toBe(true);

    // The operator grants the account the device's topic: what was buffered arrives.
    await broker.add([], [`user ${account}`, `topic write city/v1/xinhua/noise/${deviceId}/readings`]);
    for (let i = 0; i < 100 && got.length < 5; i++) await new Promise((r) => setTimeout(r, 100));
    expect(got.length).toBeGreaterThanOrEqual(5);
    expect(link().published).toBeGreaterThanOrEqual(5);
  });
});
