// Line protocol of readings (docs/influxdb.md, Schema), written straight into one reused byte buffer and cut there
// into request bodies:
//   <kind>,device=<id>,district=<d> <metric>=<float>...,seq=<n or -1>i[,<metric>__flag="<F>"...] <ts ms>
// Why bytes and not a string per line: at 170,000 readings/s, building each line by string concatenation, measuring
// it (Buffer.byteLength) and joining the lines into a body allocated about 480 bytes a reading, half of all that
// ingest allocated (a sampling heap profile, issue 19); scavenges copying those strings while the batch waits for its
// write were a third of ingest's CPU.
import { escape } from '@influxdata/influxdb-client';
import type { StoredReading } from '../../contracts/index.js';
import { ByteWriter, DeviceBytes, NameBytes } from '../../runtime/bytes.js';
import { ident } from './influxql.js';

/**
 * The field every reading line carries: the reading's seq, or NO_SEQ when it has none. Several readings of a device at
 * one ts merge into one point, so count(seq) is the number of distinct timestamps, which no metric field can give (a
 * reading need not carry every metric); it also answers "how many readings per hour did each device send" for sensor
 * health. It took over that role from a separate `reading=1i` field, which cost InfluxDB a fifth of its CPU a point
 * (a field is a series of its own in InfluxDB's cache and files; issue 19). Points written before carry `reading`.
 */
export const SEQ_FIELD = 'seq';
/** seq of a reading that carries none (the contract's seq is never negative). */
export const NO_SEQ = -1;
/** The field that counted readings before SEQ_FIELD did: read, never written. */
export const LEGACY_READING_FIELD = 'reading';
/** A data flag other than N (HJ 212 F, M, D, ...) is a string field beside its metric: "<metric>__flag". */
export const FLAG_SUFFIX = '__flag';

/** Whether a field of a reading point is not a metric: seq, the legacy reading field, a flag. */
export const isNonMetric = (field: string): boolean =>
  field === SEQ_FIELD || field === LEGACY_READING_FIELD || field.endsWith(FLAG_SUFFIX);

/**
 * What counts a device's readings in InfluxQL: count(seq), or on points written before seq was on every line,
 * count(reading). Take the larger of the two per row (exact unless a window spans the upgrade; docs/influxdb.md).
 */
export const COUNT_READINGS = `count(${ident(SEQ_FIELD)}), count(${ident(LEGACY_READING_FIELD)})`;

const NEWLINE = 10;
const SPACE = 32;
const QUOTE = 34;
const INT = 105; // the "i" of an integer field
const SEQ = Buffer.from(`,${SEQ_FIELD}=`);
const SEQ_ALONE = Buffer.from(`${SEQ_FIELD}=`);

/** Lines of line protocol as bytes in one buffer, cut into request bodies when written. */
export class Lines {
  protected readonly out = new ByteWriter(1 << 14);
  /** Where each line ends (after its newline) in `out`: small integers, one backing store. */
  protected readonly ends: number[] = [];

  /** A line already written as text (a dead letter's). */
  text(line: string): void {
    this.out.bytes(Buffer.from(line));
    this.out.byte(NEWLINE);
    this.ends.push(this.out.pos);
  }

  get count(): number {
    return this.ends.length;
  }

  /**
   * The request bodies of lines [from, to): each holds at most maxLines lines and, newline included, maxBytes bytes
   * (a single longer line is a body of its own).
   */
  bodies(from: number, to: number, maxLines: number, maxBytes: number): Buffer[] {
    const bodies: Buffer[] = [];
    let first = from;
    while (first < to) {
      const start = first === 0 ? 0 : this.ends[first - 1]!;
      let end = first + 1;
      while (end < to && end - first < maxLines && this.ends[end]! - start <= maxBytes) end++;
      bodies.push(this.out.view(start, this.ends[end - 1]! - 1)); // without the last newline
      first = end;
    }
    return bodies;
  }
}

/** The lines of a batch of readings, encoded as the readings arrive. */
export class LineBatch extends Lines {
  constructor(private readonly encoder: ReadingLines) {
    super();
  }

  add(readings: readonly StoredReading[]): void {
    for (const r of readings) {
      this.encoder.line(this.out, r);
      this.ends.push(this.out.pos);
    }
  }
}

/** Line protocol for readings, with the escaping done once per device and per field name. */
export class ReadingLines {
  // escape.*'s regular expressions per reading were a tenth of ingest's time. Both caches are bounded.
  /** `<kind>,device=<id>,district=<d> `, escaped. */
  private readonly series = new DeviceBytes(
    (d) => `${escape.measurement(d.kind)},device=${escape.tag(d.deviceId)},district=${escape.tag(d.district)} `,
  );
  private readonly fields = new NameBytes((name) => `${escape.tag(name)}=`);

  /** Writes the reading's line, newline included. */
  line(w: ByteWriter, r: StoredReading): void {
    w.bytes(this.series.get(r));
    let first = true;
    for (const m in r.metrics) {
      w.bytes(this.fields.get(m, first));
      w.number(r.metrics[m]!);
      first = false;
    }
    w.bytes(first ? SEQ_ALONE : SEQ);
    w.number(r.seq ?? NO_SEQ);
    w.byte(INT);
    // Flags are letters checked by the contract (/^[A-Za-z]$/), safe inside a quoted string field.
    if (r.flags) {
      for (const m in r.flags) {
        w.bytes(this.fields.get(m + FLAG_SUFFIX, false));
        w.byte(QUOTE);
        w.ascii(r.flags[m]!);
        w.byte(QUOTE);
      }
    }
    w.byte(SPACE);
    w.number(r.ts);
    w.byte(NEWLINE);
  }
}
