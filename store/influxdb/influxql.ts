// InfluxQL over the v1-compatible /query endpoint, with plain fetch. InfluxQL rather than Flux because InfluxDB 1.8,
// 2.x and 3.x all serve it, while 3.x has no Flux; see docs/influxdb.md.

export interface Series {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

interface QueryResponse {
  results?: { statement_id?: number; series?: Series[]; error?: string }[];
  error?: string;
  message?: string;
}

export interface InfluxQLTarget {
  url: string;
  token: string;
  /** The bucket: InfluxDB 2.x maps it to an InfluxQL database (DBRP mapping). */
  db: string;
  timeoutMs: number;
}

/** Runs `;`-separated statements; one list of series per statement. Times come back as epoch milliseconds. */
export async function influxQL(t: InfluxQLTarget, q: string): Promise<Series[][]> {
  // POST with a form body: statements can be long, and GET would put them in access logs.
  const res = await fetch(new URL('/query', t.url), {
    method: 'POST',
    headers: { Authorization: `Token ${t.token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ db: t.db, q, epoch: 'ms' }),
    signal: AbortSignal.timeout(t.timeoutMs),
  });
  const text = await res.text();
  let body: QueryResponse;
  try {
    body = JSON.parse(text) as QueryResponse;
  } catch {
    throw new Error(`InfluxQL query failed: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  if (!res.ok)
    throw new Error(`InfluxQL query failed: HTTP ${res.status} ${body.message ?? body.error ?? text.slice(0, 200)}`);
  if (body.error) throw new Error(`InfluxQL query failed: ${body.error}`);
  return (body.results ?? []).map((r) => {
    if (r.error) throw new Error(`InfluxQL query failed: ${r.error}`);
    return r.series ?? [];
  });
}

/** A string literal: 'it\'s'. */
export function str(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A quoted identifier (measurement, tag or field name): "laeq_db". */
export function ident(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An epoch-millisecond time literal. */
export function ms(t: number): string {
  return `${Math.trunc(t)}ms`;
}

/** Over every row of every series, the sum of the row's largest number (its time column aside). */
export function sumRowMax(series: readonly Series[]): number {
  let n = 0;
  for (const s of series) {
    for (const row of s.values) {
      let most = 0;
      for (let i = 1; i < row.length; i++) {
        const v = row[i];
        if (typeof v === 'number' && v > most) most = v;
      }
      n += most;
    }
  }
  return n;
}

/** Sums the numeric columns named by `pick` over every row of every series. */
export function sumColumns(series: readonly Series[], pick: (column: string) => boolean): number {
  let n = 0;
  for (const s of series) {
    for (const row of s.values) {
      s.columns.forEach((c, i) => {
        const v = row[i];
        if (i > 0 && pick(c) && typeof v === 'number') n += v;
      });
    }
  }
  return n;
}
