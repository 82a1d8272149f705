// What the tracker is told about a standing object on a frame the detector did not look at it whole: that it is where
// it was. A confirmed track seen in the previous frame that no area the detector looked at holds whole (an area that
// only grazes it sees half a car, and its cut boxes are dropped, mosaic.ts), and that no detection of this frame
// overlaps, gets its own box back as a detection; so it stays matched, and the zone rules go on counting its dwell (a
// parked car keeps its track where a gate that stops detecting would lose it). A lost or tentative track is not held:
// only a detection brings it back.
import type { Box } from '../../contracts/events.js';
import type { Detection } from '../detectors/types.js';
import { iou } from '../rules/geometry.js';
import type { Track } from '../track/tracker.js';

/** classId of a held detection: no detector produced it. */
export const HELD_CLASS_ID = -1;

/** Whether the box lies inside the area (edges included). */
export function inside(b: Box, area: Box): boolean {
  return b[0] >= area[0] && b[1] >= area[1] && b[2] <= area[2] && b[3] <= area[3];
}

/**
 * Held detections for the tracks the detector did not judge: `looked` are the frame areas it saw, `found` what it
 * found there; a found box of the track's role overlapping the track by `minIou` or more is the track, seen.
 */
export function heldDetections(
  tracks: readonly Track[],
  looked: readonly Box[],
  found: readonly Detection[],
  minIou = 0.3,
): Detection[] {
  return tracks
    .filter((t) => t.state === 'confirmed' && t.matched && !looked.some((a) => inside(t.box, a)))
    .filter((t) => !found.some((d) => d.role === t.role && iou(d.box, t.box) >= minIou))
    .map((t) => ({
      box: [...t.box] as Box,
      score: t.score,
      classId: HELD_CLASS_ID,
      className: t.className,
      role: t.role,
    }));
}
