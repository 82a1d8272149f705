// Decoding the output of YOLO exports. Ultralytics (YOLOv8 and later) gives [1, 4 + C, N]: per anchor the box
// centre x, centre y, width, height in input pixels, then C class scores already through a sigmoid. YOLOv5 gives
// [1, N, 5 + C] with an objectness score before the classes. Either may come transposed; which dimension is which
// is told by the class count. The loops run over the raw output with reused typed arrays and allocate objects
// only for the anchors above the score threshold.
import { keptDetections, type InputDetection } from './nms.js';

export interface YoloLayout {
  /** true: [1, 4 (+1) + C, N] (rows are attributes); false: [1, N, 4 (+1) + C]. */
  channelsFirst: boolean;
  /** YOLOv5: an objectness score after the box, multiplied into the class scores. */
  objectness: boolean;
  numClasses: number;
  anchors: number;
}

/** Which YOLO layout an output shape is, or null with none. Prefers the YOLOv8 layouts if several could fit. */
export function yoloLayout(dims: readonly number[], numClasses: number): YoloLayout | null {
  if (dims.length !== 3 || dims[0] !== 1) return null;
  const [, a, b] = dims as [number, number, number];
  const v8 = 4 + numClasses;
  const v5 = 5 + numClasses;
  if (a === v8) return { channelsFirst: true, objectness: false, numClasses, anchors: b };
  if (b === v8) return { channelsFirst: false, objectness: false, numClasses, anchors: a };
  // YOLOv5 exports only as [1, N, 5 + C]; accepting v5 rows first too would read a v8 output with one class name
  // too few as v5.
  if (b === v5) return { channelsFirst: false, objectness: true, numClasses, anchors: a };
  return null;
}

export interface YoloDecodeOptions {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  /** Classes to consider; all when absent. */
  classMask?: Uint8Array;
  /** Candidates above the threshold taken into NMS, best first (Ultralytics uses 30,000). */
  maxCandidates?: number;
}

export class YoloDecoder {
  private best = new Float32Array(0);
  private bestClass = new Int32Array(0);
  private readonly maxCandidates: number;

  constructor(private readonly opts: YoloDecodeOptions) {
    this.maxCandidates = opts.maxCandidates ?? 30_000;
  }

  decode(out: Float32Array, layout: YoloLayout): InputDetection[] {
    const { numClasses: C, anchors: N, objectness } = layout;
    const stride = 4 + (objectness ? 1 : 0) + C;
    if (out.length !== stride * N) throw new Error(`YOLO output holds ${out.length} values, expected ${stride} x ${N}`);
    if (this.best.length < N) {
      this.best = new Float32Array(N);
      this.bestClass = new Int32Array(N);
    }
    const best = this.best;
    const bestClass = this.bestClass;
    const mask = this.opts.classMask;
    const thr = this.opts.scoreThreshold;
    const first = objectness ? 5 : 4;

    // Best class per anchor. Channels-first: class by class along contiguous rows (cache-friendly).
    best.fill(-Infinity, 0, N);
    if (layout.channelsFirst) {
      for (let c = 0; c < C; c++) {
        if (mask && !mask[c]) continue;
        const row = (first + c) * N;
        for (let i = 0; i < N; i++) {
          const v = out[row + i]!;
          if (v > best[i]!) {
            best[i] = v;
            bestClass[i] = c;
          }
        }
      }
      if (objectness) for (let i = 0; i < N; i++) best[i] = best[i]! * out[4 * N + i]!;
    } else {
      for (let i = 0; i < N; i++) {
        const row = i * stride;
        let b = -Infinity;
        let bc = 0;
        for (let c = 0; c < C; c++) {
          if (mask && !mask[c]) continue;
          const v = out[row + first + c]!;
          if (v > b) {
            b = v;
            bc = c;
          }
        }
        best[i] = objectness ? b * out[row + 4]! : b;
        bestClass[i] = bc;
      }
    }

    let count = 0;
    for (let i = 0; i < N; i++) if (best[i]! > thr) count++;
    if (count === 0) return [];
    let idx = new Int32Array(count);
    for (let i = 0, k = 0; i < N; i++) if (best[i]! > thr) idx[k++] = i;
    if (count > this.maxCandidates) {
      idx = idx.sort((p, q) => best[q]! - best[p]!).subarray(0, this.maxCandidates);
      count = this.maxCandidates;
    }

    const boxes = new Float32Array(count * 4);
    const scores = new Float32Array(count);
    const classes = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      const i = idx[k]!;
      let cx: number, cy: number, w: number, h: number;
      if (layout.channelsFirst) {
        cx = out[i]!;
        cy = out[N + i]!;
        w = out[2 * N + i]!;
        h = out[3 * N + i]!;
      } else {
        const row = i * stride;
        cx = out[row]!;
        cy = out[row + 1]!;
        w = out[row + 2]!;
        h = out[row + 3]!;
      }
      boxes[k * 4] = cx - w / 2;
      boxes[k * 4 + 1] = cy - h / 2;
      boxes[k * 4 + 2] = cx + w / 2;
      boxes[k * 4 + 3] = cy + h / 2;
      scores[k] = best[i]!;
      classes[k] = bestClass[i]!;
    }
    return keptDetections(boxes, scores, classes, count, this.opts.iouThreshold, this.opts.maxDetections);
  }
}
