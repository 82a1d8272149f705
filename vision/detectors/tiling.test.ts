// Tiling on a fake detector that "sees" a known scene: each pixel of the frame encodes its own coordinates, so the
// fake knows which crop it was given and answers like a small model would: objects too small at its input scale are
// missed, objects cut by the crop's edge come out clipped with a lower score.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Box } from '../../contracts/index.js';
import { ConfigError } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/log.js';
import { createDetector, parseModelConfig } from './index.js';
import {
  cropTile,
  fromTile,
  mergeDetections,
  planTiles,
  TilingDetector,
  TilingSchema,
  withTiling,
  type PassDetection,
  type TilingConfig,
} from './tiling.js';
import type { DetectResult, Detection, Detector, DetectorInfo, RawImage } from './types.js';

const cfg = (t: Partial<TilingConfig> = {}): TilingConfig => TilingSchema.parse(t);

/** Pixel (x, y) holds x and y: R = x & 255, G = y & 255, B = (x >> 8) | (y >> 8) << 4. */
function codedFrame(width: number, height: number): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = x & 255;
      data[o + 1] = y & 255;
      data[o + 2] = (x >> 8) | ((y >> 8) << 4);
    }
  }
  return { data, width, height, channels: 3 };
}
const originOf = (img: RawImage) => ({
  x: img.data[0]! | ((img.data[2]! & 15) << 8),
  y: img.data[1]! | ((img.data[2]! >> 4) << 8),
});

interface Obj {
  cls: 'car' | 'person';
  box: Box;
}

/** A model with a square input that needs an object at least minPx input pixels high, and half of it in view. */
class SceneDetector implements Detector {
  readonly info: DetectorInfo = {
    name: 'fake',
    family: 'yolo',
    path: '-',
    sha256: '0'.repeat(64),
    inputWidth: 256,
    inputHeight: 256,
    classNames: ['car', 'person'],
    metadata: {},
  };
  calls: { x: number; y: number; width: number; height: number }[] = [];
  closed = false;
  constructor(
    private readonly scene: Obj[],
    private readonly minPx = 12,
  ) {}

  async detect(img: RawImage): Promise<DetectResult> {
    const o = originOf(img);
    this.calls.push({ ...o, width: img.width, height: img.height });
    const scale = Math.min(this.info.inputWidth / img.width, this.info.inputHeight / img.height);
    const detections: Detection[] = [];
    for (const s of this.scene) {
      const [x1, y1, x2, y2] = s.box;
      const c: Box = [
        Math.max(x1, o.x) - o.x,
        Math.max(y1, o.y) - o.y,
        Math.min(x2, o.x + img.width) - o.x,
        Math.min(y2, o.y + img.height) - o.y,
      ];
      if (c[2] <= c[0] || c[3] <= c[1]) continue;
      const visible = ((c[2] - c[0]) * (c[3] - c[1])) / ((x2 - x1) * (y2 - y1));
      if (visible < 0.3 || (c[3] - c[1]) * scale < this.minPx) continue;
      const classId = s.cls === 'car' ? 0 : 1;
      detections.push({
        box: c,
        score: 0.5 + 0.4 * visible,
        classId,
        className: s.cls,
        role: s.cls === 'car' ? 'vehicle' : 'person',
      });
    }
    detections.sort((a, b) => b.score - a.score);
    return { detections, timings: { preprocessMs: 1, inferenceMs: 10, postprocessMs: 0.5 } };
  }

  async close() {
    this.closed = true;
  }
}

const r1 = (b: Box) => b.map((v) => Math.round(v * 10) / 10);

describe('tile plan', () => {
  it('covers a 1280x720 frame with model-sized tiles that overlap at least as configured', () => {
    const tiles = planTiles(1280, 720, cfg({ overlap: 0.25 }), 512, 512);
    expect(tiles.map((t) => [t.x, t.y, t.width, t.height])).toEqual([
      [0, 0, 512, 512],
      [384, 0, 512, 512],
      [768, 0, 512, 512],
      [0, 208, 512, 512],
      [384, 208, 512, 512],
      [768, 208, 512, 512],
    ]);
  });

  it('takes a tile size or a grid from the config, and clamps tiles to the frame', () => {
    expect(
      planTiles(1000, 600, cfg({ grid: [2, 2], overlap: 0.2 }), 512, 512).map((t) => [t.x, t.y, t.width, t.height]),
    ).toEqual([
      [0, 0, 556, 334],
      [444, 0, 556, 334],
      [0, 266, 556, 334],
      [444, 266, 556, 334],
    ]);
    // One row: the frame is no taller than a tile.
    expect(
      planTiles(1280, 300, cfg({ tileSize: [640, 320], overlap: 0 }), 512, 512).map((t) => [
        t.x,
        t.y,
        t.width,
        t.height,
      ]),
    ).toEqual([
      [0, 0, 640, 300],
      [640, 0, 640, 300],
    ]);
  });

  it('does not tile a frame the model sees whole', () => {
    expect(planTiles(512, 512, cfg(), 512, 512)).toEqual([]);
    expect(planTiles(580, 500, cfg(), 512, 512)).toEqual([]); // within minFrameScale 1.15
    expect(planTiles(600, 500, cfg({ grid: [1, 1] }), 512, 512)).toEqual([]);
  });

  it('refuses tileSize and grid together, and an overlap of a whole tile', () => {
    expect(TilingSchema.safeParse({ tileSize: 512, grid: [2, 2] }).success).toBe(false);
    expect(TilingSchema.safeParse({ overlap: 1 }).success).toBe(false);
    expect(cfg()).toMatchObject({
      enabled: true,
      overlap: 0.25,
      includeFullFrame: true,
      mergeIou: 0.5,
      mergeIos: 0.6,
      mergeBy: 'role',
    });
  });
});

