// HJ 212 framing, without I/O: `##` + 4-digit decimal length of the data segment + data segment + 4 hex CRC + CRLF.
// FrameSplitter cuts a TCP byte stream (frames split across segments, several frames in one segment, garbage in
// between) into frames; decodeFrame checks a frame's length and CRC and returns its data segment.
//
// Memory is bounded: the splitter never holds more than maxFrameBytes of one frame (plus the chunk being read) and
// keeps at most KEEP_BYTES of anything it reports as bad. A frame that has not ended after maxFrameBytes is fatal:
// the stream cannot be resynchronised safely, so the caller closes the connection.
import { hj212Crc } from './crc.js';

/** The bytes of a bad frame or of garbage kept for the dead letter (the rest is only counted). */
export const KEEP_BYTES = 4096;

/** `##` + 4 length digits + 9999 data bytes + 4 CRC + CRLF: the largest frame the length field can describe. */
export const MAX_POSSIBLE_FRAME = 2 + 4 + 9999 + 4 + 2;

const HASH = 0x23; // '#'
const CR = 0x0d;
const LF = 0x0a;

export type SplitEvent =
  /** A complete frame whose CRLF is where its length field says; CRC not checked yet (see decodeFrame). */
  | { kind: 'frame'; raw: Buffer }
  /**
   * Bytes that are not a frame: garbage, a frame whose length is wrong or that was cut short. raw holds at most
   * KEEP_BYTES of them (bytes says how many there were). fatal: the stream cannot continue; close the connection.
   */
  | { kind: 'bad'; raw: Buffer; bytes: number; reason: string; fatal: boolean };

export interface SplitterStats {
  frames: number;
  bad: number;
  /** CR, LF, NUL, spaces and tabs between frames: keep-alive bytes of some loggers, skipped silently. */
  skippedBytes: number;
}

const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;
const isFiller = (b: number) => b === CR || b === LF || b === 0 || b === 0x20 || b === 0x09;

/** Index of `##` followed by 4 digits at or after `from` (and before `to`), or -1. */
function frameStart(buf: Buffer, from: number, to = buf.length): number {
  let i = buf.indexOf('##', from, 'latin1');
  while (i !== -1 && i < to) {
    if (isDigit(buf[i + 2]) && isDigit(buf[i + 3]) && isDigit(buf[i + 4]) && isDigit(buf[i + 5])) return i;
    i = buf.indexOf('##', i + 1, 'latin1');
  }
  return -1;
}

const printable = (b: Buffer) => JSON.stringify(b.subarray(0, 24).toString('latin1'));

