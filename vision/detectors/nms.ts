// Class-wise non-maximum suppression: of the boxes of one class that overlap more than the IoU threshold, only
// the best scored is kept. Boxes of different classes never suppress each other (a stall under a parked car's
// box stays). Shared by every family's plugin.

/** Intersection over union of boxes i and j of a packed [x1, y1, x2, y2, ...] array. */
export function iouAt(b: Float32Array, i: number, j: number): number {
  const i4 = i * 4;
  const j4 = j * 4;
  const w = Math.min(b[i4 + 2]!, b[j4 + 2]!) - Math.max(b[i4]!, b[j4]!);
  if (w <= 0) return 0;
  const h = Math.min(b[i4 + 3]!, b[j4 + 3]!) - Math.max(b[i4 + 1]!, b[j4 + 1]!);
  if (h <= 0) return 0;
  const inter = w * h;
  const a = (b[i4 + 2]! - b[i4]!) * (b[i4 + 3]! - b[i4 + 1]!);
  const c = (b[j4 + 2]! - b[j4]!) * (b[j4 + 3]! - b[j4 + 1]!);
  return inter / (a + c - inter);
}

/**
 * Indices (into the first `count` entries) of the boxes kept, best score first, at most maxKeep.
 * boxes: packed x1, y1, x2, y2; scores and classes: one per box.
 */
export function nmsClassWise(
  boxes: Float32Array,
  scores: Float32Array,
  classes: Int32Array,
  count: number,
  iouThreshold: number,
  maxKeep: number,
): number[] {
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const suppressed = new Uint8Array(count);
  const kept: number[] = [];
  for (let oi = 0; oi < count && kept.length < maxKeep; oi++) {
    const i = order[oi]!;
    if (suppressed[i]) continue;
    kept.push(i);
    const c = classes[i]!;
    for (let oj = oi + 1; oj < count; oj++) {
      const j = order[oj]!;
      if (suppressed[j] || classes[j] !== c) continue;
      if (iouAt(boxes, i, j) > iouThreshold) suppressed[j] = 1;
    }
  }
  return kept;
}

/** A detection in input-tensor pixels, before the letterbox is undone. */
export interface InputDetection {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  classId: number;
}

/** Class-wise NMS over a family decoder's candidates, as detections in input pixels, best first. */
export function keptDetections(
  boxes: Float32Array,
  scores: Float32Array,
  classes: Int32Array,
  count: number,
  iouThreshold: number,
  maxKeep: number,
): InputDetection[] {
  return nmsClassWise(boxes, scores, classes, count, iouThreshold, maxKeep).map((k) => ({
    x1: boxes[k * 4]!,
    y1: boxes[k * 4 + 1]!,
    x2: boxes[k * 4 + 2]!,
    y2: boxes[k * 4 + 3]!,
    score: scores[k]!,
    classId: classes[k]!,
  }));
}
