// Running a detector over the NAB corpus, writing NAB-style result files and scoring them.
import fs from 'node:fs';
import path from 'node:path';
import { createAnomalyDetector, type AnomalyDetectorOverrides } from '../anomaly/detector.js';
import {
  DEFAULT_PROFILES,
  findResultFile,
  listCsvKeys,
  loadLabels,
  loadProfiles,
  readResults,
  readSeries,
  type Labels,
  type Profiles,
  type Series,
} from './corpus.js';
import {
  prepareCorpus,
  scoreAtThreshold,
  scoreProfile,
  type FileScore,
  type ProfileResult,
  type ScoredFile,
} from './scorer.js';

/** The repository root (this file is analytics/nab/run.ts). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
/** NAB's files sit in shared/nab beside the repository (../shared/nab from the repo root); CITY_SHARED_DIR overrides. */
export const DEFAULT_NAB_DIR = path.resolve(
  process.env.CITY_SHARED_DIR ?? path.resolve(REPO_ROOT, '..', 'shared'),
  'nab',
);
export const DEFAULT_DATA_DIR = path.join(DEFAULT_NAB_DIR, 'data');
export const DEFAULT_LABELS = path.join(DEFAULT_NAB_DIR, 'labels', 'combined_windows.json');
export const DEFAULT_PROFILES_FILE = path.join(DEFAULT_NAB_DIR, 'profiles.json');

export function readProfiles(file: string | undefined): Profiles {
  if (file !== undefined) return loadProfiles(file);
  return fs.existsSync(DEFAULT_PROFILES_FILE) ? loadProfiles(DEFAULT_PROFILES_FILE) : DEFAULT_PROFILES;
}

/** Reads the data files to score: those of dataDir that have labels (as NAB does), sorted. */
export function readCorpus(dataDir: string, labels: Labels): Series[] {
  const keys = listCsvKeys(dataDir).filter((k) => k in labels);
  if (keys.length === 0) throw new Error(`no labelled CSV files under ${dataDir}`);
  return keys.map((k) => readSeries(path.join(dataDir, k), k));
}

/** Runs a fresh detector over each series. */
export function detect(series: Series[], options: AnomalyDetectorOverrides = {}): ScoredFile[] {
  return series.map((s) => {
    const d = createAnomalyDetector(options);
    const scores = new Array<number>(s.values.length);
    for (let i = 0; i < s.values.length; i++) scores[i] = d.update(s.timestamps[i] as number, s.values[i] as number);
    return { key: s.key, timestamps: s.timestamps, scores };
  });
}

/** Writes OUT/<category>/<file>.csv with columns timestamp,value,anomaly_score. */
export function writeResults(outDir: string, series: Series[], results: ScoredFile[]): void {
  series.forEach((s, i) => {
    const r = results[i];
    if (r === undefined || r.key !== s.key) throw new Error(`results out of step with ${s.key}`);
    const file = path.join(outDir, s.key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lines = ['timestamp,value,anomaly_score'];
    for (let j = 0; j < s.values.length; j++) lines.push(`${s.timestampText[j]},${s.valueText[j]},${r.scores[j]}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
  });
}

/** Reads the result files of every labelled file from a results directory (NAB or our naming). */
export function readResultsDir(resultsDir: string, labels: Labels): ScoredFile[] {
  const keys = Object.keys(labels).sort();
  const missing: string[] = [];
  const files: ScoredFile[] = [];
  for (const key of keys) {
    const f = findResultFile(resultsDir, key);
    if (f === undefined) {
      missing.push(key);
      continue;
    }
    const r = readResults(f);
    files.push({ key, timestamps: r.timestamps, scores: r.scores });
  }
  if (files.length === 0) throw new Error(`no result files under ${resultsDir} for the labelled files`);
  if (missing.length > 0) throw new Error(`${resultsDir}: no results for ${missing.join(', ')}`);
  return files;
}

export interface CorpusScore {
  profiles: ProfileResult[];
  /** Per-file breakdown at the standard profile's threshold (or the first profile's). */
  files: FileScore[];
}

export function scoreFiles(files: ScoredFile[], labels: Labels, profiles: Profiles): CorpusScore {
  const prepared = prepareCorpus(files, labels);
  const results = Object.entries(profiles).map(([name, cost]) => scoreProfile(prepared, name, cost));
  const main = results.find((r) => r.profile === 'standard') ?? results[0];
  const cost = main === undefined ? undefined : profiles[main.profile];
  const perFile =
    main === undefined || cost === undefined ? [] : scoreAtThreshold(prepared, cost, main.threshold).files;
  return { profiles: results, files: perFile };
}

export { loadLabels };
