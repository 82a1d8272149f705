// The real-image evaluation's parts: the manifest, counting found and excess without boxes, variants, and one run
// on the fixed-output COCO test model (vision/detectors/testdata) over a folder made here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluateRealImages,
  imageTable,
  parseCsv,
  parseVariant,
  readManifest,
  scoreImage,
  summaryTable,
  totals,
} from './real-images.js';
import { detection, manifestRow } from './testdata/photos.js';

const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), '../detectors/testdata');
const HEAD =
  'file,source_repo,source_path,licence,width,height,cars,buses,trucks,motorcycles,bicycles,people,stall_objects,notes';
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'real-images-test-'));
  const grey = () =>
    sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png();
  await grey().toFile(path.join(dir, 'street.png'));
  await grey().toFile(path.join(dir, 'empty.png'));
  fs.writeFileSync(
    path.join(dir, 'manifest.csv'),
    `${HEAD}\nstreet.png,o/r,a.png,MIT,96,64,2,0,0,0,1,0,yes,"a street, with ""quotes"""\nempty.png,o/r,b.png,"Apache-2.0 (repo)",96,64,0,0,0,0,0,0,no,NEGATIVE\n`,
  );
  fs.writeFileSync(
    path.join(dir, 'models.json'),
    JSON.stringify({
      models: [{ name: 'coco-fixed', path: path.join(testdata, 'yolo-coco-dynamic.onnx'), family: 'yolo', threads: 1 }],
    }),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const row = manifestRow;
const det = detection;

describe('manifest', () => {
  it('parses quoted CSV fields with commas, quotes and CRLF', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\n\n1,\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['1', ''],
    ]);
    expect(() => parseCsv('a,"b')).toThrow(/unterminated/);
  });

  it('reads the rows with numbers and refuses a listed file that is missing', () => {
    const rows = readManifest(dir);
    expect(rows.map((r) => [r.file, r.cars, r.bicycles, r.stall_objects, r.notes])).toEqual([
      ['street.png', 2, 1, 'yes', 'a street, with "quotes"'],
      ['empty.png', 0, 0, 'no', 'NEGATIVE'],
    ]);
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'real-images-bad-'));
    fs.writeFileSync(path.join(bad, 'manifest.csv'), `${HEAD}\ngone.jpg,o/r,a,MIT,1,1,0,0,0,0,0,0,no,\n`);
    expect(() => readManifest(bad)).toThrow(/lists gone\.jpg, which is not in/);
    fs.writeFileSync(path.join(bad, 'manifest.csv'), `${HEAD}\ngone.jpg,o/r,a,MIT,1,1,many,0,0,0,0,0,no,\n`);
    expect(() => readManifest(bad)).toThrow(/cars/);
    expect(() => readManifest(path.join(bad, 'nope'))).toThrow(/no manifest\.csv in/);
    fs.rmSync(bad, { recursive: true });
  });
});

describe('counting without boxes', () => {
  it('takes min(detected, counted) as found and the rest as excess, pooling cars, buses and trucks', () => {
    // A pickup counted as a truck, detected as a car: no excess, the pooled column finds it.
    const s = scoreImage(row({ cars: 2, trucks: 1, people: 3, motorcycles: 1 }), [
      det('car'),
      det('car'),
      det('car'),
      det('person'),
      det('person'),
      det('person'),
      det('person'),
      det('motorcycle'),
      det('umbrella', 0.5, 'stall'),
      det('dog'),
    ]);
    expect(s.detected).toMatchObject({ car: 3, truck: 0, person: 4, motorcycle: 1 });
    expect(s.vehicles).toEqual({ detected: 3, counted: 3 });
    expect(s.excess).toBe(1); // one person too many
    expect([s.stall, s.other]).toEqual([1, 1]);
    const t = totals([s, scoreImage(row({ file: 'neg.jpg' }), [det('person')])]);
    expect(t.found).toMatchObject({ car: 2, truck: 0, vehicles: 3, person: 3, motorcycle: 1 });
    expect(t.recall.car).toBe(1);
    expect(t.recall.truck).toBe(0);
    expect(Number.isNaN(t.recall.bus)).toBe(true);
    expect([t.excess, t.maxExcess, t.onNegatives]).toEqual([2, 1, 1]);
  });

  it("counts a role-only model's vehicles as cars and persons as people", () => {
    const s = scoreImage(
      row({ cars: 1, people: 1 }),
      [det('vehicle', 0.9, 'vehicle'), det('person', 0.9, 'person'), det('stall', 0.9, 'stall')],
      0,
      true,
    );
    expect([s.detected.car, s.detected.person, s.stall, s.excess]).toEqual([1, 1, 1, 0]);
  });
});

