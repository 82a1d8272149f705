// NAB runner: runs the streaming anomaly detector over every labelled CSV of a NAB data directory, writes
// NAB-style result files and prints the normalised NAB score of each profile and the run time.
//
//   tsx analytics/nab/main.ts [--data DIR] [--labels FILE] [--profiles FILE] [--out DIR] [--files] [--json]
//   tsx analytics/nab/main.ts --score-only RESULTS_DIR [--labels FILE] [--profiles FILE]
//   tsx analytics/nab/main.ts --cv [--data DIR] [--labels FILE] [--profiles FILE] [--json]
//
// Defaults: ../shared/nab/{data, labels/combined_windows.json, profiles.json} relative to the repository.
import { parseArgs } from 'node:util';
import { resolveOptions } from '../anomaly/detector.js';
import { candidateGrid, crossValidate, type CvResult } from './cv.js';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_LABELS,
  detect,
  loadLabels,
  readCorpus,
  readProfiles,
  readResultsDir,
  scoreFiles,
  writeResults,
  type CorpusScore,
} from './run.js';

const USAGE = `usage: tsx analytics/nab/main.ts [--data DIR] [--labels FILE] [--profiles FILE] [--out DIR] [--files] [--json]
       tsx analytics/nab/main.ts --score-only RESULTS_DIR [--labels FILE] [--profiles FILE] [--files] [--json]
       tsx analytics/nab/main.ts --cv [--data DIR] [--labels FILE] [--profiles FILE] [--json]

  --data DIR          NAB data directory (<category>/<file>.csv)       default ${DEFAULT_DATA_DIR}
  --labels FILE       NAB combined_windows.json                        default ${DEFAULT_LABELS}
  --profiles FILE     NAB profiles.json (cost matrices)                 default: beside labels/, else NAB's three
  --out DIR           write OUT/<category>/<file>.csv (timestamp,value,anomaly_score); not written without it
  --score-only DIR    score existing result files instead of running the detector
                      (<category>/<file>.csv or NAB's <category>/<detector>_<file>.csv)
  --cv                leave-one-category-out cross-validation of the settings (48 candidates, about a minute):
                      the per-category held-out table, its mean, and the settings chosen on all categories
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
    for (const f of result.files)
      lines.push(
        `  ${f.key.padEnd(58)} ${f.score.toFixed(2).padStart(7)}  ${f.detectedWindows}/${f.windows}  ${f.falsePositives}`,
      );
  }
  const t = Object.entries(timing).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`);
  lines.push('', `run time: ${t.join(', ')}`);
  process.stdout.write(lines.join('\n') + '\n');
}

function printCv(cv: CvResult, shipped: string | undefined, ms: number): void {
  const f1 = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(1));
  const lines = [
    `leave-one-category-out, standard profile, ${cv.candidates} candidates (settings chosen on the other categories)`,
    '',
    '| held-out category | files | windows | chosen on the others | score there | held out | held out, carried threshold | shipped defaults (in-sample) |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const f of cv.folds) {
    lines.push(
      `| ${f.category} | ${f.files} | ${f.windows} | ${f.chosen} | ${f1(f.trainScore)} | ${f1(f.heldOut)} | ${f1(f.heldOutCarried)} | ${f1(f.reference)} |`,
    );
  }
  lines.push(
    `| **mean of the categories with windows** | | | | | **${f1(cv.meanHeldOut)}** | ${f1(cv.meanHeldOutCarried)} | ${f1(cv.meanReference)} |`,
  );
  lines.push('', `chosen on all categories: ${cv.chosenOnAll} (${f1(cv.chosenOnAllScore)} in-sample)`);
  lines.push(`shipped defaults: ${shipped ?? 'not among the candidates'} (${f1(cv.referenceScore)} in-sample)`);
  lines.push('', `run time: ${(ms / 1000).toFixed(1)} s`);
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
        cv: { type: 'boolean', default: false },
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

  if (args.cv) {
    if (args['score-only'] !== undefined || args.out !== undefined) fail('--cv takes no --score-only or --out');
    const series = readCorpus(args.data ?? DEFAULT_DATA_DIR, labels);
    const candidates = candidateGrid();
    const shipped = candidates.find(
      (c) => JSON.stringify(resolveOptions(c.options)) === JSON.stringify(resolveOptions()),
    );
    const cv = crossValidate(
      series,
      labels,
      profiles,
      candidates,
      shipped?.name ?? (candidates[0] as { name: string }).name,
      (done, total) => {
        if (!args.json && (done % 8 === 0 || done === total))
          process.stderr.write(`  ran ${done}/${total} candidates\n`);
      },
    );
    if (args.json)
      process.stdout.write(
        JSON.stringify({ ...cv, shipped: shipped?.name ?? null, timingMs: performance.now() - t0 }, null, 2) + '\n',
      );
    else printCv(cv, shipped?.name, performance.now() - t0);
    return;
  }

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
    process.stdout.write(
      JSON.stringify(
        { rows, profiles: result.profiles, files: args.files ? result.files : undefined, timingMs: timing },
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stdout.write(`${result.files.length} files, ${rows} rows\n`);
    print(result, timing, args.files);
  }
}

main();