describe('crops and merging', () => {
  it('crops a tile row by row', () => {
    const img = codedFrame(300, 200);
    const c = cropTile(img, { x: 257, y: 100, width: 20, height: 30 });
    expect([c.width, c.height, c.data.length]).toEqual([20, 30, 20 * 30 * 3]);
    expect(originOf(c)).toEqual({ x: 257, y: 100 });
    expect(originOf({ ...c, data: c.data.subarray((29 * 20 + 19) * 3) })).toEqual({ x: 276, y: 129 });
  });

  const CLASSES: [string, Detection['role']][] = [
    ['car', 'vehicle'],
    ['person', 'person'],
    ['truck', 'vehicle'],
    ['dog', null],
    ['cat', null],
  ];
  const det = (box: Box, score: number, classId = 0, cut = false): PassDetection => ({
    box,
    score,
    classId,
    className: CLASSES[classId]![0],
    role: CLASSES[classId]![1],
    cut,
  });

  it("marks boxes touching a tile's inner edges as cut, not those at the frame's edge", () => {
    const t = { x: 384, y: 0, width: 512, height: 512 };
    const out = fromTile(
      [
        det([0, 10, 50, 60], 0.9),
        det([100, 0, 150, 60], 0.9),
        det([400, 100, 512, 200], 0.9),
        det([100, 100, 200, 200], 0.9),
      ],
      t,
      1280,
      720,
      2,
    );
    expect(out.map((d) => [r1(d.box), d.cut])).toEqual([
      [[384, 10, 434, 60], true], // left edge of a tile inside the frame
      [[484, 0, 534, 60], false], // top edge is the frame's
      [[784, 100, 896, 200], true], // right edge
      [[484, 100, 584, 200], false],
    ]);
  });

  it('keeps the best of duplicates, absorbs cut boxes into whole ones, joins two cut halves', () => {
    const out = mergeDetections(
      [
        det([100, 100, 200, 200], 0.9), // whole, from the full frame
        det([102, 98, 201, 203], 0.6), // the same car from a tile: IoU > 0.5
        det([150, 100, 200, 200], 0.8, 0, true), // cut half of it, lies wholly inside
        det([150, 100, 200, 200], 0.7, 1, true), // another class: never merged across classes
        det([400, 300, 460, 400], 0.7, 1, true), // cut boxes sharing only a third of the smaller (IoS 20/60):
        det([440, 300, 500, 400], 0.6, 1, true), // two people side by side, kept apart
        det([600, 300, 650, 400], 0.8, 1, true), // a person cut by a tile ...
        det([610, 300, 660, 400], 0.75, 1, true), // ... and by its neighbour: IoS 0.8 → their union
        det([800, 300, 850, 400], 0.5, 1), // a whole person next to nothing
      ],
      { mergeIou: 0.5, mergeIos: 0.6 },
    );
    expect(out.map((d) => [d.className, +d.score.toFixed(2), r1(d.box)])).toEqual([
      ['car', 0.9, [100, 100, 200, 200]],
      ['person', 0.8, [600, 300, 660, 400]],
      ['person', 0.7, [150, 100, 200, 200]],
      ['person', 0.7, [400, 300, 460, 400]],
      ['person', 0.6, [440, 300, 500, 400]],
      ['person', 0.5, [800, 300, 850, 400]],
    ]);
    expect(out.every((d) => !('cut' in d))).toBe(true);
  });

  it('merges boxes of one role across classes (a van seen as a car and as a truck), or only by class if asked', () => {
    const dets = [
      det([100, 100, 200, 200], 0.8, 0),
      det([104, 100, 204, 200], 0.6, 2),
      det([100, 100, 200, 200], 0.7, 3),
      det([100, 100, 200, 200], 0.5, 4),
    ];
    expect(mergeDetections(dets, { mergeIou: 0.5, mergeIos: 0.6 }).map((d) => d.className)).toEqual([
      'car',
      'dog',
      'cat',
    ]);
    expect(mergeDetections(dets, { mergeIou: 0.5, mergeIos: 0.6, mergeBy: 'class' }).map((d) => d.className)).toEqual([
      'car',
      'dog',
      'truck',
      'cat',
    ]);
  });

  it('gives a cut box the extent of a whole box of the same object that scored lower', () => {
    const out = mergeDetections([det([150, 100, 200, 200], 0.9, 0, true), det([100, 100, 200, 200], 0.6)], {
      mergeIou: 0.5,
      mergeIos: 0.6,
    });
    expect(out.map((d) => [+d.score.toFixed(2), r1(d.box)])).toEqual([[0.9, [100, 100, 200, 200]]]);
  });
});

