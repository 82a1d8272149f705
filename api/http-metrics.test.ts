// The latency histogram labels requests by route pattern, method and status class, never by the URL they asked for,
// and the readiness gauges follow the /readyz checks. Over a real DuckDB store and real HTTP on loopback.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../runtime/log.js';
import type { DuckDbStore } from '../store/duckdb/store.js';
import { openStore, tmpDir } from '../test/helpers.js';
import { buildApi } from './server.js';

let store: DuckDbStore;
let base: string;
const registry = new Registry();
let brokerUp = true;
let close: () => Promise<void>;

beforeAll(async () => {
  store = await openStore(tmpDir('http-metrics'));
  const api = await buildApi({ store, registry, logger: silentLogger, readiness: { mqtt: () => brokerUp } });
  await api.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  close = async () => {
    await api.close();
    await store.close();
  };
});
afterAll(() => close());

function series(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe('HTTP metrics', () => {
  it('times each request under its route pattern, method and status class', async () => {
    for (const device of ['dev-a', 'dev-b', 'dev-c'])
      expect((await fetch(`${base}/api/readings?device=${device}&limit=5`)).status).toBe(200);
    expect((await fetch(`${base}/api/readings?device=`)).status).toBe(400);
    expect((await fetch(`${base}/no/such/page-${Date.now()}`)).status).toBe(404);
    const text = await (await fetch(`${base}/metrics`)).text();
    const counts = series(text, 'http_request_duration_seconds_count');
    expect(counts).toContain(
      'http_request_duration_seconds_count{route="/api/readings",method="GET",status_class="2xx"} 3',
    );
    expect(counts).toContain(
      'http_request_duration_seconds_count{route="/api/readings",method="GET",status_class="4xx"} 1',
    );
    expect(counts).toContain(
      'http_request_duration_seconds_count{route="unmatched",method="GET",status_class="4xx"} 1',
    );
    // No device id, query string or unknown path ever becomes a label value.
    expect(text).not.toMatch(/route="[^"]*(dev-a|\?|no\/such)/);
    expect(series(text, 'http_request_duration_seconds_bucket').some((l) => l.includes('le="0.005"'))).toBe(true);
  });

  it('exports each /readyz check as readiness_check', async () => {
    let text = await registry.metrics();
    expect(text).toContain('readiness_check{check="store"} 1');
    expect(text).toContain('readiness_check{check="mqtt"} 1');
    brokerUp = false;
    text = await registry.metrics();
    expect(text).toContain('readiness_check{check="mqtt"} 0');
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    brokerUp = true;
  });
});
