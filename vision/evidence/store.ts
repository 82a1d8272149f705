// The evidence store: content-addressed files, so an image's name is its SHA-256 and anyone holding an event can
// check that the image they are shown is the one that was recorded. Where the bytes live is a backend: a local
// folder by default (file.ts), an S3-compatible object store for several hosts (s3.ts). The guarantees are kept
// here, once for every backend: put resolves only when the bytes are durable, and what is served is hashed first.
import crypto from 'node:crypto';
import { FileEvidenceBackend } from './file.js';

export interface StoredEvidence {
  sha256: string;
  bytes: number;
}

/** Where evidence bytes live. Keys are SHA-256 hex strings, checked by EvidenceStore before a backend sees them. */
export interface EvidenceBackend {
  /** A short name for logs: `file` or `s3`. */
  readonly name: string;
  /** Stores the bytes under their hash; resolves only once they are durable (the caller may then forget them). */
  put(sha256: string, data: Buffer): Promise<void>;
  /** The bytes, or null when the backend does not have them. */
  get(sha256: string): Promise<Buffer | null>;
  /** Deletes them; false when they were not there. Only the retention job calls it (operations/retention/). */
  delete(sha256: string): Promise<boolean>;
  /** Every stored hash (retention walks it to find images no event refers to). */
  list(): AsyncIterable<string>;
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

const SHA256_HEX = /^[0-9a-f]{64}$/;

function checkAddress(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
  return sha256;
}

export class EvidenceStore {
  readonly backend: EvidenceBackend;

  /** A folder (the local default) or a backend such as S3EvidenceBackend. */
  constructor(where: string | EvidenceBackend) {
    this.backend = typeof where === 'string' ? new FileEvidenceBackend(where) : where;
  }

  static sha256(data: Buffer): string {
    return crypto.createHash('sha256').update(data).digest('hex');
  }

  /** The file of an image in the local folder backend (tests and tools that look at the disk). */
  pathOf(sha256: string): string {
    if (!(this.backend instanceof FileEvidenceBackend))
      throw new Error(`evidence is kept in ${this.backend.name}, not in a folder`);
    return this.backend.pathOf(checkAddress(sha256));
  }

  /** Writes the image durably unless it is there already; returns its address. */
  async put(data: Buffer): Promise<StoredEvidence> {
    const sha256 = EvidenceStore.sha256(data);
    await this.backend.put(sha256, data);
    return { sha256, bytes: data.length };
  }

  /** The image, or null when the store does not have it. */
  get(sha256: string): Promise<Buffer | null> {
    return this.backend.get(checkAddress(sha256));
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

  /** Deletes an image: for the retention job only, which checks the legal period and the holds first. */
  delete(sha256: string): Promise<boolean> {
    return this.backend.delete(checkAddress(sha256));
  }

  list(): AsyncIterable<string> {
    return this.backend.list();
  }
}