describe('one scooter cut by a tile border', () => {
  // A 1024x576 fixed-camera frame in two 640x576 tiles, x 0..640 and 384..1024; a scooter 40 px wide parked on the
  // sidewalk at x 620..660 crosses the first tile's right border. The whole-frame pass does not see it (too small).
  const A = { x: 0, y: 0, width: 640, height: 576 };
  const B = { x: 384, y: 0, width: 640, height: 576 };
  const scooter = (box: Box, score: number): Detection => ({
    box,
    score,
    classId: 3,
    className: 'motorcycle',
    role: 'two-wheeler',
  });
  const merge = (dets: PassDetection[]) => mergeDetections(dets, cfg());

  it('is one detection with its whole extent when the other tile sees it whole', () => {
    const out = merge([
      ...fromTile([scooter([620, 400, 640, 460], 0.62)], A, 1024, 576, 3), // its left half, cut by A's right border
      ...fromTile([scooter([236, 398, 276, 462], 0.55)], B, 1024, 576, 3), // whole in B (tile pixels)
    ]);
    expect(out.map((d) => [d.className, d.role, r1(d.box)])).toEqual([
      ['motorcycle', 'two-wheeler', [620, 398, 660, 462]],
    ]);
  });

  it('is one detection, the union of its parts, when every tile sees it cut', () => {
    // A narrow neighbour tile x 600..680: the scooter at 630..700 is cut by A's right border and by this tile's.
    const C = { x: 600, y: 0, width: 80, height: 576 };
    const out = merge([
      ...fromTile([scooter([630, 400, 640, 460], 0.5)], A, 1024, 576, 3),
      ...fromTile([scooter([30, 402, 80, 461], 0.45)], C, 1024, 576, 3),
    ]);
    expect(out.map((d) => [+d.score.toFixed(2), r1(d.box)])).toEqual([[0.5, [630, 400, 680, 461]]]);
  });

  it('leaves two scooters parked side by side at the border as two, and a pedestrian beside them as a person', () => {
    const out = merge([
      ...fromTile([scooter([600, 400, 640, 460], 0.6)], A, 1024, 576, 3), // cut: the first scooter's left part
      ...fromTile(
        [
          scooter([216, 400, 262, 460], 0.7), // the first scooter whole in B: x 600..646
          scooter([264, 400, 306, 460], 0.65), // the second, next to it: x 648..690
          { ...scooter([260, 380, 280, 470], 0.5), classId: 0, className: 'person', role: 'person' },
        ],
        B,
        1024,
        576,
        3,
      ),
    ]);
    expect(out.map((d) => [d.className, r1(d.box)])).toEqual([
      ['motorcycle', [600, 400, 646, 460]],
      ['motorcycle', [648, 400, 690, 460]],
      ['person', [644, 380, 664, 470]],
    ]);
  });
});

