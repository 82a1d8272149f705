// The JPEG cutter over ffmpeg's image2pipe output (no services): images split at every possible byte, an FFD9 inside
// an APP segment that ends nothing, garbage between images skipped, an image over the cap dropped without holding it.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { JpegStreamParser } from './jpeg-stream.js';

const jpeg = (r: number, w = 64) =>
  sharp({ create: { width: w, height: 48, channels: 3, background: { r, g: 80, b: 160 } } })
    .jpeg()
    .toBuffer();

/** An APP15 segment whose payload holds FF D9, as an EXIF thumbnail can. */
function withFfd9InApp(img: Buffer): Buffer {
  const payload = Buffer.from([0x01, 0xff, 0xd9, 0x02]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xef, 0x00, payload.length + 2]), payload]);
  return Buffer.concat([img.subarray(0, 2), seg, img.subarray(2)]);
}

function cut(stream: Buffer, chunk: number, max = 1 << 20) {
  const out: Buffer[] = [];
  const p = new JpegStreamParser(max, (j) => out.push(j));
  for (let i = 0; i < stream.length; i += chunk) p.push(stream.subarray(i, i + chunk));
  return { out, stats: p.stats };
}

describe('JpegStreamParser', () => {
  it('cuts concatenated images whatever the chunk boundaries, an FFD9 in an APP segment included', async () => {
    const imgs = [await jpeg(10), withFfd9InApp(await jpeg(90)), await jpeg(200)];
    const stream = Buffer.concat([Buffer.from('junk'), imgs[0]!, imgs[1]!, Buffer.from([0x00, 0xff]), imgs[2]!]);
    for (const chunk of [1, 2, 3, 7, 64, 4096, stream.length]) {
      const { out, stats } = cut(stream, chunk);
      expect(
        out.map((b) => b.toString('hex')),
        `chunk ${chunk}`,
      ).toEqual(imgs.map((b) => b.toString('hex')));
      expect(stats.skippedBytes).toBe(6);
    }
    for (const img of cut(stream, 5).out) expect((await sharp(img).metadata()).width).toBe(64);
  });

  it('drops an image longer than the cap and keeps the ones after it, holding no more than the cap', async () => {
    const small = await jpeg(30);
    // Noise does not compress: a big image.
    const noise = Buffer.alloc(800 * 600 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + (i >> 5) * 104729) & 0xff;
    const big = await sharp(noise, { raw: { width: 800, height: 600, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const max = Math.max(small.length * 2, 8192);
    expect(big.length).toBeGreaterThan(max * 2);
    const out: Buffer[] = [];
    const p = new JpegStreamParser(max, (j) => out.push(j));
    const stream = Buffer.concat([small, big, small]);
    for (let i = 0; i < stream.length; i += 1000) {
      p.push(stream.subarray(i, i + 1000));
      expect((p as unknown as { buf: Buffer }).buf.length).toBeLessThanOrEqual(max + 1000);
    }
    expect(out.map((b) => b.length)).toEqual([small.length, small.length]);
    expect(p.stats.oversized).toBe(1);
  });
});
