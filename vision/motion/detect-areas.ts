// The detector on some areas of a frame: the mosaics that cost least (inference grows with the input's pixels: four
// 160 inputs cost what one 320 does), each size at most as many times as cost less than a whole frame; null when no
// size holds the areas so (the caller detects on the whole frame).
import type { Box } from '../../contracts/events.js';
import type { DetectResult, Detector, RawImage } from '../detectors/types.js';
import { mergeDetections } from '../detectors/tiling.js';
import { drawMosaic, placeAreas, unpackDetections, type Placement } from './mosaic.js';

/** A session of the camera's model at one small input, its mosaic's side in frame pixels and how many may run. */
export interface AreaDetector {
  detector: Detector;
  /** The model's input side at this size, px. */
  input: number;
  /** Side of the mosaic in frame pixels: the input over the scale a whole frame is detected at. */
  size: number;
  /** Mosaics of this size that cost less than one whole frame (inference grows with the input's pixels). */
  max: number;
}

/** Pixels of frame between two areas in a mosaic: a box that strays over the gap is still told apart. */
const GAP = 8;
const RUN_PIXELS = 128 * 128;

export async function detectOnAreas(
  img: RawImage,
  areas: readonly Box[],
  detectors: readonly AreaDetector[],
): Promise<(DetectResult & { looked: Box[] }) | null> {
  let best: { a: AreaDetector; layout: Placement[][]; cost: number } | null = null;
  for (const a of detectors) {
    const layout = placeAreas(areas, a.size, GAP, a.max);
    // Each run has a fixed part too (the call, the letterbox, decoding): counted as a 128x128 input's pixels.
    const cost = layout ? layout.length * (a.input * a.input + RUN_PIXELS) : Infinity;
    if (layout && (!best || cost < best.cost)) best = { a, layout, cost };
  }
  if (!best) return null;
  const { a, layout } = best;
  const out: DetectResult & { looked: Box[] } = {
    detections: [],
    timings: { preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 },
    looked: [],
  };
  for (const placements of layout) {
    const m = drawMosaic(img, placements, a.size);
    const r = await a.detector.detect(m.image);
    out.detections.push(...unpackDetections(r.detections, m, img.width, img.height));
    out.timings.preprocessMs += r.timings.preprocessMs;
    out.timings.inferenceMs += r.timings.inferenceMs;
    out.timings.postprocessMs += r.timings.postprocessMs;
    out.looked.push(...placements.map((p) => p.src));
  }
  // One box per object and role where areas overlap (an object in the overlap is found in both): merged as the tiles'
  // boxes are, best score first; no area cuts an object here (unpackDetections dropped the cut ones).
  out.detections = mergeDetections(
    out.detections.map((d) => ({ ...d, cut: false })),
    { mergeIou: 0.5, mergeIos: 1 },
  );
  return out;
}
