// The store contract against the real InfluxDB 2.7 of scripts/services, then what only InfluxDB has: start-up
// checks with messages naming the variable to fix, points beyond retention, dashboards, and a real outage.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeadLetter, StoredReading } from '../../contracts/index.js';
import { storeContract, uniqueId } from '../store.contract.js';
import { InfluxStore, MAX_DEAD_LETTER_PAYLOAD, StoreConfigError, type InfluxStoreOptions } from './store.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function env(): InfluxStoreOptions {
  const { INFLUX_URL: url, INFLUX_TOKEN: token, INFLUX_ORG: org, INFLUX_BUCKET: bucket } = process.env;
  if (!url || !token || !org || !bucket)
    throw new Error('INFLUX_* are not set: the global setup runs scripts/services up');
  return { url, token, org, bucket };
}

function influxd(cmd: 'stop' | 'start'): void {
  execFileSync(path.join(ROOT, 'scripts/services.d/influxdb.sh'), [cmd], { stdio: 'inherit' });
}

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const e = env();
  const res = await fetch(new URL(p, e.url), {
    method,
    headers: { Authorization: `Token ${e.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function noiseBatch(deviceId: string, from: number, n: number, t0 = Date.UTC(2026, 10, 27, 3)): StoredReading[] {
  return Array.from({ length: n }, (_, i) => ({
    district: 'xinhua',
    kind: 'noise' as const,
    deviceId,
    ts: t0 + (from + i) * 1000,
    seq: from + i,
    metrics: { laeq_db: 55 + ((from + i) % 10), lmax_db: 70 },
  }));
}

storeContract('influxdb', () => InfluxStore.open(env()), { duplicateKeeps: 'last' });

describe('InfluxStore start-up checks', () => {
  const rejects = async (o: Partial<InfluxStoreOptions>, message: RegExp) => {
    const err = await InfluxStore.open({ ...env(), ...o }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreConfigError);
    expect((err as Error).message).toMatch(message);
  };

  it('names INFLUX_TOKEN when the token is refused', async () => {
    await rejects({ token: 'not-a-token' }, /INFLUX_TOKEN/);
  });
  it('names INFLUX_ORG when the organization does not exist', async () => {
    await rejects({ org: 'no-such-org' }, /organization "no-such-org" does not exist.*INFLUX_ORG/);
  });
  it('names INFLUX_BUCKET when the bucket does not exist', async () => {
    await rejects({ bucket: 'no-such-bucket' }, /bucket "no-such-bucket" does not exist.*INFLUX_BUCKET/);
  });
  it('names INFLUX_URL when nothing answers there', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p)); // closed again: nothing listens there
      });
    });
    await rejects(
      { url: `http://127.0.0.1:${port}` },
      new RegExp(`cannot reach InfluxDB at http://127.0.0.1:${port} \\(ECONNREFUSED\\).*INFLUX_URL`),
    );
    await rejects({ url: 'not a url' }, /INFLUX_URL/);
  });
  it('names INFLUX_TOKEN when the token may read but not write', async () => {
    const e = env();
    const bucket = (await api('GET', `/api/v2/buckets?org=${e.org}&name=${e.bucket}`)).json.buckets[0];
    const auth = await api('POST', '/api/v2/authorizations', {
      orgID: bucket.orgID,
      description: 'store.test read-only',
      permissions: [{ action: 'read', resource: { type: 'buckets', id: bucket.id, orgID: bucket.orgID } }],
    });
    try {
      await rejects({ token: auth.json.token }, /may not write to bucket.*INFLUX_TOKEN/);
    } finally {
      await api('DELETE', `/api/v2/authorizations/${auth.json.id}`);
    }
  });
  it('opens for a process that only writes with a write-only token, which sees no bucket', async () => {
    const e = env();
    const bucket = (await api('GET', `/api/v2/buckets?org=${e.org}&name=${e.bucket}`)).json.buckets[0];
    const auth = await api('POST', '/api/v2/authorizations', {
      orgID: bucket.orgID,
      description: 'store.test write-only',
      permissions: [{ action: 'write', resource: { type: 'buckets', id: bucket.id, orgID: bucket.orgID } }],
    });
    try {
      // Its start-up checks pass (an empty write is one of them; nothing is added to the shared bucket).
      await (await InfluxStore.open({ ...e, token: auth.json.token, access: 'write' })).close();
      // A process that reads too is refused with it, naming the variable; so is the write-only check on a bucket that
      // is not there.
      await rejects({ token: auth.json.token }, /not visible.*INFLUX_TOKEN/);
      await rejects(
        { token: auth.json.token, access: 'write', bucket: 'no-such-bucket' },
        /no bucket "no-such-bucket".*INFLUX_BUCKET/,
      );
    } finally {
      await api('DELETE', `/api/v2/authorizations/${auth.json.id}`);
    }
  });
});

