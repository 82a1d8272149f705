// Store-and-forward buffer on local disk: an append-only log of records in segment files plus a committed cursor.
//
// A record is appended before it is sent and committed once the broker has acknowledged it, so whatever was not
// acknowledged when the broker went away or the agent was killed is sent again, in order, after restart. The cursor
// is saved at most every `cursorSaveMs`, so a kill can resend a few acknowledged records; the store is idempotent.
// The log is bounded: past `maxBytes` the oldest whole segment is dropped, counted and reported.
import fs from 'node:fs';
import path from 'node:path';

export interface DiskQueueOptions {
  maxBytes: number;
  segmentBytes: number;
  /** How often the committed cursor is written to disk. */
  cursorSaveMs: number;
  /** How often appended data is fsync'ed; survives power loss up to this window. 0 = never (tests). */
  fsyncMs: number;
  onDrop?: (records: number, bytes: number) => void;
}

interface Cursor {
  seg: number;
  off: number;
}

export interface Entry {
  readonly data: string;
  readonly seg: number;
  /** Byte offset just past this record's newline. */
  readonly end: number;
  acked: boolean;
  void: boolean;
}

const SEG_RE = /^(\d{10})\.seg$/;
const segName = (n: number) => `${String(n).padStart(10, '0')}.seg`;

export class DiskQueue {
  private segments: number[] = [];
  private sizes = new Map<number, number>();
  private fd = -1;
  private committed: Cursor;
  private readPos: Cursor;
  private outstanding: Entry[] = [];
  private cursorDirty = false;
  private dataDirty = false;
  private timers: NodeJS.Timeout[] = [];
  private last: string | null = null;
  /** Records dropped because the buffer was full, since this process started. */
  dropped = 0;

