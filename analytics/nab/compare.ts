// Reproduces the ablation table of analytics/nab/README.md: the detector with components removed or with
// untuned settings, and the published reference detectors, all scored with this scorer.
//
//   tsx analytics/nab/compare.ts [--data DIR] [--labels FILE] [--profiles FILE]
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { AnomalyDetectorOverrides } from '../anomaly/detector.js';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_LABELS,
  detect,
  loadLabels,
  readCorpus,
  readProfiles,
  readResultsDir,
  scoreFiles,
} from './run.js';
import type { ScoredFile } from './scorer.js';

const { values: args } = parseArgs({
  options: { data: { type: 'string' }, labels: { type: 'string' }, profiles: { type: 'string' } },
});
const dataDir = args.data ?? DEFAULT_DATA_DIR;
const labels = loadLabels(args.labels ?? DEFAULT_LABELS);
const profiles = readProfiles(args.profiles);
const series = readCorpus(dataDir, labels);

const OFF = { jump: null, weekly: null, levelShift: null } as const;
const variants: [string, AnomalyDetectorOverrides][] = [
  ['range break only', { ...OFF, rest: null }],
  ['jump → likelihood', { ...OFF, jump: {}, rangeTolerance: 0, rest: null }],
  ['weekly profile → likelihood', { ...OFF, weekly: {}, rangeTolerance: 0, rest: null }],
  ['level shift → likelihood', { ...OFF, levelShift: {}, rangeTolerance: 0, rest: null }],
  ['range break + jump', { ...OFF, jump: {}, rest: null }],
  ['range break + jump + weekly', { levelShift: null, rest: null }],
  ['range break + jump + weekly + level shift (no rest)', { rest: null }],
  ['final without the range break', { rangeTolerance: 0 }],
  ['final without the jump signal', { jump: null }],
  ['final without the weekly profile', { weekly: null }],
  ['final without the level shift', { levelShift: null }],
  ['final without the likelihood red/yellow filter', { likelihood: { redLevel: 1 } }],
  [
    'less tuned: Numenta likelihood defaults, tolerance 0.05, zScale 3, no rest',
    {
      likelihood: { minVariance: 0.0003 },
      rangeTolerance: 0.05,
      jump: { zScale: 3 },
      weekly: { zScale: 3 },
      levelShift: { zScale: 3 },
      rest: null,
    },
  ],
  ['final (defaults)', {}],
];

function row(name: string, files: ScoredFile[]): string {
  const r = scoreFiles(files, labels, profiles).profiles;
  const get = (p: string) => r.find((x) => x.profile === p)?.normalised.toFixed(1) ?? '–';
  return `| ${name} | ${get('standard')} | ${get('reward_low_FP_rate')} | ${get('reward_low_FN_rate')} |`;
}

const lines = ['| detector | standard | low FP | low FN |', '| --- | ---: | ---: | ---: |'];
const reference = path.join(path.dirname(dataDir), 'reference-results');
for (const d of ['windowedGaussian', 'numenta']) {
  try {
    lines.push(row(`published ${d} results`, readResultsDir(path.join(reference, d), labels)));
  } catch {
    // no reference results beside the data
  }
}
for (const [name, o] of variants) lines.push(row(name, detect(series, o)));
process.stdout.write(lines.join('\n') + '\n');