describe('InfluxStore beyond the contract', () => {
  let store: InfluxStore;
  afterAll(async () => {
    await store?.close();
  });

  it('counts points older than the bucket retention as written, and stores the rest', async () => {
    const e = env();
    const org = (await api('GET', `/api/v2/orgs?org=${e.org}`)).json.orgs[0];
    const name = uniqueId('store-test-1h');
    const created = await api('POST', '/api/v2/buckets', {
      orgID: org.id,
      name,
      retentionRules: [{ type: 'expire', everySeconds: 3600 }],
    });
    expect(created.status).toBe(201);
    const s = await InfluxStore.open({ ...e, bucket: name });
    try {
      const dev = uniqueId('ret');
      const now = Date.now();
      await s.write([...noiseBatch(dev, 0, 1, now - 3 * 3600_000), ...noiseBatch(dev, 0, 1, now)]);
      expect(s.droppedOutsideRetention).toBe(1);
      expect(await s.countPoints(dev)).toBe(2); // the recent reading's two metrics
    } finally {
      await s.close();
      await api('DELETE', `/api/v2/buckets/${created.json.id}`);
    }
  });

  it('splits a large batch into requests by lines and by bytes, and stores all of it', async () => {
    store = await InfluxStore.open(env());
    const dev = uniqueId('big');
    const batch = noiseBatch(dev, 0, 12_000); // split over the writers, each part in requests of at most 10,000 lines
    await store.write(batch);
    expect(await store.countPoints(dev)).toBe(24_000);
    expect((await store.query({ deviceId: dev, limit: 1 })).total).toBe(12_000);
    const run = uniqueId('big-dl');
    const payload = Buffer.alloc(256 * 1024, 0xab);
    const before = (await store.list(1)).total;
    // 24 x 350 kB of base64: more than one 4 MiB request
    await store.add(
      Array.from({ length: 24 }, (_, i) => ({
        topic: `${run}/${i}`,
        reason: 'too large',
        receivedAt: Date.now(),
        payload,
      })),
    );
    expect((await store.list(1)).total - before).toBe(24);
  });

  it('writes one batch in concurrent requests, gzipped or not, and stores every reading once', async () => {
    for (const gzipThreshold of [Number.POSITIVE_INFINITY, 1000]) {
      const s = await InfluxStore.open({ ...env(), write: { concurrency: 3, linesPerRequest: 1500, gzipThreshold } });
      try {
        const dev = uniqueId('conc');
        // 3 parts of 3,334 lines, each in requests of at most 1,500 lines; the second write repeats the first.
        const batch = noiseBatch(dev, 0, 10_000);
        await s.write(batch);
        await s.write(batch);
        expect((await s.query({ deviceId: dev, limit: 1 })).total).toBe(10_000);
        expect(await s.countPoints(dev)).toBe(20_000);
      } finally {
        await s.close();
      }
    }
  });

  it('keeps a dead letter larger than a string field may be, and cuts one past MAX_DEAD_LETTER_PAYLOAD', async () => {
    const run = uniqueId('dl-huge');
    const mb3 = randomBytes(3 * 1024 * 1024 + 5); // 4 MiB of base64: six fields
    const mb5 = randomBytes(MAX_DEAD_LETTER_PAYLOAD + 1000);
    const now = Date.now();
    await store.add([
      { topic: `${run}/3`, reason: 'too large', receivedAt: now, payload: mb3 },
      { topic: `${run}/5`, reason: 'too large', receivedAt: now + 1, payload: mb5 },
    ]);
    const got = (await store.list(2)).items;
    expect(got.map((d) => d.topic)).toEqual([`${run}/5`, `${run}/3`]);
    expect(Buffer.compare(got[1]!.payload, mb3)).toBe(0);
    expect(Buffer.compare(got[0]!.payload, mb5.subarray(0, MAX_DEAD_LETTER_PAYLOAD))).toBe(0);
    expect(got[0]!.reason).toBe(
      `too large [payload cut to its first ${MAX_DEAD_LETTER_PAYLOAD} of ${mb5.length} bytes]`,
    );
  });

  it('stores dead letters once when add() is retried with the same items', async () => {
    const run = uniqueId('dl-retry');
    const items: DeadLetter[] = [1, 2, 3].map((i) => ({
      topic: `${run}/${i}`,
      reason: 'r',
      receivedAt: Date.now(),
      payload: Buffer.from([i]),
    }));
    const before = (await store.list(1)).total;
    await store.add(items);
    await store.add(items); // what ingest does when the first add() failed after InfluxDB had the points
    expect((await store.list(1)).total - before).toBe(3);
  });

  it('answers the dashboard queries: windowed aggregate and latest reading per device', async () => {
    const a = uniqueId('dash-a');
    const b = uniqueId('dash-b');
    const t0 = Date.UTC(2026, 10, 27, 4);
    const district = uniqueId('d');
    await store.write([
      ...[0, 20, 40, 60, 80].map((s, i) => ({
        district,
        kind: 'noise' as const,
        deviceId: a,
        ts: t0 + s * 1000,
        metrics: { laeq_db: 50 + i },
      })),
      { district, kind: 'noise', deviceId: b, ts: t0, metrics: { laeq_db: 40, lmax_db: 60 } },
      { district, kind: 'noise', deviceId: b, ts: t0 + 5000, metrics: { laeq_db: 41 } },
    ]);
    const windows = await store.aggregate({
      kind: 'noise',
      metric: 'laeq_db',
      fn: 'mean',
      everyMs: 60_000,
      from: t0,
      to: t0 + 120_000,
      deviceId: a,
    });
    expect(windows).toEqual([
      { ts: t0, value: 51 },
      { ts: t0 + 60_000, value: 53.5 },
    ]);
    const latest = await store.latest('noise', { district, since: t0 });
    expect(latest.sort((x, y) => x.deviceId.localeCompare(y.deviceId))).toEqual([
      { deviceId: a, district, ts: t0 + 80_000, metrics: { laeq_db: 54 } },
      { deviceId: b, district, ts: t0 + 5000, metrics: { laeq_db: 41 } },
    ]);
  });
  it('writes seq on every line (-1 without one), and still counts points written with the old reading=1i marker', async () => {
    const e = env();
    const district = uniqueId('d');
    const now = uniqueId('seq');
    const old = uniqueId('legacy');
    const t0 = Date.UTC(2026, 10, 27, 5);
    await store.write([
      { district, kind: 'noise', deviceId: now, ts: t0, seq: 7, metrics: { laeq_db: 50 } },
      { district, kind: 'noise', deviceId: now, ts: t0 + 1000, metrics: { lmax_db: 70 } },
    ]);
    // As ingest wrote them before seq took over the count: a reading field, seq only when the reading had one.
    const legacy = [
      `noise,device=${old},district=${district} laeq_db=51,reading=1i,seq=1i ${t0}`,
      `noise,device=${old},district=${district} lmax_db=71,reading=1i ${t0 + 1000}`,
      `noise,device=${old},district=${district} laeq_db=52,reading=1i ${t0 + 2000}`,
    ].join('\n');
    const res = await fetch(new URL(`/api/v2/write?org=${e.org}&bucket=${e.bucket}&precision=ms`, e.url), {
      method: 'POST',
      headers: { Authorization: `Token ${e.token}` },
      body: legacy,
    });
    expect(res.status).toBe(204);
    const mine = await store.query({ deviceId: now, limit: 10 });
    expect(mine.total).toBe(2);
    expect(mine.readings).toEqual([
      { ts: t0, metrics: { laeq_db: 50 } },
      { ts: t0 + 1000, metrics: { lmax_db: 70 } },
    ]);
    const theirs = await store.query({ deviceId: old, limit: 10 });
    expect(theirs.total).toBe(3);
    expect(theirs.readings.map((r) => r.metrics)).toEqual([{ laeq_db: 51 }, { lmax_db: 71 }, { laeq_db: 52 }]);
    expect(await store.countPoints(old)).toBe(3);
    expect(await store.countPoints(now)).toBe(2);
  });
});

