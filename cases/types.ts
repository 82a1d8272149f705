// A case: what the city's case system receives (案卷建立, filing) once an event is confirmed by a reviewer or a
// case-worthy alert fires. The JSON body of the webhook is exactly `CaseDoc`; a receiver may validate it with
// `CaseDocSchema`. Times are ISO-8601 UTC strings: the document leaves the platform, and an instant written with its
// zone cannot be misread by another system.
import { z } from 'zod';
import { BoxSchema } from '../contracts/index.js';

const Iso = z.iso.datetime({ offset: true });

export const CaseSourceSchema = z.strictObject({
  /** `event`: a confirmed enforcement event; `alert`: a case-worthy alert from the rules. */
  type: z.enum(['event', 'alert']),
  id: z.string().min(1),
});
export type CaseSource = z.infer<typeof CaseSourceSchema>;

export const CaseEvidenceSchema = z.strictObject({
  /** Where the platform serves the image (absolute when CASE_EVIDENCE_BASE_URL is set). */
  url: z.string(),
  /** SHA-256 of the image bytes: anyone can check that the image they fetched is the one recorded. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  role: z.string(),
  capturedAt: Iso,
});

export const EventDetectionSchema = z.strictObject({
  kind: z.literal('vision'),
  cameraId: z.string(),
  zone: z.strictObject({ id: z.string(), name: z.string() }),
  /** The object: its role for the rules, the detector's class, mean score and box (frame pixels). */
  role: z.enum(['vehicle', 'two-wheeler', 'stall']),
  className: z.string(),
  confidence: z.number(),
  box: BoxSchema,
  trackId: z.number().int(),
  plate: z.strictObject({ text: z.string(), confidence: z.number() }).optional(),
  /** The event this one may repeat (the vision worker linked them): the platform files one case for both. */
  possibleDuplicateOf: z.string().optional(),
  /** First seen in the zone, dwell limit crossed, last seen. */
  start: Iso,
  thresholdAt: Iso,
  end: Iso,
  dwellS: z.number(),
  detector: z.strictObject({ model: z.string(), sha256: z.string().optional() }),
  detectedAt: Iso,
});

export const AlertDetectionSchema = z.strictObject({
  kind: z.literal('rule'),
  alertId: z.string(),
  ruleId: z.string(),
  name: z.strictObject({ zh: z.string(), en: z.string() }),
  /** The standard the threshold comes from. */
  standard: z.string(),
  deviceId: z.string(),
  deviceKind: z.string(),
  metric: z.string(),
  severity: z.string(),
  tierLabel: z.string().optional(),
  value: z.number(),
  level: z.number(),
  peak: z.number(),
  firstSeen: Iso,
  lastSeen: Iso,
});

export const CaseReviewSchema = z.strictObject({
  decision: z.literal('confirm'),
  note: z.string().optional(),
  by: z.strictObject({ username: z.string(), role: z.string() }),
  at: Iso,
});

export const CaseDocSchema = z.strictObject({
  id: z.string().min(1),
  source: CaseSourceSchema,
  /** An enforcement event type (illegal-parking, out-of-store-vending) or, for an alert, its rule id. */
  eventType: z.string(),
  /** The city's classification code (config/case-codes.json); null when the table has none for this rule. */
  code: z.string().nullable(),
  codeName: z.strictObject({ zh: z.string(), en: z.string() }).optional(),
  district: z.string(),
  /** 单元网格 code of the place; null when the source does not know it (a sensor without a registered cell). */
  gridCell: z.string().nullable(),
  location: z.strictObject({ lat: z.number(), lon: z.number() }).nullable(),
  /** The published description of the camera's place (Administrative Penalty Law art. 41). */
  postedLocation: z.string().optional(),
  occurredAt: Iso,
  createdAt: Iso,
  evidence: z.array(CaseEvidenceSchema),
  detection: z.discriminatedUnion('kind', [EventDetectionSchema, AlertDetectionSchema]),
  /** The person who confirmed the event; null for a case-worthy alert (filed by rule, without review). */
  review: CaseReviewSchema.nullable(),
  /**
   * The notice that came before the case (notices/): why it became a case (uncorrected after notice, a repeat, no
   * way to tell the party), when and how the party was told, and the re-check that found the object still there.
   */
  notice: z
    .strictObject({
      reason: z.string(),
      notifiedAt: Iso.optional(),
      channels: z.array(z.string()),
      priorOffences: z.number().int().nonnegative(),
      recheck: z.strictObject({ result: z.string(), checkedAt: Iso.optional() }).optional(),
    })
    .optional(),
});
export type CaseDoc = z.infer<typeof CaseDocSchema>;

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  adapter: string;
  status: DeliveryStatus;
  attempts: number;
  lastError?: string;
  /** ISO, when the case system accepted it. */
  deliveredAt?: string;
  /** ISO, when the next attempt is due (pending only). */
  nextAttemptAt?: string;
}

/** A case with its delivery state: what GET /api/cases lists. */
export type CaseView = CaseDoc & { delivery: Delivery };
