// The input side shared by the centernet and nanodet plugins: normalisation metadata and the normalised letterbox.
import { describe, expect, it } from 'vitest';
import { NormalisedInput, parseNormalisation } from './centernet-nanodet.js';
import type { RawImage } from './types.js';

describe('parseNormalisation', () => {
  it('reads the JSON form convert.py writes, with defaults for what is left out', () => {
    expect(
      parseNormalisation('{"channels": "bgr", "mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395]}'),
    ).toEqual({
      channels: 'bgr',
      mean: [103.53, 116.28, 123.675],
      std: [57.375, 57.12, 58.395],
    });
    expect(parseNormalisation('{"channels": "rgb"}')).toEqual({ channels: 'rgb', mean: [0, 0, 0], std: [1, 1, 1] });
  });

  it('reads the shorthands', () => {
    expect(parseNormalisation('0..1')).toEqual({ channels: 'rgb', mean: [0, 0, 0], std: [255, 255, 255] });
    expect(parseNormalisation(' 0..255 ')).toEqual({ channels: 'rgb', mean: [0, 0, 0], std: [1, 1, 1] });
  });

  it('refuses what it cannot use', () => {
    for (const bad of [
      'imagenet',
      '{"channels": "hsv"}',
      '{"std": [1, 0, 1]}',
      '{"mean": [1, 2]}',
      '{"scale": 2}',
      '[]',
    ]) {
      expect(parseNormalisation(bad), bad).toBeNull();
    }
  });
});

describe('NormalisedInput', () => {
  // A 2x1 image: a red pixel and a blue one.
  const img: RawImage = { data: Buffer.from([255, 0, 0, 0, 0, 255]), width: 2, height: 1, channels: 3 };

  it("letterboxes, then lays out the channels in the model's order with its mean and std", async () => {
    const input = new NormalisedInput(
      2,
      2,
      { position: 'top-left', pad: 0 },
      { channels: 'bgr', mean: [10, 20, 30], std: [2, 4, 5] },
    );
    const g = await input.fill(img);
    expect(g).toMatchObject({ resizedWidth: 2, resizedHeight: 1, left: 0, top: 0 });
    const planes = [0, 1, 2].map((c) =>
      Array.from(input.data.subarray(c * 4, c * 4 + 4), (v) => Math.round(v * 1000) / 1000),
    );
    // plane 0 is blue: (255 - 10) / 2 for the blue pixel, (0 - 10) / 2 elsewhere (the padding row is black)
    expect(planes[0]).toEqual([-5, 122.5, -5, -5]);
    expect(planes[1]).toEqual([-5, -5, -5, -5]); // green: (0 - 20) / 4
    expect(planes[2]).toEqual([45, -6, -6, -6]); // red: (255 - 30) / 5, (0 - 30) / 5
  });

  it("gives RGB 0..255 for CenterNet's normalisation, and the padding of a centred letterbox stays right frame after frame", async () => {
    const input = new NormalisedInput(
      2,
      4,
      { position: 'centre', pad: 114 },
      { channels: 'rgb', mean: [0, 0, 0], std: [1, 1, 1] },
    );
    for (let i = 0; i < 2; i++) {
      await input.fill(img);
      const red = Array.from(input.data.subarray(0, 8), Math.round);
      expect(red).toEqual([114, 114, 255, 0, 114, 114, 114, 114]);
    }
  });

  it('fills a grey frame for the warm-up run', () => {
    const input = new NormalisedInput(
      2,
      2,
      { position: 'centre', pad: 0 },
      { channels: 'bgr', mean: [100, 100, 100], std: [50, 50, 50] },
    );
    input.fillGrey(150);
    expect(Array.from(input.data)).toEqual(new Array(12).fill(1));
  });
});