describe('TilingDetector', () => {
  const scene: Obj[] = [
    { cls: 'car', box: [300, 350, 900, 700] }, // big and near: no tile holds it, the whole frame finds it
    { cls: 'person', box: [100, 100, 120, 140] }, // small and far: 8 input px high in the whole frame, found in a tile
    { cls: 'person', box: [1100, 60, 1116, 92] }, // small, in the last column only
    { cls: 'person', box: [495, 150, 515, 190] }, // small, in two tiles' overlap
    { cls: 'car', box: [560, 200, 700, 330] }, // medium: in the whole frame, whole in one tile, cut by another
  ];

  it('finds small objects in tiles and the big one in the whole frame, each once, in frame pixels', async () => {
    const inner = new SceneDetector(scene);
    const det = new TilingDetector(inner, cfg({ overlap: 0.25 }));
    expect(det.info).toBe(inner.info);
    // 256x256 tiles over 1280x720, a quarter overlapping: 7 columns x 4 rows.
    expect(det.tilesFor(1280, 720)).toHaveLength(28);
    const r = await det.detect(codedFrame(1280, 720));
    expect(inner.calls).toHaveLength(29);
    expect(inner.calls[0]).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
    const got = r.detections.map((d) => [d.className, r1(d.box)]).sort((a, b) => String(a).localeCompare(String(b)));
    expect(got).toEqual([
      ['car', [300, 350, 900, 700]],
      ['car', [560, 200, 700, 330]],
      ['person', [100, 100, 120, 140]],
      ['person', [1100, 60, 1116, 92]],
      ['person', [495, 150, 515, 190]],
    ]);
    expect(r.timings.inferenceMs).toBe(290);
    expect(r.timings.preprocessMs).toBeGreaterThanOrEqual(29);
    // Best first, like every detector.
    expect(r.detections.map((d) => d.score)).toEqual([...r.detections.map((d) => d.score)].sort((a, b) => b - a));
  });

  it('without the whole-frame pass a big object comes out as the union of its cut parts', async () => {
    const inner = new SceneDetector([{ cls: 'car', box: [350, 300, 650, 500] }]);
    const det = new TilingDetector(inner, cfg({ tileSize: 512, overlap: 0.25, includeFullFrame: false }));
    const r = await det.detect(codedFrame(1280, 720));
    expect(inner.calls).toHaveLength(6);
    expect(r.detections.map((d) => r1(d.box))).toEqual([[350, 300, 650, 500]]);
  });

  it("gives every pass's boxes before the merge, which detect() merges (an evaluation merges them its own ways)", async () => {
    const det = new TilingDetector(new SceneDetector(scene), cfg({ overlap: 0.25 }));
    const p = await det.passes(codedFrame(1280, 720));
    expect(p!.detections.length).toBeGreaterThan(5);
    expect(p!.detections.some((d) => d.cut)).toBe(true);
    const merged = mergeDetections(p!.detections, det.tiling);
    expect(merged).toEqual((await det.detect(codedFrame(1280, 720))).detections);
    expect(await det.passes(codedFrame(200, 200))).toBeNull();
  });

  it('drops tile detections under tileScoreThreshold, keeps whole-frame ones', async () => {
    const inner = new SceneDetector(scene);
    const det = new TilingDetector(inner, cfg({ tileScoreThreshold: 0.95 }));
    const r = await det.detect(codedFrame(1280, 720));
    expect(r.detections.map((d) => d.className)).toEqual(['car', 'car']);
  });

  it('runs only the whole frame when it fits the model, and passes close() on', async () => {
    const inner = new SceneDetector(scene, 1);
    const det = withTiling(inner, cfg());
    await det.detect(codedFrame(280, 260));
    expect(inner.calls).toEqual([{ x: 0, y: 0, width: 280, height: 260 }]);
    await det.close();
    expect(inner.closed).toBe(true);
  });

  it('is not there when disabled or absent', () => {
    const inner = new SceneDetector(scene);
    expect(withTiling(inner, undefined)).toBe(inner);
    expect(withTiling(inner, cfg({ enabled: false }))).toBe(inner);
  });
});

describe("tiling in a model's config", () => {
  const model = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'yolo-v8.onnx');

  it("makes createDetector wrap the family's detector, and leaves it alone when off", async () => {
    const tiled = await createDetector(
      { name: 't', family: 'yolo', path: model, threads: 1, tiling: { enabled: true, overlap: 0.5 } },
      silentLogger,
    );
    expect(tiled).toBeInstanceOf(TilingDetector);
    expect((tiled as TilingDetector).tiling).toMatchObject({ overlap: 0.5, includeFullFrame: true });
    // The fixed-output test model (96x64 input) answers every tile with the same boxes, mapped to each tile.
    const r = await tiled.detect({ data: Buffer.alloc(288 * 128 * 3, 90), width: 288, height: 128, channels: 3 });
    expect(r.detections.length).toBeGreaterThan(4);
    await tiled.close();
    const plain = await createDetector(
      { name: 'p', family: 'yolo', path: model, threads: 1, tiling: { enabled: false } },
      silentLogger,
    );
    expect(plain).not.toBeInstanceOf(TilingDetector);
    await plain.close();
  });

  it('is validated with the model config, naming the field', () => {
    expect(() =>
      parseModelConfig({ name: 'x', family: 'yolo', path: model, tiling: { overlap: 0.9 } }, 'models file'),
    ).toThrow(ConfigError);
    expect(() =>
      parseModelConfig(
        { name: 'x', family: 'yolo', path: model, tiling: { tileSize: 512, grid: [2, 2] } },
        'models file',
      ),
    ).toThrow(/tiling\.grid: give tileSize or grid, not both/);
  });
});
