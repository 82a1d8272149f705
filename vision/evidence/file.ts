// The local folder backend of the evidence store: $EVIDENCE_DIR/ab/cd/<sha256>.jpg (two levels of fan-out keep
// directories small), written with fsync then rename so a crash leaves either the whole file or none.
import fs from 'node:fs';
import path from 'node:path';
import type { EvidenceBackend } from './store.js';

export class FileEvidenceBackend implements EvidenceBackend {
  readonly name = 'file';

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  pathOf(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), `${sha256}.jpg`);
  }

  async put(sha256: string, data: Buffer): Promise<void> {
    const file = this.pathOf(sha256);
    if (fs.existsSync(file)) return;
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  }

  async get(sha256: string): Promise<Buffer | null> {
    try {
      return await fs.promises.readFile(this.pathOf(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async delete(sha256: string): Promise<boolean> {
    try {
      await fs.promises.unlink(this.pathOf(sha256));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async *list(): AsyncIterable<string> {
    for (const a of await readdirOrEmpty(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const b of await readdirOrEmpty(path.join(this.dir, a))) {
        for (const f of await readdirOrEmpty(path.join(this.dir, a, b))) {
          const m = /^([0-9a-f]{64})\.jpg$/.exec(f);
          if (m) yield m[1]!;
        }
      }
    }
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}
