// The leave-one-photo-out protocol's bookkeeping on crafted counts (no model): the grid's candidates, the score that
// chooses (capped at the count, excess and false vehicles taken off), fold selection and ties; then one run on the
// fixed-output COCO test model (vision/detectors/testdata) over a folder made here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelsConfig, modelFor } from '../detectors/index.js';
import type { PassDetection } from '../detectors/tiling.js';
import {
  applyCandidate,
  candidateName,
  candidates,
  choose,
  falseVehicles,
  floorOf,
  leaveOneOut,
  LOO_GRID,
  looReport,
  objective,
  runLoo,
  type LooGrid,
} from './loo.js';
import { scoreImage, type ImageScore, type ManifestRow } from './real-images.js';
import { detection, manifestRow } from './testdata/photos.js';

const row = (file: string, o: Partial<ManifestRow> = {}): ManifestRow => manifestRow({ file, ...o });
const det = detection;
const many = (className: string, n: number) => Array.from({ length: n }, () => det(className));
/** A photo counted with `counted` and detected with `found` (class → number). */
const photo = (
  file: string,
  counted: Partial<Pick<ManifestRow, 'cars' | 'motorcycles' | 'people'>>,
  found: { car?: number; motorcycle?: number; person?: number },
): ImageScore =>
  scoreImage(row(file, counted), [
    ...many('car', found.car ?? 0),
    ...many('motorcycle', found.motorcycle ?? 0),
    ...many('person', found.person ?? 0),
  ]);

const GRID: LooGrid = {
  detect: [
    { name: 'small', inputWidth: 64, inputHeight: 64 },
    { name: 'tiled', inputWidth: 64, inputHeight: 64, tiling: { tileSize: 64, overlap: 0.25 } },
  ],
  merge: [
    { mergeIou: 0.5, mergeIos: 0.6 },
    { mergeIou: 0.3, mergeIos: 0.5 },
  ],
  thresholds: { vehicle: [0.4, 0.3], 'two-wheeler': [0.2], person: [0.1] },
};

describe('the grid', () => {
  it('has every combination once, cheap settings and high thresholds first, merges only for tiles', () => {
    const c = candidates(GRID);
    expect(c).toHaveLength(2 + 2 * 2);
    expect(c.map((x) => candidateName(GRID, x))).toEqual([
      'small, vehicle 0.4, two-wheeler 0.2, person 0.1',
      'small, vehicle 0.3, two-wheeler 0.2, person 0.1',
      'tiled merge 0.5/0.6, vehicle 0.4, two-wheeler 0.2, person 0.1',
      'tiled merge 0.5/0.6, vehicle 0.3, two-wheeler 0.2, person 0.1',
      'tiled merge 0.3/0.5, vehicle 0.4, two-wheeler 0.2, person 0.1',
      'tiled merge 0.3/0.5, vehicle 0.3, two-wheeler 0.2, person 0.1',
    ]);
    expect(floorOf(GRID)).toBe(0.1);
  });

  it('holds the fixed-camera model as shipped (config/models.json: coco-fixed): a whole-frame setting of the grid', () => {
    const models = loadModelsConfig(
      path.join(path.dirname(fileURLToPath(import.meta.url)), '../../config/models.json'),
    );
    const m = modelFor(models, 'coco-fixed');
    expect(
      LOO_GRID.detect.some((d) => !d.tiling && d.inputWidth === m.inputWidth && d.inputHeight === m.inputHeight),
    ).toBe(true);
    expect(m.tiling).toBeUndefined();
    for (const r of ['vehicle', 'two-wheeler', 'person'] as const)
      expect(LOO_GRID.thresholds[r]).toContain(m.roleScoreThresholds?.[r]);
    // Stall proxies are not counted by the photos: they keep the threshold of coco.
    expect(m.scoreThreshold).toBe(modelFor(models, 'coco').scoreThreshold);
  });
});

