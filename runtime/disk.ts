// Free and total space of the file systems the platform writes to, for Prometheus: the DuckDB files, dead letters and
// edge buffers under DATA_DIR and the evidence images under EVIDENCE_DIR grow until something deletes them, and a full
// disk stops every writer at once. Read at scrape time with statfs (no walk of the folders: cheap at any size).
import fs from 'node:fs/promises';
import { Gauge, type Registry } from 'prom-client';

/** `volumes`: a label per folder, e.g. `{ data: DATA_DIR, evidence: EVIDENCE_DIR }`. A folder not there yet is skipped. */
export function diskMetrics(registry: Registry, volumes: Record<string, string>): void {
  const read = async (dir: string) => fs.statfs(dir).catch(() => null);
  new Gauge({
    name: 'disk_free_bytes',
    help: 'Bytes available to this process on the file system holding each folder (DATA_DIR, EVIDENCE_DIR)',
    labelNames: ['volume', 'path'] as const,
    registers: [registry],
    async collect() {
      for (const [volume, dir] of Object.entries(volumes)) {
        const s = await read(dir);
        if (s) this.set({ volume, path: dir }, s.bavail * s.bsize);
      }
    },
  });
  new Gauge({
    name: 'disk_size_bytes',
    help: 'Size of the file system holding each folder (DATA_DIR, EVIDENCE_DIR)',
    labelNames: ['volume', 'path'] as const,
    registers: [registry],
    async collect() {
      for (const [volume, dir] of Object.entries(volumes)) {
        const s = await read(dir);
        if (s) this.set({ volume, path: dir }, s.blocks * s.bsize);
      }
    },
  });
}
