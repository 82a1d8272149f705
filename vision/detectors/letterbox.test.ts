import { describe, expect, it } from 'vitest';
import { LetterboxInput, letterboxGeometry, unletterbox } from './letterbox.js';
import type { RawImage } from './types.js';

const solid = (width: number, height: number, rgb: [number, number, number]): RawImage => {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { data, width, height, channels: 3 };
};

describe('letterbox geometry', () => {
  it('fits a wide frame to the width and centres it vertically', () => {
    const g = letterboxGeometry(1280, 720, 640, 640, 'centre');
    expect(g).toMatchObject({ resizedWidth: 640, resizedHeight: 360, left: 0, top: 140, scaleX: 0.5, scaleY: 0.5 });
    // A box in the input maps back to frame pixels and clips at the frame's edge.
    expect(unletterbox(g, 100, 150, 200, 250)).toEqual([200, 20, 400, 220]);
    expect(unletterbox(g, -10, 100, 700, 600)).toEqual([0, 0, 1280, 720]);
  });

  it('fits a tall frame to the height and centres it horizontally', () => {
    const g = letterboxGeometry(720, 1280, 640, 640, 'centre');
    expect(g).toMatchObject({ resizedWidth: 360, resizedHeight: 640, left: 140, top: 0 });
    expect(unletterbox(g, 150, 100, 250, 200)).toEqual([20, 200, 220, 400]);
  });

  it('rounds like Ultralytics: an odd padding puts the extra pixel after the image', () => {
    const g = letterboxGeometry(1280, 720, 416, 256, 'centre');
    // r = min(416/1280, 256/720) = 0.325: 416 x 234, padding 22 split 11 / 11
    expect(g).toMatchObject({ resizedWidth: 416, resizedHeight: 234, left: 0, top: 11 });
    const odd = letterboxGeometry(100, 61, 100, 100, 'centre');
    expect(odd).toMatchObject({ resizedHeight: 61, top: 19 }); // 39 rows of padding: 19 above, 20 below
    expect(letterboxGeometry(1280, 720, 640, 640, 'top-left')).toMatchObject({ left: 0, top: 0 });
  });
});

describe('LetterboxInput', () => {
  it('writes NCHW RGB planes in 0..1 with grey padding around the image', async () => {
    // 8x4 into 8x8: no resize, 2 rows of padding above and below.
    const img = solid(8, 4, [255, 0, 51]);
    img.data.set([10, 20, 30], (1 * 8 + 3) * 3); // pixel (x 3, y 1)
    const inp = new LetterboxInput(8, 8, { position: 'centre', pad: 114 });
    const g = await inp.fill(img);
    expect(g.top).toBe(2);
    const plane = 64;
    const at = (c: number, x: number, y: number) => inp.data[c * plane + y * 8 + x]!;
    expect([at(0, 0, 0), at(1, 0, 0), at(2, 0, 0)]).toEqual([114 / 255, 114 / 255, 114 / 255].map(Math.fround));
    expect([at(0, 0, 2), at(1, 0, 2), at(2, 0, 2)]).toEqual([1, 0, Math.fround(0.2)]);
    expect([at(0, 3, 3), at(1, 3, 3), at(2, 3, 3)]).toEqual([10 / 255, 20 / 255, 30 / 255].map(Math.fround));
    expect(at(0, 7, 5)).toBe(1);
    expect(at(0, 7, 6)).toBe(Math.fround(114 / 255));
  });

  it('resizes with sharp, and clears the old image when the geometry changes', async () => {
    const inp = new LetterboxInput(8, 8, { position: 'centre', pad: 0 });
    await inp.fill(solid(16, 4, [255, 255, 255])); // 8x2 at rows 3..4
    const row = (y: number) => Array.from(inp.data.subarray(y * 8, y * 8 + 8));
    expect(row(2)).toEqual(Array(8).fill(0));
    expect(row(3)).toEqual(Array(8).fill(1));
    expect(row(4)).toEqual(Array(8).fill(1));
    expect(row(5)).toEqual(Array(8).fill(0));
    const g = await inp.fill(solid(4, 16, [255, 255, 255])); // 2x8 at columns 3..4
    expect(g).toMatchObject({ resizedWidth: 2, resizedHeight: 8, left: 3, top: 0 });
    expect(row(3)).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
  });

  it('refuses a buffer that does not match the size', async () => {
    const inp = new LetterboxInput(8, 8, { position: 'centre', pad: 114 });
    await expect(inp.fill({ data: Buffer.alloc(10), width: 4, height: 4, channels: 3 })).rejects.toThrow(
      /expected 4x4x3/,
    );
  });
});
