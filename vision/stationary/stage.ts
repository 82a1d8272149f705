// The class-agnostic stall stage of one camera: what appeared on a storefront sidewalk beyond the store line and
// stays, whatever it is. Standing pixels (background.ts) grouped into connected areas; an area whose background
// shows an outline the frame does not (a ghost: something that stood there when the background was learned has
// gone) is taken into the background, judged whole when it is of an object's size and tile by tile when larger
// (several things joined), and never where a live candidate's track stands when the ghost is mostly something else
// joined to it; what a detection or a track of the frame explains (a parked car, a standing
// person, a stall the detector found) is not a candidate; an area of plausible size whose ground point (bottom
// centre) lies on a storefront sidewalk beyond its store line is a candidate, given to the tracker as a detection of
// role `stall` with the class `STATIONARY_CLASS`. The zone rules then time its dwell as any stall's.
import type { Box } from '../../contracts/events.js';
import type { Camera } from '../cameras/config.js';
import type { Detection } from '../detectors/types.js';
import { decodeGrey, greySize, type GreyImage } from '../motion/grey.js';
import { cameraMaskPixels, movingAreas } from '../motion/regions.js';
import { bottomCentre, pointInPolygon, polygonCentroid, sideOfPolyline, type Point } from '../rules/geometry.js';
import { DualBackground } from './background.js';
import type { StationarySettings } from './config.js';

/** The class a candidate carries to the tracker, the rules and the reviewer: no model named it. */
export const STATIONARY_CLASS = 'new standing object (class unknown)';
/** The event's `detector.model` when its object is a candidate of this stage. */
export const STATIONARY_DETECTOR = 'stationary-foreground';
/** classId of a candidate: no detector produced it. */
export const STATIONARY_CLASS_ID = -2;

/** Whether a camera runs the stage: as its settings say, else when it has a storefront zone. */
export function stationaryEnabled(camera: Pick<Camera, 'zones' | 'stationary'>): boolean {
  return camera.stationary.enabled ?? camera.zones.some((z) => z.type === 'storefront');
}

export class StationaryStage {
  private readonly bg: DualBackground;
  readonly size: { width: number; height: number };
  private readonly sx: number;
  private readonly sy: number;
  /** Ground point → on a storefront sidewalk beyond its store line. */
  private readonly onSidewalk: ((p: Point) => boolean)[];

  constructor(
    private readonly camera: Pick<Camera, 'width' | 'height' | 'masks' | 'zones'>,
    readonly options: StationarySettings,
    /** The grey image's width: the motion gate's, when it runs, so its image is reused. */
    width = options.width,
  ) {
    this.size = greySize(camera.width, camera.height, width);
    this.sx = camera.width / this.size.width;
    this.sy = camera.height / this.size.height;
    const ignore = cameraMaskPixels(camera, this.size);
    this.bg = new DualBackground(this.size.width, this.size.height, ignore, options);
    this.onSidewalk = camera.zones.flatMap((z) => {
      if (z.type !== 'storefront') return [];
      const street = sideOfPolyline(polygonCentroid(z.sidewalk), z.storeLine);
      return [(p: Point) => pointInPolygon(p, z.sidewalk) && sideOfPolyline(p, z.storeLine) === street];
    });
  }

  /** The frame's grey image, when the motion gate did not make one (gate off). */
  async grey(encoded: Buffer): Promise<GreyImage> {
    return decodeGrey(encoded, this.size, this.camera.width * this.camera.height);
  }

