// Pixel bombs, built by hand byte by byte: PNG files much smaller than the image they declare. Used by the worker's
// test and bench/abuse/pixel-bomb.ts. A PNG is the 8-byte signature, then chunks (length, type, data, CRC-32 of type
// and data): IHDR (width, height, bit depth 8, colour type 2 = RGB), IDAT (the zlib-compressed rows, each a filter
// byte and width × 3 bytes), IEND.
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import zlib from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function crc32(b: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of b) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = 8; // bits per sample
  d[9] = 2; // RGB
  return chunk('IHDR', d); // compression, filter and interlace methods 0
}

/**
 * A PNG of a few hundred bytes that declares width × height (30000 × 30000 by default: 2.7 GB as RGB) and carries
 * one row of pixel data: whoever trusts the header allocates the whole image.
 */
export function pixelBombHeader(width = 30_000, height = 30_000): Buffer {
  const row = zlib.deflateSync(Buffer.alloc(width * 3 + 1));
  return Buffer.concat([SIGNATURE, ihdr(width, height), chunk('IDAT', row), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * A complete, valid black PNG of width × height whose rows compress about 1000:1 (12000 × 12000: 420 KB of file,
 * 432 MB decoded): it decodes without error, so only a size check before decoding keeps it out of memory. Built
 * a hundred rows at a time, so making it costs no more memory than the file.
 */
export async function pixelBombPng(width = 12_000, height = 12_000): Promise<Buffer> {
  const rowBytes = width * 3 + 1;
  const rows = Buffer.alloc(rowBytes * 100);
  function* blocks() {
    for (let y = 0; y < height; y += 100) yield rows.subarray(0, rowBytes * Math.min(100, height - y));
  }
  const idat = await buffer(Readable.from(blocks()).pipe(zlib.createDeflate({ level: 6 })));
  return Buffer.concat([SIGNATURE, ihdr(width, height), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
