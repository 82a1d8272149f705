// Decoding NanoDet's outputs (the GFL head of NanoDet before NanoDet-Plus): per stride, a grid of cells in row-major
// order, each with C sigmoid class scores and, for each of the four sides, a discrete distribution over 0..regMax
// (logits). The distance to a side is the distribution's expectation (softmax, then sum of p_i * i) times the
// stride, measured from the cell's centre ((x + 0.5) * stride, (y + 0.5) * stride). Rows are [C] and
// [4 * (regMax + 1)] contiguous per cell; only the cells above the score threshold get their box decoded.
import { keptDetections, type InputDetection } from './nms.js';

export interface NanoDetLevel {
  stride: number;
  /** Grid size: the input size / stride (rounded up). */
  width: number;
  height: number;
  /** [1, width * height, C] */
  cls: Float32Array;
  /** [1, width * height, 4 * (regMax + 1)] */
  reg: Float32Array;
}

export interface NanoDetDecodeOptions {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  numClasses: number;
  /** Bins per side minus one (10 for the COCO model: distances up to 10 strides). */
  regMax: number;
  /** Classes to consider; all when absent. */
  classMask?: Uint8Array;
  /** Candidates above the threshold taken into NMS, best first. */
  maxCandidates?: number;
}

export function decodeNanoDet(levels: readonly NanoDetLevel[], opts: NanoDetDecodeOptions): InputDetection[] {
  const C = opts.numClasses;
  const bins = opts.regMax + 1;
  const thr = opts.scoreThreshold;
  const mask = opts.classMask;

  const found: { level: number; cell: number; score: number; classId: number }[] = [];
  levels.forEach((lv, li) => {
    const cells = lv.width * lv.height;
    if (lv.cls.length !== cells * C)
      throw new Error(`NanoDet scores at stride ${lv.stride} hold ${lv.cls.length} values, expected ${cells} x ${C}`);
    if (lv.reg.length !== cells * 4 * bins)
      throw new Error(
        `NanoDet boxes at stride ${lv.stride} hold ${lv.reg.length} values, expected ${cells} x ${4 * bins}`,
      );
    const cls = lv.cls;
    for (let i = 0; i < cells; i++) {
      const row = i * C;
      let best = -Infinity;
      let bc = 0;
      for (let c = 0; c < C; c++) {
        if (mask && !mask[c]) continue;
        const v = cls[row + c]!;
        if (v > best) {
          best = v;
          bc = c;
        }
      }
      if (best > thr) found.push({ level: li, cell: i, score: best, classId: bc });
    }
  });
  if (found.length === 0) return [];
  const maxCand = opts.maxCandidates ?? 30_000;
  const picked = found.length > maxCand ? found.sort((a, b) => b.score - a.score).slice(0, maxCand) : found;

  const count = picked.length;
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count);
  const classes = new Int32Array(count);
  const dist = new Float64Array(4);
  for (let k = 0; k < count; k++) {
    const f = picked[k]!;
    const lv = levels[f.level]!;
    const s = lv.stride;
    const x = f.cell % lv.width;
    const y = (f.cell - x) / lv.width;
    const cx = (x + 0.5) * s;
    const cy = (y + 0.5) * s;
    const base = f.cell * 4 * bins;
    for (let side = 0; side < 4; side++) dist[side] = expectation(lv.reg, base + side * bins, bins) * s;
    boxes[k * 4] = cx - dist[0]!;
    boxes[k * 4 + 1] = cy - dist[1]!;
    boxes[k * 4 + 2] = cx + dist[2]!;
    boxes[k * 4 + 3] = cy + dist[3]!;
    scores[k] = f.score;
    classes[k] = f.classId;
  }
  return keptDetections(boxes, scores, classes, count, opts.iouThreshold, opts.maxDetections);
}

/** sum(softmax(logits) * index) over the n logits at from: the distribution's mean bin. */
export function expectation(logits: Float32Array, from: number, n: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (logits[from + j]! > max) max = logits[from + j]!;
  let sum = 0;
  let weighted = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(logits[from + j]! - max);
    sum += e;
    weighted += e * j;
  }
  return weighted / sum;
}
