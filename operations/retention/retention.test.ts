// The retention job on the embedded stores with a virtual clock: years pass between two runs without a sleep.
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredReading } from '../../contracts/index.js';
import { caseFromEvent } from '../../cases/builder.js';
import { loadCaseCodes } from '../../cases/codes.js';
import { CaseStore } from '../../cases/store.js';
import { StatementStore } from '../../party/statements.js';
import { EventStore } from '../../review/store.js';
import { makeEvent } from '../../review/testdata/fixtures.js';
import { ConfigError } from '../../runtime/config.js';
import { DuckDbStore } from '../../store/duckdb/store.js';
import { InfluxStore } from '../../store/influxdb/store.js';
import type { ReadingAggregates, Store } from '../../store/types.js';
import { captureLogger, tmpDir } from '../../test/helpers.js';
import { EvidenceStore } from '../../vision/evidence/store.js';
import { loadRetentionConfig, type RetentionConfig } from './config.js';
import { RetentionJob } from './job.js';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const MIN = 60_000;
const shipped = loadRetentionConfig(path.resolve(import.meta.dirname, '../../config/retention.json'));
const config: RetentionConfig = {
  ...shipped,
  readings: { ...shipped.readings, rawDays: 90, aggregateYears: 2, lateMinutes: 60 },
  deadLetters: { maxAgeDays: 30, maxMB: 256 },
  enforcement: { ...shipped.enforcement, years: 10, rejectedEventDays: 180 },
};
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A noise meter every minute: laeq_db rises and falls, so mean and Leq differ; a dust metric beside it. */
function noise(from: number, minutes: number): StoredReading[] {
  return Array.from({ length: minutes }, (_, i) => ({
    deviceId: 'nz-1',
    district: 'xinhua',
    kind: 'noise',
    ts: from + i * MIN,
    seq: i,
    metrics: { laeq_db: 50 + (i % 15) * 2, lmax_db: 80 },
  })) as StoredReading[];
}

const leq = (dbs: number[]) => 10 * Math.log10(dbs.reduce((s, l) => s + 10 ** (l / 10), 0) / dbs.length);

