// Cuts a stream of concatenated JPEG images (ffmpeg's `-f image2pipe -c:v mjpeg` on stdout) into single images,
// with a bound on what it holds: a stream that never ends an image (a broken decoder, a stream that is not JPEG)
// must not grow the buffer without end.
//
// The end of an image is found by walking its markers, not by searching for FFD9: an APPn segment (EXIF, a
// thumbnail) may contain FFD9 bytes, and only the entropy-coded data after SOS is byte-stuffed (FF is sent as FF00).

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

export interface JpegStreamStats {
  /** Complete images handed on. */
  images: number;
  /** Images longer than maxBytes: dropped whole. */
  oversized: number;
  /** Bytes skipped while looking for the start of an image. */
  skippedBytes: number;
}

export class JpegStreamParser {
  private buf: Buffer = Buffer.alloc(0);
  /** Where scanning resumes in buf (bytes before it are known not to end the current image). */
  private pos = 0;
  /** Inside an image: 'markers' before SOS, 'scan' in entropy-coded data. */
  private state: 'seek' | 'markers' | 'scan' = 'seek';
  /** Discarding the rest of an oversized image until its end. */
  private discarding = false;
  readonly stats: JpegStreamStats = { images: 0, oversized: 0, skippedBytes: 0 };

  constructor(
    private readonly maxBytes: number,
    private readonly onImage: (jpeg: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.scan();
      if (end < 0) break;
      const image = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(end);
      this.pos = 0;
      this.state = 'seek';
      if (this.discarding) this.discarding = false;
      else {
        this.stats.images++;
        // A copy: the image outlives the chunk it was cut from, which must not be kept alive with it.
        this.onImage(Buffer.from(image));
      }
    }
    if (this.state !== 'seek' && this.buf.length > this.maxBytes) {
      // Too long to be an image we send: forget what we have and skip to this image's end.
      if (!this.discarding) this.stats.oversized++;
      this.discarding = true;
      // Keep the last byte: it may be the FF of the marker that ends the image.
      this.buf = this.buf.subarray(this.buf.length - 1);
      this.pos = 0;
      this.state = 'scan';
    }
  }

  /** The length of the complete image at the start of buf, or -1 when more bytes are needed. */
  private scan(): number {
    const b = this.buf;
    if (this.state === 'seek') {
      const i = b.indexOf(Buffer.from([0xff, SOI]));
      if (i < 0) {
        // Keep a trailing FF: the start marker may straddle two chunks.
        const keep = b.length > 0 && b[b.length - 1] === 0xff ? 1 : 0;
        this.stats.skippedBytes += b.length - keep;
        this.buf = b.subarray(b.length - keep);
        return -1;
      }
      this.stats.skippedBytes += i;
      this.buf = b.subarray(i);
      this.pos = 2;
      this.state = 'markers';
      return this.scan();
    }
    if (this.state === 'markers') {
      // Marker segments: FF xx LL LL (length includes its own two bytes), up to SOS.
      while (this.pos + 2 <= b.length) {
        if (b[this.pos] !== 0xff) {
          // Not a marker where one must be: not a JPEG we understand; look for the next image.
          this.state = 'seek';
          this.buf = b.subarray(this.pos);
          return this.scan();
        }
        const m = b[this.pos + 1]!;
        if (m === 0xff) {
          this.pos++; // fill byte
          continue;
        }
        if (m === EOI) return this.pos + 2;
        if (this.pos + 4 > b.length) return -1;
        const len = b.readUInt16BE(this.pos + 2);
        if (this.pos + 2 + len > b.length) return -1;
        this.pos += 2 + len;
        if (m === SOS) {
          this.state = 'scan';
          break;
        }
      }
      if (this.state !== 'scan') return -1;
    }
    // Entropy-coded data: FF00 is a stuffed FF, FFD0–FFD7 restart markers; any other marker ends the scan.
    while (this.pos + 1 < b.length) {
      const i = b.indexOf(0xff, this.pos);
      if (i < 0 || i + 1 >= b.length) {
        this.pos = i < 0 ? b.length : i;
        return -1;
      }
      const m = b[i + 1]!;
      if (m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0xff) {
        this.pos = m === 0xff ? i + 1 : i + 2;
        continue;
      }
      if (m === EOI) return i + 2;
      // Another segment after the scan (a progressive JPEG's next DHT/SOS): back to reading markers.
      this.pos = i;
      this.state = 'markers';
      return this.scan();
    }
    return -1;
  }
}
