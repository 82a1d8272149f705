// The stationary-foreground stage's settings, per camera (`stationary` in the camera registry). Every threshold is
// here, none in the code.
import { z } from 'zod';

export const StationarySchema = z.strictObject({
  /**
   * Look for new standing objects on the camera's storefront sidewalks. Absent: on for a camera with a storefront
   * zone (nothing to look for without one).
   */
  enabled: z.boolean().optional(),
  /** Width of the greyscale image compared, px: the motion gate's image when the gate is on (its `width` wins). */
  width: z.number().int().min(16).max(640).default(160),
  /** A small-image pixel differs from a background by more than this, grey levels 0..255. */
  threshold: z.number().min(1).max(255).default(18),
  /**
   * Long-term background: share of each frame blended into it, only where the frame matches it (what stands on the
   * sidewalk is never blended in; the empty street's slow changes are).
   */
  longRate: z.number().gt(0).max(1).default(0.05),
  /** Short-term background: share of each frame blended into it, everywhere (an object that stays matches it in 2-3 frames). */
  shortRate: z.number().gt(0).max(1).default(0.5),
  /** A pixel enters the long-term background once it matched the short-term one this many frames in a row (start, restart). */
  learnFrames: z.number().int().min(1).max(1000).default(3),
  /** A pixel new against the long-term background and matching the short-term one this long stands, seconds. */
  standS: z.number().min(0).max(3600).default(2),
  /**
   * A pixel standing this long is taken into the long-term background, seconds. The object must still be new when its
   * dwell is over and when the re-check after a notice looks again (review, notice and the grace period, 600 s for
   * vending, come after the event): 4 hours. Something that stays for good raises one event (one per track) until then.
   */
  absorbS: z.number().positive().max(86_400).default(14_400),
  /** Plausible size of a standing object, frame pixels² (smaller: noise, a bag's corner)... */
  minAreaPx: z.number().min(0).default(600),
  /** ...at least this wide and high, frame pixels (narrower: the edge of an object a detection explains, left over)... */
  minSidePx: z.number().min(0).default(24),
  /** ...and share of the frame (larger: a shadow, a lighting change the normalisation missed). */
  maxAreaFrac: z.number().gt(0).max(1).default(0.1),
  /**
   * A standing area is a ghost (an object that stood there when the background was learned has gone) when the
   * background's contrast across its outline exceeds the frame's by this factor: it is taken into the background.
   */
  ghostRatio: z.number().gt(0).default(1.5),
  /**
   * An area larger than this share of the frame is not judged a ghost as a whole: the outline test compares one
   * object's outline in the background and in the frame, and an area this large is several things joined (a stall and
   * what stands in front of it, a shadow band, the ghost of a vehicle with a stall put out beside it), whose outlines
   * say nothing of each part. Such an area is judged tile by tile (`ghostTilePx`). Default: `maxAreaFrac`'s 0.1, what is
   * too large to be a candidate is too large to be one object's ghost.
   */
  ghostMaxAreaFrac: z.number().gt(0).max(1).default(0.1),
  /**
   * Side of the square tiles a too large area is judged in, frame pixels: each tile by the part of the area's outline
   * it holds, and a tile without outline waits until the outline reaches it (a ghost is taken in from its edge, a few
   * tiles a frame). Twice the smallest side raised (`minSidePx`): a stall's outline fills tiles of its own, and a tile
   * still holds enough outline to compare.
   */
  ghostTilePx: z.number().positive().default(48),
  /**
   * A ghost (an area or a tile) of which less than this share lies under the live tracks of the stage's own candidates
   * is something else joined to a candidate: the candidate's pixels are kept, and only the rest is taken in. At least
   * this share: the judgement is the candidate's own outline's (an object-sized ghost raised for a frame or two before
   * its outline told), and the whole is taken in; keeping it then would let its own track keep it for good.
   */
  ghostHeldFrac: z.number().gt(0).max(1).default(0.5),
  /** Padding around other objects' boxes (a detection, a track) that explain what stands there, frame pixels. */
  explainedPadPx: z.number().min(0).default(8),
  /** More than this share of the picture new at once: the camera moved or switched to night mode; relearn. */
  globalChangeFrac: z.number().gt(0).max(1).default(0.5),
  /** Score the tracker is given for a candidate (not a probability: no model judged it). */
  score: z.number().min(0).max(1).default(0.5),
});

export type StationarySettings = z.output<typeof StationarySchema>;
export type StationarySettingsInput = z.input<typeof StationarySchema>;
