// The detector on some areas of a frame: the smallest mosaic the areas fit in, else as many of the largest as cost
// less than a whole frame; null when even those are not enough (the caller detects on the whole frame).
import type { Box } from '../../contracts/events.js';
import type { DetectResult, Detector, RawImage } from '../detectors/types.js';
import { drawMosaic, placeAreas, unpackDetections } from './mosaic.js';

/** A session of the camera's model at one small input, its mosaic's side in frame pixels and how many may run. */
export interface AreaDetector {
  detector: Detector;
  /** Side of the mosaic in frame pixels: the input over the scale a whole frame is detected at. */
  size: number;
  /** Mosaics of this size that cost less than one whole frame (inference grows with the input's pixels). */
  max: number;
}

/** Pixels of frame between two areas in a mosaic: a box that strays over the gap is still told apart. */
const GAP = 8;

export async function detectOnAreas(img: RawImage, areas: readonly Box[], detectors: readonly AreaDetector[]): Promise<(DetectResult & { looked: Box[] }) | null> {
  for (const [i, a] of detectors.entries()) {
    const last = i === detectors.length - 1;
    const layout = placeAreas(areas, a.size, GAP, last ? a.max : 1);
    if (!layout) continue;
    const out: DetectResult & { looked: Box[] } = { detections: [], timings: { preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 }, looked: [] };
    for (const placements of layout) {
      const m = drawMosaic(img, placements, a.size);
      const r = await a.detector.detect(m.image);
      out.detections.push(...unpackDetections(r.detections, m, img.width, img.height));
      out.timings.preprocessMs += r.timings.preprocessMs;
      out.timings.inferenceMs += r.timings.inferenceMs;
      out.timings.postprocessMs += r.timings.postprocessMs;
      out.looked.push(...placements.map((p) => p.src));
    }
    return out;
  }
  return null;
}
