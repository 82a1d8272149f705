// The readings table's `kind` and `metric` columns are ENUMs (schema version 3): a row carries a one-byte code
// instead of a string, which the appender copies with the numeric columns (chunk.ts) and DuckDB stores and
// compresses as a number; queries see the names (an ENUM compares and casts as its label). The labels are the
// contract's kinds and metrics plus whatever a file already holds. A release that adds a metric widens the ENUM when
// it opens the file, and a write that meets a name the ENUM lacks widens it before it appends; widening rewrites the
// column (ALTER ... SET DATA TYPE), so it happens once per new name, not per write.
import type { DuckDBConnection } from '@duckdb/node-api';
import { KINDS, METRICS } from '../../contracts/index.js';

export const LABELLED = ['kind', 'metric'] as const;
export type LabelledColumn = (typeof LABELLED)[number];

/** A column's labels; the index of a label is the code the chunk writes. */
export type Labels = Record<LabelledColumn, readonly string[]>;

/** The names the contract knows for a column. */
function contractLabels(column: LabelledColumn): string[] {
  return column === 'kind' ? [...KINDS] : KINDS.flatMap((k) => Object.keys(METRICS[k]));
}

const quoted = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** The ENUM's labels of a column of `readings` (a NULL of the column's type: the table may be empty). */
async function enumLabels(db: DuckDBConnection, column: LabelledColumn): Promise<string[]> {
  const r = await db.runAndReadAll(`SELECT enum_range((SELECT ${column} FROM readings LIMIT 0))`);
  return (r.getRows()[0]![0] as { items: string[] }).items;
}

/** Makes a column of `readings` an ENUM of its labels (if it is one), its values and `names`. Rewrites the column. */
async function retype(db: DuckDBConnection, column: LabelledColumn, has: string[], names: readonly string[]) {
  // An ENUM holds no value outside its labels; a VARCHAR column (the step from version 2) may hold any.
  const stored =
    has.length > 0
      ? []
      : (await db.runAndReadAll(`SELECT DISTINCT ${column} FROM readings`)).getRows().map((r) => String(r[0]));
  const all = new Set([...has, ...names, ...stored]);
  await db.run(`ALTER TABLE readings ALTER ${column} SET DATA TYPE ENUM(${[...all].sort().map(quoted).join(', ')})`);
}

/** Schema step 3: kind and metric from VARCHAR to ENUMs of the contract's names and those stored. */
export async function labelColumns(db: DuckDBConnection): Promise<void> {
  for (const c of LABELLED) await retype(db, c, [], contractLabels(c));
}

/**
 * The labels of both columns, first widened (in one transaction) by the contract's names they lack, or by `extra`
 * names that a write brings.
 */
export async function ensureLabels(
  db: DuckDBConnection,
  extra: Partial<Record<LabelledColumn, Iterable<string>>> = {},
): Promise<Labels> {
  const labels = {} as Record<LabelledColumn, string[]>;
  const missing = {} as Record<LabelledColumn, string[]>;
  let widen = false;
  for (const c of LABELLED) {
    labels[c] = await enumLabels(db, c);
    const have = new Set(labels[c]);
    missing[c] = [...new Set([...contractLabels(c), ...(extra[c] ?? [])])].filter((n) => !have.has(n));
    if (missing[c].length > 0) widen = true;
  }
  if (!widen) return labels;
  await db.run('BEGIN');
  try {
    for (const c of LABELLED) if (missing[c].length > 0) await retype(db, c, labels[c], missing[c]);
    await db.run('COMMIT');
  } catch (e) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
  for (const c of LABELLED) labels[c] = await enumLabels(db, c);
  return labels;
}