export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  /** Garbage seen since the last frame: the first KEEP_BYTES of it, and how much there was. */
  private garbage: Buffer[] = [];
  private garbageKept = 0;
  private garbageBytes = 0;
  private garbageFiller = true;
  private dead = false;
  readonly stats: SplitterStats = { frames: 0, bad: 0, skippedBytes: 0 };

  constructor(private readonly maxFrameBytes: number = MAX_POSSIBLE_FRAME) {}

  /** True after a fatal event: push() ignores further input. */
  get closed(): boolean {
    return this.dead;
  }

  /** Bytes held while waiting for the rest of a frame (bounded by maxFrameBytes). */
  get pendingBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): SplitEvent[] {
    const out: SplitEvent[] = [];
    if (this.dead || chunk.length === 0) return out;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.scan(out);
    return out;
  }

  /** The stream ended: whatever is left is reported (garbage, or a frame the connection cut short). */
  end(): SplitEvent[] {
    const out: SplitEvent[] = [];
    if (this.dead) return out;
    if (this.buf.length > 0) {
      if (this.buf.length >= 2 && this.buf[0] === HASH && this.buf[1] === HASH) {
        this.flushGarbage(out);
        this.bad(out, this.buf, `connection closed inside a frame (${this.buf.length} bytes, no CRLF)`, false);
      } else {
        this.addGarbage(this.buf);
        this.flushGarbage(out);
      }
      this.buf = Buffer.alloc(0);
    } else this.flushGarbage(out);
    this.dead = true;
    return out;
  }

  private scan(out: SplitEvent[]): void {
    while (this.buf.length > 0 && !this.dead) {
      let s = this.buf.indexOf('##', 0, 'latin1');
      // "###0101..." : the frame starts at the last '#' of the run.
      while (s !== -1 && this.buf[s + 2] === HASH) s++;
      if (s === -1) {
        // No frame start: all garbage, except a last '#' that may be half of the next "##".
        const keep = this.buf[this.buf.length - 1] === HASH ? 1 : 0;
        this.addGarbage(this.buf.subarray(0, this.buf.length - keep));
        this.buf = this.buf.subarray(this.buf.length - keep);
        if (this.garbageBytes + this.buf.length >= this.maxFrameBytes) {
          this.addGarbage(this.buf);
          this.flushGarbage(out, `${this.garbageBytes} bytes without a frame start "##"`, true);
        }
        return;
      }
      if (s > 0) {
        this.addGarbage(this.buf.subarray(0, s));
        this.buf = this.buf.subarray(s);
      }
      this.flushGarbage(out);
      if (!this.frameAtStart(out)) return;
    }
  }

  /** Handles the frame starting at buf[0] ("##"). Returns false when more bytes are needed. */
  private frameAtStart(out: SplitEvent[]): boolean {
    const buf = this.buf;
    const crlf = buf.indexOf('\r\n', 2, 'latin1');
    if (buf.length < 6) {
      if (crlf === -1) return false;
      return this.cut(out, crlf + 2, `frame ends after ${crlf + 2} bytes, before its length field`);
    }
    const lenField = buf.subarray(2, 6);
    if (!(isDigit(lenField[0]) && isDigit(lenField[1]) && isDigit(lenField[2]) && isDigit(lenField[3]))) {
      const next = frameStart(buf, 2);
      const end = crlf !== -1 && (next === -1 || crlf < next) ? crlf + 2 : next;
      if (end === -1) return this.waitOrDie(out);
      return this.cut(out, end, `length field ${printable(lenField)} is not 4 decimal digits`);
    }
    const declared = Number(lenField.toString('latin1'));
    const expectedEnd = 6 + declared + 4 + 2;
    if (crlf === expectedEnd - 2) {
      const raw = buf.subarray(0, expectedEnd);
      this.buf = buf.subarray(expectedEnd);
      this.stats.frames++;
      out.push({ kind: 'frame', raw });
      return true;
    }
    if (crlf !== -1) {
      // The CRLF is not where the length says. A new frame may start before it (this one was cut short).
      const next = frameStart(buf, 2, crlf);
      if (next !== -1)
        return this.cut(
          out,
          next,
          `frame cut short: declared data length ${declared}, a new frame starts after ${next} bytes`,
        );
      const actual = crlf - 6 - 4;
      return this.cut(out, crlf + 2, `${lengthReason(declared, actual)}${crcNote(buf, 6, crlf - 4)}`);
    }
    if (buf.length >= expectedEnd) {
      // Long enough but no CRLF at its end: cut at a new frame start if one is already there, else wait for CRLF.
      const next = frameStart(buf, 2);
      if (next !== -1)
        return this.cut(out, next, `frame cut short: declared data length ${declared}, no CRLF before the next frame`);
    }
    return this.waitOrDie(out);
  }

  /** More bytes may complete the frame, unless it is already as long as a frame may be. */
  private waitOrDie(out: SplitEvent[]): boolean {
    if (this.buf.length < this.maxFrameBytes) return false;
    this.bad(out, this.buf, `no CRLF within ${this.maxFrameBytes} bytes (maxFrameBytes): line too long`, true);
    this.buf = Buffer.alloc(0);
    this.dead = true;
    return false;
  }

  private cut(out: SplitEvent[], end: number, reason: string): boolean {
    this.bad(out, this.buf.subarray(0, end), reason, false);
    this.buf = this.buf.subarray(end);
    return true;
  }

  private bad(out: SplitEvent[], raw: Buffer, reason: string, fatal: boolean): void {
    this.stats.bad++;
    // Copy: raw may be a view on a large buffer we are about to drop.
    out.push({ kind: 'bad', raw: Buffer.from(raw.subarray(0, KEEP_BYTES)), bytes: raw.length, reason, fatal });
  }

  private addGarbage(b: Buffer): void {
    if (b.length === 0) return;
    this.garbageBytes += b.length;
    if (this.garbageFiller)
      for (const x of b)
        if (!isFiller(x)) {
          this.garbageFiller = false;
          break;
        }
    if (this.garbageKept < KEEP_BYTES) {
      const part = b.subarray(0, KEEP_BYTES - this.garbageKept);
      this.garbage.push(Buffer.from(part));
      this.garbageKept += part.length;
    }
  }

  private flushGarbage(out: SplitEvent[], reason?: string, fatal = false): void {
    if (this.garbageBytes === 0) return;
    if (this.garbageFiller && !fatal) this.stats.skippedBytes += this.garbageBytes;
    else {
      this.stats.bad++;
      out.push({
        kind: 'bad',
        raw: Buffer.concat(this.garbage),
        bytes: this.garbageBytes,
        reason: reason ?? `${this.garbageBytes} bytes of garbage before a frame start "##"`,
        fatal,
      });
    }
    if (fatal) {
      this.dead = true;
      this.buf = Buffer.alloc(0);
    }
    this.garbage = [];
    this.garbageKept = 0;
    this.garbageBytes = 0;
    this.garbageFiller = true;
  }
}

