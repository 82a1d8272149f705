// A minimal POSIX ustar writer, streaming: the dataset export writes one file after another without holding the
// archive in memory. Regular files only; names up to 255 bytes (split into prefix and name at a "/").
const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function splitName(name: string): { prefix: string; base: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', base: name };
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100) return { prefix, base };
  }
  throw new Error(`tar: name too long: ${name}`);
}

/** The 512-byte header of a regular file. */
export function tarHeader(name: string, size: number, mtimeMs: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const { prefix, base } = splitName(name);
  h.write(base, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(Math.floor(mtimeMs / 1000), 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii'); // checksum is computed with its own field as spaces
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

/** One file as it goes into the archive: header, content, padding to a whole block. */
export function tarEntry(name: string, data: Buffer | string, mtimeMs = Date.now()): Buffer[] {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
  return [tarHeader(name, body.length, mtimeMs), body, Buffer.alloc(pad, 0)];
}

/** The end of an archive: two empty blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(BLOCK * 2, 0);
}
