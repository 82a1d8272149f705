// Line protocol of readings (docs/influxdb.md, Schema), written straight into one reused byte buffer and cut there
// into request bodies:
//   <kind>,device=<id>,district=<d> <metric>=<float>...,reading=1i[,seq=<n>i][,<metric>__flag="<F>"...] <ts ms>
// Why bytes and not a string per line: at 170,000 readings/s, building each line by string concatenation, measuring
// it (Buffer.byteLength) and joining the lines into a body allocated about 480 bytes a reading, half of all that
// ingest allocated (a sampling heap profile, issue 19); scavenges copying those strings while the batch waits for its
// write were a third of ingest's CPU. Written here, a reading allocates only the text of its metric values.
import { escape } from '@influxdata/influxdb-client';
import type { StoredReading } from '../../contracts/index.js';

/**
 * A field every reading line carries, always 1. Several readings of a device at one ts merge into one point, so
 * count(reading) is the number of distinct timestamps, which no metric field can give (a reading need not carry
 * every metric). It also answers "how many readings per hour did each device send" for sensor health.
 */
export const READING_FIELD = 'reading';
/** A data flag other than N (HJ 212 F, M, D, ...) is a string field beside its metric: "<metric>__flag". */
export const FLAG_SUFFIX = '__flag';

const NEWLINE = 10;
const SPACE = 32;
const QUOTE = 34;
const DIGIT_0 = 48;
const INT = 105; // the "i" of an integer field
const READING = Buffer.from(`,${READING_FIELD}=1i`);
const READING_ALONE = Buffer.from(`${READING_FIELD}=1i`);
const SEQ = Buffer.from(',seq=');

interface Series {
  district: string;
  kind: string;
  /** `<kind>,device=<id>,district=<d> `, escaped, as bytes. */
  prefix: Buffer;
}

export class ReadingLines {
  private buf = Buffer.allocUnsafe(1 << 20);
  private pos = 0;
  // Escaping done once per device and per field name: escape.*'s regular expressions per reading were a tenth of
  // ingest's time. Both caches are bounded.
  private readonly series = new Map<string, Series>();
  private readonly fields = new Map<string, Buffer>();

  /**
   * The request bodies of readings[from, to): each holds at most maxLines lines and, newline included, maxBytes bytes
   * (a single longer line is a body of its own).
   */
  bodies(readings: readonly StoredReading[], from: number, to: number, maxLines: number, maxBytes: number): string[] {
    const out: string[] = [];
    this.pos = 0;
    let start = 0;
    let lines = 0;
    for (let i = from; i < to; i++) {
      const lineStart = this.pos;
      this.line(readings[i]!);
      if (lines > 0 && (lines >= maxLines || this.pos - start > maxBytes)) {
        out.push(this.buf.toString('utf8', start, lineStart - 1)); // without the last newline
        start = lineStart;
        lines = 0;
      }
      lines++;
    }
    if (lines > 0) out.push(this.buf.toString('utf8', start, this.pos - 1));
    return out;
  }

  private line(r: StoredReading): void {
    let s = this.series.get(r.deviceId);
    if (s === undefined || s.district !== r.district || s.kind !== r.kind) {
      if (this.series.size >= 100_000) this.series.clear();
      const prefix = `${escape.measurement(r.kind)},device=${escape.tag(r.deviceId)},district=${escape.tag(r.district)} `;
      s = { district: r.district, kind: r.kind, prefix: Buffer.from(prefix) };
      this.series.set(r.deviceId, s);
    }
    this.bytes(s.prefix);
    let first = true;
    for (const m in r.metrics) {
      this.bytes(this.field(m, first));
      this.ascii(String(r.metrics[m]));
      first = false;
    }
    this.bytes(first ? READING_ALONE : READING);
    if (r.seq !== undefined) {
      this.bytes(SEQ);
      this.integer(r.seq);
      this.byte(INT);
    }
    // Flags are letters checked by the contract (/^[A-Za-z]$/), safe inside a quoted string field.
    if (r.flags) {
      for (const m in r.flags) {
        this.bytes(this.field(m + FLAG_SUFFIX, false));
        this.byte(QUOTE);
        this.ascii(r.flags[m]!);
        this.byte(QUOTE);
      }
    }
    this.byte(SPACE);
    this.integer(r.ts);
    this.byte(NEWLINE);
  }

  /** `name=` escaped, with a leading comma unless it is the line's first field. */
  private field(name: string, first: boolean): Buffer {
    const key = first ? name : ',' + name;
    let f = this.fields.get(key);
    if (f === undefined) {
      if (this.fields.size >= 10_000) this.fields.clear();
      f = Buffer.from(`${first ? '' : ','}${escape.tag(name)}=`);
      this.fields.set(key, f);
    }
    return f;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  private bytes(b: Buffer): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A string of ASCII characters (a number's text, a flag letter). */
  private ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /** A non-negative safe integer (ts, seq: the contract checks both), in decimal, without a string. */
  private integer(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) return this.ascii(String(n));
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    this.room(digits);
    let at = this.pos + digits;
    this.pos = at;
    do {
      const q = Math.floor(n / 10);
      this.buf[--at] = DIGIT_0 + (n - q * 10);
      n = q;
    } while (n > 0);
  }
}
