// The evidence store: content-addressed files, so an image's name is its SHA-256 and anyone holding an event can
// check that the image they are shown is the one that was recorded. A local folder by default (two levels of
// fan-out keep directories small); the interface is small so an object store can stand in later.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface StoredEvidence {
  sha256: string;
  bytes: number;
}

/** A stored file whose content no longer hashes to its name: it was altered on disk and must not be served. */
export class EvidenceIntegrityError extends Error {
  constructor(
    readonly sha256: string,
    /** What the file on disk hashes to now. */
    readonly actual: string,
  ) {
    super(`evidence ${sha256} fails its integrity check: the file on disk hashes to ${actual}`);
  }
}

export class EvidenceStore {
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  static sha256(data: Buffer): string {
    return crypto.createHash('sha256').update(data).digest('hex');
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    return path.join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), `${sha256}.jpg`);
  }

  /** Writes the image durably (fsync, then rename) unless it is there already; returns its address. */
  async put(data: Buffer): Promise<StoredEvidence> {
    const sha256 = EvidenceStore.sha256(data);
    const file = this.pathOf(sha256);
    if (!fs.existsSync(file)) {
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
    return { sha256, bytes: data.length };
  }

  /** The image, or null when the store does not have it. */
  async get(sha256: string): Promise<Buffer | null> {
    try {
      return await fs.promises.readFile(this.pathOf(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /**
   * The image, checked against its name before it is handed out; null when absent. Throws EvidenceIntegrityError
   * for a file that was altered: what is served as evidence must be what was recorded. The whole file is hashed
   * before a byte is returned (evidence images are small JPEGs), so a tampered one is never partly sent.
   */
  async getVerified(sha256: string): Promise<Buffer | null> {
    const data = await this.get(sha256);
    if (data === null) return null;
    const actual = EvidenceStore.sha256(data);
    if (actual !== sha256) throw new EvidenceIntegrityError(sha256, actual);
    return data;
  }

  /** True when the file is there and its content still hashes to its name. */
  async verify(sha256: string): Promise<boolean> {
    const data = await this.get(sha256);
    return data !== null && EvidenceStore.sha256(data) === sha256;
  }
}
