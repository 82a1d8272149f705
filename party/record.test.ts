import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCaseCodes } from '../cases/codes.js';
import { NOTICE_STATUSES, OUTCOME_REASONS, type Notice } from '../notices/types.js';
import { ConfigError } from '../runtime/config.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { loadLegalTexts, partyLimits } from './config.js';
import { buildPublicRecord, publicLocations, RecordUnavailableError } from './record.js';
import { confirmedEvent, jpeg, noticeFor, registry } from './test-support.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'party-record-'));
const evidence = new EvidenceStore(dir);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const texts = loadLegalTexts();
const T0 = Date.parse('2026-06-10T02:00:00Z');

describe('the legal texts file', () => {
  it("ships a text for every notice status and names Art. 41 and each event type's rule", () => {
    for (const s of NOTICE_STATUSES) expect(texts.whatNext[s].zh.length, s).toBeGreaterThan(10);
    expect(texts.general[0]!.zh).toContain('第四十一条');
    expect(texts.byType['illegal-parking'][0]!.zh).toContain('道路交通安全法');
    expect(texts.byType['out-of-store-vending'][0]!.zh).toContain('市容');
    for (const r of Object.keys(texts.whatNextByReason)) expect(OUTCOME_REASONS).toContain(r);
  });

  it("stops with the field named when a city's copy is incomplete", () => {
    const bad = path.join(dir, 'legal.json');
    const raw = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../config/legal-basis.json'), 'utf8'));
    delete raw.whatNext.corrected;
    fs.writeFileSync(bad, JSON.stringify(raw));
    expect(() => loadLegalTexts(bad)).toThrow(ConfigError);
    expect(() => loadLegalTexts(bad)).toThrow(/whatNext\.corrected/);
    expect(() => loadLegalTexts(path.join(dir, 'missing.json'))).toThrow(/does not exist/);
  });

  it('has limits with the documented defaults', () => {
    expect(partyLimits()).toMatchObject({
      requestsPerWindow: 60,
      failures: { max: 10, windowMs: 900_000 },
      statement: { maxChars: 2000, maxPhotos: 3, maxPhotoBytes: 5 * 1024 * 1024 },
    });
    expect(() => partyLimits({ requestsPerWindow: 0 })).toThrow(/requestsPerWindow/);
  });
});

describe('buildPublicRecord', () => {
  it('says what happens next for the outcome, and carries the re-check images and the category code', async () => {
    const stored = await confirmedEvent(evidence, { type: 'out-of-store-vending', start: T0 });
    const recheckJpeg = await jpeg(999);
    const r = await evidence.put(recheckJpeg);
    const notice: Notice = noticeFor(stored, {
      status: 'case',
      reason: 'uncorrected-after-notice',
      caseId: 'CASE-2026-0042',
      recheckAt: undefined,
      recheck: {
        attempts: 1,
        result: 'present',
        checkedAt: T0 + 900_000,
        evidence: [
          {
            role: 'recheck',
            sha256: r.sha256,
            url: `/api/evidence/${r.sha256}`,
            capturedAt: T0 + 900_000,
            width: 160,
            height: 90,
            bytes: r.bytes,
          },
        ],
        detail: 'worker-7 saw it',
      },
      closedAt: T0 + 900_000,
    });
    const rec = buildPublicRecord(notice, stored, [], registry(), {
      texts,
      caseCodes: loadCaseCodes(path.resolve(import.meta.dirname, '../config/case-codes.json')),
    });
    expect(rec.category).toEqual({ code: '0504', zh: '店外经营', en: 'Out-of-store vending' });
    expect(rec.evidence.map((e) => e.role)).toEqual(['first-seen', 'threshold', 'last', 'recheck']);
    expect(rec.notice).toEqual({
      status: 'case',
      reason: 'uncorrected-after-notice',
      createdAt: notice.createdAt,
      closedAt: T0 + 900_000,
      channels: ['sms', 'console'],
      recheck: { result: 'present', checkedAt: T0 + 900_000 },
      caseId: 'CASE-2026-0042',
    });
    expect(rec.whatNext.zh).toContain('告知后复查时仍未纠正');
    expect(rec.whatNext.zh).toContain('CASE-2026-0042');
    expect(rec.legalBasis.map((p) => p.zh).join('')).toContain('市容');
    expect(JSON.stringify(rec)).not.toContain('worker-7');
  });

  it('fills the status texts: a camera not published long enough, first-offence leniency', async () => {
    const stored = await confirmedEvent(evidence, { start: T0 });
    const notPublished = buildPublicRecord(
      noticeFor(stored, {
        status: 'not-enforcing',
        reason: 'camera-not-published',
        recheckAt: undefined,
        deliveries: [],
      }),
      stored,
      [],
      registry(),
      { texts, publicationDays: 45 },
    );
    expect(notPublished.whatNext.zh).toContain('2026-02-19');
    expect(notPublished.notice.channels).toEqual([]);
    const lenient = buildPublicRecord(
      noticeFor(stored, { status: 'notice-only', reason: 'first-offence-leniency' }),
      stored,
      [],
      registry(),
      { texts },
    );
    expect(lenient.whatNext.en).toMatch(/first offence/);
  });

  it('never builds a record of an event nobody confirmed', async () => {
    const rejected = await confirmedEvent(evidence, { start: T0, status: 'rejected' });
    expect(() => buildPublicRecord(noticeFor(rejected), rejected, [], registry(), { texts })).toThrow(
      RecordUnavailableError,
    );
  });
});

describe('publicLocations', () => {
  it('lists published cameras only, and not before their publication day', () => {
    expect(publicLocations(registry(), 30, '2026-05-19').map((l) => l.cameraId)).toEqual(['cam-xinhua-01']);
    expect(publicLocations(registry(), 30, '2026-05-20').map((l) => l.cameraId)).toEqual([
      'cam-jinghai-01',
      'cam-xinhua-01',
    ]);
    expect(publicLocations(registry(), 7, '2026-06-01')[0]!.enforcingFrom).toBe('2026-05-27');
  });
});
