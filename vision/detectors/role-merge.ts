// One box per object and role. A COCO model's class-wise NMS keeps a "car" box and a "truck" box on the same van:
// to the rules both are vehicles, and the tracker would follow one van as two. Boxes of one role overlapping more
// than `roleMergeIou` (model config) become the best-scoring one, which keeps its class.
import { mergeDetections } from './tiling.js';
import type { DetectResult, Detector, RawImage } from './types.js';

export class RoleMergeDetector implements Detector {
  constructor(
    private readonly inner: Detector,
    private readonly iou: number,
  ) {}

  get info() {
    return this.inner.info;
  }

  async detect(img: RawImage): Promise<DetectResult> {
    const r = await this.inner.detect(img);
    const t0 = performance.now();
    const detections = mergeDetections(
      r.detections.map((d) => ({ ...d, cut: false })),
      { mergeIou: this.iou, mergeIos: 1.1, mergeBy: 'role' },
    );
    return { detections, timings: { ...r.timings, postprocessMs: r.timings.postprocessMs + (performance.now() - t0) } };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The detector with role-wise merging, unless `iou` is 1 (off). */
export function withRoleMerge(inner: Detector, iou: number): Detector {
  return iou >= 1 ? inner : new RoleMergeDetector(inner, iou);
}
