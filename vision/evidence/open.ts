// Which evidence backend a process uses: the bucket when EVIDENCE_S3_BUCKET is set (several hosts share it), else
// the folder EVIDENCE_DIR. One place, so the API, the vision worker and the retention job agree.
import { S3EvidenceBackend } from './s3.js';
import { EvidenceStore } from './store.js';

export interface EvidenceConfig {
  EVIDENCE_DIR: string;
  EVIDENCE_S3_BUCKET?: string | undefined;
  EVIDENCE_S3_ENDPOINT?: string | undefined;
  EVIDENCE_S3_REGION: string;
  EVIDENCE_S3_ACCESS_KEY_ID?: string | undefined;
  EVIDENCE_S3_SECRET_ACCESS_KEY?: string | undefined;
  EVIDENCE_S3_PREFIX: string;
}

export async function openEvidenceStore(c: EvidenceConfig): Promise<{ evidence: EvidenceStore; close: () => void }> {
  if (!c.EVIDENCE_S3_BUCKET) return { evidence: new EvidenceStore(c.EVIDENCE_DIR), close: () => undefined };
  const backend = await S3EvidenceBackend.open({
    bucket: c.EVIDENCE_S3_BUCKET,
    region: c.EVIDENCE_S3_REGION,
    accessKeyId: c.EVIDENCE_S3_ACCESS_KEY_ID!,
    secretAccessKey: c.EVIDENCE_S3_SECRET_ACCESS_KEY!,
    prefix: c.EVIDENCE_S3_PREFIX,
    ...(c.EVIDENCE_S3_ENDPOINT ? { endpoint: c.EVIDENCE_S3_ENDPOINT } : {}),
  });
  return { evidence: new EvidenceStore(backend), close: () => backend.close() };
}
