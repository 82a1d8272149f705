// NAB runner: runs the streaming anomaly detector over every labelled CSV of a NAB data directory, writes
// NAB-style result files and prints the normalised NAB score of each profile and the run time.
//
//   tsx detectors/nab/main.ts [--data DIR] [--labels FILE] [--profiles FILE] [--out DIR] [--files] [--json]
//   tsx detectors/nab/main.ts --score-only RESULTS_DIR [--labels FILE] [--profiles FILE]
//
// Defaults: ../shared/nab/{data, labels/combined_windows.json, profiles.json} relative to the repository.
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, DEFAULT_LABELS, detect, loadLabels, readCorpus, readProfiles, readResultsDir, scoreFiles, writeResults, type CorpusScore } from './run.js';

const USAGE = `usage: tsx detectors/nab/main.ts [--data DIR] [--labels FILE] [--profiles FILE] [--out DIR] [--files] [--json]
       tsx detectors/nab/main.ts --score-only RESULTS_DIR [--labels FILE] [--profiles FILE] [--files] [--json]

  --data DIR          NAB data directory (<category>/<file>.csv)       default ${DEFAULT_DATA_DIR}
  --labels FILE       NAB combined_windows.json                        default ${DEFAULT_LABELS}
  --profiles FILE     NAB profiles.json (cost matrices)                 default: beside labels/, else NAB's three
  --out DIR           write OUT/<category>/<file>.csv (timestamp,value,anomaly_score); not written without it
  --score-only DIR    score existing result files instead of running the detector
                      (<category>/<file>.csv or NAB's <category>/<detector>_<file>.csv)
  --files             also print the per-file breakdown at the standard threshold
  --json              print the results as JSON`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function print(result: CorpusScore, timing: Record<string, number>, files: boolean): void {
  const lines = ['profile               score  threshold      raw  TP rows  FP rows'];
  for (const p of result.profiles) {
    lines.push(
      `${p.profile.padEnd(20)} ${p.normalised.toFixed(2).padStart(6)}  ${p.threshold.toPrecision(6).padEnd(9)} ${p.raw.toFixed(2).padStart(8)} ${String(p.tp).padStart(8)} ${String(p.fp).padStart(8)}`,
    );
  }
  const hit = result.files.reduce((a, f) => a + f.detectedWindows, 0);
  const windows = result.files.reduce((a, f) => a + f.windows, 0);
  const fpFiles = result.files.reduce((a, f) => a + f.falsePositives, 0);
  lines.push(`at the standard threshold: ${hit}/${windows} windows detected, ${fpFiles} false-positive rows`);
  if (files) {
    lines.push('', 'per file at the standard threshold: score, windows detected, false-positive rows');
    for (const f of result.files) lines.push(`  ${f.key.padEnd(58)} ${f.score.toFixed(2).padStart(7)}  ${f.detectedWindows}/${f.windows}  ${f.falsePositives}`);
  }
  const t = Object.entries(timing).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`);
  lines.push('', `run time: ${t.join(', ')}`);
  process.stdout.write(lines.join('\n') + '\n');
}

function main(): void {
  const t0 = performance.now();
  let args;
  try {
    args = parseArgs({
      options: {
        data: { type: 'string' },
        labels: { type: 'string' },
        profiles: { type: 'string' },
        out: { type: 'string' },
        'score-only': { type: 'string' },
        files: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const labels = loadLabels(args.labels ?? DEFAULT_LABELS);
  const profiles = readProfiles(args.profiles);
  const timing: Record<string, number> = {};

  let result: CorpusScore;
  let rows = 0;
  if (args['score-only'] !== undefined) {
    if (args.data !== undefined || args.out !== undefined) fail('--score-only takes no --data or --out');
    const files = readResultsDir(args['score-only'], labels);
    rows = files.reduce((a, f) => a + f.scores.length, 0);
    const t1 = performance.now();
    timing.read = t1 - t0;
    result = scoreFiles(files, labels, profiles);
    timing.scoring = performance.now() - t1;
  } else {
    const series = readCorpus(args.data ?? DEFAULT_DATA_DIR, labels);
    rows = series.reduce((a, s) => a + s.values.length, 0);
    const t1 = performance.now();
    const files = detect(series);
    const t2 = performance.now();
    if (args.out !== undefined) writeResults(args.out, series, files);
    const t3 = performance.now();
    result = scoreFiles(files, labels, profiles);
    const t4 = performance.now();
    timing.read = t1 - t0;
    timing.detector = t2 - t1;
    if (args.out !== undefined) timing.write = t3 - t2;
    timing.scoring = t4 - t3;
  }
  timing.total = performance.now() - t0;

  if (args.json) {
    process.stdout.write(JSON.stringify({ rows, profiles: result.profiles, files: args.files ? result.files : undefined, timingMs: timing }, null, 2) + '\n');
  } else {
    process.stdout.write(`${result.files.length} files, ${rows} rows\n`);
    print(result, timing, args.files);
  }
}

main();
