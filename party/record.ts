// What the public page shows: the record behind a query code, and the published monitoring locations. Only what the
// law gives the party a right to see is copied in, field by field (never the contact, never the reviewer's name,
// never another party): building the view from scratch, instead of deleting fields from the stored documents, keeps
// a field added to them later from leaking here.
import type { EventType, EvidenceImage } from '../contracts/index.js';
import type { CaseCodes } from '../cases/codes.js';
import { enforcingFrom as enforcingDay } from '../notices/local.js';
import { zoneOffsetMs } from '../runtime/time.js';
import type { Channel, Notice, PublicRecord, Statement } from '../notices/types.js';
import type { StoredEvent } from '../review/store.js';
import { zoneEventTypes, type CameraRegistry } from '../vision/cameras/config.js';
import { formatQueryCode } from './code.js';
import type { Bilingual, LegalTexts, Provision } from './config.js';

/** The record as the page and the JSON answer carry it: the shared PublicRecord plus the texts that explain it. */
export interface PublicRecordView extends PublicRecord {
  /** The code as people read and type it: XXXX-XXXX-XXXX-XXXX. */
  codeDisplay: string;
  /** The city's time zone, for showing the times as local time. */
  timeZone: string;
  /** The camera and when its location was published (Art. 41: only published locations may enforce). */
  camera: { id: string; publishedAt?: string; enforcingFrom?: string };
  /** The city's classification of the event (config/case-codes.json), when known. */
  category?: { code: string; zh: string; en: string };
  /** Art. 41 and the party's rights, then the rule this event type breaks. */
  legalBasis: Provision[];
  /** What happens next, for this notice's status and reason. */
  whatNext: Bilingual;
}

export interface RecordOptions {
  texts: LegalTexts;
  /** Days a camera's location must be published before it enforces (notices config; default 30). */
  publicationDays?: number;
  /** Default: the camera registry's. */
  timeZone?: string;
  caseCodes?: CaseCodes;
}

/** Thrown for a notice whose event is not (or no longer) a confirmed one: such a record is never shown. */
export class RecordUnavailableError extends Error {}

export const EVIDENCE_ORDER: readonly EvidenceImage['role'][] = [
  'first-seen',
  'threshold',
  'last',
  'crop',
  'frame',
  'recheck',
];

/** Every image of a record: the event's evidence and the re-check's, each once. */
export function recordImages(notice: Notice, stored: StoredEvent): EvidenceImage[] {
  const seen = new Set<string>();
  const out: EvidenceImage[] = [];
  for (const img of [...stored.event.evidence, ...(notice.recheck?.evidence ?? [])]) {
    if (seen.has(img.sha256)) continue;
    seen.add(img.sha256);
    out.push(img);
  }
  return out.sort(
    (a, b) => EVIDENCE_ORDER.indexOf(a.role) - EVIDENCE_ORDER.indexOf(b.role) || a.capturedAt - b.capturedAt,
  );
}

export function evidencePath(code: string, sha256: string): string {
  return `/public/records/${code}/evidence/${sha256}`;
}

/** "YYYY-MM-DD HH:MM" in the time zone. */
export function localMinute(ts: number, timeZone: string): string {
  return new Date(ts + zoneOffsetMs(timeZone, ts)).toISOString().slice(0, 16).replace('T', ' ');
}

