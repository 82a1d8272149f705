// Message ids seen recently, so that a push the platform retries (or delivers twice) is published once. Bounded by
// count and age, and kept across restarts in an append-only file that is compacted when it has grown to twice what
// it holds. Losing the last lines in a power cut only means a retry is published again: the stores are idempotent
// on (device, metric, ts), so the reading is still stored once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface SeenIdsOptions {
  maxIds: number;
  maxAgeMs: number;
}

// One id per line: "<epoch ms>\t<id>". Ids that could break a line are stored as their hash.
const key = (id: string) =>
  /^[\x21-\x7e]{1,256}$/.test(id) ? id : `h:${crypto.createHash('sha256').update(id).digest('hex')}`;

export class SeenIds {
  private readonly ids = new Map<string, number>();
  private fd: number;
  private lines = 0;

  private constructor(
    private readonly file: string,
    private readonly o: SeenIdsOptions,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const oldest = Date.now() - o.maxAgeMs;
    for (const line of text.split('\n')) {
      const tab = line.indexOf('\t');
      if (tab <= 0) continue; // a torn last line after a crash
      const at = Number(line.slice(0, tab));
      const id = line.slice(tab + 1);
      if (!Number.isFinite(at) || id === '' || at < oldest) continue;
      this.ids.delete(id);
      this.ids.set(id, at);
    }
    this.evict(Date.now());
    this.fd = this.rewrite();
  }

  static open(file: string, o: SeenIdsOptions): SeenIds {
    return new SeenIds(file, o);
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    const at = this.ids.get(key(id));
    return at !== undefined && at >= Date.now() - this.o.maxAgeMs;
  }

  add(id: string, at = Date.now()): void {
    const k = key(id);
    this.ids.delete(k);
    this.ids.set(k, at);
    fs.writeSync(this.fd, `${at}\t${k}\n`);
    this.lines++;
    this.evict(at);
    if (this.lines > 2 * Math.max(this.ids.size, this.o.maxIds / 2)) {
      fs.closeSync(this.fd);
      this.fd = this.rewrite();
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** Oldest first: a Map iterates in insertion order, and ids are added as they arrive. */
  private evict(now: number): void {
    const oldest = now - this.o.maxAgeMs;
    for (const [id, at] of this.ids) {
      if (this.ids.size <= this.o.maxIds && at >= oldest) break;
      this.ids.delete(id);
    }
  }

  /** Writes what is held to a new file, swaps it in, and returns a descriptor for appending to it. */
  private rewrite(): number {
    const tmp = `${this.file}.tmp`;
    let out = '';
    for (const [id, at] of this.ids) out += `${at}\t${id}\n`;
    fs.writeFileSync(tmp, out);
    fs.renameSync(tmp, this.file);
    this.lines = this.ids.size;
    return fs.openSync(this.file, 'a');
  }
}
