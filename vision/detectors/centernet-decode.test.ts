// CenterNet decoding on hand-made maps: which cells are peaks, where their boxes go, thresholds, class masks,
// class-wise NMS and the candidate cap.
import { describe, expect, it } from 'vitest';
import { decodeCenterNet, type CenterNetMaps } from './centernet-decode.js';

const W = 8;
const H = 6;

function maps(numClasses: number): CenterNetMaps & {
  set: (c: number, x: number, y: number, v: number) => void;
  box: (x: number, y: number, d: number[]) => void;
} {
  const heatmap = new Float32Array(numClasses * W * H);
  const boxes = new Float32Array(4 * W * H);
  return {
    heatmap,
    boxes,
    numClasses,
    width: W,
    height: H,
    set: (c, x, y, v) => void (heatmap[c * W * H + y * W + x] = v),
    box: (x, y, d) => d.forEach((v, k) => void (boxes[k * W * H + y * W + x] = v)),
  };
}

const opts = { scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 100, outputStride: 4 };

describe('decodeCenterNet', () => {
  it('takes a peak with its box around the cell centre, in input pixels', () => {
    const m = maps(2);
    m.set(1, 3, 2, 0.9);
    m.set(1, 4, 2, 0.5); // a neighbour below the peak is not an object
    m.box(3, 2, [5, 2, 7, 6]);
    expect(decodeCenterNet(m, opts)).toEqual([
      { x1: 12 - 5, y1: 8 - 2, x2: 12 + 7, y2: 8 + 6, score: expect.closeTo(0.9, 6), classId: 1 },
    ]);
  });

  it('keeps only the cells that are the maximum of their 3x3 neighbourhood, map edges included', () => {
    const m = maps(1);
    m.set(0, 0, 0, 0.8); // corner: only 3 neighbours
    m.set(0, 7, 5, 0.7); // opposite corner
    m.set(0, 4, 3, 0.6);
    m.set(0, 5, 4, 0.65); // diagonal neighbour higher: (4,3) is not a peak
    m.set(0, 2, 0, 0.4); // two cells apart from (0,0): both peaks
    const got = decodeCenterNet(m, { ...opts, iouThreshold: 1 });
    expect(got.map((d) => [d.x1 / 4, d.y1 / 4, Math.round(d.score * 100)])).toEqual([
      [0, 0, 80],
      [7, 5, 70],
      [5, 4, 65],
      [2, 0, 40],
    ]);
  });

  it('keeps both cells of a plateau, as the original max-pool equality does, and NMS merges them', () => {
    const m = maps(1);
    m.set(0, 2, 2, 0.5);
    m.set(0, 3, 2, 0.5);
    m.box(2, 2, [4, 4, 4, 4]);
    m.box(3, 2, [4, 4, 4, 4]);
    expect(decodeCenterNet(m, { ...opts, iouThreshold: 1 })).toHaveLength(2);
    // Boxes 4 px apart, 8 px wide: IoU 1/3 stays; at IoU threshold 0.3 one is left.
    expect(decodeCenterNet(m, { ...opts, iouThreshold: 0.3 })).toHaveLength(1);
  });

  it('compares peaks within a class only, and NMS never suppresses across classes', () => {
    const m = maps(2);
    m.set(0, 3, 3, 0.9);
    m.set(1, 3, 3, 0.6); // the same cell in another class: its own peak
    m.box(3, 3, [8, 8, 8, 8]);
    const got = decodeCenterNet(m, opts);
    expect(got.map((d) => d.classId)).toEqual([0, 1]);
  });

  it('applies the score threshold, the class mask, maxDetections and maxCandidates', () => {
    const m = maps(3);
    m.set(0, 1, 1, 0.29); // below the threshold: dropped
    m.set(0, 5, 1, 0.31);
    m.set(1, 1, 4, 0.95);
    m.set(2, 6, 4, 0.5);
    for (const [x, y] of [
      [1, 1],
      [5, 1],
      [1, 4],
      [6, 4],
    ] as const)
      m.box(x, y, [2, 2, 2, 2]);
    expect(decodeCenterNet(m, opts).map((d) => d.classId)).toEqual([1, 2, 0]);
    expect(decodeCenterNet(m, { ...opts, classMask: Uint8Array.from([1, 0, 1]) }).map((d) => d.classId)).toEqual([
      2, 0,
    ]);
    expect(decodeCenterNet(m, { ...opts, maxDetections: 1 }).map((d) => d.classId)).toEqual([1]);
    expect(decodeCenterNet(m, { ...opts, maxCandidates: 2 }).map((d) => Math.round(d.score * 100))).toEqual([95, 50]);
  });

  it('returns nothing for an empty map and refuses maps of the wrong size', () => {
    expect(decodeCenterNet(maps(2), opts)).toEqual([]);
    expect(() => decodeCenterNet({ ...maps(2), numClasses: 3 }, opts)).toThrow(
      /heatmap holds 96 values, expected 3 x 6 x 8/,
    );
    expect(() => decodeCenterNet({ ...maps(2), boxes: new Float32Array(5) }, opts)).toThrow(/box map/);
  });
});
