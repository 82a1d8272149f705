// The vision worker with a tiny fixed-output detector (vision/detectors/testdata/yolo-v8.onnx always sees a vehicle
// in the middle of the frame): an illegal-parking event with evidence whose hashes verify, and bad input
// (corrupt JPEG, wrong size, unknown camera, missing model) refused with a reason while the worker goes on.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { encodeBusFrame, type DeadLetter, type EnforcementEvent } from '../contracts/index.js';
import { ConfigError } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { CameraRegistrySchema } from './cameras/config.js';
import { ModelsConfigSchema } from './detectors/index.js';
import { EvidenceStore } from './evidence/store.js';
import { pixelBombHeader, pixelBombPng } from './testdata/pixel-bomb.js';
import type { MotionGatingInput } from './motion/config.js';
import { VisionWorker, type FrameResult } from './worker.js';

const MODEL = path.join(import.meta.dirname, 'detectors/testdata/yolo-v8.onnx');
const T0 = Date.parse('2026-06-01T10:00:00+08:00');

function setup(modelPath = MODEL, motion: MotionGatingInput = {}) {
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
        zones: [
          {
            type: 'no-parking',
            id: 'np-1',
            name: '新华路禁停区',
            polygon: [
              [300, 350],
              [700, 350],
              [700, 500],
              [300, 500],
            ],
            dwellS: 10,
          },
        ],
        motion,
      },
      {
        id: 'cam-b',
        district: 'xinhua',
        gridCell: 'g2',
        location: { lat: 39.9, lon: 116.4 },
        postedLocation: 'B',
        width: 960,
        height: 640,
        zones: [],
      },
    ],
  });
  const models = ModelsConfigSchema.parse({
    models: [{ name: 'fixed', path: modelPath, family: 'yolo', scoreThreshold: 0.3 }],
  });
  const registry = new Registry();
  return {
    dir,
    dead,
    bus,
    registry,
    open: () =>
      VisionWorker.open({
        cameras,
        models,
        evidence: new EvidenceStore(path.join(dir, 'evidence')),
        bus,
        deadLetters: {
          add: async (d) => void dead.push(...d),
          list: async () => ({ items: dead, total: dead.length }),
        },
        logger: silentLogger,
        registry,
        rules: { confirmMinS: 3, confirmFrac: 0 },
      }),
  };
}

const jpeg = (w: number, h: number) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: 90, g: 90, b: 95 } } })
    .jpeg()
    .toBuffer();

