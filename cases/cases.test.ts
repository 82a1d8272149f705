// Case building (classification code, place, evidence with SHA-256, detection and review), case-worthy alerts
// becoming cases without review, the classification table's validation, and the dataset export.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertManager } from '../alerts/manager.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import type { Alert } from '../alerts/types.js';
import { caseRoutes } from './routes.js';
import type { Signal } from '../contracts/index.js';
import { ConfigError } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { EventStore, type StoredEvent } from '../review/store.js';
import { fakeSession, jpeg, makeEvent, until } from '../review/testdata/fixtures.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { caseFromAlert, caseFromEvent, caseIdFor } from './builder.js';
import { loadCaseCodes } from './codes.js';
import { CaseService } from './service.js';
import { CaseDocSchema } from './types.js';

const codesFile = path.resolve(import.meta.dirname, '../config/case-codes.json');
const codes = loadCaseCodes(codesFile);
const reviewer = { username: 'zhang.wei', role: 'reviewer' };

let dir: string;
let evidence: EvidenceStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-cases-'));
  evidence = new EvidenceStore(path.join(dir, 'evidence'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const signal = (o: Partial<Signal> = {}): Signal => ({
  type: 'fire',
  ruleId: 'dust.db13-2934.pm10',
  category: 'threshold',
  name: { zh: '施工扬尘PM10超标', en: 'Construction dust: PM10 over the limit' },
  deviceId: 'site-dust-001',
  district: 'jinghai',
  kind: 'dust',
  metric: 'pm10_ugm3',
  severity: 'warning',
  value: 96,
  level: 80,
  ts: Date.now(),
  standard: 'DB13/2934-2019',
  caseWorthy: true,
  caseCode: '0302',
  ...o,
});

describe('case builder', () => {
  it('builds the case of a confirmed event with its code, place, evidence and review; refuses an unreviewed one', async () => {
    const e = await makeEvent(evidence, { type: 'out-of-store-vending' });
    const pending: StoredEvent = { event: e, status: 'pending', receivedAt: e.detectedAt };
    expect(() => caseFromEvent(pending, { codes })).toThrow(/only a confirmed event/);
    const at = Date.parse('2026-11-27T02:10:00Z');
    const s: StoredEvent = {
      ...pending,
      status: 'confirmed',
      review: { decision: 'confirm', note: '已核实', by: reviewer, at },
    };
    const c = CaseDocSchema.parse(
      caseFromEvent(s, { codes, evidenceBaseUrl: 'https://city.example/platform', now: () => at + 1000 }),
    );
    expect(c).toMatchObject({
      id: caseIdFor({ type: 'event', id: e.id }, e.thresholdAt),
      source: { type: 'event', id: e.id },
      eventType: 'out-of-store-vending',
      code: '0504',
      codeName: { zh: '店外经营', en: 'Out-of-store vending' },
      district: 'xinhua',
      gridCell: '320582001002003',
      occurredAt: new Date(e.thresholdAt).toISOString(),
      createdAt: new Date(at + 1000).toISOString(),
      detection: { kind: 'vision', role: 'stall', zone: { id: 'np-1' }, dwellS: 300, detector: { model: 'city' } },
      review: { decision: 'confirm', note: '已核实', by: reviewer, at: new Date(at).toISOString() },
    });
    expect(c.evidence).toEqual(
      e.evidence.map((x) => ({
        url: `https://city.example/platform/api/evidence/${x.sha256}`,
        sha256: x.sha256,
        role: x.role,
        capturedAt: new Date(x.capturedAt).toISOString(),
      })),
    );
    for (const x of c.evidence) expect(await evidence.verify(x.sha256)).toBe(true);
    // The same source always gives the same id (idempotent filing); the date is Shanghai's.
    expect(caseIdFor({ type: 'event', id: e.id }, Date.parse('2026-11-27T17:00:00Z'))).toMatch(/^C20261128-/);
  });

  it('files a non-motor parking event under its own code from the shipped table (0506 非机动车乱停放)', async () => {
    const e = await makeEvent(evidence, { type: 'illegal-non-motor-parking' });
    const at = Date.parse('2026-11-27T02:10:00Z');
    const s: StoredEvent = {
      event: e,
      status: 'confirmed',
      receivedAt: e.detectedAt,
      review: { decision: 'confirm', by: reviewer, at },
    };
    const c = CaseDocSchema.parse(caseFromEvent(s, { codes }));
    expect(c).toMatchObject({
      eventType: 'illegal-non-motor-parking',
      code: '0506',
      codeName: { zh: '非机动车乱停放' },
      detection: { role: 'two-wheeler', className: 'bicycle' },
    });
  });

  it('builds the case of a case-worthy alert with the rule code or the table entry, none for others', () => {
    const a = {
      id: '6f1c0a4e-8a53-4d0e-9a43-1b5a0f2f7c11',
      ruleId: 'manhole.open',
      category: 'threshold',
      name: { zh: '井盖开启或移位', en: 'Manhole cover opened or displaced' },
      standard: 'Vendor practice',
      deviceId: 'mh-xinhua-001',
      district: 'xinhua',
      kind: 'manhole',
      metric: 'open',
      severity: 'critical',
      state: 'firing',
      firstSeen: Date.parse('2026-11-27T02:00:00Z'),
      lastSeen: Date.parse('2026-11-27T02:00:00Z'),
      value: 1,
      level: 0.5,
      peak: 1,
      caseWorthy: true,
      flaps: 0,
      history: [],
    } satisfies Alert;
    const place = { gridCell: '320582001002004', location: { lat: 31.87, lon: 120.56 } };
    const c = CaseDocSchema.parse(caseFromAlert(a, { codes }, place));
    expect(c).toMatchObject({
      source: { type: 'alert', id: a.id },
      eventType: 'manhole.open',
      code: '0103',
      codeName: { zh: '雨水井盖' },
      gridCell: '320582001002004',
      location: place.location,
      evidence: [],
      review: null,
      detection: { kind: 'rule', alertId: a.id, deviceId: 'mh-xinhua-001', severity: 'critical', value: 1 },
    });
    expect(caseFromAlert({ ...a, caseCode: '0102' }, { codes })).toMatchObject({
      code: '0102',
      gridCell: null,
      location: null,
    });
    expect(caseFromAlert({ ...a, ruleId: 'x.unknown' }, { codes })).toMatchObject({ code: null });
    // The alert carries its device's place (from the device registry): its case has it without a look-up.
    const carried = {
      gridCell: '320582001002003',
      location: { lat: 31.8612, lon: 120.5234 },
      address: '新华路12号',
      site: null,
    };
    expect(CaseDocSchema.parse(caseFromAlert({ ...a, place: carried }, { codes }))).toMatchObject({
      gridCell: '320582001002003',
      location: carried.location,
      postedLocation: '新华路12号',
    });
    expect(caseFromAlert({ ...a, caseWorthy: false }, { codes })).toBeNull();
  });

  it('refuses a classification table that maps to a code it does not list', () => {
    const f = path.join(dir, 'codes.json');
    const bad = JSON.parse(fs.readFileSync(codesFile, 'utf8'));
    bad.events['illegal-parking'] = '0599';
    fs.writeFileSync(f, JSON.stringify(bad));
    expect(() => loadCaseCodes(f)).toThrow(ConfigError);
    expect(() => loadCaseCodes(f)).toThrow(/events\.illegal-parking: code 0599 is not in "codes"/);
    delete bad.events['illegal-parking'];
    fs.writeFileSync(f, JSON.stringify(bad));
    expect(() => loadCaseCodes(f)).toThrow(/illegal-parking/);
  });
});

describe('case-worthy alerts', () => {
  it('become cases directly when they fire (once per alert), and at start for those that had none', async () => {
    const alertStore = await DuckDbAlertStore.open(':memory:');
    const manager = new AlertManager(alertStore);
    const cases = await CaseService.open({
      config: { file: path.join(dir, 'cases.duckdb'), codesFile, retryBaseMs: 10, retryMaxMs: 50 },
      logger: silentLogger,
    });
    try {
      // Fired while nobody watched (a crash between the alert and its case): filed when watching starts.
      const early = (await manager.handle(signal({ deviceId: 'site-dust-000' })))!;
      expect(await cases.watchAlerts(manager)).toBe(1);
      expect((await cases.list({ limit: 10 })).items.map((c) => c.source.id)).toEqual([early.id]);

      const t = Date.now();
      const a = (await manager.handle(signal({ ts: t })))!;
      await manager.handle(signal({ ts: t + 60_000, type: 'escalate', severity: 'major', value: 160 })); // the same alert
      await manager.handle(
        signal({
          ts: t,
          ruleId: 'fume.gb18483',
          deviceId: 'fume-001',
          kind: 'fume',
          caseWorthy: false,
          caseCode: undefined,
        }),
      );
      await manager.idle();
      const c = await until(
        async () => (await cases.list({ limit: 10 })).items.find((x) => x.source.id === a.id),
        5000,
        'the alert case',
      );
      expect(c).toMatchObject({
        source: { type: 'alert', id: a.id },
        code: '0302',
        codeName: { zh: '工地扬尘' },
        district: 'jinghai',
        review: null,
        detection: { ruleId: 'dust.db13-2934.pm10', deviceId: 'site-dust-001' },
      });
      await until(
        async () => ((await cases.get(c.id))!.delivery.status === 'delivered' ? true : null),
        5000,
        'delivered to the inbox',
      );
      await new Promise((r) => setTimeout(r, 100));
      expect((await cases.list({ limit: 10 })).total).toBe(2); // the escalation and the fume alert filed nothing more
      expect((await cases.inbox(10)).total).toBe(2);
      // Watching again (a restart) files nothing new.
      expect(await cases.watchAlerts(manager)).toBe(0);
    } finally {
      await cases.close();
      await alertStore.close();
    }
  });
});

/** Files of a tar archive (ustar, regular files). */
function untar(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let off = 0; off + 512 <= buf.length;) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) =>
      h
        .subarray(a, a + n)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    expect(parseInt(str(148, 8), 8)).toBe(sum);
    const prefix = str(345, 155);
    const name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
    const size = parseInt(str(124, 12), 8);
    files.set(name, buf.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

describe('dataset export', () => {
  it('exports reviewed events as YOLO images and labels, confirmed and rejected apart, never drawn-on images', async () => {
    const events = await EventStore.open(path.join(dir, 'events.duckdb'));
    const cases = await CaseService.open({
      config: { file: path.join(dir, 'cases.duckdb'), codesFile },
      logger: silentLogger,
      dispatch: false,
    });
    const app = Fastify();
    fakeSession(app);
    await app.register(caseRoutes, { cases, events, evidence });
    try {
      const t = Date.now();
      const e1 = await makeEvent(evidence, { n: 1 });
      const e2 = await makeEvent(evidence, { n: 2, type: 'out-of-store-vending' });
      const e3 = await makeEvent(evidence, { n: 3 });
      const e4 = await makeEvent(evidence, { n: 4 }); // stays pending: not exported
      // An event with the clean frame (role "frame", with the object's box in it): exported instead of the crop.
      const e5 = await makeEvent(evidence, { n: 5 });
      const clean = await evidence.put(await jpeg(1280, 720, 17));
      const frameBox = [420, 310, 620, 430];
      (e5.evidence as unknown[]).push({
        role: 'frame',
        sha256: clean.sha256,
        url: `/api/evidence/${clean.sha256}`,
        capturedAt: e5.thresholdAt,
        width: 1280,
        height: 720,
        bytes: clean.bytes,
        box: frameBox,
      });
      await events.add([e1, e2, e3, e4, e5]);
      await events.decide(e1.id, { decision: 'confirm', by: reviewer, at: t });
      await events.decide(e2.id, { decision: 'reject', reason: 'false-detection', by: reviewer, at: t + 1 });
      await events.decide(e3.id, { decision: 'reject', reason: 'permitted', by: reviewer, at: t + 2 });
      await events.decide(e5.id, { decision: 'confirm', by: reviewer, at: t + 3 });

      expect((await app.inject({ url: '/api/export/dataset' })).statusCode).toBe(401);
      expect(
        (await app.inject({ url: '/api/export/dataset', headers: { 'x-test-user': 'wang.li:staff' } })).statusCode,
      ).toBe(403);
      expect(
        (await app.inject({ url: '/api/export/dataset?from=2026-01-01', headers: { 'x-test-user': 'li.na:admin' } }))
          .statusCode,
      ).toBe(400);
      const r = await app.inject({ url: `/api/export/dataset?from=${t}`, headers: { 'x-test-user': 'li.na:admin' } });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('application/x-tar');
      expect(r.headers['content-disposition']).toMatch(/^attachment; filename="city-dataset-\d{8}T\d{6}Z\.tar"$/);
      const files = untar(r.rawPayload);
      const names = [...files.keys()].map((n) => n.replace(/^city-dataset-[^/]+\//, ''));
      expect(
        names
          .filter((n) => n.endsWith('.jpg'))
          .map((n) => n.replace(/\/[^/]+_(crop|frame)\.jpg$/, '/$1'))
          .sort(),
      ).toEqual([
        'confirmed/images/crop',
        'confirmed/images/frame',
        'rejected/false-detection/images/crop',
        'rejected/permitted/images/crop',
      ]);
      expect(names).toEqual(expect.arrayContaining(['README.txt', 'data.yaml', 'manifest.jsonl']));
      const get = (suffix: string) => [...files.entries()].find(([n]) => n.endsWith(suffix))![1];
      expect(get('data.yaml').toString()).toContain('names:\n  0: vehicle\n  1: stall\n  2: person');

      const manifest = get('manifest.jsonl')
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(manifest.map((m) => m.event).sort()).toEqual([e1.id, e2.id, e3.id, e5.id].sort());
      const m1 = manifest.find((m) => m.event === e1.id)!;
      expect(m1).toMatchObject({
        decision: 'confirm',
        by: 'zhang.wei',
        classId: 0,
        source: { role: 'crop', sha256: e1.evidence[3]!.sha256 },
        width: 320,
        height: 192,
      });
      // The crop image is the evidence crop, byte for byte, labelled with the box mapped into it (15 % margin).
      const cropName = m1.image as string;
      expect(
        [...files.entries()]
          .find(([n]) => n.endsWith(cropName))![1]
          .equals((await evidence.get(e1.evidence[3]!.sha256))!),
      ).toBe(true);
      expect(get(m1.label).toString()).toBe('0 0.500000 0.500000 0.769231 0.769231\n');
      const m2 = manifest.find((m) => m.event === e2.id)!;
      expect(m2).toMatchObject({
        decision: 'reject',
        reason: 'false-detection',
        classId: 1,
        image: expect.stringMatching(/^rejected\/false-detection\/images\//),
      });
      const m5 = manifest.find((m) => m.event === e5.id)!;
      expect(m5).toMatchObject({
        source: { role: 'frame', sha256: clean.sha256 },
        box: frameBox,
        width: 1280,
        height: 720,
      });
      expect(get(m5.label).toString()).toBe(
        `0 ${(520 / 1280).toFixed(6)} ${(370 / 720).toFixed(6)} ${(200 / 1280).toFixed(6)} ${(120 / 720).toFixed(6)}\n`,
      );
      // No drawn evidence image (first-seen, threshold, last) is in the archive.
      const drawn = new Set(
        [e1, e2, e3, e5].flatMap((e) =>
          e.evidence.filter((x) => ['first-seen', 'threshold', 'last'].includes(x.role)).map((x) => x.sha256),
        ),
      );
      for (const [n, data] of files) if (n.endsWith('.jpg')) expect(drawn.has(EvidenceStore.sha256(data))).toBe(false);

      // A window that holds only the first decision.
      const one = untar(
        (
          await app.inject({
            url: `/api/export/dataset?from=${t}&to=${t + 1}`,
            headers: { 'x-test-user': 'zhang.wei:reviewer' },
          })
        ).rawPayload,
      );
      expect([...one.keys()].filter((n) => n.endsWith('.jpg'))).toHaveLength(1);
    } finally {
      await app.close();
      await cases.close();
      await events.close();
    }
  });
});
