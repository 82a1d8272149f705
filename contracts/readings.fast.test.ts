// fastReadings is ReadingSchema / ReadingBatchSchema compiled by hand. It may decline (null) what the schema accepts,
// never accept what the schema refuses, and what it accepts must be exactly the schema's output. Pinned here over a
// corpus of malformed messages made by mutating valid ones field by field.
import { describe, expect, it } from 'vitest';
import { fastReadings, MAX_BATCH, ReadingBatchSchema, ReadingSchema } from './readings.js';

const TS = 1780000000000;
const valid = [
  { ts: TS, metrics: { laeq_db: 55.2 } },
  { ts: TS, seq: 0, metrics: { laeq_db: 55.2, lmax_db: 70 } },
  { ts: TS, seq: 12, metrics: { pm10_ugm3: 80, temp_c: -3.5 }, flags: { pm10_ugm3: 'n', temp_c: 'D' } },
  { ts: TS, metrics: { level_cm: 0 }, flags: {} },
];

// Values that some field of the contract refuses (and a few it accepts), as JSON can carry them.
const odd: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -0,
  '',
  'x',
  'N',
  'NN',
  '7',
  '2026-06-01T08:00:00+08:00',
  '2026-06-01T08:00:00',
  [],
  [1],
  {},
  { a: 1 },
  946684799999,
  946684800000,
  4102444799999,
  4102444800000,
  // eslint-disable-next-line no-loss-of-precision -- on purpose: JSON carries it, a double rounds it to 2^53
  9007199254740993,
  1780000000,
  'a'.repeat(65),
];

function mutants(r: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  for (const k of ['ts', 'seq', 'metrics', 'flags', 'extra', '__proto__', 'batch']) {
    const { [k]: _, ...without } = r;
    out.push(without);
    for (const v of odd) out.push({ ...r, [k]: v });
  }
  for (const v of odd) {
    out.push({ ...r, metrics: { laeq_db: v } });
    out.push({ ...r, metrics: { ...(r.metrics as object), [String(v)]: 1 } });
    out.push({ ...r, flags: { laeq_db: v } });
    out.push({ ...r, flags: { [String(v)]: 'D' } });
  }
  out.push(
    JSON.parse(`{"ts":${TS},"metrics":{"__proto__":1}}`),
    JSON.parse(`{"ts":${TS},"metrics":{"laeq_db":1},"flags":{"__proto__":"D"}}`),
  );
  return out;
}

function corpus(): unknown[] {
  const singles = [...valid, ...valid.flatMap((r) => mutants(r))];
  const batches: unknown[] = [];
  for (const r of singles.slice(0, 200)) {
    batches.push({ batch: [valid[0], r] }, { batch: [r] });
  }
  batches.push(
    { batch: [] },
    { batch: valid },
    { batch: valid, extra: 1 },
    { batch: null },
    { batch: {} },
    { batch: 'x' },
  );
  batches.push(
    { batch: Array.from({ length: MAX_BATCH }, () => valid[1]) },
    { batch: Array.from({ length: MAX_BATCH + 1 }, () => valid[1]) },
  );
  return [...singles, ...batches, null, 1, 'x', [], [valid[0]], true];
}

/** The schema's verdict, as validate.ts asks it (batch by shape). */
function schema(json: unknown): unknown[] | null {
  const isBatch = typeof json === 'object' && json !== null && 'batch' in json;
  const p = isBatch ? ReadingBatchSchema.safeParse(json) : ReadingSchema.safeParse(json);
  if (!p.success) return null;
  return isBatch ? (p.data as { batch: unknown[] }).batch : [p.data];
}

describe('fastReadings', () => {
  // JSON's 1e999 parses to Infinity: the only way a non-finite number reaches ingest.
  const infinite = [
    `{"ts":${TS},"metrics":{"laeq_db":1e999}}`,
    `{"ts":${TS},"metrics":{"laeq_db":-1e999}}`,
    `{"ts":1e999,"metrics":{"laeq_db":1}}`,
    `{"ts":${TS},"seq":1e999,"metrics":{"laeq_db":1}}`,
    `{"batch":[{"ts":${TS},"metrics":{"laeq_db":1e999}}]}`,
  ];
  const all = [...corpus().map((x) => JSON.stringify(x)), ...infinite].map((x) => JSON.parse(x) as unknown);

  it("accepts nothing the schema refuses, and gives the schema's output for what it accepts", () => {
    let accepted = 0;
    let refused = 0;
    for (const json of all) {
      const fast = fastReadings(json);
      const slow = schema(json);
      if (slow === null) refused++;
      if (fast === null) continue;
      accepted++;
      expect(slow, JSON.stringify(json).slice(0, 200)).not.toBeNull();
      expect(fast).toEqual(slow);
    }
    // The corpus must exercise both sides.
    expect(refused).toBeGreaterThan(300);
    expect(accepted).toBeGreaterThan(50);
  });

  it('takes the plainly valid messages (ms timestamps) itself', () => {
    for (const r of valid) expect(fastReadings(JSON.parse(JSON.stringify(r)))).toEqual([r]);
    expect(fastReadings({ batch: valid })).toHaveLength(valid.length);
  });
});
