// Reading the NAB corpus: data CSVs (timestamp,value), result CSVs (timestamp,value,anomaly_score,...),
// the label windows and the cost profiles. Plain fs + string parsing: the files are small and regular.
import fs from 'node:fs';
import path from 'node:path';

/** One data file of the corpus, keyed like NAB's labels: `<category>/<file>.csv`. */
export interface Series {
  key: string;
  /** Timestamps as written in the file (kept for writing results back unchanged). */
  timestampText: string[];
  /** Timestamps in ms since the epoch, the file's wall-clock time read as UTC. */
  timestamps: number[];
  values: number[];
  /** Values as written in the file. */
  valueText: string[];
}

/** Window limits in ms, [start, end] inclusive, as in NAB's combined_windows.json. */
export type WindowLimits = [number, number];
export type Labels = Record<string, WindowLimits[]>;

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
  tnWeight?: number;
}
export type Profiles = Record<string, CostMatrix>;

/** NAB's three profiles, as in its config/profiles.json (used when no profiles file is given). */
export const DEFAULT_PROFILES: Profiles = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1, tnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1, tnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2, tnWeight: 1 },
};

const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/;

/** Parses NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` as UTC milliseconds (sub-millisecond digits are dropped). */
export function parseNabTimestamp(text: string): number {
  const m = TS_RE.exec(text.trim());
  if (!m) throw new Error(`not a NAB timestamp: ${JSON.stringify(text)}`);
  const frac = m[7] ? Number((m[7] + '000').slice(0, 3)) : 0;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), frac);
}

/** A small CSV reader for NAB's files: a header line, comma-separated fields, no quoting. */
export function readCsv(file: string): { header: string[]; rows: string[][] } {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const first = lines[0];
  if (first === undefined) throw new Error(`${file}: empty CSV`);
  return { header: first.split(',').map((h) => h.trim()), rows: lines.slice(1).map((l) => l.split(',')) };
}

function column(file: string, header: string[], name: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new Error(`${file}: no "${name}" column (columns: ${header.join(',')})`);
  return i;
}

/** Reads one data file (columns timestamp,value). */
export function readSeries(file: string, key: string): Series {
  const { header, rows } = readCsv(file);
  const ti = column(file, header, 'timestamp');
  const vi = column(file, header, 'value');
  const timestampText: string[] = [];
  const timestamps: number[] = [];
  const values: number[] = [];
  const valueText: string[] = [];
  for (const r of rows) {
    const t = (r[ti] ?? '').trim();
    const v = (r[vi] ?? '').trim();
    timestampText.push(t);
    timestamps.push(parseNabTimestamp(t));
    valueText.push(v);
    values.push(v === '' ? Number.NaN : Number(v));
  }
  return { key, timestampText, timestamps, values, valueText };
}

/** Reads a detector's result file: its timestamps and anomaly_score column. */
export function readResults(file: string): { timestamps: number[]; scores: number[] } {
  const { header, rows } = readCsv(file);
  const ti = column(file, header, 'timestamp');
  const si = column(file, header, 'anomaly_score');
  const timestamps: number[] = [];
  const scores: number[] = [];
  for (const r of rows) {
    timestamps.push(parseNabTimestamp(r[ti] ?? ''));
    scores.push(Number(r[si]));
  }
  return { timestamps, scores };
}

/** Every `<category>/<file>.csv` under dir (one level of categories, as in NAB's data/), sorted. */
export function listCsvKeys(dir: string): string[] {
  const keys: string[] = [];
  for (const cat of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!cat.isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(dir, cat.name), { withFileTypes: true })) {
      if (f.isFile() && f.name.endsWith('.csv')) keys.push(`${cat.name}/${f.name}`);
    }
  }
  return keys.sort();
}

export function loadLabels(file: string): Labels {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, [string, string][]>;
  const out: Labels = {};
  for (const [key, windows] of Object.entries(raw)) {
    out[key] = windows
      .map(([a, b]): WindowLimits => [parseNabTimestamp(a), parseNabTimestamp(b)])
      .sort((x, y) => x[0] - y[0]);
  }
  return out;
}

/** Reads NAB's profiles.json ({name: {CostMatrix: {...}}}). */
export function loadProfiles(file: string): Profiles {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { CostMatrix: CostMatrix }>;
  const out: Profiles = {};
  for (const [name, p] of Object.entries(raw)) out[name] = p.CostMatrix;
  return out;
}

/**
 * Finds the result file of a corpus key in a results directory: `<category>/<file>.csv` or, as NAB names
 * them, `<category>/<detector>_<file>.csv`.
 */
export function findResultFile(resultsDir: string, key: string): string | undefined {
  const [category, file] = key.split('/');
  if (category === undefined || file === undefined) return undefined;
  const dir = path.join(resultsDir, category);
  const direct = path.join(dir, file);
  if (fs.existsSync(direct)) return direct;
  if (!fs.existsSync(dir)) return undefined;
  // NAB's convertResultsPathToDataPath: drop the first `_`-separated part (the detector's name).
  const match = fs.readdirSync(dir).find((f) => f.includes('_') && f.slice(f.indexOf('_') + 1) === file);
  return match === undefined ? undefined : path.join(dir, match);
}
