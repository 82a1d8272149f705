// Plane geometry in image pixels for the tracker and the zone rules. Image coordinates: x to the right, y down.
// Pure functions without dependencies, so that vision/track can use them too.
import type { Box } from '../../contracts/events.js';

export type Point = readonly [number, number];

/** Intersection over union of two boxes; 0 when either has no area. */
export function iou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

export function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function centre(b: Box): Point {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

/**
 * The middle of the box's bottom edge: where a vehicle or a stall touches the ground. Zone membership is decided
 * on this point, not on the box, because the zones are drawn on the ground and a tall object's box reaches far
 * above (and, in perspective, beyond) the ground it stands on.
 */
export function bottomCentre(b: Box): Point {
  return [(b[0] + b[2]) / 2, b[3]];
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Even-odd ray casting. Points exactly on an edge may fall either way; zones are drawn with a margin anyway. */
export function pointInPolygon(p: Point, poly: readonly Point[]): boolean {
  const [x, y] = p;
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Area centroid (shoelace); the mean of the vertices for a degenerate (zero-area) polygon. */
export function polygonCentroid(poly: readonly Point[]): Point {
  let a2 = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    const cross = xj * yi - xi * yj;
    a2 += cross;
    cx += (xj + xi) * cross;
    cy += (yj + yi) * cross;
  }
  if (Math.abs(a2) < 1e-9) {
    const n = poly.length || 1;
    return [poly.reduce((s, q) => s + q[0], 0) / n, poly.reduce((s, q) => s + q[1], 0) / n];
  }
  return [cx / (3 * a2), cy / (3 * a2)];
}

const cross = (o: Point, a: Point, p: Point): number => (a[0] - o[0]) * (p[1] - o[1]) - (a[1] - o[1]) * (p[0] - o[0]);

/**
 * Which side of a polyline a point lies on: +1 or -1 by the sign of the cross product (segment direction × point),
 * 0 on the line. The side is taken from the nearest segment; the end segments extend to infinity. When the
 * nearest point is a corner shared by two segments, the corner's wedge decides: at a left turn the positive side
 * is the inside of the turn (positive of both segments), at a right turn the outside (positive of either).
 */
export function sideOfPolyline(p: Point, polyline: readonly Point[]): -1 | 0 | 1 {
  // Repeated points would make zero-length segments, which have no side.
  const line = polyline.filter((q, i) => i === 0 || q[0] !== polyline[i - 1]![0] || q[1] !== polyline[i - 1]![1]);
  if (line.length < 2) throw new RangeError('a polyline needs at least two distinct points');
  let best = Infinity;
  let seg = 0;
  let tBest = 0;
  for (let i = 0; i + 1 < line.length; i++) {
    const a = line[i]!;
    const b = line[i + 1]!;
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const len2 = dx * dx + dy * dy;
    const t = len2 > 0 ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2)) : 0;
    const d = Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
    if (d < best - 1e-12) {
      best = d;
      seg = i;
      tBest = t;
    }
  }
  const sign = (v: number): -1 | 0 | 1 => (v > 1e-12 ? 1 : v < -1e-12 ? -1 : 0);
  // A corner between segment `seg` and its neighbour: the nearest point is the shared vertex.
  const corner = tBest === 1 && seg + 2 < line.length ? seg + 1 : tBest === 0 && seg > 0 ? seg : -1;
  if (corner < 0) return sign(cross(line[seg]!, line[seg + 1]!, p));
  const prev = line[corner - 1]!;
  const v = line[corner]!;
  const next = line[corner + 1]!;
  const s1 = sign(cross(prev, v, p));
  const s2 = sign(cross(v, next, p));
  const turn = cross(prev, v, next);
  if (turn > 0) return s1 > 0 && s2 > 0 ? 1 : s1 < 0 || s2 < 0 ? -1 : 0;
  if (turn < 0) return s1 < 0 && s2 < 0 ? -1 : s1 > 0 || s2 > 0 ? 1 : 0;
  return s1 || s2; // straight on through the corner: one line
}

/** Whether segments ab and cd cross or touch (collinear overlaps count). */
function segmentsMeet(a: Point, b: Point, c: Point, d: Point): boolean {
  const orient = (p: Point, q: Point, r: Point) =>
    Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  const onSegment = (p: Point, q: Point, r: Point) =>
    Math.min(p[0], r[0]) <= q[0] &&
    q[0] <= Math.max(p[0], r[0]) &&
    Math.min(p[1], r[1]) <= q[1] &&
    q[1] <= Math.max(p[1], r[1]);
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(a, c, b)) ||
    (o2 === 0 && onSegment(a, d, b)) ||
    (o3 === 0 && onSegment(c, a, d)) ||
    (o4 === 0 && onSegment(c, b, d))
  );
}

/**
 * The first pair of edges of a closed polygon that cross (indices of their first points), or null when it is simple.
 * A self-intersecting zone (a "bow tie" from points clicked in the wrong order) makes pointInPolygon's even-odd
 * answer leave holes where the officer meant the zone to be. O(n²): zones have a handful of points.
 */
export function selfIntersection(poly: readonly Point[]): [number, number] | null {
  const n = poly.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      // Neighbouring edges share a point; the first and the last edge too.
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      if (segmentsMeet(poly[i]!, poly[(i + 1) % n]!, poly[j]!, poly[(j + 1) % n]!)) return [i, j];
    }
  }
  return null;
}
