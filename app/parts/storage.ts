// The parts every process has: the readings store and the bus, the evidence store, answers to `npm run backup`; and
// the retention job, which runs with the API.
import path from 'node:path';
import type { Bus } from '../../bus/types.js';
import { startBackupAgent } from '../../operations/backup/agent.js';
import { loadRetention, type RetentionConfig } from '../../operations/retention/config.js';
import { RetentionJob, type RetentionJobOptions } from '../../operations/retention/job.js';
import type { Logger } from '../../runtime/log.js';
import { DuckDbStore } from '../../store/duckdb/store.js';
import { InfluxStore } from '../../store/influxdb/store.js';
import type { Store } from '../../store/types.js';
import { openEvidenceStore } from '../../vision/evidence/open.js';
import type { EvidenceStore } from '../../vision/evidence/store.js';
import { influxOptions, openBus } from '../backends.js';
import type { AppConfig } from '../config.js';
import { EVERY_ROLE, type EveryRoleStep, type Step } from './step.js';

async function openStore(cfg: AppConfig, log: Logger): Promise<Store> {
  if (cfg.INFLUX_URL) {
    return InfluxStore.open(influxOptions(cfg, log));
  }
  return DuckDbStore.open({
    file: path.join(cfg.dataDir, 'city.duckdb'),
    memoryLimit: cfg.DUCKDB_MEMORY_LIMIT,
    threads: cfg.DUCKDB_THREADS,
  });
}

/** The readings store (DuckDB, or InfluxDB with INFLUX_*) and the bus (in-process, or Kafka with KAFKA_BROKERS). */
export const storeAndBus: EveryRoleStep<object, { store: Store; bus: Bus }> = {
  name: 'store and bus',
  roles: EVERY_ROLE,
  async start({ cfg, log, registry }, stops) {
    const store = await openStore(cfg, log);
    stops.add(() => store.close());
    log.info({ store: store.name }, 'store open');
    const bus = await openBus(cfg, log, registry);
    stops.add(() => bus.close());
    return { store, bus };
  },
};

/** The folder EVIDENCE_DIR, or the bucket of EVIDENCE_S3_* shared by several hosts (checked now: a wrong one stops here). */
export const evidenceStore: EveryRoleStep<object, { evidence: EvidenceStore }> = {
  name: 'evidence',
  roles: EVERY_ROLE,
  async start({ cfg }, stops) {
    const { evidence, close: closeEvidence } = await openEvidenceStore(cfg);
    stops.add(async () => closeEvidence());
    return { evidence };
  },
};

/**
 * Retention (config/retention.json) runs with the API, which reads the dead letters and the records anyway: ingest
 * then only writes, and its InfluxDB token can be write-only (docs/deploy.md, "InfluxDB tokens").
 */
export const retention: Step<
  { store: Store; enforcement: RetentionJobOptions['enforcement'] },
  { retention: RetentionConfig }
> = {
  name: 'retention',
  roles: ['all', 'api'],
  async start({ cfg, log, registry, store, enforcement }, stops) {
    const config = loadRetention(cfg.RETENTION_FILE);
    const job = new RetentionJob({ config, store, enforcement, logger: log.child({ part: 'retention' }), registry });
    job.start();
    stops.add(() => job.stop());
    return { retention: config };
  },
};

/** Answers `npm run backup` with consistent copies of the DuckDB files this process holds (operations/backup/). */
export const backupAgent: EveryRoleStep<object, object> = {
  name: 'backup agent',
  roles: EVERY_ROLE,
  async start({ cfg, log }, stops) {
    const agent = await startBackupAgent({ dataDir: cfg.dataDir, logger: log.child({ part: 'backup' }) });
    stops.add(() => agent.stop());
    return {};
  },
};
