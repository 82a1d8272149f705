// Text written as bytes into one reused, growing buffer, for the encoders on ingest's hot path (InfluxDB line
// protocol, readings on the bus). At 200,000 readings/s, building their text as strings per reading and converting it
// to bytes afterwards was most of what ingest allocated, and collecting it a third of its CPU (issue 19). Here only a
// float that no decimal of six places gives is written through a string; the rest is written as bytes.
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

  /**
   * A number as JavaScript (and JSON, for finite numbers) writes it. Safe integers, and decimals of up to six places
   * below 1e9 (a sensor's 63.4), without a string: String() of each float was the largest allocation left in
   * encoding lines (issue 19).
   */
  number(n: number): void {
    if (!Number.isSafeInteger(n)) {
      if (!this.decimal(n)) this.ascii(String(n));
      return;
    }
    if (n < 0) {
      this.byte(45); // '-'
      n = -n;
    }
    if (n < 1e9) return this.digits(n, 0);
    // A ms timestamp: the high part, then the low nine digits zero-padded, each in small-integer arithmetic.
    const high = Math.floor(n / 1e9);
    this.digits(high, 0);
    this.digits(n - high * 1e9, 9);
  }

  /**
   * A non-integer n with 1e-6 <= |n| < 1e9 that some decimal of d <= 6 places parses to, written as that decimal
   * with the fewest places; false for any other n. Why this is String(n): m / 10^d, both exact, is the double nearest
   * the decimal m·10^-d, as parsing it is, so the test is exact; the first d that passes gives the fewest digits
   * (a trailing zero would have passed at d - 1); and with at most 15 significant digits no other decimal of d places
   * parses to n, so it is the one JavaScript chooses.
   */
  private decimal(n: number): boolean {
    const a = n < 0 ? -n : n;
    if (!(a >= 1e-6 && a < 1e9)) return false; // NaN and the infinities fail here too
    for (let d = 1, scale = 10; d <= 6; d++, scale *= 10) {
      const m = Math.round(a * scale);
      if (m / scale !== a) continue;
      if (n < 0) this.byte(45); // '-'
      const fraction = m % scale;
      this.digits((m - fraction) / scale, 0);
      this.byte(46); // '.'
      this.digits(fraction, d);
      return true;
    }
    return false;
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

  /** Bytes [start, end), a view of the buffer (no copy): valid until the writer grows or is written again there. */
  view(start: number, end: number): Buffer {
    return this.buf.subarray(start, end);
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