describe('variants', () => {
  it('knows the built-in ones and takes NAME={json} with config fields and tiling', () => {
    expect(parseVariant('whole')).toEqual({ name: 'whole', overrides: { tiling: false } });
    expect(parseVariant('big={"inputWidth":640,"inputHeight":640,"tiling":{"overlap":0.3}}')).toEqual({
      name: 'big',
      overrides: { config: { inputWidth: 640, inputHeight: 640 }, tiling: { overlap: 0.3 } },
    });
    expect(() => parseVariant('huge')).toThrow(
      /unknown variant "huge" \(built in: configured, whole, tiled, tiles-only/,
    );
    expect(() => parseVariant('x={nope')).toThrow(/variant x: not JSON/);
  });
});

describe('evaluateRealImages', () => {
  it('runs each variant once and scores it at every threshold, with tables and drawn images', async () => {
    const drawDir = path.join(dir, 'drawn');
    const results = await evaluateRealImages({
      dir,
      modelsFile: path.join(dir, 'models.json'),
      models: ['coco-fixed'],
      variants: [parseVariant('whole')],
      scores: [0.65, 0.3],
      drawDir,
      log: () => {},
    });
    expect(results.map((r) => [r.variant, r.score])).toEqual([
      ['whole', 0.3],
      ['whole', 0.65],
    ]);
    // The fixed model sees car 0.9, dining table 0.7, person 0.6, bicycle 0.36 in every image.
    const [low, high] = results;
    expect(low!.images[0]).toMatchObject({
      file: 'street.png',
      detected: { car: 1, person: 1, bicycle: 1 },
      excess: 1,
      stall: 1,
      stallInManifest: true,
    });
    expect(low!.totals).toMatchObject({ found: { car: 1, bicycle: 1, person: 0 }, excess: 4, onNegatives: 3 });
    expect(high!.images[0]).toMatchObject({ detected: { car: 1, person: 0, bicycle: 0 }, excess: 0 });
    expect(imageTable(low!.images)).toContain(
      '| street.png | 1/2 | 0/0 | 0/0 | 1/2 | 0/0 | 1/1 | 1/0 | 1 | 1 (yes) | 0 |',
    );
    expect(summaryTable(results).split('\n')).toHaveLength(4);
    const drawn = await sharp(path.join(drawDir, 'coco-fixed_whole_0.3', 'street.jpg')).metadata();
    expect([drawn.width, drawn.height]).toEqual([96, 64]);
  });

  it("holds each role to the model's per-role threshold without --scores, and every role to the score with them", async () => {
    const file = path.join(dir, 'models-roles.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        models: [
          {
            name: 'coco-fixed',
            path: path.join(testdata, 'yolo-coco-dynamic.onnx'),
            family: 'yolo',
            threads: 1,
            scoreThreshold: 0.3,
            roleScoreThresholds: { person: 0.65 },
          },
        ],
      }),
    );
    const run = (scores?: number[]) =>
      evaluateRealImages({
        dir,
        modelsFile: file,
        models: ['coco-fixed'],
        variants: [parseVariant('whole')],
        scores,
        log: () => {},
      });
    // car 0.9, person 0.6 (under its role's 0.65), bicycle 0.36 (two-wheeler: the model's 0.3).
    const [own] = await run();
    expect(own!.images[0]).toMatchObject({ detected: { car: 1, person: 0, bicycle: 1 } });
    const [given] = await run([0.3]);
    expect(given!.images[0]).toMatchObject({ detected: { car: 1, person: 1, bicycle: 1 } });
  });
});