describe('InfluxStore through a real outage', () => {
  afterAll(() => influxd('start')); // idempotent: InfluxDB runs again whatever happened

  it('writes fail within a bounded time and leave nothing queued; a retrying write waits for InfluxDB; writes succeed once it is back, nothing doubled', async () => {
    const warnings: string[] = [];
    const logger = {
      warn: (f: object, m: string) => warnings.push(`${m} ${JSON.stringify(f)}`),
      error: () => undefined,
    };
    // Short retries so that a write gives up well inside the outage (production defaults: DEFAULT_WRITE_TUNING).
    const quick = await InfluxStore.open({
      ...env(),
      logger,
      write: {
        maxRetries: 2,
        minRetryDelay: 200,
        maxRetryDelay: 800,
        retryJitter: 100,
        maxRetryTime: 4000,
        timeout: 2000,
      },
    });
    // Retries long enough to outlast the outage.
    const patient = await InfluxStore.open({
      ...env(),
      write: {
        maxRetries: 50,
        minRetryDelay: 300,
        maxRetryDelay: 1000,
        retryJitter: 100,
        maxRetryTime: 45_000,
        timeout: 2000,
      },
    });
    const dev = uniqueId('outage');
    const devPatient = uniqueId('outage-patient');
    const before = noiseBatch(dev, 0, 200);
    const during = noiseBatch(dev, 200, 200);
    const held = noiseBatch(devPatient, 0, 100);
    try {
      await quick.write(before);

      influxd('stop');
      const stoppedAt = Date.now();
      let backAt = Infinity;
      let heldWrittenAt = 0;
      let heldPromise: Promise<void> = Promise.resolve();
      try {
        expect(await quick.ping()).toBe(false);
        const t = Date.now();
        await expect(quick.write(during)).rejects.toThrow(/InfluxDB write failed after 3 attempts.*ECONNREFUSED/);
        // Not at the first failure (where the client's flush() rejects) but after its two retries, whose delays
        // are at least 200 and 400 ms; and within the configured bound.
        expect(Date.now() - t).toBeGreaterThanOrEqual(600);
        expect(Date.now() - t).toBeLessThan(4000 + 2000);
        expect(warnings.filter((w) => /Write to InfluxDB failed \(attempt: [12]\)/.test(w))).toHaveLength(2);
        // Nothing left queued: past every retry delay the client has attempted nothing more.
        const reported = warnings.length;
        await sleep(1500);
        expect(warnings).toHaveLength(reported);
        // Ingest retries the batch: each attempt fails the same way, nothing piles up.
        await expect(quick.write(during)).rejects.toThrow(/InfluxDB write failed/);

        heldPromise = patient.write(held).then(() => {
          heldWrittenAt = Date.now();
        });
        await sleep(Math.max(0, stoppedAt + 15_000 - Date.now()));
        expect(heldWrittenAt).toBe(0); // not resolved while InfluxDB was away
      } finally {
        influxd('start'); // returns once InfluxDB is healthy
        backAt = Date.now();
      }
      await heldPromise;
      expect(heldWrittenAt).toBeGreaterThanOrEqual(backAt);
      expect(await patient.countPoints(devPatient)).toBe(held.length * 2);

      // The rejected batch did not reach InfluxDB behind ingest's back.
      await sleep(1000);
      expect(await quick.countPoints(dev)).toBe(before.length * 2);

      // Ingest's next retry goes through; together with `before` written again, nothing is doubled.
      expect(await quick.ping()).toBe(true);
      await quick.write(during);
      await quick.write([...before, ...during]);
      expect(await quick.countPoints(dev)).toBe((before.length + during.length) * 2);
      const r = await quick.query({ deviceId: dev, limit: 1000 });
      expect(r.total).toBe(before.length + during.length);
      expect(r.readings.map((x) => x.ts)).toEqual([...before, ...during].map((x) => x.ts));
    } finally {
      await quick.close();
      await patient.close();
    }
  }, 60_000);
});
