// The motion gate of one camera: per frame it decides whether the detector runs on the whole frame, on some areas of
// it, or not at all. The whole frame when there is no background yet, after a change of the whole picture, and every
// wholeFrameS seconds; the changed areas near the camera's zones when anything changed there, and with them every
// reverifyS seconds the boxes of the standing objects (so a car taken away unseen is not held for ever); nothing when nothing changed (the tracker's
// standing objects are then held where they are, with their dwell: held.ts).
import type { Box } from '../../contracts/events.js';
import type { Camera } from '../cameras/config.js';
import type { Track } from '../track/tracker.js';
import { BackgroundModel, type MotionMap } from './background.js';
import type { MotionGating } from './config.js';
import { decodeGrey, greySize, type GreyImage } from './grey.js';
import { cameraMaskPixels, mergeOverlapping, movingAreas, overlaps, toFrameBox } from './regions.js';

export type GateKind = 'full' | 'regions' | 'skipped';

/** `grey`: the frame's small grey image, for the stationary stage (vision/stationary) to reuse. */
export type GatePlan = { grey: GreyImage } & (
  | { kind: 'full'; reason: 'first' | 'global' | 'whole-frame' | 'motion' | 'reverify'; motion: MotionMap }
  /** `reverify`: the standing objects' boxes are among the areas. */
  | { kind: 'regions'; areas: Box[]; reverify: boolean; motion: MotionMap }
  | { kind: 'skipped'; motion: MotionMap }
);

export class MotionGate {
  private readonly bg: BackgroundModel;
  private readonly size: { width: number; height: number };
  private lastFull = -Infinity;
  private lastReverify = -Infinity;
  /** Where motion counts: the zones' bounding boxes with their margin; null = the whole frame. */
  private readonly near: Box[] | null;

  constructor(
    private readonly camera: Pick<Camera, 'width' | 'height' | 'masks'> & { zones?: Camera['zones'] },
    readonly options: MotionGating,
  ) {
    const zones = camera.zones ?? [];
    this.near =
      options.zonesOnly && zones.length > 0
        ? zones.map((z) => zoneBox(z, options.zoneMarginPx, camera.width, camera.height))
        : null;
    this.size = greySize(camera.width, camera.height, options.width);
    const ignore = cameraMaskPixels(camera, this.size);
    this.bg = new BackgroundModel(this.size.width, this.size.height, ignore, options);
  }

  /**
   * The plan for one frame at capture time ts, given the camera's live tracks as of the previous frame. `regions`:
   * whether this camera can detect on areas (its model takes a smaller input); without, any area means a whole frame.
   */
  async plan(encoded: Buffer, ts: number, tracks: readonly Track[], regions: boolean): Promise<GatePlan> {
    const grey = await decodeGrey(encoded, this.size, this.camera.width * this.camera.height);
    const motion = this.bg.update(grey);
    if (motion.restarted) return { kind: 'full', reason: motion.restarted, motion, grey };
    if (ts - this.lastFull >= this.options.wholeFrameS * 1000)
      return { kind: 'full', reason: 'whole-frame', motion, grey };
    const reverify =
      ts - this.lastReverify >= this.options.reverifyS * 1000 && tracks.some((t) => t.state !== 'tentative');
    // A tentative track needs its second sighting to be confirmed, whether or not it still moves.
    const look = tracks.filter((t) => reverify || t.state === 'tentative');
    const areas = this.areas(motion, look);
    if (areas.length === 0) return { kind: 'skipped', motion, grey };
    return regions
      ? { kind: 'regions', areas, reverify, motion, grey }
      : { kind: 'full', reason: reverify ? 'reverify' : 'motion', motion, grey };
  }

  /** The detector ran on the whole frame at ts: every standing object was looked at too. */
  verified(ts: number): void {
    this.lastFull = ts;
    this.lastReverify = ts;
  }

  /** The detector looked at the standing objects' boxes at ts. */
  reverified(ts: number): void {
    this.lastReverify = ts;
  }

  /** The changed areas and the boxes of the tracks to look at again, padded, merged where they overlap. */
  private areas(motion: MotionMap, look: readonly Track[]): Box[] {
    const o = this.options;
    const { width: W, height: H } = this.camera;
    const sx = W / motion.width;
    const sy = H / motion.height;
    const near = this.near;
    const areas = movingAreas(motion.foreground, motion.moving, motion.width, motion.height, o.minPixels)
      .map((b) => toFrameBox(b, sx, sy, o.padFrac, o.padPx, W, H))
      .filter((a) => near === null || near.some((z) => overlaps(a, z)));
    for (const t of look) areas.push(toFrameBox(t.box, 1, 1, o.padFrac, o.padPx, W, H));
    return mergeOverlapping(areas);
  }
}

/** A zone's bounding box (its polygon, or its sidewalk and store line), grown by the margin, clipped to the frame. */
function zoneBox(z: Camera['zones'][number], margin: number, width: number, height: number): Box {
  const pts = z.type === 'no-parking' ? z.polygon : [...z.sidewalk, ...z.storeLine];
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [
    Math.max(0, Math.min(...xs) - margin),
    Math.max(0, Math.min(...ys) - margin),
    Math.min(width, Math.max(...xs) + margin),
    Math.min(height, Math.max(...ys) + margin),
  ];
}
