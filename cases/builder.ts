// Builds the case document from its source: a confirmed enforcement event (with its reviewer's decision) or a
// case-worthy alert. Pure functions: the same source always gives the same case id, so creating a case twice (a
// retry, a recovery after a crash) finds the first one instead of filing a duplicate.
import crypto from 'node:crypto';
import type { Alert } from '../alerts/types.js';
import type { StoredEvent } from '../review/store.js';
import { localDay } from '../runtime/time.js';
import { codeForRule, type CaseCodes } from './codes.js';
import type { Notice } from '../notices/types.js';
import type { CaseDoc, CaseSource } from './types.js';

export interface BuildOptions {
  codes: CaseCodes;
  /** Prefix for evidence URLs, e.g. https://city.example/ (CASE_EVIDENCE_BASE_URL); relative URLs when absent. */
  evidenceBaseUrl?: string;
  /** The city's time zone, for the date in case ids. Default Asia/Shanghai. */
  timeZone?: string;
  /** Now, for createdAt (tests). */
  now?: () => number;
}

/** Where a sensor is, for cases from its alerts (the device registry knows; readings do not carry it). */
export interface DevicePlace {
  gridCell?: string;
  location?: { lat: number; lon: number };
  postedLocation?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** "C20261127-3fa9c1d2e4b5": the local date it happened and a digest of its source (stable, so idempotent). */
export function caseIdFor(source: CaseSource, occurredAt: number, timeZone = 'Asia/Shanghai'): string {
  const day = localDay(occurredAt, timeZone).replaceAll('-', '');
  const digest = crypto.createHash('sha256').update(`${source.type}:${source.id}`).digest('hex').slice(0, 12);
  return `C${day}-${digest}`;
}

function evidenceUrl(url: string, base?: string): string {
  if (!base || /^https?:\/\//.test(url)) return url;
  return new URL(url.replace(/^\/+/, ''), base.endsWith('/') ? base : `${base}/`).toString();
}

function codeName(codes: CaseCodes, code: string | null): CaseDoc['codeName'] {
  const c = code ? codes.codes[code] : undefined;
  return c ? { zh: c.zh, en: c.en } : undefined;
}

/**
 * The case of a confirmed event. Throws if the event is not confirmed: unreviewed records are not evidence. With the
 * notice that came before it, the case also carries the re-check images (both sets of evidence) and how the party
 * was told.
 */
export function caseFromEvent(s: StoredEvent, o: BuildOptions, notice?: Notice): CaseDoc {
  if (s.status !== 'confirmed' || s.review?.decision !== 'confirm') {
    throw new Error(`event ${s.event.id} is ${s.status}: only a confirmed event becomes a case`);
  }
  const e = s.event;
  const source: CaseSource = { type: 'event', id: e.id };
  const code = o.codes.events[e.type];
  const doc: CaseDoc = {
    id: caseIdFor(source, e.thresholdAt, o.timeZone),
    source,
    eventType: e.type,
    code,
    codeName: codeName(o.codes, code),
    district: e.camera.district,
    gridCell: e.camera.gridCell || null,
    location: e.camera.location,
    postedLocation: e.camera.postedLocation || undefined,
    // The violation is established when the dwell limit is crossed; start and end are in the detection.
    occurredAt: iso(e.thresholdAt),
    createdAt: iso((o.now ?? Date.now)()),
    evidence: [...e.evidence, ...(notice?.recheck?.evidence ?? [])].map((x) => ({
      url: evidenceUrl(x.url, o.evidenceBaseUrl),
      sha256: x.sha256,
      role: x.role,
      capturedAt: iso(x.capturedAt),
    })),
    detection: {
      kind: 'vision',
      cameraId: e.camera.id,
      zone: { id: e.zone.id, name: e.zone.name },
      role: e.role,
      className: e.className,
      confidence: e.confidence,
      box: e.box,
      trackId: e.trackId,
      ...(e.plate ? { plate: { text: e.plate.text, confidence: e.plate.confidence } } : {}),
      ...(e.possibleDuplicateOf ? { possibleDuplicateOf: e.possibleDuplicateOf } : {}),
      start: iso(e.start),
      thresholdAt: iso(e.thresholdAt),
      end: iso(e.end),
      dwellS: Math.round(e.dwellS * 10) / 10,
      detector: { model: e.detector.model, ...(e.detector.sha256 ? { sha256: e.detector.sha256 } : {}) },
      detectedAt: iso(e.detectedAt),
    },
    review: {
      decision: 'confirm',
      ...(s.review.note ? { note: s.review.note } : {}),
      by: { username: s.review.by.username, role: s.review.by.role },
      at: iso(s.review.at),
    },
  };
  if (notice) {
    const sent = notice.deliveries.filter((d) => d.status === 'sent');
    doc.notice = {
      reason: notice.reason,
      ...(sent.length ? { notifiedAt: iso(Math.min(...sent.map((d) => d.at))) } : {}),
      channels: [...new Set(sent.map((d) => d.channel))],
      priorOffences: notice.priorOffences,
      ...(notice.recheck?.result
        ? {
            recheck: {
              result: notice.recheck.result,
              ...(notice.recheck.checkedAt ? { checkedAt: iso(notice.recheck.checkedAt) } : {}),
            },
          }
        : {}),
    };
  }
  if (!doc.codeName) delete doc.codeName;
  if (!doc.postedLocation) delete doc.postedLocation;
  return doc;
}

/** The case of a case-worthy alert, or null for one that is not case-worthy. */
export function caseFromAlert(a: Alert, o: BuildOptions, place?: DevicePlace | null): CaseDoc | null {
  if (!a.caseWorthy) return null;
  // The alert carries its device's place from the registry since issue 22; the lookup covers alerts from before.
  place ??= a.place
    ? { gridCell: a.place.gridCell, location: a.place.location, postedLocation: a.place.address || undefined }
    : null;
  const source: CaseSource = { type: 'alert', id: a.id };
  const code = codeForRule(o.codes, a.ruleId, a.caseCode);
  const doc: CaseDoc = {
    id: caseIdFor(source, a.firstSeen, o.timeZone),
    source,
    eventType: a.ruleId,
    code,
    codeName: codeName(o.codes, code),
    district: a.district,
    gridCell: place?.gridCell ?? null,
    location: place?.location ?? null,
    postedLocation: place?.postedLocation,
    occurredAt: iso(a.firstSeen),
    createdAt: iso((o.now ?? Date.now)()),
    evidence: [],
    detection: {
      kind: 'rule',
      alertId: a.id,
      ruleId: a.ruleId,
      name: a.name,
      standard: a.standard,
      deviceId: a.deviceId,
      deviceKind: a.kind,
      metric: a.metric,
      severity: a.severity,
      ...(a.tierLabel ? { tierLabel: a.tierLabel } : {}),
      value: a.value,
      level: a.level,
      peak: a.peak,
      firstSeen: iso(a.firstSeen),
      lastSeen: iso(a.lastSeen),
    },
    review: null,
  };
  if (!doc.codeName) delete doc.codeName;
  if (!doc.postedLocation) delete doc.postedLocation;
  return doc;
}
