// Decoding CenterNet's maps ("Objects as Points"): an object is a peak of its class's heatmap, a cell whose score
// is the maximum of its 3x3 neighbourhood (what the original graph does with a 3x3 max-pool and an equality);
// its box is given by the distances from the cell's centre to the four sides, in input pixels. Both maps are
// channels first, so each class is one contiguous plane, scanned row by row; objects are made only for the cells
// above the score threshold.
import { keptDetections, type InputDetection } from './nms.js';

export interface CenterNetMaps {
  /** [1, C, H, W] sigmoid class scores. */
  heatmap: Float32Array;
  /** [1, 4, H, W] distances to the left, top, right and bottom sides, input pixels. */
  boxes: Float32Array;
  numClasses: number;
  /** Map size (input size / outputStride). */
  width: number;
  height: number;
}

export interface CenterNetDecodeOptions {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  /** Input pixels per map cell: the centre of cell (x, y) is (x * stride, y * stride). */
  outputStride: number;
  /** Classes to consider; all when absent. */
  classMask?: Uint8Array;
  /** Peaks taken into NMS, best first (the original graph keeps 100; more is harmless and helps crowds). */
  maxCandidates?: number;
}

export function decodeCenterNet(maps: CenterNetMaps, opts: CenterNetDecodeOptions): InputDetection[] {
  const { heatmap: hm, boxes: bx, numClasses: C, width: W, height: H } = maps;
  const plane = W * H;
  if (hm.length !== C * plane)
    throw new Error(`CenterNet heatmap holds ${hm.length} values, expected ${C} x ${H} x ${W}`);
  if (bx.length !== 4 * plane) throw new Error(`CenterNet box map holds ${bx.length} values, expected 4 x ${H} x ${W}`);
  const thr = opts.scoreThreshold;
  const mask = opts.classMask;

  // Candidates as (class * plane + cell), with their scores.
  const cand: number[] = [];
  const candScore: number[] = [];
  for (let c = 0; c < C; c++) {
    if (mask && !mask[c]) continue;
    const base = c * plane;
    for (let y = 0; y < H; y++) {
      const row = base + y * W;
      for (let x = 0; x < W; x++) {
        const v = hm[row + x]!;
        if (!(v > thr)) continue;
        if (!isPeak(hm, base, W, H, x, y, v)) continue;
        cand.push(row + x);
        candScore.push(v);
      }
    }
  }
  let count = cand.length;
  if (count === 0) return [];
  let order = Array.from({ length: count }, (_, i) => i);
  const maxCand = opts.maxCandidates ?? 1000;
  if (count > maxCand) {
    order = order.sort((a, b) => candScore[b]! - candScore[a]!).slice(0, maxCand);
    count = maxCand;
  }

  const s = opts.outputStride;
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count);
  const classes = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const i = order[k]!;
    const idx = cand[i]!;
    const c = Math.floor(idx / plane);
    const cell = idx - c * plane;
    const x = cell % W;
    const y = (cell - x) / W;
    const cx = x * s;
    const cy = y * s;
    boxes[k * 4] = cx - bx[cell]!;
    boxes[k * 4 + 1] = cy - bx[plane + cell]!;
    boxes[k * 4 + 2] = cx + bx[2 * plane + cell]!;
    boxes[k * 4 + 3] = cy + bx[3 * plane + cell]!;
    scores[k] = candScore[i]!;
    classes[k] = c;
  }
  return keptDetections(boxes, scores, classes, count, opts.iouThreshold, opts.maxDetections);
}

/** v (at x, y of the plane starting at base) is not below any of its up to 8 neighbours inside the map. */
function isPeak(hm: Float32Array, base: number, W: number, H: number, x: number, y: number, v: number): boolean {
  const y0 = y > 0 ? y - 1 : 0;
  const y1 = y < H - 1 ? y + 1 : y;
  const x0 = x > 0 ? x - 1 : 0;
  const x1 = x < W - 1 ? x + 1 : x;
  for (let yy = y0; yy <= y1; yy++) {
    const row = base + yy * W;
    for (let xx = x0; xx <= x1; xx++) if (hm[row + xx]! > v) return false;
  }
  return true;
}
