// From changed pixels of the small grey image to the areas of the frame the detector should look at: the masks
// rasterised onto the small image, connected areas of changed pixels as boxes in frame pixels, padded and merged.
import type { Box } from '../../contracts/events.js';
import type { Camera } from '../cameras/config.js';
import { area, pointInPolygon, type Point } from '../rules/geometry.js';

/** The camera's masks on its small grey image (the motion gate's and the stall stage's): 1 = left out. */
export function cameraMaskPixels(
  camera: Pick<Camera, 'width' | 'height' | 'masks'>,
  size: { width: number; height: number },
): Uint8Array {
  return maskPixels(
    camera.masks.map((m) => m.polygon),
    camera.width,
    camera.height,
    size.width,
    size.height,
  );
}

/** Per small-image pixel, 1 when its centre lies in one of the polygons (frame pixels). */
export function maskPixels(
  polygons: readonly (readonly Point[])[],
  frameWidth: number,
  frameHeight: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  if (polygons.length === 0) return out;
  const sx = frameWidth / width;
  const sy = frameHeight / height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p: Point = [(x + 0.5) * sx, (y + 0.5) * sy];
      if (polygons.some((poly) => pointInPolygon(p, poly))) out[y * width + x] = 1;
    }
  }
  return out;
}

/**
 * Connected areas of foreground pixels (8-neighbours, after joining pixels one apart, so that fragments of one object
 * come out as one area) with at least minPixels moving pixels in them, as boxes of their foreground in small-image
 * pixels [x1, y1, x2, y2).
 */
export function movingAreas(
  foreground: Uint8Array,
  moving: Uint8Array,
  width: number,
  height: number,
  minPixels: number,
): Box[] {
  const changed = foreground;
  // Dilate by one pixel: fragments of one object become one area.
  const grown = new Uint8Array(changed.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!changed[y * width + x]) continue;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < width) grown[yy * width + xx] = 1;
        }
      }
    }
  }
  const label = new Int32Array(changed.length);
  const stack: number[] = [];
  const boxes: Box[] = [];
  let next = 0;
  for (let start = 0; start < grown.length; start++) {
    if (!grown[start] || label[start]) continue;
    next++;
    label[start] = next;
    stack.push(start);
    let x1 = width;
    let y1 = height;
    let x2 = 0;
    let y2 = 0;
    let real = 0;
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % width;
      const y = (i - x) / width;
      if (changed[i]) {
        if (moving[i]) real++;
        // The box bounds the foreground, not the one-pixel growth around it.
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (grown[j] && !label[j]) {
            label[j] = next;
            stack.push(j);
          }
        }
      }
    }
    if (real >= minPixels) boxes.push([x1, y1, x2, y2]);
  }
  return boxes;
}

/** A small-image box in frame pixels, padded by max(padPx, padFrac × its side) and clipped to the frame. */
export function toFrameBox(
  b: Box,
  scaleX: number,
  scaleY: number,
  padFrac: number,
  padPx: number,
  frameWidth: number,
  frameHeight: number,
): Box {
  const x1 = b[0] * scaleX;
  const y1 = b[1] * scaleY;
  const x2 = b[2] * scaleX;
  const y2 = b[3] * scaleY;
  const px = Math.max(padPx, padFrac * (x2 - x1));
  const py = Math.max(padPx, padFrac * (y2 - y1));
  return [
    Math.max(0, Math.floor(x1 - px)),
    Math.max(0, Math.floor(y1 - py)),
    Math.min(frameWidth, Math.ceil(x2 + px)),
    Math.min(frameHeight, Math.ceil(y2 + py)),
  ];
}

export function overlaps(a: Box, b: Box): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

export function union(a: Box, b: Box): Box {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

/**
 * Boxes that overlap become their union when the union adds little the two did not cover (at most `slack` of their
 * covered area): merging every overlap chained a moving bus, the parked cars beside it and a passer-by into one box as
 * wide as the frame, mostly empty road, too big for any mosaic. Boxes left overlapping are detected each in its own
 * place (the detections are de-duplicated after, mosaic.ts). A few dozen boxes at most: quadratic is fine.
 */
export function mergeOverlapping(boxes: readonly Box[], slack = 0.25): Box[] {
  const out = boxes.map((b) => [...b] as Box);
  let merged = true;
  while (merged) {
    merged = false;
    outer: for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const a = out[i]!;
        const b = out[j]!;
        if (!overlaps(a, b)) continue;
        const inter: Box = [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
        const covered = area(a) + area(b) - area(inter);
        const u = union(a, b);
        if (area(u) > (1 + slack) * covered) continue;
        out[i] = u;
        out.splice(j, 1);
        merged = true;
        break outer;
      }
    }
  }
  return out;
}