  private constructor(
    private readonly dir: string,
    private readonly o: DiskQueueOptions,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(dir)) {
      const m = SEG_RE.exec(f);
      if (m) this.segments.push(Number(m[1]));
    }
    this.segments.sort((a, b) => a - b);
    if (this.segments.length === 0) this.segments.push(1);
    this.committed = this.loadCursor();
    // Segments wholly before the cursor were delivered; a crash may have left them behind.
    while (this.segments.length > 1 && this.segments[0]! < this.committed.seg) this.unlinkSeg(this.segments.shift()!);
    if (this.committed.seg < this.segments[0]!) this.committed = { seg: this.segments[0]!, off: 0 };
    for (const s of this.segments) this.sizes.set(s, this.fileSize(s));
    this.repairTail();
    this.openWriter();
    this.readPos = { ...this.committed };
    this.timers.push(setInterval(() => this.saveCursor(), o.cursorSaveMs).unref());
    if (o.fsyncMs > 0) this.timers.push(setInterval(() => this.sync(), o.fsyncMs).unref());
  }

  static open(dir: string, o: DiskQueueOptions): DiskQueue {
    return new DiskQueue(dir, o);
  }

  private file(seg: number): string {
    return path.join(this.dir, segName(seg));
  }

  private fileSize(seg: number): number {
    try {
      return fs.statSync(this.file(seg)).size;
    } catch {
      return 0;
    }
  }

  private loadCursor(): Cursor {
    try {
      const c = JSON.parse(fs.readFileSync(path.join(this.dir, 'cursor.json'), 'utf8')) as Cursor;
      if (Number.isInteger(c.seg) && Number.isInteger(c.off)) return c;
    } catch {
      /* no cursor yet: start at the oldest segment */
    }
    return { seg: this.segments[0]!, off: 0 };
  }

  /** A kill during a write can leave half a record at the end of the last segment: cut it off. */
  private repairTail(): void {
    const seg = this.segments[this.segments.length - 1]!;
    const size = this.sizes.get(seg)!;
    if (size === 0) return;
    const fd = fs.openSync(this.file(seg), 'r+');
    try {
      const tailLen = Math.min(size, 1 << 20);
      const buf = Buffer.alloc(tailLen);
      fs.readSync(fd, buf, 0, tailLen, size - tailLen);
      const nl = buf.lastIndexOf(0x0a);
      const keep = nl < 0 ? size - tailLen : size - tailLen + nl + 1;
      if (keep !== size) {
        fs.ftruncateSync(fd, keep);
        this.sizes.set(seg, keep);
      }
      const text = buf.subarray(0, nl < 0 ? 0 : nl).toString('utf8');
      const prevNl = text.lastIndexOf('\n');
      if (text.length > 0) this.last = text.slice(prevNl + 1);
    } finally {
      fs.closeSync(fd);
    }
  }

  private openWriter(): void {
    const seg = this.segments[this.segments.length - 1]!;
    this.fd = fs.openSync(this.file(seg), 'a');
    if (!this.sizes.has(seg)) this.sizes.set(seg, 0);
  }

  /** The most recently appended record, also after a restart (drivers resume from it). */
  lastRecord(): string | null {
    return this.last;
  }

  append(data: string): void {
    if (data.includes('\n')) throw new Error('a buffered record must be a single line');
    let seg = this.segments[this.segments.length - 1]!;
    if (this.sizes.get(seg)! >= this.o.segmentBytes) {
      fs.closeSync(this.fd);
      seg += 1;
      this.segments.push(seg);
      this.sizes.set(seg, 0);
      this.openWriter();
    }
    const buf = Buffer.from(data + '\n', 'utf8');
    fs.writeSync(this.fd, buf);
    this.sizes.set(seg, this.sizes.get(seg)! + buf.length);
    this.last = data;
    this.dataDirty = true;
    this.enforceBound();
  }

  /** Bytes not yet acknowledged (including those in flight). */
  pendingBytes(): number {
    let n = 0;
    for (const s of this.segments) n += this.sizes.get(s)!;
    return n - (this.sizes.has(this.committed.seg) ? this.committed.off : 0);
  }

  /** True when records remain that have not been handed out by read(). */
  hasUnread(): boolean {
    const lastSeg = this.segments[this.segments.length - 1]!;
    if (this.readPos.seg < lastSeg) {
      // Only empty segments may follow the read position: then there is nothing left to read.
      return this.segments.some(
        (s) => s >= this.readPos.seg && this.sizes.get(s)! > (s === this.readPos.seg ? this.readPos.off : 0),
      );
    }
    return this.readPos.off < this.sizes.get(lastSeg)!;
  }

  /** Hands out up to `max` records in order; each must later be ack()ed. */
  read(max: number, maxBytes = 1 << 20): Entry[] {
    const out: Entry[] = [];
    while (out.length < max && this.hasUnread()) {
      const { seg, off } = this.readPos;
      const size = this.sizes.get(seg);
      // At the end of a segment, or on one already deleted because everything in it was acknowledged: go on.
      if (size === undefined || off >= size) {
        this.readPos = { seg: this.segments.find((s) => s > seg)!, off: 0 };
        continue;
      }
      const len = Math.min(size - off, maxBytes);
      const buf = Buffer.alloc(len);
      const rfd = fs.openSync(this.file(seg), 'r');
      try {
        fs.readSync(rfd, buf, 0, len, off);
      } finally {
        fs.closeSync(rfd);
      }
      let start = 0;
      let pos = off;
      while (out.length < max) {
        const nl = buf.indexOf(0x0a, start);
        if (nl < 0) break;
        pos = off + nl + 1;
        const e: Entry = { data: buf.toString('utf8', start, nl), seg, end: pos, acked: false, void: false };
        out.push(e);
        this.outstanding.push(e);
        start = nl + 1;
      }
      if (start === 0) {
        if (len === maxBytes) throw new Error(`buffered record larger than ${maxBytes} bytes in ${this.file(seg)}`);
        break;
      }
      this.readPos = { seg, off: pos };
    }
    return out;
  }

  /** Marks an entry delivered; the committed cursor advances over the delivered prefix. */
  ack(e: Entry): void {
    if (e.void) return;
    e.acked = true;
    let moved = false;
    while (this.outstanding.length > 0 && this.outstanding[0]!.acked) {
      const head = this.outstanding.shift()!;
      this.committed = { seg: head.seg, off: head.end };
      moved = true;
    }
    if (!moved) return;
    this.cursorDirty = true;
    // Delete segments that are fully delivered, but never the one being written.
    while (this.segments.length > 1 && this.segments[0]! < this.committed.seg) this.unlinkSeg(this.segments.shift()!);
    const first = this.segments[0]!;
    if (this.segments.length > 1 && first === this.committed.seg && this.committed.off >= this.sizes.get(first)!) {
      this.unlinkSeg(this.segments.shift()!);
      this.committed = { seg: this.segments[0]!, off: 0 };
    }
  }

  /** Forget what was handed out but not acknowledged: the next read() starts again at the committed cursor. */
  rewind(): void {
    for (const e of this.outstanding) e.void = true;
    this.outstanding = [];
    this.readPos = { ...this.committed };
  }

  private enforceBound(): void {
    while (this.pendingBytes() > this.o.maxBytes && this.segments.length > 1) {
      const seg = this.segments.shift()!;
      const from = seg === this.committed.seg ? this.committed.off : 0;
      const bytes = this.sizes.get(seg)! - from;
      const records = this.countLines(seg, from);
      this.unlinkSeg(seg);
      this.dropped += records;
      this.committed = { seg: this.segments[0]!, off: 0 };
      this.cursorDirty = true;
      if (this.readPos.seg <= seg) this.readPos = { ...this.committed };
      for (const e of this.outstanding) if (e.seg <= seg) e.void = true;
      this.outstanding = this.outstanding.filter((e) => !e.void);
      this.o.onDrop?.(records, bytes);
    }
  }

  private countLines(seg: number, from: number): number {
    const buf = fs.readFileSync(this.file(seg));
    let n = 0;
    for (let i = from; i < buf.length; i++) if (buf[i] === 0x0a) n++;
    return n;
  }

  private unlinkSeg(seg: number): void {
    fs.rmSync(this.file(seg), { force: true });
    this.sizes.delete(seg);
  }

  private saveCursor(): void {
    if (!this.cursorDirty) return;
    this.cursorDirty = false;
    const tmp = path.join(this.dir, 'cursor.json.tmp');
    fs.writeFileSync(tmp, JSON.stringify(this.committed));
    fs.renameSync(tmp, path.join(this.dir, 'cursor.json'));
  }

  private sync(): void {
    if (!this.dataDirty) return;
    this.dataDirty = false;
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.saveCursor();
    this.sync();
    fs.closeSync(this.fd);
  }
}
