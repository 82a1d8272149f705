import { describe, expect, it } from 'vitest';
import { nmsClassWise } from './nms.js';
import { YoloDecoder, yoloLayout } from './yolo-decode.js';

type Anchor = [cx: number, cy: number, w: number, h: number, cls: number, score: number];

/** [1, 4 + C, N] as Ultralytics lays it out, or transposed. */
function output(anchors: Anchor[], C: number, channelsFirst = true): Float32Array {
  const N = anchors.length;
  const R = 4 + C;
  const out = new Float32Array(R * N);
  const set = (r: number, i: number, v: number) => (out[channelsFirst ? r * N + i : i * R + r] = v);
  anchors.forEach(([cx, cy, w, h, c, s], i) => {
    [cx, cy, w, h].forEach((v, r) => set(r, i, v));
    set(4 + c, i, s);
  });
  return out;
}

const opts = { scoreThreshold: 0.35, iouThreshold: 0.5, maxDetections: 300 };

describe('yoloLayout', () => {
  it('tells the layouts apart by the class count', () => {
    expect(yoloLayout([1, 84, 8400], 80)).toEqual({
      channelsFirst: true,
      objectness: false,
      numClasses: 80,
      anchors: 8400,
    });
    expect(yoloLayout([1, 8400, 84], 80)).toEqual({
      channelsFirst: false,
      objectness: false,
      numClasses: 80,
      anchors: 8400,
    });
    expect(yoloLayout([1, 25200, 85], 80)).toEqual({
      channelsFirst: false,
      objectness: true,
      numClasses: 80,
      anchors: 25200,
    });
    expect(yoloLayout([1, 7, 2100], 3)?.channelsFirst).toBe(true);
    expect(yoloLayout([1, 300, 6], 80)).toBeNull(); // end-to-end export with NMS inside
    expect(yoloLayout([1, 84, 8400], 3)).toBeNull(); // wrong class names for the model
    expect(yoloLayout([84, 8400], 80)).toBeNull();
  });
});

describe('YoloDecoder', () => {
  const anchors: Anchor[] = [
    [100, 100, 50, 40, 0, 0.9], // A
    [102, 101, 50, 40, 0, 0.8], // B: A again, suppressed
    [100, 100, 50, 40, 1, 0.7], // C: A's place, another class: kept
    [300, 200, 20, 60, 2, 0.6],
    [400, 100, 20, 20, 1, 0.2], // under the threshold
  ];

  for (const channelsFirst of [true, false]) {
    it(`decodes centre boxes and keeps the best per class (${channelsFirst ? '[1, 4+C, N]' : '[1, N, 4+C]'})`, () => {
      const dims = channelsFirst ? [1, 7, anchors.length] : [1, anchors.length, 7];
      const d = new YoloDecoder(opts).decode(output(anchors, 3, channelsFirst), yoloLayout(dims, 3)!);
      expect(d.map((x) => [x.classId, +x.score.toFixed(2)])).toEqual([
        [0, 0.9],
        [1, 0.7],
        [2, 0.6],
      ]);
      expect(d[0]).toMatchObject({ x1: 75, y1: 80, x2: 125, y2: 120 });
      expect(d[2]).toMatchObject({ x1: 290, y1: 170, x2: 310, y2: 230 });
    });
  }

  it('multiplies YOLOv5 objectness into the class score', () => {
    // [1, N, 5 + C]: cx, cy, w, h, obj, classes
    const out = Float32Array.from([10, 10, 4, 4, 0.5, 0.9, 0.1, 50, 50, 4, 4, 0.9, 0.2, 0.6]);
    const d = new YoloDecoder(opts).decode(out, yoloLayout([1, 2, 7], 2)!);
    expect(d.map((x) => [x.classId, +x.score.toFixed(2)])).toEqual([
      [1, 0.54],
      [0, 0.45],
    ]);
  });

  it('keeps maxDetections, skips masked classes, and reuses its buffers across frames', () => {
    const many: Anchor[] = Array.from({ length: 50 }, (_, i) => [i * 30 + 10, 10, 10, 10, i % 3, 0.4 + i / 100]);
    const dec = new YoloDecoder({ ...opts, maxDetections: 5 });
    const layout = yoloLayout([1, 7, 50], 3)!;
    const d = dec.decode(output(many, 3), layout);
    expect(d.map((x) => +x.score.toFixed(2))).toEqual([0.89, 0.88, 0.87, 0.86, 0.85]);
    expect(dec.decode(output(many, 3), layout)).toEqual(d);
    const onlyPersons = new YoloDecoder({ ...opts, classMask: Uint8Array.from([0, 0, 1]) }).decode(
      output(many, 3),
      layout,
    );
    expect(onlyPersons.length).toBeGreaterThan(0);
    expect(onlyPersons.every((x) => x.classId === 2)).toBe(true);
  });

  it('refuses an output of the wrong size', () => {
    expect(() => new YoloDecoder(opts).decode(new Float32Array(10), yoloLayout([1, 7, 3], 3)!)).toThrow(
      /expected 7 x 3/,
    );
  });
});

describe('nmsClassWise', () => {
  it('suppresses overlaps within a class only, best score first', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 1, 11, 11, 0, 0, 10, 10, 20, 20, 30, 30, 5, 0, 15, 10]);
    const scores = Float32Array.from([0.5, 0.9, 0.8, 0.7, 0.6]);
    const classes = Int32Array.from([0, 0, 1, 0, 0]);
    // 1 beats 0 (IoU 0.68); 2 is another class; 3 stands apart; 4 overlaps 1 by IoU 0.37 < 0.5
    expect(nmsClassWise(boxes, scores, classes, 5, 0.5, 100)).toEqual([1, 2, 3, 4]);
    expect(nmsClassWise(boxes, scores, classes, 5, 0.3, 100)).toEqual([1, 2, 3]);
    expect(nmsClassWise(boxes, scores, classes, 5, 0.5, 2)).toEqual([1, 2]);
  });
});
