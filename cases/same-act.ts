// One act, one case (Administrative Penalty Law art. 29, 一事不再罚): two confirmed events of one vehicle's one stay
// in one zone must not become two cases, whatever the tracker made of it (a car re-acquired under a new track, its
// plate read once with and once without the province character). The case store asks this before filing.
import { comparePlates } from '../vision/ocr/plate-text.js';
import { iou } from '../vision/rules/geometry.js';
import type { CaseDoc } from './types.js';

/** Two stays this close (the gap between one's end and the other's start) are one stay. */
export const SAME_STAY_GAP_MS = 60_000;
/** Without two plates to compare, boxes overlapping at least this much are one vehicle. */
export const SAME_PLACE_IOU = 0.3;

type VisionCase = Pick<CaseDoc, 'source' | 'eventType'> & {
  detection: Extract<CaseDoc['detection'], { kind: 'vision' }>;
};

function isVision(c: Pick<CaseDoc, 'source' | 'eventType' | 'detection'>): c is VisionCase {
  return c.source.type === 'event' && c.detection.kind === 'vision';
}

/**
 * Whether two event cases are one act: the same camera, zone, type and role, and either linked by the vision worker
 * (possibleDuplicateOf) or with stays that overlap or follow within SAME_STAY_GAP_MS and the same plate (read with or
 * without its province character) or, without two plates, overlapping boxes. Two confident different plates are two
 * vehicles, linked or not.
 */
export function sameAct(
  a: Pick<CaseDoc, 'source' | 'eventType' | 'detection'>,
  b: Pick<CaseDoc, 'source' | 'eventType' | 'detection'>,
): boolean {
  if (!isVision(a) || !isVision(b) || a.source.id === b.source.id) return false;
  const da = a.detection;
  const db = b.detection;
  if (a.eventType !== b.eventType || da.cameraId !== db.cameraId || da.zone.id !== db.zone.id || da.role !== db.role)
    return false;
  const plates = comparePlates(da.plate, db.plate);
  if (plates === 'different') return false;
  if (da.possibleDuplicateOf === b.source.id || db.possibleDuplicateOf === a.source.id) return true;
  const stay = (d: typeof da) => [Date.parse(d.start), Date.parse(d.end)] as const;
  const [sa, ea] = stay(da);
  const [sb, eb] = stay(db);
  if (sa > eb + SAME_STAY_GAP_MS || sb > ea + SAME_STAY_GAP_MS) return false;
  return plates === 'same' || iou(da.box, db.box) >= SAME_PLACE_IOU;
}
