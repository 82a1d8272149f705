// The S3-compatible backend of the evidence store (EVIDENCE_S3_*): the same content-addressed keys as the folder
// (ab/cd/<sha256>.jpg under an optional prefix) in one private bucket, so several API and vision hosts share it.
// A put is acknowledged only after the server answered 200 to a PUT carrying the SHA-256 of the body, which the
// server checks before it stores the object: bytes damaged on the way are refused, never stored as evidence.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ConfigError } from '../../runtime/config.js';
import type { EvidenceBackend } from './store.js';

export interface S3EvidenceOptions {
  /** e.g. https://minio.city.internal:9000 (EVIDENCE_S3_ENDPOINT); AWS itself when absent. */
  endpoint?: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Key prefix inside the bucket, e.g. `evidence/`. */
  prefix?: string;
}

/** The bucket cannot be used with these settings: the message names the EVIDENCE_S3_* variable to fix. */
export class EvidenceS3ConfigError extends ConfigError {}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3EvidenceBackend implements EvidenceBackend {
  readonly name = 's3';

  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  /** Connects and checks that the bucket exists and these credentials reach it, so a wrong setting stops the start. */
  static async open(o: S3EvidenceOptions): Promise<S3EvidenceBackend> {
    const client = new S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      // Path-style (endpoint/bucket/key): MinIO and other on-premises servers have no per-bucket DNS names.
      forcePathStyle: Boolean(o.endpoint),
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      // Only the SHA-256 we send (below): the SDK's default CRC32 trailer is not understood by every S3 server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      await client.send(new HeadBucketCommand({ Bucket: o.bucket }));
    } catch (e) {
      client.destroy();
      const status = httpStatus(e);
      const where = o.endpoint ?? `AWS S3 (${o.region})`;
      if (status === 404)
        throw new EvidenceS3ConfigError(
          `bucket ${o.bucket} does not exist at ${where}: create it or set EVIDENCE_S3_BUCKET`,
        );
      if (status === 403 || status === 401) {
        throw new EvidenceS3ConfigError(
          `access to bucket ${o.bucket} at ${where} denied: check EVIDENCE_S3_ACCESS_KEY_ID and EVIDENCE_S3_SECRET_ACCESS_KEY`,
        );
      }
      const code = (e as { code?: string }).code ?? (e as Error).name;
      throw new EvidenceS3ConfigError(
        `cannot reach the evidence bucket at ${where} (${code}): check EVIDENCE_S3_ENDPOINT`,
      );
    }
    return new S3EvidenceBackend(client, o.bucket, o.prefix ?? '');
  }

  keyOf(sha256: string): string {
    return `${this.prefix}${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}.jpg`;
  }

  async put(sha256: string, data: Buffer): Promise<void> {
    const Key = this.keyOf(sha256);
    // Content-addressed: an object already under its hash is this image, so a repeat costs a HEAD, not an upload.
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return;
    } catch (e) {
      if (httpStatus(e) !== 404) throw e;
    }
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key,
        Body: data,
        ContentType: 'image/jpeg',
        ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
      }),
    );
  }

  async get(sha256: string): Promise<Buffer | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      if (httpStatus(e) === 404) return null;
      throw e;
    }
  }

  async delete(sha256: string): Promise<boolean> {
    const Key = this.keyOf(sha256);
    // S3's DELETE answers 204 whether or not the key existed: ask first, so the retention log counts what went.
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
    } catch (e) {
      if (httpStatus(e) === 404) return false;
      throw e;
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    return true;
  }

  async *list(): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) {
        const m = /([0-9a-f]{64})\.jpg$/.exec(o.Key ?? '');
        if (m) yield m[1]!;
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  close(): void {
    this.client.destroy();
  }
}
