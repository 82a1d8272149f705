// On-duty notification: rosters, robot messages, escalation, the acknowledge link (README.md).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../runtime/log.js';
import { loadDutyConfig } from './config.js';
import { dutyRoutes } from './routes.js';
import { DutyService, type DutyAlerts } from './service.js';
import { DutyStore } from './store.js';

export { dutyConfig, loadDutyConfig, DutyConfigSchema, type DutyConfig } from './config.js';
export { DutyService } from './service.js';
export { DutyStore } from './store.js';
export { dutyRoutes } from './routes.js';

/** The acknowledge links' key: made once, kept beside the data (owner-only), so links survive a restart. */
export function dutyLinkKey(dataDir: string): Buffer {
  const file = path.join(dataDir, 'duty-link.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
}

/** Starts the duty service for DUTY_FILE beside the alert service; returns its routes and how it stops. */
export async function startDuty(o: {
  file: string;
  dataDir: string;
  alerts: DutyAlerts;
  logger: Logger;
  sms?: { url: string; token: string };
}): Promise<{ routes: (app: FastifyInstance) => Promise<void>; close(): Promise<void> }> {
  const config = loadDutyConfig(o.file);
  const store = await DutyStore.open(path.join(o.dataDir, 'duty.duckdb'));
  const linkKey = dutyLinkKey(o.dataDir);
  const duty = new DutyService({ config, store, alerts: o.alerts, linkKey, logger: o.logger, sms: o.sms });
  duty.start();
  o.logger.info(
    { file: o.file, rosters: config.rosters.length },
    'duty rosters loaded: alerts call the people on duty',
  );
  return {
    routes: async (app) => {
      await app.register(dutyRoutes, { duty, alerts: o.alerts, linkKey });
    },
    async close() {
      await duty.close();
      await store.close();
    },
  };
}