function fill(text: string, vars: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

/** What happens next: the reason's own text when the file has one, else the status's. */
export function whatNext(
  notice: Notice,
  texts: LegalTexts,
  vars: { timeZone: string; enforcingFrom?: string },
): Bilingual {
  const t = texts.whatNextByReason[notice.reason] ?? texts.whatNext[notice.status];
  const v = {
    recheckAt: notice.recheckAt !== undefined ? localMinute(notice.recheckAt, vars.timeZone) : '—',
    caseId: notice.caseId ?? '—',
    enforcingFrom: vars.enforcingFrom ?? '—',
  };
  return { zh: fill(t.zh, v), en: fill(t.en, v) };
}

/**
 * The public record of a notice. `stored` is the notice's event with its review; it must be a confirmed one (a
 * record nobody reviewed is not evidence and is not shown). Statements appear by id, time and status only.
 */
export function buildPublicRecord(
  notice: Notice,
  stored: StoredEvent,
  statements: readonly Statement[],
  cameras: CameraRegistry,
  o: RecordOptions,
): PublicRecordView {
  const review = stored.review;
  if (stored.status !== 'confirmed' || review?.decision !== 'confirm' || stored.event.id !== notice.eventId) {
    throw new RecordUnavailableError(`event ${notice.eventId} is not a confirmed event of this notice`);
  }
  const e = stored.event;
  const timeZone = o.timeZone ?? cameras.timeZone;
  const cam = cameras.cameras.find((c) => c.id === e.camera.id);
  const enforcingFrom = cam?.publishedAt ? enforcingDay(cam.publishedAt, o.publicationDays ?? 30) : undefined;
  const channels = [
    ...new Set(notice.deliveries.filter((d) => d.status === 'sent').map((d) => d.channel)),
  ] as Channel[];
  const catCode = o.caseCodes?.events[e.type];
  const cat = catCode ? o.caseCodes?.codes[catCode] : undefined;

  const record: PublicRecordView = {
    code: notice.code,
    codeDisplay: formatQueryCode(notice.code),
    eventType: e.type,
    place: { postedLocation: e.camera.postedLocation, zoneName: e.zone.name, district: e.camera.district },
    start: e.start,
    thresholdAt: e.thresholdAt,
    end: e.end,
    dwellS: e.dwellS,
    ...(e.plate ? { plate: e.plate.text } : {}),
    evidence: recordImages(notice, stored).map((img) => {
      const publicUrl = evidencePath(notice.code, img.sha256);
      // The API address of the image is not the public one: both point at the record's route.
      return {
        role: img.role,
        sha256: img.sha256,
        url: publicUrl,
        capturedAt: img.capturedAt,
        width: img.width,
        height: img.height,
        bytes: img.bytes,
        ...(img.box ? { box: img.box } : {}),
        publicUrl,
      };
    }),
    review: { decision: 'confirm', byRole: review.by.role, at: review.at },
    notice: {
      status: notice.status,
      reason: notice.reason,
      createdAt: notice.createdAt,
      ...(notice.recheckAt !== undefined ? { recheckAt: notice.recheckAt } : {}),
      ...(notice.closedAt !== undefined ? { closedAt: notice.closedAt } : {}),
      channels,
      ...(notice.recheck?.result
        ? {
            recheck: {
              result: notice.recheck.result,
              ...(notice.recheck.checkedAt !== undefined ? { checkedAt: notice.recheck.checkedAt } : {}),
            },
          }
        : {}),
      ...(notice.caseId ? { caseId: notice.caseId } : {}),
    },
    statements: statements
      .filter((s) => s.eventId === notice.eventId)
      .map((s) => ({ id: s.id, submittedAt: s.submittedAt, status: s.status })),
    timeZone,
    camera: {
      id: e.camera.id,
      ...(cam?.publishedAt ? { publishedAt: cam.publishedAt } : {}),
      ...(enforcingFrom ? { enforcingFrom } : {}),
    },
    ...(catCode && cat ? { category: { code: catCode, zh: cat.zh, en: cat.en } } : {}),
    legalBasis: [...o.texts.general, ...o.texts.byType[e.type]],
    whatNext: whatNext(notice, o.texts, { timeZone, enforcingFrom }),
  };
  return record;
}

// ---- monitoring locations ------------------------------------------------------------------------------------

export interface PublicLocation {
  cameraId: string;
  /** The location as published (postedLocation). */
  place: string;
  district: string;
  gridCell: string;
  enforces: EventType[];
  /** The day the location was published. */
  publishedAt: string;
  /** publishedAt + publicationDays: the first day a record of this camera can lead to a notice or a case. */
  enforcingFrom: string;
}

/**
 * The published cameras (publishedAt set and not in the future), by district and id. Cameras without publishedAt
 * are not published, so they are not listed (and enforce nothing).
 */
export function publicLocations(cameras: CameraRegistry, publicationDays: number, today: string): PublicLocation[] {
  const out: PublicLocation[] = [];
  for (const c of cameras.cameras) {
    if (!c.publishedAt || c.publishedAt > today) continue;
    const enforces = [...new Set(c.zones.flatMap(zoneEventTypes))].sort();
    out.push({
      cameraId: c.id,
      place: c.postedLocation,
      district: c.district,
      gridCell: c.gridCell,
      enforces,
      publishedAt: c.publishedAt,
      enforcingFrom: enforcingDay(c.publishedAt, publicationDays),
    });
  }
  return out.sort((a, b) => a.district.localeCompare(b.district) || a.cameraId.localeCompare(b.cameraId));
}
