// The plate reader with the real PP-OCRv4 models on plates rendered from SVG. No CJK font is installed on these
// machines, so the province character renders as a placeholder: the tests check the alphanumeric part.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config.js';
import { decodeImage } from '../detectors/image.js';
import { PlateReader } from './plate-reader.js';
import { BLUE, GREEN, YELLOW, plateScene } from './synthetic.js';

const iou = (a: number[], b: number[]) => {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const u = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - w * h;
  return (w * h) / u;
};

let reader: PlateReader;
beforeAll(async () => {
  reader = await PlateReader.open();
});
afterAll(async () => {
  await reader.close();
});

describe('PlateReader', () => {
  it('reads a blue plate inside the vehicle box of a full frame', async () => {
    const s = await plateScene({ text: '苏A·3K52L', plateWidth: 100 });
    const r = await reader.read(s.image, s.vehicleBox);
    expect(r).not.toBeNull();
    expect(r!.text).toMatch(/A3K52L$/);
    expect(r!.confidence).toBeGreaterThan(0.8);
    expect(r!.confidence).toBeLessThanOrEqual(1);
    expect(iou(r!.box, s.plateBox)).toBeGreaterThan(0.6);
    expect(r).toMatchObject({ method: 'colour', colour: 'blue' });
  });

  it('reads the small plates the simulator draws (70 px wide), and without a vehicle box', async () => {
    const s = await plateScene({ text: '苏A·3K52L', plateWidth: 72, quality: 70 });
    expect((await reader.read(s.image, s.vehicleBox))?.text).toMatch(/A3K52L$/);
    expect((await reader.read(s.image))?.text).toMatch(/A3K52L$/);
  });

  it('reads green new-energy and yellow plates', async () => {
    const g = await plateScene({ text: '沪A·D12345', style: GREEN, carColour: '#444', plateWidth: 110 });
    expect((await reader.read(g.image, g.vehicleBox))?.text).toMatch(/AD12345$/);
    const y = await plateScene({ text: '粤C·88Z61', style: YELLOW, carColour: '#eeeeee', plateWidth: 110 });
    expect((await reader.read(y.image, y.vehicleBox))?.text).toMatch(/C88Z61$/);
  });

  it('reads a plate seen at an angle (sheared)', async () => {
    const s = await plateScene({ text: '苏E·94N1W', plateWidth: 90, shear: -0.25 });
    expect((await reader.read(s.image, s.vehicleBox))?.text).toMatch(/E94N1W$/);
  });

  it('reads a blue plate on a blue car', async () => {
    const s = await plateScene({ text: '京B·7H26K', style: BLUE, carColour: '#1a45b0', plateWidth: 100 });
    expect((await reader.read(s.image, s.vehicleBox))?.text).toMatch(/B7H26K$/);
  });

  it('reads with the PP-OCRv4 text detector alone', async () => {
    const det = await PlateReader.open({ localiser: 'det' });
    const s = await plateScene({ text: '苏A·3K52L', plateWidth: 100 });
    const r = await det.read(s.image, s.vehicleBox);
    await det.close();
    expect(r).toMatchObject({ text: expect.stringMatching(/A3K52L$/), method: 'det' });
    expect(iou(r!.box, s.plateBox)).toBeGreaterThan(0.4); // the text line, not the plate's rim
  });

  it('gives null for a vehicle without a plate and for an empty crop', async () => {
    const s = await plateScene({ text: '', plateWidth: 100, carColour: '#1a45b0' });
    expect(await reader.read(s.image, s.vehicleBox)).toBeNull();
    const grass = await decodeImage(
      await sharp({ create: { width: 300, height: 200, channels: 3, background: '#66aa66' } })
        .jpeg()
        .toBuffer(),
    );
    expect(await reader.read(grass)).toBeNull();
    expect(await reader.read(grass, [500, 500, 600, 600])).toBeNull(); // box outside the image
  });

  it('refuses a missing model file and a dictionary that does not fit the model', async () => {
    const missing = path.join(os.tmpdir(), 'no-such-dir', 'rec.onnx');
    await expect(PlateReader.open({ recModelPath: missing })).rejects.toThrow(ConfigError);
    await expect(PlateReader.open({ recModelPath: missing })).rejects.toThrow(
      `plate recogniser: ${missing} does not exist`,
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-ocr-'));
    const dict = path.join(dir, 'keys.txt');
    fs.writeFileSync(dict, 'A\nB\nC\n');
    await expect(PlateReader.open({ dictPath: dict, localiser: 'colour' })).rejects.toThrow(
      /3 characters but the model outputs 6625 classes/,
    );
    fs.rmSync(dir, { recursive: true, force: true });
    await expect(PlateReader.open({ localiser: 'fast' as never })).rejects.toThrow(/localiser/);
  });
});
