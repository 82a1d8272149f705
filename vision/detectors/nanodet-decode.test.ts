// NanoDet decoding on hand-made outputs: the distribution's expectation, cell centres at (x + 0.5) * stride,
// several strides, thresholds, class masks and class-wise NMS.
import { describe, expect, it } from 'vitest';
import { decodeNanoDet, expectation, type NanoDetLevel } from './nanodet-decode.js';

const REG_MAX = 4;
const BINS = REG_MAX + 1;
const C = 3;

/** Logits that put (almost) all the probability on one bin. */
const oneHot = (bin: number) => Array.from({ length: BINS }, (_, j) => (j === bin ? 30 : 0));

function level(stride: number, width: number, height: number) {
  const cells = width * height;
  const lv: NanoDetLevel = {
    stride,
    width,
    height,
    cls: new Float32Array(cells * C),
    reg: new Float32Array(cells * 4 * BINS),
  };
  return {
    lv,
    score: (x: number, y: number, c: number, v: number) => void (lv.cls[(y * width + x) * C + c] = v),
    /** Distances in strides to the left, top, right, bottom sides. */
    sides: (x: number, y: number, bins: number[]) =>
      bins.forEach((b, k) => lv.reg.set(oneHot(b), (y * width + x) * 4 * BINS + k * BINS)),
  };
}

const opts = { scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 100, numClasses: C, regMax: REG_MAX };

describe('expectation', () => {
  it('is the mean bin of the softmax', () => {
    expect(expectation(Float32Array.from(oneHot(3)), 0, BINS)).toBeCloseTo(3, 6);
    expect(expectation(new Float32Array(BINS), 0, BINS)).toBeCloseTo(2, 6); // uniform over 0..4
    expect(expectation(Float32Array.from([0, 0, 1000, 1000, 0]), 0, BINS)).toBeCloseTo(2.5, 6); // no overflow
  });
});

describe('decodeNanoDet', () => {
  it('puts the box around the cell centre, sides at expectation x stride', () => {
    const a = level(8, 4, 3);
    a.score(2, 1, 1, 0.8);
    a.sides(2, 1, [1, 2, 3, 4]);
    const [d, ...rest] = decodeNanoDet([a.lv], opts);
    expect(rest).toEqual([]);
    // centre ((2 + 0.5) * 8, (1 + 0.5) * 8) = (20, 12)
    expect([d!.x1, d!.y1, d!.x2, d!.y2].map((v) => Math.round(v * 1000) / 1000)).toEqual([12, -4, 44, 44]);
    expect(d).toMatchObject({ classId: 1, score: expect.closeTo(0.8, 6) });
  });

  it('decodes every stride with its own grid, best class per cell, best first', () => {
    const a = level(8, 4, 4);
    const b = level(16, 2, 2);
    a.score(0, 3, 0, 0.5);
    a.score(0, 3, 2, 0.6); // the cell's best class wins
    a.sides(0, 3, [0, 0, 1, 1]);
    b.score(1, 0, 1, 0.9);
    b.sides(1, 0, [1, 1, 1, 1]);
    const got = decodeNanoDet([a.lv, b.lv], opts);
    expect(got.map((d) => [d.classId, Math.round(d.x1), Math.round(d.y1), Math.round(d.x2), Math.round(d.y2)])).toEqual(
      [
        [1, 8, -8, 40, 24], // centre (24, 8), 16 px each side
        [2, 4, 28, 12, 36], // centre (4, 28)
      ],
    );
  });

  it('applies the threshold, the class mask (a masked best class gives way to the next) and maxDetections', () => {
    const a = level(8, 4, 4);
    a.score(0, 0, 0, 0.29); // below the threshold: dropped
    a.score(3, 3, 1, 0.9);
    a.score(3, 3, 2, 0.4);
    a.score(1, 2, 2, 0.7);
    expect(decodeNanoDet([a.lv], opts).map((d) => d.classId)).toEqual([1, 2]);
    const masked = decodeNanoDet([a.lv], { ...opts, classMask: Uint8Array.from([1, 0, 1]) });
    expect(masked.map((d) => [d.classId, Math.round(d.score * 10)])).toEqual([
      [2, 7],
      [2, 4],
    ]);
    expect(decodeNanoDet([a.lv], { ...opts, maxDetections: 1 })).toHaveLength(1);
  });

  it('suppresses overlapping boxes of one class (NMS), not of different classes', () => {
    const a = level(8, 4, 4);
    for (const [x, c, v] of [
      [1, 0, 0.9],
      [2, 0, 0.8],
      [3, 1, 0.7],
    ] as const) {
      a.score(x, 1, c, v);
      a.sides(x, 1, [4, 4, 4, 4]); // 64 px boxes, 8 px apart: IoU 0.78 and 0.6
    }
    expect(decodeNanoDet([a.lv], opts).map((d) => d.classId)).toEqual([0, 1]);
  });

  it('refuses outputs of the wrong size', () => {
    const a = level(8, 4, 4);
    expect(() => decodeNanoDet([a.lv], { ...opts, numClasses: 4 })).toThrow(
      /scores at stride 8 hold 48 values, expected 16 x 4/,
    );
    expect(() => decodeNanoDet([a.lv], { ...opts, regMax: 7 })).toThrow(/boxes at stride 8/);
  });
});
