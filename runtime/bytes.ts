// Text written as bytes into one reused, growing buffer, for the encoders on ingest's hot path (InfluxDB line
// protocol, readings on the bus). At 200,000 readings/s, building their text as strings per reading and converting it
// to bytes afterwards was most of what ingest allocated, and collecting it a third of its CPU (issue 19). Here only a
// float's text is a string; integers, names and punctuation are written as bytes.
export class ByteWriter {
  buf: Buffer;
  /** Bytes written since the last reset(). */
  pos = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Makes room for n more bytes; what was written keeps its offsets. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A string of ASCII characters only (a number's text, a flag letter); anything else goes through bytes(). */
  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /** A number as JavaScript (and JSON, for finite numbers) writes it; a non-negative safe integer without a string. */
  number(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) return this.ascii(String(n));
    if (n < 1e9) return this.digits(n, 0);
    // A ms timestamp: the high part, then the low nine digits zero-padded, each in small-integer arithmetic.
    const high = Math.floor(n / 1e9);
    this.digits(high, 0);
    this.digits(n - high * 1e9, 9);
  }

  /** n < 1e9 in decimal, left-padded with zeros to `width` digits. */
  private digits(n: number, width: number): void {
    let count = 1;
    for (let p = 10; p <= n; p *= 10) count++;
    if (count < width) count = width;
    this.room(count);
    const end = this.pos + count;
    for (let at = end - 1; at >= this.pos; at--) {
      const q = (n / 10) | 0;
      this.buf[at] = 48 + n - q * 10; // '0' + digit
      n = q;
    }
    this.pos = end;
  }

  /** The text of bytes [start, end), as a string. */
  text(start: number, end: number): string {
    return this.buf.toString('utf8', start, end);
  }
}

/** Where a reading comes from, as the per-device cache below needs it (contracts' DeviceRef). */
interface Device {
  deviceId: string;
  district: string;
  kind: string;
}

/**
 * The bytes an encoder writes for a reading's device (a line protocol's measurement and tags, a JSON object's head),
 * made once per device and made again if the device appears under another district or kind. Bounded: cleared when
 * full.
 */
export class DeviceBytes {
  private readonly cache = new Map<string, { district: string; kind: string; bytes: Buffer }>();

  constructor(private readonly encode: (d: Device) => string) {}

  get(d: Device): Buffer {
    let c = this.cache.get(d.deviceId);
    if (c === undefined || c.district !== d.district || c.kind !== d.kind) {
      if (this.cache.size >= 100_000) this.cache.clear();
      c = { district: d.district, kind: d.kind, bytes: Buffer.from(this.encode(d)) };
      this.cache.set(d.deviceId, c);
    }
    return c.bytes;
  }
}

/**
 * The bytes of a name as an encoder writes it before a value (`name=` in line protocol, `"name":` in JSON), with a
 * leading comma for every member but an object's first, made once per name. Bounded: cleared when full.
 */
export class NameBytes {
  private readonly first = new Map<string, Buffer>();
  private readonly next = new Map<string, Buffer>();

  constructor(private readonly encode: (name: string) => string) {}

  get(name: string, first: boolean): Buffer {
    const cache = first ? this.first : this.next;
    let b = cache.get(name);
    if (b === undefined) {
      if (cache.size >= 10_000) cache.clear();
      b = Buffer.from((first ? '' : ',') + this.encode(name));
      cache.set(name, b);
    }
    return b;
  }
}
