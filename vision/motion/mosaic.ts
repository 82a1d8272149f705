// Detection on the changed areas only: the areas are cut out of the frame and packed, at full resolution, side by side
// into one small image (shelf packing), which the detector sees at the same scale as a whole frame. One inference on a
// 320x320 input costs about a fifth of the 640x640 whole frame, and objects keep the size the model sees them at.
import type { Box } from '../../contracts/events.js';
import type { Detection, RawImage } from '../detectors/types.js';

/** Where a frame area went in the mosaic: its top-left corner there. */
export interface Placement {
  src: Box;
  x: number;
  y: number;
}

export interface Mosaic {
  image: RawImage;
  placements: Placement[];
}

/** Grey between the areas (the letterbox's own grey): an edge there is nobody's. */
const PAD = 114;

/**
 * Places the areas (frame pixels, integer) on at most `max` mosaics of size x size, `gap` pixels apart, tallest first
 * on shelves; null when they do not fit (the caller tries a larger size, or detects on the whole frame).
 */
export function placeAreas(areas: readonly Box[], size: number, gap: number, max: number): Placement[][] | null {
  let left = [...areas].sort((a, b) => b[3] - b[1] - (a[3] - a[1]));
  if (left.some((a) => a[2] - a[0] > size || a[3] - a[1] > size)) return null;
  const out: Placement[][] = [];
  while (left.length > 0) {
    if (out.length === max) return null;
    const placements: Placement[] = [];
    const rest: Box[] = [];
    let x = 0;
    let y = 0;
    let shelf = 0;
    for (const a of left) {
      const w = a[2] - a[0];
      const h = a[3] - a[1];
      if (x + w > size) {
        x = 0;
        y += shelf + gap;
        shelf = 0;
      }
      if (y + h > size) {
        rest.push(a);
        continue;
      }
      placements.push({ src: a, x, y });
      x += w + gap;
      shelf = Math.max(shelf, h);
    }
    out.push(placements);
    left = rest;
  }
  return out;
}

/** The mosaic image: the frame's areas copied to their places, the letterbox's grey between them. */
export function drawMosaic(img: RawImage, placements: readonly Placement[], size: number): Mosaic {
  const data = Buffer.alloc(size * size * 3, PAD);
  for (const p of placements) {
    const [sx1, sy1, sx2, sy2] = p.src;
    const rowBytes = (sx2 - sx1) * 3;
    for (let r = 0; r < sy2 - sy1; r++) {
      const from = ((sy1 + r) * img.width + sx1) * 3;
      img.data.copy(data, ((p.y + r) * size + p.x) * 3, from, from + rowBytes);
    }
  }
  return { image: { data, width: size, height: size, channels: 3 }, placements: [...placements] };
}

/**
 * Detections on the mosaic → detections in frame pixels. A box belongs to the area its centre lies in, clipped to it;
 * a box that reaches an edge of its area which is not the frame's edge is an object cut off by the area and is dropped
 * (its whole lies outside what changed: a standing object the tracker holds).
 */
export function unpackDetections(
  dets: readonly Detection[],
  m: Mosaic,
  frameWidth: number,
  frameHeight: number,
  edgePx = 2,
): Detection[] {
  const out: Detection[] = [];
  for (const d of dets) {
    const cx = (d.box[0] + d.box[2]) / 2;
    const cy = (d.box[1] + d.box[3]) / 2;
    const p = m.placements.find(
      (q) => cx >= q.x && cx < q.x + q.src[2] - q.src[0] && cy >= q.y && cy < q.y + q.src[3] - q.src[1],
    );
    if (!p) continue;
    const w = p.src[2] - p.src[0];
    const h = p.src[3] - p.src[1];
    const x1 = Math.max(0, d.box[0] - p.x);
    const y1 = Math.max(0, d.box[1] - p.y);
    const x2 = Math.min(w, d.box[2] - p.x);
    const y2 = Math.min(h, d.box[3] - p.y);
    const cut =
      (x1 <= edgePx && p.src[0] > 0) ||
      (y1 <= edgePx && p.src[1] > 0) ||
      (x2 >= w - edgePx && p.src[2] < frameWidth) ||
      (y2 >= h - edgePx && p.src[3] < frameHeight);
    if (cut || x2 <= x1 || y2 <= y1) continue;
    out.push({ ...d, box: [x1 + p.src[0], y1 + p.src[1], x2 + p.src[0], y2 + p.src[1]] });
  }
  return out;
}
