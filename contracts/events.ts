// Non-site enforcement events: what the vision stage found (a vehicle parked in a no-parking zone, a stall outside
// a store line), with the evidence a reviewer needs. Published on the bus topic "events"; nothing here is a case yet:
// a person must confirm it first.
import { z } from 'zod';
import { IdSchema } from './readings.js';

/**
 * illegal-parking: a motor vehicle in a no-parking zone (机动车乱停放); illegal-non-motor-parking: a bicycle, e-bike
 * or scooter in a zone marked for them (非机动车乱停放); out-of-store-vending: goods or a stall beyond the store line.
 */
export const EVENT_TYPES = ['illegal-parking', 'illegal-non-motor-parking', 'out-of-store-vending'] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventTypeSchema>;

/** An axis-aligned box in the frame's pixels: x1, y1, x2, y2. */
export const BoxSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]);
export type Box = z.infer<typeof BoxSchema>;

export const EvidenceImageSchema = z.strictObject({
  /**
   * first-seen, threshold (the moment dwell passed the limit), last: the frame with the zone and box drawn; crop: a
   * close-up of the object; frame: the threshold frame exactly as the camera sent it (no marks: the original
   * record, and what a retraining dataset uses); recheck: a later look at the zone.
   */
  role: z.enum(['first-seen', 'threshold', 'last', 'crop', 'frame', 'recheck']),
  /** SHA-256 of the image bytes, hex: the evidence store's address of the file. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Where the API serves it. */
  url: z.string(),
  capturedAt: z.number().int(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bytes: z.number().int().positive(),
  /** The object's box in this image (the unmarked frame). */
  box: BoxSchema.optional(),
});
export type EvidenceImage = z.infer<typeof EvidenceImageSchema>;

export const EnforcementEventSchema = z.strictObject({
  id: z.string().min(1).max(200),
  type: EventTypeSchema,
  camera: z.strictObject({
    id: IdSchema,
    district: IdSchema,
    gridCell: z.string(),
    location: z.strictObject({ lat: z.number(), lon: z.number() }),
    postedLocation: z.string(),
  }),
  zone: z.strictObject({ id: z.string(), name: z.string() }),
  /** When the object was first seen in the zone, when the dwell limit was crossed, and the last sighting. */
  start: z.number().int(),
  thresholdAt: z.number().int(),
  end: z.number().int(),
  dwellS: z.number().nonnegative(),
  trackId: z.number().int(),
  role: z.enum(['vehicle', 'two-wheeler', 'stall']),
  /** Detector class of the object (e.g. vehicle, car, umbrella). */
  className: z.string(),
  /** Mean detector score over the track's detections in the zone. */
  confidence: z.number().min(0).max(1),
  box: BoxSchema,
  plate: z.strictObject({ text: z.string(), confidence: z.number().min(0).max(1) }).optional(),
  /**
   * The id of an earlier event of this camera, zone and role that may be the same vehicle and stay: one the worker
   * could not merge with this one (it was raised already, or the tracks were too far apart). The reviewer sees them
   * linked, and confirming both files one case (one act, one case: Administrative Penalty Law art. 29).
   */
  possibleDuplicateOf: z.string().min(1).max(200).optional(),
  evidence: z.array(EvidenceImageSchema).min(1),
  detector: z.strictObject({ model: z.string(), sha256: z.string().optional() }),
  detectedAt: z.number().int(),
});
export type EnforcementEvent = z.infer<typeof EnforcementEventSchema>;