let dir: string;
beforeEach(() => {
  dir = tmpDir('retention');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A store of each backend, empty: DuckDB in a file, InfluxDB in a bucket of its own on the real server. */
const backends: [
  string,
  () => Promise<{ store: Store & { aggregates: ReadingAggregates }; drop: () => Promise<void> }>,
][] = [
  [
    'DuckDB',
    async () => {
      const store = await DuckDbStore.open({ file: path.join(dir, 'city.duckdb') });
      return { store, drop: () => store.close() };
    },
  ],
  [
    'InfluxDB',
    async () => {
      const { INFLUX_URL: url, INFLUX_TOKEN: token, INFLUX_ORG: org } = process.env;
      if (!url || !token || !org) throw new Error('INFLUX_* are not set: the global setup runs scripts/services up');
      const call = async (method: string, p: string, body?: unknown) => {
        const res = await fetch(new URL(p, url), {
          method,
          headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text}`);
        return text ? (JSON.parse(text) as Record<string, any>) : {};
      };
      // A bucket of its own: the job deletes every raw point before its cutoff, and other tests share the server.
      const orgID = (await call('GET', `/api/v2/orgs?org=${org}`)).orgs[0].id as string;
      const bucket = await call('POST', '/api/v2/buckets', {
        orgID,
        name: `retention-${process.pid}-${Date.now()}`,
        retentionRules: [],
      });
      const store = await InfluxStore.open({ url, token, org, bucket: bucket.name as string });
      return {
        store,
        drop: async () => {
          await store.close();
          await call('DELETE', `/api/v2/buckets/${bucket.id as string}`);
        },
      };
    },
  ],
];

describe.each(backends)('retention of readings on %s', (_name, open) => {
  it('keeps 15-minute mean, max and Leq of raw readings it deletes, counts late readings in, and deletes aggregates after their years', async () => {
    const { store, drop } = await open();
    try {
      let now = T0 + 2 * DAY;
      const { logger, lines } = captureLogger();
      const registry = new Registry();
      const job = new RetentionJob({ config, store, logger, registry, now: () => now });
      await store.write(noise(T0, 2 * 24 * 60));

      // Continuous: every bucket of the two days is there while the raw readings still are.
      let r = await job.run();
      expect(r.readings).toBe(0);
      let a = await store.aggregates.queryAggregates({
        deviceId: 'nz-1',
        metric: 'laeq_db',
        from: T0,
        to: T0 + 2 * DAY,
        limit: 1000,
      });
      expect(a.total).toBe(2 * 24 * 4);
      const first = noise(T0, 15).map((x) => x.metrics.laeq_db!);
      expect(a.readings[0]!.metrics.laeq_db).toBeCloseTo(first.reduce((s, v) => s + v) / 15, 9);
      expect(a.readings[0]!.max.laeq_db).toBe(78);
      expect(a.readings[0]!.leq!.laeq_db).toBeCloseTo(leq(first), 9);
      expect(a.readings[0]!.leq!.laeq_db).toBeGreaterThan(a.readings[0]!.metrics.laeq_db! + 1); // energy, not the dB mean

      // An edge buffer delivers a reading of the first hour a day late (after its bucket was computed and the
      // lateMinutes window passed). Three months on, raw readings of the first days go; the late one is in the bucket.
      await store.write([
        {
          deviceId: 'nz-1',
          district: 'xinhua',
          kind: 'noise',
          ts: T0 + 7 * MIN + 30_000,
          metrics: { laeq_db: 95 },
        } as StoredReading,
      ]);
      now = T0 + 92 * DAY + 5 * MIN;
      const rawBefore = await store.countPoints('nz-1');
      r = await job.run();
      const cutoff = T0 + 2 * DAY; // now - 90 days, on a bucket boundary: every reading of the two days
      expect(r.readings).toBe(rawBefore);
      expect(await store.countPoints('nz-1')).toBe(0);
      a = await store.aggregates.queryAggregates({
        deviceId: 'nz-1',
        metric: 'laeq_db',
        from: T0,
        to: cutoff,
        limit: 1000,
      });
      expect(a.total).toBe(2 * 24 * 4);
      expect(a.readings[0]!.count.laeq_db).toBe(16);
      expect(a.readings[0]!.max.laeq_db).toBe(95);
      expect(a.readings[0]!.leq!.laeq_db).toBeCloseTo(leq([...first, 95]), 9);
      const log = lines.find((l) => l.kind === 'readings');
      expect(log).toMatchObject({
        deleted: rawBefore,
        msg: expect.stringMatching(/older than 90 days \(readings.rawDays\)/),
      });

      // Two years on, the aggregates go too.
      now = T0 + 2 * YEAR + 3 * DAY;
      r = await job.run();
      expect(r.aggregates).toBe(2 * 24 * 4 * 2); // two metrics
      expect((await store.aggregates.queryAggregates({ deviceId: 'nz-1', limit: 10 })).total).toBe(0);
      const metrics = await registry.metrics();
      expect(metrics).toMatch(
        new RegExp(`retention_deleted_total\\{kind="readings",reason="[^"]+"\\} ${rawBefore}\\n`),
      );
      expect(metrics).toMatch(/retention_deleted_total\{kind="aggregates",reason="[^"]+"\} 384\n/);
    } finally {
      await drop();
    }
  });
});

describe('retention of dead letters', () => {
  it("applies the dead letters' age and size", async () => {
    const store = await DuckDbStore.open({ file: ':memory:' });
    try {
      const now = T0 + 40 * DAY;
      await store.add([
        { topic: 'a', reason: 'old', receivedAt: T0, payload: Buffer.from('x') },
        { topic: 'b', reason: 'new', receivedAt: now - DAY, payload: Buffer.from('y') },
      ]);
      const { logger } = captureLogger();
      const r = await new RetentionJob({ config, store, logger, now: () => now }).run();
      expect(r.deadLetters).toBe(1);
      expect((await store.list(10)).items.map((d) => d.reason)).toEqual(['new']);
    } finally {
      await store.close();
    }
  });
});

describe('retention of enforcement records', () => {
  it('deletes events, cases and evidence past their period, and keeps what an open case or a statement holds', async () => {
    const store = await DuckDbStore.open({ file: ':memory:' });
    const events = await EventStore.open(path.join(dir, 'events.duckdb'));
    const cases = await CaseStore.open(path.join(dir, 'cases.duckdb'));
    const statements = await StatementStore.open(path.join(dir, 'statements.duckdb'));
    const evidence = new EvidenceStore(path.join(dir, 'evidence'));
    const codes = loadCaseCodes(path.resolve(import.meta.dirname, '../../config/case-codes.json'));
    const reviewer = { username: 'zhang.wei', role: 'reviewer' };
    try {
      const decided = Date.now();
      const made: Record<string, Awaited<ReturnType<typeof makeEvent>>> = {};
      const confirm = async (name: string, n: number, delivered: boolean) => {
        const e = (made[name] = await makeEvent(evidence, { n }));
        await events.add([e]);
        const d = await events.decide(e.id, { decision: 'confirm', by: reviewer, at: decided });
        if (!d.ok) throw new Error('not decided');
        const doc = caseFromEvent(d.stored, { codes });
        await cases.insert(doc, 'inbox');
        if (delivered) await cases.markDelivered(doc.id, 'inbox', 1, decided);
        await events.setCaseId(e.id, doc.id);
        return doc.id;
      };
      const closedCase = await confirm('closed', 1, true);
      const openCase = await confirm('open', 2, false);
      await confirm('stated', 3, true);
      await statements.add({ eventId: made.stated!.id, code: 'ABCD1234', text: '我已挪车', photos: [] });
      const rejected = (made.rejected = await makeEvent(evidence, { n: 4 }));
      await events.add([rejected]);
      await events.decide(rejected.id, {
        decision: 'reject',
        reason: 'false-detection',
        by: reviewer,
        at: decided,
      } as never);
      const pending = (made.pending = await makeEvent(evidence, { n: 5 }));
      await events.add([pending]);

      const { logger, lines } = captureLogger();
      const registry = new Registry();
      let now = decided + 200 * DAY;
      const job = new RetentionJob({
        config,
        store,
        enforcement: { events, cases, statements, evidence },
        logger,
        registry,
        now: () => now,
      });
      // After 200 days only the rejected event has passed its period.
      let r = await job.run();
      expect([r.events, r.cases, r.evidence]).toEqual([1, 0, 4]);
      expect(await events.get(rejected.id)).toBeNull();
      for (const i of rejected.evidence) expect(await evidence.verify(i.sha256)).toBe(false);

      // Ten years and a day on: the delivered case without a statement goes with its event and images; the case the
      // case system never accepted and the event with a party's statement stay, as does the undecided event.
      now = decided + 10 * YEAR + DAY;
      r = await job.run();
      expect([r.events, r.cases, r.evidence]).toEqual([1, 1, 4]);
      expect(r.held).toEqual({ openCase: 1, statement: 1 });
      expect(await events.get(made.closed!.id)).toBeNull();
      expect(await cases.get(closedCase)).toBeNull();
      for (const i of made.closed!.evidence) expect(await evidence.verify(i.sha256)).toBe(false);
      for (const name of ['open', 'stated', 'pending']) {
        expect(await events.get(made[name]!.id)).not.toBeNull();
        for (const i of made[name]!.evidence) expect(await evidence.verify(i.sha256)).toBe(true);
      }
      expect(await cases.get(openCase)).not.toBeNull();
      expect(lines.filter((l) => l.kind === 'evidence').map((l) => l.msg)).toEqual([
        expect.stringMatching(/evidence images of rejected events older than 180 days/),
        expect.stringMatching(/evidence images of confirmed events past the legal period of 10 years/),
      ]);
      expect(await registry.metrics()).toMatch(/retention_deleted_total\{kind="cases",reason="[^"]+"\} 1\n/);
    } finally {
      await Promise.all([store.close(), events.close(), cases.close(), statements.close()]);
    }
  });
});

describe('config/retention.json', () => {
  it('stops the process with the field to fix', () => {
    const file = path.join(dir, 'retention.json');
    fs.writeFileSync(file, JSON.stringify({ ...shipped, readings: { ...shipped.readings, rawDays: '90' } }));
    expect(() => loadRetentionConfig(file)).toThrow(ConfigError);
    expect(() => loadRetentionConfig(file)).toThrow(/readings\.rawDays: must be a number of days/);
    fs.writeFileSync(
      file,
      JSON.stringify({ ...shipped, readings: { ...shipped.readings, aggregateYears: 1, rawDays: 400 } }),
    );
    expect(() => loadRetentionConfig(file)).toThrow(/aggregateYears must cover at least rawDays/);
  });
});
