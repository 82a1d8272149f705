// The evidence store's S3 backend against a real S3-compatible server (versitygw, scripts/services.d/s3.sh): the
// same guarantees as the folder (durable before acknowledged, hash verified on read, private), its start-up checks,
// and a server killed with SIGKILL in the middle of a run of writes.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/helpers.js';
import { S3EvidenceBackend, type S3EvidenceOptions } from './s3.js';
import { EvidenceIntegrityError, EvidenceStore } from './store.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const env = process.env;
const opts = (): S3EvidenceOptions => ({
  endpoint: env.EVIDENCE_S3_ENDPOINT!,
  bucket: env.EVIDENCE_S3_BUCKET!,
  region: env.EVIDENCE_S3_REGION!,
  accessKeyId: env.EVIDENCE_S3_ACCESS_KEY_ID!,
  secretAccessKey: env.EVIDENCE_S3_SECRET_ACCESS_KEY!,
  // One prefix per run: the shared server keeps objects of earlier runs.
  prefix: `test-${process.pid}-${Date.now()}/`,
});

function s3(cmd: 'kill' | 'start'): void {
  execFileSync(path.join(ROOT, 'scripts/services.d/s3.sh'), [cmd], { stdio: 'inherit' });
}

const image = (n: number, bytes = 64 * 1024) => Buffer.concat([Buffer.from(`jpeg ${n} `), crypto.randomBytes(bytes)]);

describe('S3 evidence backend', () => {
  let backend: S3EvidenceBackend;
  let store: EvidenceStore;
  let o: S3EvidenceOptions;

  beforeAll(async () => {
    o = opts();
    backend = await S3EvidenceBackend.open(o);
    store = new EvidenceStore(backend);
  });
  afterAll(() => backend?.close());

  it('stores by hash, serves verified bytes, lists and deletes', async () => {
    const img = image(1);
    const put = await store.put(img);
    expect(put).toEqual({ sha256: EvidenceStore.sha256(img), bytes: img.length });
    expect(await store.put(img)).toEqual(put); // content-addressed: a repeat is the same object
    expect((await store.getVerified(put.sha256))!.equals(img)).toBe(true);
    const listed: string[] = [];
    for await (const h of store.list()) listed.push(h);
    expect(listed).toEqual([put.sha256]);
    expect(await store.delete(put.sha256)).toBe(true);
    expect(await store.delete(put.sha256)).toBe(false);
    expect(await store.getVerified(put.sha256)).toBeNull();
  });

  it('refuses to serve an object whose bytes no longer hash to its name', async () => {
    const put = await store.put(image(2));
    // Someone with write access to the bucket replaces the object behind the platform's back.
    const raw = new S3Client({
      region: o.region,
      endpoint: o.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    });
    await raw.send(
      new PutObjectCommand({ Bucket: o.bucket, Key: backend.keyOf(put.sha256), Body: Buffer.from('altered') }),
    );
    raw.destroy();
    await expect(store.getVerified(put.sha256)).rejects.toBeInstanceOf(EvidenceIntegrityError);
    expect(await store.verify(put.sha256)).toBe(false);
  });

  it('is refused by the server when the bytes that arrive do not match the hash sent with them', async () => {
    const raw = new S3Client({
      region: o.region,
      endpoint: o.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    });
    const sha256 = EvidenceStore.sha256(image(4));
    const damaged = new PutObjectCommand({
      Bucket: o.bucket,
      Key: backend.keyOf(sha256),
      Body: Buffer.from('damaged on the way'),
      ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
    });
    await expect(raw.send(damaged)).rejects.toThrow();
    raw.destroy();
    expect(await store.get(sha256)).toBeNull();
  });

  it('keeps evidence private: an unsigned GET of the object is refused', async () => {
    const put = await store.put(image(3, 1024));
    const res = await fetch(`${o.endpoint}/${o.bucket}/${backend.keyOf(put.sha256)}`);
    expect(res.status).toBe(403);
  });

  it('names the variable to fix when the bucket cannot be used', async () => {
    await expect(S3EvidenceBackend.open({ ...o, bucket: 'no-such-evidence-bucket' })).rejects.toThrow(
      /EVIDENCE_S3_BUCKET/,
    );
    await expect(S3EvidenceBackend.open({ ...o, secretAccessKey: 'wrong-secret-wrong-secret' })).rejects.toThrow(
      /EVIDENCE_S3_SECRET_ACCESS_KEY/,
    );
    const port = await freePort();
    await expect(S3EvidenceBackend.open({ ...o, endpoint: `http://127.0.0.1:${port}` })).rejects.toThrow(
      /EVIDENCE_S3_ENDPOINT/,
    );
  });

  it('loses nothing it acknowledged when the server is killed in the middle of writes', async () => {
    const images = Array.from({ length: 40 }, (_, i) => image(100 + i, 256 * 1024));
    const acked: Buffer[] = [];
    const failed: Buffer[] = [];
    let killed = false;
    try {
      // Four writers at a time, so several PUTs are in flight when the server dies after the tenth acknowledgement.
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < images.length) {
            const img = images[next++]!;
            try {
              await store.put(img);
              acked.push(img);
              if (acked.length === 10 && !killed) {
                killed = true;
                s3('kill');
              }
            } catch {
              failed.push(img);
            }
          }
        }),
      );
    } finally {
      if (killed) s3('start');
    }
    expect(killed).toBe(true);
    expect(failed.length).toBeGreaterThan(0); // the writes after the kill were refused to the caller, not acknowledged
    expect(acked.length + failed.length).toBe(images.length);
    for (const img of acked) expect((await store.getVerified(EvidenceStore.sha256(img)))?.equals(img)).toBe(true);
    // The caller (the vision worker) keeps what failed and writes it again once the server is back.
    for (const img of failed) await store.put(img);
    for (const img of failed) expect(await store.verify(EvidenceStore.sha256(img))).toBe(true);
  });
});
