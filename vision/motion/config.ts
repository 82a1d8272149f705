// The motion gate's settings, per camera (`motion` in the camera registry). Every threshold is here, none in the code.
import { z } from 'zod';

export const MotionGatingSchema = z.strictObject({
  /** Gate the detector by motion. On by default: every registered camera is a fixed camera. */
  enabled: z.boolean().default(true),
  /** Width of the greyscale image the motion stage compares, px (height keeps the frame's aspect). */
  width: z.number().int().min(16).max(640).default(160),
  /** A small-image pixel has changed when it differs from the background by more than this, grey levels 0..255. */
  threshold: z.number().min(1).max(255).default(18),
  /** Share of the difference that goes into the background each frame (exponential average): 0.1 absorbs a car that stopped in about 20 frames. */
  backgroundRate: z.number().gt(0).max(1).default(0.1),
  /** An area with fewer moving small-image pixels than this is noise (sensor noise, a leaf, JPEG blocks). */
  minPixels: z.number().int().min(1).default(3),
  /** Padding around a changed area before detection, as a share of its size (and at least padPx frame pixels). */
  padFrac: z.number().min(0).max(2).default(0.1),
  padPx: z.number().min(0).default(16),
  /**
   * More than this share of the unmasked picture changed at once, after the brightness is normalised: the camera
   * moved, was bumped, or switched to night mode. The background restarts from this frame and the detector runs.
   */
  globalChangeFrac: z.number().gt(0).max(1).default(0.5),
  /**
   * Standing objects (the tracker's tracks) are detected again at least this often, seconds, even without motion:
   * their boxes join the changed areas. Keep it under the tracker's maxLostMs (15 s), so that a track the detector
   * missed once is looked at again before it is dropped.
   */
  reverifyS: z.number().positive().max(3600).default(10),
  /**
   * Only motion near the camera's zones counts (within zoneMarginPx of a zone's bounding box): traffic driving past
   * in the far lanes raises nothing, and a car that pulls into a zone moves there. Off, or a camera without zones:
   * motion anywhere in the frame.
   */
  zonesOnly: z.boolean().default(true),
  zoneMarginPx: z.number().min(0).default(48),
  /** The whole frame is detected at least this often, seconds: what was never detected, or stood still from the start. */
  wholeFrameS: z.number().positive().max(86_400).default(60),
  /**
   * Detect only on the changed areas, packed side by side at full resolution into a small square image (a mosaic)
   * that the model sees at the scale it sees a whole frame at. The input sizes to choose from, model pixels,
   * multiples of 32: the cheapest set of mosaics that holds the areas is used (each size at most as many times as
   * cost under half a whole frame), else the whole frame. [] turns it off. Needs a model that takes another input size (the COCO YOLO does;
   * a model with a fixed input shape detects whole frames).
   */
  regionInputs: z
    .array(
      z
        .number()
        .int()
        .min(32)
        .max(1280)
        .refine((v) => v % 32 === 0, 'region input sizes are multiples of 32'),
    )
    .max(4)
    .default([160, 224, 320, 448]),
});

export type MotionGating = z.output<typeof MotionGatingSchema>;
export type MotionGatingInput = z.input<typeof MotionGatingSchema>;
