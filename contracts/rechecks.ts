// Re-checks: after a party was told to correct a violation (a notice), the camera looks at the zone again once the
// grace period is over. The notice service asks on bus topic "rechecks"; the vision worker that holds the camera's
// state answers on "recheck-results" with what it saw and a marked frame as evidence. Both are keyed by camera id.
// Delivery is at least once and a request may be answered by more than one worker after a rebalance: results are
// idempotent by request id (the first one counts).
import { z } from 'zod';
import { BoxSchema, EventTypeSchema, EvidenceImageSchema } from './events.js';
import { IdSchema } from './readings.js';

export const RecheckRequestSchema = z.strictObject({
  /** Unique per attempt: `${eventId}#${attempt}`. */
  id: z.string().min(1).max(240),
  eventId: z.string().min(1).max(200),
  eventType: EventTypeSchema,
  camera: z.strictObject({ id: IdSchema, district: IdSchema }),
  zoneId: z.string().min(1),
  role: z.enum(['vehicle', 'two-wheeler', 'stall']),
  /** The object's box in the event's frames: the re-check looks for an object of the role overlapping it. */
  box: BoxSchema,
  /** Epoch ms. A worker ignores a request whose deadline has passed (a replay after a restart). */
  requestedAt: z.number().int(),
  deadline: z.number().int(),
  /** How long to watch before answering, so a passer-by hiding the spot does not decide it (seconds). */
  observeS: z.number().min(0).max(300).default(10),
});
export type RecheckRequest = z.output<typeof RecheckRequestSchema>;
export type RecheckRequestInput = z.input<typeof RecheckRequestSchema>;

export const RecheckResultSchema = z.strictObject({
  /** The request's id. */
  id: z.string().min(1).max(240),
  eventId: z.string().min(1).max(200),
  cameraId: IdSchema,
  /**
   * present: the object is still there (uncorrected); absent: gone (corrected); unavailable: the worker could not
   * see the zone (no frames from the camera, or the spot hidden the whole time).
   */
  result: z.enum(['present', 'absent', 'unavailable']),
  /** Epoch ms of the frame that decided it. */
  checkedAt: z.number().int(),
  /** The re-check frames (role "recheck"): the zone and the event's box drawn on the deciding frame. */
  evidence: z.array(EvidenceImageSchema),
  /** Free text for the log and the console: why unavailable, how many frames were looked at. */
  detail: z.string().max(500).optional(),
  /** The worker that answered (host and pid), for the log. */
  worker: z.string().max(200),
});
export type RecheckResult = z.infer<typeof RecheckResultSchema>;