describe('the score that chooses', () => {
  it('is the mean over cars, motorcycles and people of found minus excess over counted', () => {
    const exact = [photo('a', { cars: 10, motorcycles: 4, people: 5 }, { car: 10, motorcycle: 4, person: 5 })];
    expect(objective(exact)).toBe(1);
    const half = [photo('a', { cars: 10, motorcycles: 4, people: 5 }, { car: 5, motorcycle: 2, person: 0 })];
    expect(objective(half)).toBeCloseTo((0.5 + 0.5 + 0) / 3);
  });

  it('never rewards counts above the truth: each detection beyond the count takes one found object off', () => {
    const over = [photo('a', { cars: 10, motorcycles: 4, people: 5 }, { car: 12, motorcycle: 4, person: 5 })];
    expect(objective(over)).toBeCloseTo((0.8 + 1 + 1) / 3);
    // Over-counting one photo does not make up for missing on another: counts are capped per photo.
    const split = [photo('a', { people: 5 }, { person: 10 }), photo('b', { people: 5 }, { person: 0 })];
    expect(objective(split)).toBeCloseTo((5 - 5) / 10);
  });

  it('leaves out a class nobody counted, and takes 0.1 off per vehicle on a photo without any', () => {
    const people = [photo('a', { people: 4 }, { person: 4 })];
    expect(objective(people)).toBe(1);
    const withNegative = [...people, photo('neg', {}, { car: 1, motorcycle: 1 })];
    expect(falseVehicles(withNegative)).toBe(2);
    // The negative photo's car is also excess of the cars, a class nobody counted: only the penalty counts.
    expect(objective(withNegative)).toBeCloseTo(1 - 0.2);
    // A photo with cars but no motorcycles is not vehicle-free: its false motorcycle is excess, not a false vehicle.
    expect(falseVehicles([photo('street', { cars: 2 }, { car: 2, motorcycle: 1 })])).toBe(0);
  });
});

describe('folds', () => {
  // scores[candidate][photo]: candidate 0 finds the people of photos 0 and 1, candidate 1 those of photo 2, and
  // candidate 2 is candidate 0 again (a tie, later in the grid).
  const counted = { people: 10 };
  const scores: ImageScore[][] = [
    [photo('p0', counted, { person: 10 }), photo('p1', counted, { person: 10 }), photo('p2', counted, { person: 0 })],
    [photo('p0', counted, { person: 4 }), photo('p1', counted, { person: 4 }), photo('p2', counted, { person: 10 })],
    [photo('p0', counted, { person: 10 }), photo('p1', counted, { person: 10 }), photo('p2', counted, { person: 0 })],
  ];

  it('choose the best candidate on the photos given, the first of equals', () => {
    expect(choose(scores, [0, 1])).toEqual({ chosen: 0, score: 1 });
    expect(choose(scores, [2])).toEqual({ chosen: 1, score: 1 });
    expect(choose(scores, [0, 2])).toEqual({ chosen: 1, score: 0.7 });
  });

  it('score each photo by the candidate chosen without it, and report the choice on all', () => {
    const r = leaveOneOut(scores);
    expect(r.folds).toEqual([
      { heldOut: 0, chosen: 1, trainScore: 0.7 },
      { heldOut: 1, chosen: 1, trainScore: 0.7 },
      { heldOut: 2, chosen: 0, trainScore: 1 },
    ]);
    // Held out, every photo is scored by a choice that did not see it: the figures fall where in-sample they do not.
    expect(r.heldOut.map((s) => s.detected.person)).toEqual([4, 4, 0]);
    expect(r.inSample.chosen).toBe(0);
    expect(r.inSample.score).toBeCloseTo(20 / 30);
    expect(r.inSample.images.map((s) => s.detected.person)).toEqual([10, 10, 0]);
    expect(() => leaveOneOut([[scores[0]![0]!]])).toThrow(/two photos/);
  });
});

