// Street cameras end to end: the camera simulator in an edge agent → JPEG frames over MQTT 5 (capture time and
// sequence in user properties) → a real Mosquitto → the frame relay → the bus (keyed by camera) → the vision worker
// with the shipped simulator-trained model → an enforcement event whose evidence files verify by their SHA-256.
// Mosquitto runs as deploy/mosquitto ships it: the camera publishes with its own account, the relay reads with the
// vision account, under the shipped ACL.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import type { DeadLetter, EnforcementEvent } from '../contracts/index.js';
import { EdgeAgent } from '../edge/agent.js';
import { EdgeConfigSchema } from '../edge/config.js';
import { simulatedCameraSource } from '../edge/drivers/camera/simulated.js';
import { silentLogger } from '../runtime/log.js';
import { createScenario } from '../simulators/camera/index.js';
import { loadModelsConfig } from '../vision/detectors/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { FrameRelay } from '../vision/relay.js';
import { VisionWorker } from '../vision/worker.js';
import { ROOT, tmpDir, uniq, waitFor } from './helpers.js';
import { startAclBroker, type AclBroker } from './mosquitto-acl.js';

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

// Seed 10012 (a layout the model never saw in training): a car parks in a no-parking zone after about a minute.
const SEED = 10_012;

describe('cameras through MQTT to enforcement events', () => {
  it('turns a simulated street into an illegal-parking event with evidence whose hashes verify', async () => {
    const dir = tmpDir('vision');
    const sc = createScenario(SEED, { startTs: Date.now() });
    const cam = sc.camera;
    const bus = new MemoryBus({ logger: silentLogger });
    const dead: DeadLetter[] = [];
    const deadLetters = {
      add: async (d: readonly DeadLetter[]) => void dead.push(...d),
      list: async () => ({ items: dead, total: dead.length }),
    };
    const events: EnforcementEvent[] = [];
    await bus.subscribe(
      'events',
      'test',
      async (b) => void events.push(...b.map((m) => JSON.parse(m.value.toString()) as EnforcementEvent)),
    );
    const evidence = new EvidenceStore(path.join(dir, 'evidence'));
    const worker = await VisionWorker.open({
      cameras: sc.registry,
      models: loadModelsConfig(path.join(ROOT, 'config/models.json')),
      evidence,
      bus,
      deadLetters,
      logger: silentLogger,
    });
    await worker.start();
    cleanup.push(
      () => worker.close(),
      () => bus.close(),
    );
    await broker.add([cam.id]);
    const relay = new FrameRelay({
      mqttUrl: broker.url,
      ...broker.login('vision'),
      clientId: uniq('frames'),
      shareGroup: 'frames',
      bus,
      deadLetters,
      logger: silentLogger,
    });
    await relay.start();
    cleanup.push(() => relay.stop());

    const agent = new EdgeAgent(
      EdgeConfigSchema.parse({
        gatewayId: uniq('gw'),
        mqtt: { url: broker.url, settleMs: 200 },
        buffer: { dir: path.join(dir, 'edge'), fsyncMs: 0 },
        cameras: [
          {
            id: cam.id,
            ...broker.login(cam.id),
            district: cam.district,
            source: { type: 'simulator', seed: SEED, intervalMs: 1, once: true },
            quality: 85,
          },
        ],
      }),
      silentLogger,
      { simulatedCamera: simulatedCameraSource },
    );
    await agent.start();
    cleanup.push(() => agent.stop(0));

    expect(await waitFor(() => events.some((e) => e.type === 'illegal-parking'), 240_000, 250)).toBe(true);
    const e = events.find((x) => x.type === 'illegal-parking')!;
    const truth = sc.truth.violations.filter((v) => v.type === 'illegal-parking').map((v) => v.zoneId);
    expect(truth).toContain(e.zone.id);
    expect(e.camera.id).toBe(cam.id);
    // Capture times came through MQTT user properties: the scene's own clock, one frame a second.
    expect(e.thresholdAt - e.start).toBeGreaterThanOrEqual(cam.zones.find((z) => z.id === e.zone.id)!.dwellS * 1000);
    expect(e.start).toBeGreaterThanOrEqual(sc.startTs - 5000);
    expect(e.evidence.length).toBeGreaterThanOrEqual(4);
    for (const x of e.evidence) {
      const bytes = fs.readFileSync(evidence.pathOf(x.sha256));
      expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(x.sha256);
      expect(await evidence.verify(x.sha256)).toBe(true);
    }
    expect(dead).toEqual([]);
    expect(relay.relayed).toBeGreaterThan(60);
  });
});
