// The vision worker with a tiny fixed-output detector (vision/detectors/testdata/yolo-v8.onnx always sees a vehicle
// in the middle of the frame): an illegal-parking event with evidence whose hashes verify, and bad input
// (corrupt JPEG, wrong size, unknown camera, missing model) refused with a reason while the worker goes on.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import type { DeadLetter, EnforcementEvent } from '../contracts/index.js';
import { ConfigError } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { CameraRegistrySchema } from './cameras/config.js';
import { ModelsConfigSchema } from './detectors/index.js';
import { EvidenceStore } from './evidence/store.js';
import { VisionWorker } from './worker.js';

const MODEL = path.join(import.meta.dirname, 'detectors/testdata/yolo-v8.onnx');
const T0 = Date.parse('2026-06-01T10:00:00+08:00');

function setup(modelPath = MODEL) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-worker-'));
  const dead: DeadLetter[] = [];
  const bus = new MemoryBus({ logger: silentLogger });
  const cameras = CameraRegistrySchema.parse({
    timeZone: 'Asia/Shanghai',
    cameras: [
      {
        id: 'cam-a',
        district: 'xinhua',
        gridCell: '110101001001',
        location: { lat: 39.9, lon: 116.4 },
        postedLocation: '新华路与建设街交叉口',
        width: 960,
        height: 640,
        // The fixed detector's vehicle stands at (480, 420): inside this zone.
        zones: [{ type: 'no-parking', id: 'np-1', name: '新华路禁停区', polygon: [[300, 350], [700, 350], [700, 500], [300, 500]], dwellS: 10 }],
      },
      { id: 'cam-b', district: 'xinhua', gridCell: 'g2', location: { lat: 39.9, lon: 116.4 }, postedLocation: 'B', width: 960, height: 640, zones: [] },
    ],
  });
  const models = ModelsConfigSchema.parse({ models: [{ name: 'fixed', path: modelPath, family: 'yolo', scoreThreshold: 0.3 }] });
  return {
    dir,
    dead,
    bus,
    open: () =>
      VisionWorker.open({
        cameras,
        models,
        evidence: new EvidenceStore(path.join(dir, 'evidence')),
        bus,
        deadLetters: { add: async (d) => void dead.push(...d), list: async () => ({ items: dead, total: dead.length }) },
        logger: silentLogger,
        rules: { confirmMinS: 3, confirmFrac: 0 },
      }),
  };
}

const jpeg = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 90, g: 90, b: 95 } } }).jpeg().toBuffer();

describe('VisionWorker', () => {
  it('raises one illegal-parking event with first-seen, threshold, last and crop evidence, stored by SHA-256, on the bus', async () => {
    const s = setup();
    const published: EnforcementEvent[] = [];
    await s.bus.subscribe('events', 't', async (b) => void published.push(...b.map((m) => JSON.parse(m.value.toString()) as EnforcementEvent)));
    const w = await s.open();
    const frame = await jpeg(960, 640);
    const events: EnforcementEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await w.process({ district: 'xinhua', cameraId: 'cam-a', ts: T0 + i * 1000, seq: i, jpeg: frame });
      expect(r.ok).toBe(true);
      if (r.ok) events.push(...r.events);
    }
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.type).toBe('illegal-parking');
    expect(e.zone).toEqual({ id: 'np-1', name: '新华路禁停区' });
    expect(e.camera).toMatchObject({ id: 'cam-a', district: 'xinhua', gridCell: '110101001001', postedLocation: '新华路与建设街交叉口' });
    expect(e.thresholdAt - e.start).toBeGreaterThanOrEqual(10_000);
    expect(e.end).toBeGreaterThan(e.thresholdAt);
    expect(e.evidence.map((x) => x.role).sort()).toEqual(['crop', 'first-seen', 'frame', 'last', 'threshold']);
    expect(e.evidence.find((x) => x.role === 'frame')!.sha256).toBe(crypto.createHash('sha256').update(frame).digest('hex'));
    for (const x of e.evidence) {
      const file = path.join(s.dir, 'evidence', x.sha256.slice(0, 2), x.sha256.slice(2, 4), `${x.sha256}.jpg`);
      const bytes = fs.readFileSync(file);
      expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(x.sha256);
      expect(bytes.length).toBe(x.bytes);
      expect((await sharp(bytes).metadata()).format).toBe('jpeg');
    }
    expect(published.map((p) => p.id)).toContain(e.id);
    await w.close();
  });

  it('dead-letters a corrupt JPEG, a frame of the wrong size and an unknown camera, and keeps serving the others', async () => {
    const s = setup();
    const w = await s.open();
    const bad = await w.process({ district: 'xinhua', cameraId: 'cam-a', ts: T0, seq: 0, jpeg: Buffer.from('not a jpeg at all') });
    expect(bad).toMatchObject({ ok: false, reason: expect.stringMatching(/not a decodable image/) });
    const small = await w.process({ district: 'xinhua', cameraId: 'cam-a', ts: T0 + 1, seq: 1, jpeg: await jpeg(640, 360) });
    expect(small).toMatchObject({ ok: false, reason: expect.stringMatching(/640x360.*960x640/) });
    const unknown = await w.process({ district: 'xinhua', cameraId: 'cam-x', ts: T0, seq: 0, jpeg: await jpeg(960, 640) });
    expect(unknown).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown camera "cam-x"/) });
    expect(s.dead.map((d) => d.topic)).toEqual([
      'city/v1/xinhua/camera/cam-a/frames',
      'city/v1/xinhua/camera/cam-a/frames',
      'city/v1/xinhua/camera/cam-x/frames',
    ]);
    expect(s.dead[0]!.payload.toString()).toBe('not a jpeg at all');
    const ok = await w.process({ district: 'xinhua', cameraId: 'cam-b', ts: T0, seq: 0, jpeg: await jpeg(960, 640) });
    expect(ok.ok).toBe(true);
    const okA = await w.process({ district: 'xinhua', cameraId: 'cam-a', ts: T0 + 5, seq: 2, jpeg: await jpeg(960, 640) });
    expect(okA.ok).toBe(true);
    await w.close();
  });

  it('refuses to start without its model file, naming the file', async () => {
    const s = setup('/nonexistent/model.onnx');
    const err = await s.open().then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toMatch(/\/nonexistent\/model\.onnx/);
  });
});