function lengthReason(declared: number, actual: number): string {
  return actual < 0
    ? `length field says ${declared} but the frame is too short to hold a CRC`
    : `length field says ${declared} but the data segment is ${actual} bytes`;
}

function crcNote(buf: Buffer, segStart: number, segEnd: number): string {
  if (segEnd < segStart || segEnd + 4 > buf.length) return '';
  const sent = buf.subarray(segEnd, segEnd + 4).toString('latin1');
  const computed = hexCrc(buf, segStart, segEnd);
  return sent.toUpperCase() === computed
    ? ''
    : `; CRC ${JSON.stringify(sent)} does not match either (computed ${computed})`;
}

function hexCrc(buf: Buffer, start: number, end: number): string {
  return hj212Crc(buf, start, end).toString(16).toUpperCase().padStart(4, '0');
}

export type DecodeResult =
  | { ok: true; segment: string }
  /** crcOnly: length and layout were right, only the CRC failed; segment is then the (untrusted) data segment. */
  | { ok: false; reason: string; crcOnly?: boolean; segment?: string };

/**
 * Checks one frame (with or without its trailing CRLF): "##", the length field, the data length and the CRC
 * (compared case-insensitively). The data segment is returned as latin1 text, one character per byte.
 */
export function decodeFrame(raw: Buffer): DecodeResult {
  let end = raw.length;
  if (end >= 2 && raw[end - 2] === CR && raw[end - 1] === LF) end -= 2;
  if (end < 2 || raw[0] !== HASH || raw[1] !== HASH) return { ok: false, reason: 'frame does not start with "##"' };
  if (end < 10) return { ok: false, reason: `frame of ${end} bytes is too short for length field and CRC` };
  const lenField = raw.subarray(2, 6);
  if (!lenField.every((b) => isDigit(b))) {
    return { ok: false, reason: `length field ${printable(lenField)} is not 4 decimal digits` };
  }
  const declared = Number(lenField.toString('latin1'));
  const actual = end - 6 - 4;
  if (declared !== actual) return { ok: false, reason: `${lengthReason(declared, actual)}${crcNote(raw, 6, end - 4)}` };
  const sent = raw.subarray(end - 4, end).toString('latin1');
  const segment = raw.subarray(6, end - 4).toString('latin1');
  if (!/^[0-9A-Fa-f]{4}$/.test(sent)) {
    return { ok: false, reason: `CRC field ${JSON.stringify(sent)} is not 4 hex digits`, crcOnly: true, segment };
  }
  const computed = hexCrc(raw, 6, end - 4);
  if (sent.toUpperCase() !== computed) {
    return { ok: false, reason: `CRC mismatch: frame says ${sent}, computed ${computed}`, crcOnly: true, segment };
  }
  return { ok: true, segment };
}

/** A complete frame around a data segment (ASCII): length, CRC and CRLF added. */
export function encodeFrame(segment: string): Buffer {
  const data = Buffer.from(segment, 'latin1');
  if (data.length > 9999)
    throw new RangeError(`data segment of ${data.length} bytes does not fit the 4-digit length field`);
  const head = Buffer.from(`##${String(data.length).padStart(4, '0')}`, 'latin1');
  const tail = Buffer.from(`${hexCrc(data, 0, data.length)}\r\n`, 'latin1');
  return Buffer.concat([head, data, tail]);
}