describe('VisionWorker', () => {
  it('raises one illegal-parking event with first-seen, threshold, last and crop evidence, stored by SHA-256, on the bus', async () => {
    const s = setup();
    const published: EnforcementEvent[] = [];
    await s.bus.subscribe(
      'events',
      't',
      async (b) => void published.push(...b.map((m) => JSON.parse(m.value.toString()) as EnforcementEvent)),
    );
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
    expect(e.camera).toMatchObject({
      id: 'cam-a',
      district: 'xinhua',
      gridCell: '110101001001',
      postedLocation: '新华路与建设街交叉口',
    });
    expect(e.thresholdAt - e.start).toBeGreaterThanOrEqual(10_000);
    expect(e.end).toBeGreaterThan(e.thresholdAt);
    expect(e.evidence.map((x) => x.role).sort()).toEqual(['crop', 'first-seen', 'frame', 'last', 'threshold']);
    expect(e.evidence.find((x) => x.role === 'frame')!.sha256).toBe(
      crypto.createHash('sha256').update(frame).digest('hex'),
    );
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
    const bad = await w.process({
      district: 'xinhua',
      cameraId: 'cam-a',
      ts: T0,
      seq: 0,
      jpeg: Buffer.from('not a jpeg at all'),
    });
    expect(bad).toMatchObject({ ok: false, reason: expect.stringMatching(/not a decodable image/) });
    const small = await w.process({
      district: 'xinhua',
      cameraId: 'cam-a',
      ts: T0 + 1,
      seq: 1,
      jpeg: await jpeg(640, 360),
    });
    expect(small).toMatchObject({ ok: false, reason: expect.stringMatching(/640x360.*960x640/) });
    const unknown = await w.process({
      district: 'xinhua',
      cameraId: 'cam-x',
      ts: T0,
      seq: 0,
      jpeg: await jpeg(960, 640),
    });
    expect(unknown).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown camera "cam-x"/) });
    expect(s.dead.map((d) => d.topic)).toEqual([
      'city/v1/xinhua/camera/cam-a/frames',
      'city/v1/xinhua/camera/cam-a/frames',
      'city/v1/xinhua/camera/cam-x/frames',
    ]);
    expect(s.dead[0]!.payload.toString()).toBe('not a jpeg at all');
    const ok = await w.process({ district: 'xinhua', cameraId: 'cam-b', ts: T0, seq: 0, jpeg: await jpeg(960, 640) });
    expect(ok.ok).toBe(true);
    const okA = await w.process({
      district: 'xinhua',
      cameraId: 'cam-a',
      ts: T0 + 5,
      seq: 2,
      jpeg: await jpeg(960, 640),
    });
    expect(okA.ok).toBe(true);
    await w.close();
  });

  it('refuses pixel bombs from their header, on the bus path: dead-lettered and acknowledged, never decoded, and the next frame is processed', async () => {
    const s = setup();
    const w = await s.open();
    await w.start('vision-bomb');
    const framesOf = async (camera: string) =>
      (await s.registry.getSingleMetric('vision_frames_total')!.get()).values.find((v) => v.labels.camera === camera)
        ?.value ?? 0;
    const until = async (cond: () => Promise<boolean> | boolean, what: string) => {
      const end = Date.now() + 20_000;
      while (!(await cond())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const send = (seq: number, image: Buffer) =>
      s.bus.publish('frames', [
        {
          key: 'cam-a',
          value: encodeBusFrame({ district: 'xinhua', cameraId: 'cam-a', ts: T0 + seq * 1000, seq, jpeg: image }),
        },
      ]);
    await send(0, await jpeg(960, 640));
    await until(async () => (await framesOf('cam-a')) === 1, 'the first good frame');

    // 12000x12000, complete and valid (432 MB as RGB, 420 KB of file): decoding it would succeed, so only reading the
    // header first keeps it out of memory. And a 30000x30000 header with one row of data, a few hundred bytes.
    const full = await pixelBombPng(12_000, 12_000);
    const header = pixelBombHeader(30_000, 30_000);
    expect(full.length).toBeLessThan(900 * 1024); // passes the frame relay's size limit
    expect(header.length).toBeLessThan(1024);
    const peakBefore = process.resourceUsage().maxRSS; // KiB
    await send(1, full);
    await send(2, header);
    await send(3, await jpeg(960, 640));
    await until(async () => (await framesOf('cam-a')) === 2, 'the good frame after the bombs');
    const grewMiB = (process.resourceUsage().maxRSS - peakBefore) / 1024;
    // Decoding the 12000x12000 one takes 430 MB or more at its peak.
    expect(grewMiB).toBeLessThan(150);

    expect(s.dead.map((d) => d.reason)).toEqual([
      'frame is 12000x12000, camera cam-a is registered as 960x640 (zones are drawn in those pixels); refused from its png header, not decoded',
      'frame is 30000x30000, camera cam-a is registered as 960x640 (zones are drawn in those pixels); refused from its png header, not decoded',
    ]);
    expect(s.dead.map((d) => d.topic)).toEqual([
      'city/v1/xinhua/camera/cam-a/frames',
      'city/v1/xinhua/camera/cam-a/frames',
    ]);
    expect(s.dead[1]!.payload.equals(header)).toBe(true);
    // Acknowledged: the bus does not hand the bombs back.
    await new Promise((r) => setTimeout(r, 300));
    expect(s.dead).toHaveLength(2);
    expect(s.bus.lag('frames', 'vision-bomb')).toBe(0);
    await w.close();
  });

  it('refuses to start without its model file, naming the file', async () => {
    const s = setup('/nonexistent/model.onnx');
    const err = await s.open().then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toMatch(/\/nonexistent\/model\.onnx/);
  });

  it('takes the console cameras from bus topic "cameras" while running: a new one starts, a zone change applies from the next frame, a removed one is refused, a file camera is not touched', async () => {
    const s = setup();
    const w = await s.open();
    await w.start('vision-live');
    const frame = await jpeg(960, 640);
    const live = (zones: unknown[], masks: unknown[] = [], id = 'cam-c') =>
      CameraRegistrySchema.shape.cameras.element.parse({
        id,
        district: 'xinhua',
        gridCell: '320582008024372',
        location: { lat: 31.5, lon: 120.1 },
        postedLocation: 'C',
        width: 960,
        height: 640,
        zones,
        masks,
      });
    const until = async (cond: () => Promise<boolean> | boolean, what: string) => {
      const end = Date.now() + 20_000;
      while (!(await cond())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Applied once the worker's own group has taken the message (its handler applies it before committing).
    const group = `vision-cameras-${os.hostname()}-${process.pid}`;
    const publish = async (cameras: unknown[]) => {
      await s.bus.publish('cameras', [{ key: 'console', value: JSON.stringify({ cameras }) }]);
      await until(() => s.bus.lag('cameras', group) === 0, 'the change applied');
    };
    const at = (i: number) => ({ district: 'xinhua', cameraId: 'cam-c', ts: T0 + i * 1000, seq: i, jpeg: frame });

    expect((await w.process(at(0))).ok).toBe(false);
    // A zone away from the fixed detector's vehicle at (480, 420): nothing to raise.
    await publish([
      live([
        {
          type: 'no-parking',
          id: 'np-far',
          name: '远处',
          polygon: [
            [10, 10],
            [200, 10],
            [200, 100],
            [10, 100],
          ],
          dwellS: 3,
        },
      ]),
    ]);
    let i = 1;
    const run = async (n: number) => {
      const out: EnforcementEvent[] = [];
      for (const end = i + n; i < end; i++) {
        const r = await w.process(at(i));
        expect(r.ok).toBe(true);
        if (r.ok) out.push(...r.events);
      }
      return out;
    };
    expect(await run(10)).toEqual([]);
    // Redrawn around the vehicle: the next frames raise the event in that zone.
    await publish([
      live([
        {
          type: 'no-parking',
          id: 'np-here',
          name: '这里',
          polygon: [
            [300, 350],
            [700, 350],
            [700, 500],
            [300, 500],
          ],
          dwellS: 3,
        },
      ]),
    ]);
    const events = await run(12);
    expect(events.map((e) => e.zone.id)).toEqual(['np-here']);
    // A mask over the vehicle's ground point (480, 420): it (and the stall the fixed model sees there) is no longer seen.
    await publish([
      live(
        [
          {
            type: 'no-parking',
            id: 'np-here',
            name: '这里',
            polygon: [
              [300, 350],
              [700, 350],
              [700, 500],
              [300, 500],
            ],
            dwellS: 3,
          },
        ],
        [
          {
            id: 'm-1',
            polygon: [
              [400, 380],
              [560, 380],
              [560, 460],
              [400, 460],
            ],
          },
        ],
      ),
    ]);
    const masked = await w.process(at(i++));
    expect(masked.ok).toBe(true);
    if (masked.ok) {
      expect(masked.detections.filter((d) => d.box[3] === 420)).toEqual([]);
      expect(masked.detections.map((d) => d.className)).toContain('person');
    }
    // The file's cam-a wins over a console camera of the same id; a removed console camera is refused.
    await publish([live([], [], 'cam-a')]);
    expect((await w.process(at(i++))).ok).toBe(false);
    // cam-a keeps its file zone np-1: the vehicle becomes a candidate there.
    for (let k = 0; k < 5; k++)
      expect(
        (await w.process({ district: 'xinhua', cameraId: 'cam-a', ts: T0 + k * 1000, seq: k, jpeg: frame })).ok,
      ).toBe(true);
    expect(w.candidates('cam-a').length).toBeGreaterThan(0);
    expect(s.dead.at(-1)!.reason).toBe('unknown camera "cam-c": add it to the camera registry');
    await w.close();
  });
});

describe('VisionWorker with the motion gate (vision/motion)', () => {
  /** The same 40 frames of a parked car (the fixed detector's vehicle) on a still street, one a second. */
  async function park(motion: MotionGatingInput) {
    const s = setup(MODEL, motion);
    const w = await s.open();
    const frame = await jpeg(960, 640);
    const results: Extract<FrameResult, { ok: true }>[] = [];
    const dwell: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await w.process({ district: 'xinhua', cameraId: 'cam-a', ts: T0 + i * 1000, seq: i, jpeg: frame });
      if (!r.ok) throw new Error(r.reason);
      results.push(r);
      dwell.push(w.candidates('cam-a')[0]?.dwellS ?? -1);
    }
    await w.close();
    return { results, events: results.flatMap((r) => r.events), dwell, registry: s.registry };
  }

  it('keeps a parked car, its track and its dwell (a second more each frame) through skipped frames, and raises the same illegal-parking event as without the gate', async () => {
    const off = await park({ enabled: false });
    const on = await park({});
    expect(off.results.every((r) => r.detector === 'full')).toBe(true);
    // Nothing moves: after the first frames the detector is skipped on almost all of them.
    expect(on.results.filter((r) => r.detector === 'skipped').length).toBeGreaterThanOrEqual(34);
    // The objects are held on skipped frames: the same tracks as without the gate on every frame, each skipped frame
    // giving the tracker the standing ones back (the fixed detector's vehicle, and what else it sees there).
    expect(on.results.map((r) => r.tracks)).toEqual(off.results.map((r) => r.tracks));
    expect(
      on.results
        .filter((r) => r.detector === 'skipped')
        .every((r) => r.detections.length === r.tracks && r.detections.every((d) => d.classId === -1)),
    ).toBe(true);
    const counted = on.dwell.slice(2);
    expect(counted.every((d, i) => i === 0 || d === counted[i - 1]! + 1)).toBe(true);
    expect(on.events).toHaveLength(1);
    expect(off.events).toHaveLength(1);
    const pick = (e: EnforcementEvent) => ({
      type: e.type,
      zone: e.zone,
      trackId: e.trackId,
      start: e.start,
      thresholdAt: e.thresholdAt,
      end: e.end,
      box: e.box,
    });
    expect(pick(on.events[0]!)).toEqual(pick(off.events[0]!));
    const runs = await on.registry.getSingleMetricAsString('vision_detector_runs_total');
    expect(runs).toMatch(/kind="skipped"} 3\d/);
  });

  it('looks at the standing car again every reverifyS seconds without motion (on the whole frame: the test model takes one input size only)', async () => {
    const { results } = await park({ reverifyS: 10 });
    const looked = results.map((r, i) => [i, r.detector] as const).filter(([, k]) => k !== 'skipped');
    // 0: the first frame; 1: the new (tentative) tracks' second sighting; then the standing car every 10 s.
    expect(looked).toEqual([
      [0, 'full'],
      [1, 'full'],
      [11, 'full'],
      [21, 'full'],
      [31, 'full'],
    ]);
  });
});
