// The production roles: the camera service runs with the API (ROLE=api), the vision worker in another process
// (ROLE=vision), the two joined only by Kafka (the real broker of scripts/services). Each side has its own Kafka
// client here, as each process would. A worker that starts after the service published still gets the cameras (the
// whole set is published again every republishMs); a camera added in the console is taken on, and a zone drawn on it
// raises an event from the worker's next frames; a deleted camera's frames are refused. Needs KAFKA_BROKERS.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Kafka from 'node-rdkafka';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../bus/kafka.js';
import { BUS_TOPICS } from '../bus/types.js';
import type { DeadLetter, EnforcementEvent } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import { tmpDir, waitFor } from '../test/helpers.js';
import { ModelsConfigSchema } from '../vision/detectors/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { VisionWorker } from '../vision/worker.js';
import { CameraService, CameraStore } from './index.js';

const brokers = process.env.KAFKA_BROKERS!;
const prefix = `cams${Date.now().toString(36)}${randomUUID().slice(0, 4)}.`;
const cleanup: (() => Promise<void>)[] = [];
const T0 = Date.parse('2026-06-01T10:00:00+08:00');

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'cameras-test-cleanup' });
  await Promise.all(BUS_TOPICS.map((t) => new Promise<void>((r) => admin.deleteTopic(prefix + t, 10_000, () => r()))));
  admin.disconnect();
});

describe('console cameras in the production roles (Kafka)', () => {
  it('reach a vision worker of another process, which applies a new camera and its zones while running', async () => {
    const dir = tmpDir('cameras-production');
    const start = (id: string) =>
      KafkaBus.start({
        brokers,
        clientId: id,
        topicPrefix: prefix,
        partitions: 2,
        logger: silentLogger,
        sessionTimeoutMs: 6000,
      });
    const apiBus = await start('api');
    cleanup.push(() => apiBus.close());
    const store = await CameraStore.open(path.join(dir, 'cameras.duckdb'));
    cleanup.push(() => store.close());
    const service = await CameraService.open({
      store,
      fileCameras: [],
      bus: apiBus,
      audit: async () => undefined,
      deadLetters: { add: async () => undefined },
      logger: silentLogger,
      republishMs: 1000,
      latestFrames: false,
    });
    cleanup.push(() => service.close());
    const admin = { username: 'admin', ip: '127.0.0.1' };
    await service.create(
      {
        id: 'cam-k',
        district: 'xinhua',
        place: '文化路',
        gridCell: '320582008024372',
        location: { lat: 31.5, lon: 120.1 },
        width: 960,
        height: 640,
        model: 'fixed',
        source: { type: 'snapshot', url: 'http://192.0.2.1/snap.jpg' },
      },
      admin,
    );

    // The vision process, started after the camera was added; the tiny fixed model sees a vehicle at (480, 420).
    const visionBus = await start('vision');
    cleanup.push(() => visionBus.close());
    const dead: DeadLetter[] = [];
    const worker = await VisionWorker.open({
      cameras: { timeZone: 'Asia/Shanghai', cameras: [] },
      models: ModelsConfigSchema.parse({
        default: 'fixed',
        models: [
          {
            name: 'fixed',
            path: path.join(import.meta.dirname, '../vision/detectors/testdata/yolo-v8.onnx'),
            family: 'yolo',
            scoreThreshold: 0.3,
          },
        ],
      }),
      evidence: new EvidenceStore(path.join(dir, 'evidence')),
      bus: visionBus,
      deadLetters: { add: async (d) => void dead.push(...d), list: async () => ({ items: dead, total: dead.length }) },
      logger: silentLogger,
      plates: null,
      rechecks: false,
      rules: { confirmMinS: 3, confirmFrac: 0 },
    });
    cleanup.push(() => worker.close());
    await worker.start(`vision-${randomUUID().slice(0, 6)}`);

    const jpeg = await sharp({ create: { width: 960, height: 640, channels: 3, background: { r: 90, g: 90, b: 95 } } })
      .jpeg()
      .toBuffer();
    let i = 0;
    const frame = () => worker.process({ district: 'xinhua', cameraId: 'cam-k', ts: T0 + i++ * 1000, seq: i, jpeg });
    // Taken on from a republish: the first set went out before this worker listened.
    expect(await waitFor(async () => (await frame()).ok, 30_000, 300)).toBe(true);

    await service.setZones(
      'cam-k',
      {
        zones: [
          {
            type: 'no-parking',
            id: 'np-k',
            name: '文化路禁停区',
            polygon: [
              [300, 350],
              [700, 350],
              [700, 500],
              [300, 500],
            ],
            dwellS: 3,
          },
        ],
      },
      admin,
    );
    const events: EnforcementEvent[] = [];
    expect(
      await waitFor(
        async () => {
          const r = await frame();
          if (r.ok) events.push(...r.events);
          return events.length > 0;
        },
        30_000,
        300,
      ),
    ).toBe(true);
    expect(events[0]).toMatchObject({ type: 'illegal-parking', camera: { id: 'cam-k' }, zone: { id: 'np-k' } });

    await service.remove('cam-k', admin);
    expect(await waitFor(async () => !(await frame()).ok, 30_000, 300)).toBe(true);
    expect(dead.at(-1)!.reason).toBe('unknown camera "cam-k": add it to the camera registry');
  }, 120_000);
});
