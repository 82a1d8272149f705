// The whole benchmark, once: the detector on every file of the NAB subset, scored with the three profiles.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_LABELS,
  REPO_ROOT,
  detect,
  loadLabels,
  readCorpus,
  readProfiles,
  readResultsDir,
  scoreFiles,
  writeResults,
} from './run.js';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nab-'));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

describe('NAB benchmark of the streaming detector', () => {
  const labels = loadLabels(DEFAULT_LABELS);
  const profiles = readProfiles(undefined);

  it('scores ≥ 70 on the standard profile, the whole run (all files, three profiles) in < 20 s', () => {
    const t0 = performance.now();
    const series = readCorpus(DEFAULT_DATA_DIR, labels);
    const files = detect(series);
    const result = scoreFiles(files, labels, profiles);
    const seconds = (performance.now() - t0) / 1000;

    expect(series.length).toBe(Object.keys(labels).length);
    const std = result.profiles.find((p) => p.profile === 'standard');
    expect(std?.normalised).toBeGreaterThanOrEqual(70);
    expect(result.profiles.map((p) => p.profile).sort()).toEqual([
      'reward_low_FN_rate',
      'reward_low_FP_rate',
      'standard',
    ]);
    expect(seconds).toBeLessThan(20);

    // the written result files score the same when read back (--score-only)
    writeResults(out, series, files);
    const again = scoreFiles(readResultsDir(out, labels), labels, profiles);
    expect(again.profiles.map((p) => p.normalised)).toEqual(result.profiles.map((p) => p.normalised));
  });

  it('the CLI writes <category>/<file>.csv and prints the three profiles and the run time', () => {
    const cliOut = path.join(out, 'cli');
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'analytics/nab/main.ts', '--out', cliOut], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(stdout).toMatch(/^standard\s+\d+\.\d\d/m);
    expect(stdout).toMatch(/^reward_low_FP_rate\s+\d+\.\d\d/m);
    expect(stdout).toMatch(/^reward_low_FN_rate\s+\d+\.\d\d/m);
    expect(stdout).toMatch(/run time: .*total \d+\.\d\d s/);
    const csv = fs.readFileSync(path.join(cliOut, 'realKnownCause', 'nyc_taxi.csv'), 'utf8').split('\n');
    expect(csv[0]).toBe('timestamp,value,anomaly_score');
    expect(csv[1]).toMatch(/^2014-07-01 00:00:00,10844,[0-9.e-]+$/);
    expect(csv.filter((l) => l !== '').length).toBe(10321);
  });

  it('the CLI scores existing result files (--score-only), e.g. the published numenta results', () => {
    const stdout = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'analytics/nab/main.ts',
        '--score-only',
        path.join(path.dirname(DEFAULT_DATA_DIR), 'reference-results', 'numenta'),
        '--json',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    const r = JSON.parse(stdout) as { profiles: { profile: string; normalised: number }[] };
    expect(r.profiles.find((p) => p.profile === 'standard')?.normalised).toBeCloseTo(69.5, 0);
  });
});
