// The persuasion loop's shared shapes: who the party is, the notice sent to them, what a re-check found, and the
// party's public record and statements. Cities that run non-site enforcement tell the party first and re-check
// after a grace period; only an uncorrected (or repeated) violation becomes a case. The law on electronic-monitoring
// evidence (Administrative Penalty Law 2021, Art. 41) requires that the party is told promptly, can look up the
// record and can state their case: hence the query code and the public page (party/).
import type { EventType, EvidenceImage } from '../contracts/index.js';
import type { StoredEvent } from '../review/store.js';

/** A party the platform can tell: a registered shop, or a vehicle's keeper found through the plate lookup. */
export interface Party {
  /** Stable id: `shop:<shopId>` or `vehicle:<plate>`; what offence counts are kept by. */
  id: string;
  kind: 'shop' | 'vehicle';
  /** Shop name, or the plate for a vehicle. */
  name: string;
  /** Business licence number (统一社会信用代码) of a shop. */
  licenceNo?: string;
  /** Mobile number for SMS; absent when the registry knows the party but not how to reach it. */
  phone?: string;
}

/**
 * What became of a confirmed event:
 * - awaiting-recheck: the party was told; the camera looks again at `recheckAt`;
 * - corrected: the object was gone at the re-check: closed as corrected after notice, no case;
 * - case: still there at the re-check, a repeat offence, or no way to tell the party: a case was filed;
 * - notice-only: a first offence within the leniency window: it ends at the notice;
 * - not-enforcing: the camera has not been published long enough: nothing is sent and no case is filed;
 * - recheck-unavailable: the re-check could not see the zone after every attempt: left to a reviewer.
 */
export const NOTICE_STATUSES = [
  'awaiting-recheck',
  'corrected',
  'case',
  'notice-only',
  'not-enforcing',
  'recheck-unavailable',
] as const;
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];

/** Why the outcome is what it is, for the console and the party page (one code, texts in both languages there). */
export const OUTCOME_REASONS = [
  'notified', // told, waiting for the re-check
  'corrected-after-notice',
  'uncorrected-after-notice',
  'repeat-offence',
  'first-offence-leniency',
  'no-contact', // no registered party or no way to reach it: straight to case
  'camera-not-published', // the camera's location is not published (long enough)
  'recheck-unavailable',
] as const;
export type OutcomeReason = (typeof OUTCOME_REASONS)[number];

export const CHANNELS = ['sms', 'loudspeaker', 'console'] as const;
export type Channel = (typeof CHANNELS)[number];

/** One attempt to tell the party through one channel. */
export interface Delivery {
  channel: Channel;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  /** Epoch ms of the last attempt (or of queuing, while pending). */
  at: number;
  /** The text sent (SMS, loudspeaker), for the record. */
  text?: string;
  /** Masked destination, e.g. 138****5678, or the camera id for the loudspeaker. */
  to?: string;
  error?: string;
}

export interface RecheckRecord {
  /** Attempts so far (a worker that does not answer in time gets another request). */
  attempts: number;
  /** Set once answered. */
  result?: 'present' | 'absent' | 'unavailable';
  checkedAt?: number;
  evidence: EvidenceImage[];
  detail?: string;
}

/** The notice of one confirmed event: one per event, created when a reviewer confirms it. */
export interface Notice {
  eventId: string;
  eventType: EventType;
  cameraId: string;
  district: string;
  zoneId: string;
  /**
   * The party's query code: 16 characters of Crockford base32 from a CSPRNG (80 bits), shown grouped as
   * XXXX-XXXX-XXXX-XXXX. Unguessable: the public page answers 404 for any other string.
   */
  code: string;
  /** Null when the registry knows nobody for this zone or plate. */
  party: Party | null;
  status: NoticeStatus;
  reason: OutcomeReason;
  /** The party's earlier violations of this type within the leniency window (before this one). */
  priorOffences: number;
  deliveries: Delivery[];
  /** When the re-check is due (epoch ms); only while awaiting-recheck. */
  recheckAt?: number;
  recheck?: RecheckRecord;
  caseId?: string;
  createdAt: number;
  /** When it reached a final status. */
  closedAt?: number;
}

/** A statement (陈述申辩) a party submitted on the public page: it reaches the reviewers' queue as an objection. */
export interface Statement {
  id: string;
  eventId: string;
  /** The query code it was submitted under. */
  code: string;
  text: string;
  /** Photos, stored in the evidence store (content-addressed). */
  photos: { sha256: string; bytes: number; type: 'image/jpeg' | 'image/png' | 'image/webp' }[];
  /** Optional contact the party gave for the answer. */
  contact?: string;
  submittedAt: number;
  status: 'open' | 'handled';
  /** The reviewer who handled it (role and username), and the answer. */
  handled?: { by: { username: string; role: string }; at: number; note: string };
}

/**
 * What the public page shows for a query code. Built from the event, its review and its notice: never the party's
 * contact, never the reviewer's name (only the role), never anything about another party.
 */
export interface PublicRecord {
  code: string;
  eventType: EventType;
  /** The place as published (postedLocation), the zone's name, the district. */
  place: { postedLocation: string; zoneName: string; district: string };
  start: number;
  thresholdAt: number;
  end: number;
  dwellS: number;
  plate?: string;
  /** Evidence images, with URLs under /public/records/{code}/evidence/{sha256}. */
  evidence: (EvidenceImage & { publicUrl: string })[];
  review: { decision: 'confirm'; byRole: string; at: number };
  notice: Pick<Notice, 'status' | 'reason' | 'createdAt' | 'recheckAt' | 'closedAt'> & {
    /** Channels the party was told through, without destinations. */
    channels: Channel[];
    recheck?: Pick<RecheckRecord, 'result' | 'checkedAt'>;
    caseId?: string;
  };
  statements: Pick<Statement, 'id' | 'submittedAt' | 'status'>[];
}

/** What the notice service needs from the rest of the platform, injected (so each side is tested on its own). */
export interface NoticeDeps {
  /**
   * Files the case of a confirmed event (cases/CaseService via the review store), with the notice and its re-check
   * evidence when there is some; idempotent by event id.
   */
  fileCase(eventId: string, extra: { notice: Notice }): Promise<{ id: string }>;
}

/** Where the public page finds records (notices/ store, review/ store), injected into party/. */
export interface RecordSource {
  /** The notice with this (normalised) code, or null. */
  noticeByCode(code: string): Promise<Notice | null>;
  /** Notices of events with this plate that started on this local day (YYYY-MM-DD, the city's time zone). */
  noticesByPlateDay(plate: string, day: string): Promise<Notice[]>;
  /** The event with its review decision (review/ EventStore.get). */
  event(eventId: string): Promise<StoredEvent | null>;
}