  /**
   * One frame at capture time ts → the candidates. `explained`: boxes of what the detector found in this frame and of
   * the tracker's objects (frame pixels); standing pixels under them are not a candidate's. `held`: boxes of the live
   * tracks of this stage's own candidates (frame pixels); the pixels under them are not taken in with a ghost that is
   * mostly something else joined to them (a candidate being timed is an object the frame shows; only `absorbS` takes
   * it in), but are with one that lies mostly under them (`ghostHeldFrac`: its own ghost, judged by its own outline).
   */
  update(img: GreyImage, ts: number, explained: readonly Box[], held: readonly Box[] = []): Detection[] {
    if (this.bg.update(img, ts) !== null) return [];
    const { width: w, height: h } = this.size;
    const o = this.options;
    const standMs = o.standS * 1000;
    const standing = new Uint8Array(w * h);
    for (let i = 0; i < standing.length; i++) if (ts - this.bg.since[i]! >= standMs) standing[i] = 1;
    const pad = o.explainedPadPx;
    let keep: Uint8Array | null = null;
    if (held.length > 0) {
      keep = new Uint8Array(w * h);
      for (const e of held) this.fillBox(keep, e, pad, 1);
    }
    // Judged against the standing pixels as they are before any is taken in: the result does not depend on the order
    // of the areas and tiles, and a large ghost is taken in from its edge inwards, a tile's width a frame.
    const ghosts: Box[] = [];
    const ghostMax = o.ghostMaxAreaFrac * w * h;
    const tw = Math.max(1, Math.round(o.ghostTilePx / this.sx));
    const th = Math.max(1, Math.round(o.ghostTilePx / this.sy));
    for (const b of movingAreas(standing, standing, w, h, 1)) {
      if (countIn(standing, w, b) <= ghostMax) {
        if (this.isGhost(standing, b)) ghosts.push(b);
        continue;
      }
      for (let y = b[1]; y < b[3]; y += th) {
        for (let x = b[0]; x < b[2]; x += tw) {
          const t: Box = [x, y, Math.min(x + tw, b[2]), Math.min(y + th, b[3])];
          if (this.isGhost(standing, t)) ghosts.push(t);
        }
      }
    }
    for (const b of ghosts) this.absorbArea(standing, b, keep);
    for (const e of explained) this.fillBox(standing, e, pad, 0);
    const pixelArea = this.sx * this.sy;
    const minPixels = Math.max(1, Math.ceil(o.minAreaPx / pixelArea));
    const maxPixels = o.maxAreaFrac * w * h;
    const out: Detection[] = [];
    for (const b of movingAreas(standing, standing, w, h, minPixels)) {
      const count = countIn(standing, w, b);
      if (count > maxPixels) continue;
      const box: Box = [b[0] * this.sx, b[1] * this.sy, b[2] * this.sx, b[3] * this.sy];
      if (box[2] - box[0] < o.minSidePx || box[3] - box[1] < o.minSidePx) continue;
      const ground = bottomCentre(box);
      if (!this.onSidewalk.some((f) => f(ground))) continue;
      out.push({ box, score: o.score, classId: STATIONARY_CLASS_ID, className: STATIONARY_CLASS, role: 'stall' });
    }
    return out;
  }

  /**
   * Contrast across the area's outline (standing pixels next to one that is not), in the background and in the frame:
   * a new object has its outline in the frame; a ghost has the gone object's outline in the background only.
   */
  private isGhost(standing: Uint8Array, b: Box): boolean {
    const { width: w } = this.size;
    const { long, frame } = this.bg;
    let inBg = 0;
    let inFrame = 0;
    for (let y = b[1]; y < b[3]; y++) {
      for (let x = b[0]; x < b[2]; x++) {
        const i = y * w + x;
        if (!standing[i]) continue;
        for (const j of [i - 1, i + 1, i - w, i + w]) {
          const jx = j % w;
          if (j < 0 || j >= standing.length || Math.abs(jx - x) > 1 || standing[j]) continue;
          inBg += Math.abs(long[i]! - long[j]!);
          inFrame += Math.abs(frame[i]! - frame[j]!);
        }
      }
    }
    return inBg > this.options.ghostRatio * inFrame;
  }

  /**
   * Takes the standing pixels of b (small-image pixels) into the background, but for those `keep` marks (under a live
   * candidate's track) when they are less than `ghostHeldFrac` of them: then the ghost is something else joined to the
   * candidate; else it is the candidate's own, judged by its own outline, and all is taken in.
   */
  private absorbArea(standing: Uint8Array, b: Box, keep: Uint8Array | null): void {
    const w = this.size.width;
    if (keep) {
      let n = 0;
      let k = 0;
      for (let y = b[1]; y < b[3]; y++) {
        for (let x = b[0]; x < b[2]; x++) {
          const i = y * w + x;
          n += standing[i]!;
          if (standing[i] && keep[i]) k++;
        }
      }
      if (k >= this.options.ghostHeldFrac * n) keep = null;
    }
    for (let y = b[1]; y < b[3]; y++) {
      for (let x = b[0]; x < b[2]; x++) {
        const i = y * w + x;
        if (!standing[i] || keep?.[i]) continue;
        this.bg.absorb(i);
        standing[i] = 0;
      }
    }
  }

  /** Sets the small-image pixels under box e (frame pixels, padded by pad) to v. */
  private fillBox(mask: Uint8Array, e: Box, pad: number, v: number): void {
    const { width: w, height: h } = this.size;
    const x1 = Math.max(0, Math.floor((e[0] - pad) / this.sx));
    const y1 = Math.max(0, Math.floor((e[1] - pad) / this.sy));
    const x2 = Math.min(w, Math.ceil((e[2] + pad) / this.sx));
    const y2 = Math.min(h, Math.ceil((e[3] + pad) / this.sy));
    for (let y = y1; y < y2; y++) if (x2 > x1) mask.fill(v, y * w + x1, y * w + x2);
  }

  /** Bytes the camera's stage holds: fixed by the grey image's size. */
  get bytes(): number {
    return this.bg.bytes;
  }
}

function countIn(mask: Uint8Array, w: number, b: Box): number {
  let n = 0;
  for (let y = b[1]; y < b[3]; y++) for (let x = b[0]; x < b[2]; x++) n += mask[y * w + x]!;
  return n;
}