describe('a candidate on cached detections', () => {
  it('merges the passes of a tiled setting with its own merge, then holds each role to its threshold', () => {
    const pass = (box: PassDetection['box'], score: number, cut: boolean, className = 'motorcycle'): PassDetection => ({
      box,
      score,
      classId: 3,
      className,
      role: className === 'car' ? 'vehicle' : className === 'person' ? 'person' : 'two-wheeler',
      cut,
    });
    const cached = {
      tiled: true,
      detections: [
        pass([100, 100, 140, 160], 0.5, false), // a scooter whole in one tile
        pass([100, 100, 120, 160], 0.3, true), // and its half, cut by the next tile's border: one scooter
        pass([300, 100, 340, 160], 0.18, false), // a faint scooter
        pass([500, 100, 600, 160], 0.35, false, 'car'), // a car below the vehicle threshold
        pass([700, 100, 720, 160], 0.12, false, 'person'),
      ],
    };
    const c = {
      detect: 1,
      merge: { mergeIou: 0.5, mergeIos: 0.6 },
      thresholds: { vehicle: 0.4, 'two-wheeler': 0.15, person: 0.1 },
    };
    expect(applyCandidate(c, cached, 0.25).map((d) => [d.className, d.score])).toEqual([
      ['motorcycle', 0.5],
      ['motorcycle', 0.18],
      ['person', 0.12],
    ]);
    const untiled = { tiled: false, detections: cached.detections.map(({ cut: _c, ...d }) => d) };
    expect(applyCandidate({ ...c, detect: 0 }, untiled, 0.25)).toHaveLength(4);
  });
});

describe('runLoo', () => {
  const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), '../detectors/testdata');
  const HEAD =
    'file,source_repo,source_path,licence,width,height,cars,buses,trucks,motorcycles,bicycles,people,stall_objects,notes';
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loo-test-'));
    for (const f of ['a.png', 'b.png', 'c.png'])
      await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 90, g: 90, b: 90 } } })
        .png()
        .toFile(path.join(dir, f));
    fs.writeFileSync(
      path.join(dir, 'manifest.csv'),
      `${HEAD}\na.png,o/r,a,MIT,96,64,1,0,0,0,0,1,no,\nb.png,o/r,b,MIT,96,64,1,0,0,0,0,0,no,\nc.png,o/r,c,MIT,96,64,0,0,0,0,0,0,no,NEGATIVE\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'models.json'),
      JSON.stringify({
        models: [{ name: 'coco', path: path.join(testdata, 'yolo-coco-dynamic.onnx'), family: 'yolo', threads: 1 }],
      }),
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('computes each setting once per photo and reports the folds, the choice and the figures', async () => {
    // The fixed model sees car 0.9, dining table 0.7, person 0.6, bicycle 0.36 in every image: the vehicle
    // threshold cannot drop the car on the negative, the person threshold decides the people.
    const grid: LooGrid = {
      detect: [{ name: '640x640', inputWidth: 640, inputHeight: 640 }],
      merge: [],
      thresholds: { vehicle: [0.3], 'two-wheeler': [0.3], person: [0.7, 0.5] },
    };
    const run = await runLoo({
      dir,
      modelsFile: path.join(dir, 'models.json'),
      model: 'coco',
      grid,
      fixed: ['a.png'],
      log: () => {},
    });
    expect(run.candidates).toHaveLength(2);
    expect(run.msPerPhoto).toHaveLength(1);
    // Person 0.5 finds a's person but adds one on every other photo: it never scores above 0.7, and the tie goes
    // to the first in the grid in every fold.
    expect(run.result.folds.map((f) => f.chosen)).toEqual([0, 0, 0]);
    expect(run.today).toHaveLength(3);
    const report = looReport(run);
    expect(report).toContain('| leave-one-out |');
    expect(report).toContain('| a.png | 640x640, vehicle 0.3, two-wheeler 0.3, person 0.7 |');
    expect(report).toMatch(/Folds choosing it: 3 of 3; distinct choices: 1/);
  });
});
