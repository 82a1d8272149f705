// The composition root: wires broker, store, bus, ingest, API and the simulated fleet into one running platform.
// `npm start` runs it with the embedded defaults (ROLE=all); production runs several processes of ROLE=ingest and
// one ROLE=api against Mosquitto, InfluxDB and Kafka. Tests and benchmarks start it in-process.
// Each part is a named step (app/parts/) that runs in the ROLEs it lists, returns what it serves and stops in
// reverse order of start; app/README.md's role table is checked against PARTS (app/platform.test.ts).
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../bus/types.js';
import type { AlertManager } from '../alerts/manager.js';
import type { Ingest } from '../ingest/ingest.js';
import type { Logger } from '../runtime/log.js';
import { diskMetrics } from '../runtime/disk.js';
import type { Store } from '../store/types.js';
import type { CaseService } from '../cases/service.js';
import type { EventStore } from '../review/store.js';
import { takeMigrations } from '../store/duckdb/schema.js';
import type { AppConfig } from './config.js';
import { alerts, detectors, duty } from './parts/alerts.js';
import { consoleStep, statistics } from './parts/console.js';
import { gateway } from './parts/gateway.js';
import { http } from './parts/http.js';
import { ingest, nbiot } from './parts/ingest.js';
import { notices, review, reviewIntake } from './parts/review.js';
import { StepRunner, type Step } from './parts/step.js';
import { backupAgent, evidenceStore, retention, storeAndBus } from './parts/storage.js';
import { closedApi, users } from './parts/users.js';
import { cameraFeed, cameraRegistry, vision } from './parts/vision.js';

export interface Platform {
  mqttUrl: string | null;
  /** The embedded broker's MQTT over TLS port, when it serves one (MQTT_TLS_CERT). */
  mqttTlsPort: number | null;
  apiUrl: string;
  store: Store;
  bus: Bus;
  ingest: Ingest | null;
  alerts: AlertManager | null;
  events: EventStore | null;
  cases: CaseService | null;
  api: FastifyInstance;
  /** The HJ 212 server's port, when it runs (HJ212_PORT=0 picks a free one). */
  hj212Port: number | null;
  /** Passwords of the embedded broker's platform accounts and simulated devices (MQTT_AUTH on). */
  mqttPasswords: Map<string, string> | null;
  stop(): Promise<void>;
}

/** The platform's parts in the order they start; each runs in the roles it lists (app/README.md's table). */
export const PARTS: readonly Step<never, unknown>[] = [
  storeAndBus,
  cameraRegistry,
  users,
  closedApi,
  evidenceStore,
  alerts,
  reviewIntake,
  consoleStep,
  detectors,
  ingest,
  vision,
  notices,
  review,
  statistics,
  duty,
  nbiot,
  retention,
  http,
  gateway,
  cameraFeed,
  backupAgent,
];

export async function startPlatform(cfg: AppConfig, log: Logger): Promise<Platform> {
  const registry = new Registry();
  diskMetrics(registry, { data: cfg.dataDir, evidence: cfg.EVIDENCE_DIR });
  // Stopped before everything else: the detectors (app/parts/alerts.ts says why); then the rest in reverse order.
  const steps = new StepRunner({ cfg, log, registry }, PARTS);
  try {
    const { store, bus } = await steps.run(storeAndBus, () => ({}));
    const cameras = (await steps.run(cameraRegistry, () => ({})))?.cameraRegistry ?? null;
    // The review queue's store, opened after the users' audit trail that reads its decisions.
    let events: EventStore | null = null;
    const u = await steps.run(users, () => ({ cameraRegistry: cameras!, bus, store, events: () => events }));
    await steps.run(closedApi, () => ({}));
    const { evidence } = await steps.run(evidenceStore, () => ({}));
    const a = await steps.run(alerts, () => ({ bus, store, cameraRegistry: cameras! }));
    const rc = await steps.run(reviewIntake, () => ({ bus, store, alerts: a!.alerts, devices: a!.devices, evidence }));
    events = rc?.events ?? null;
    await steps.run(consoleStep, () => ({ bus, alerts: a!.alerts, devices: a!.devices, auditTrail: u?.auditTrail }));
    await steps.run(detectors, () => ({ bus, store }));
    const ing = await steps.run(ingest, () => ({ store, bus }));
    const mqtt = { mqttUrl: ing?.mqttUrl ?? null, mqttPasswords: ing?.mqttPasswords ?? null };
    await steps.run(vision, () => ({ cameraRegistry: cameras!, evidence, bus, store }));
    const n = await steps.run(notices, () => ({
      store,
      bus,
      evidence,
      events: rc!.events,
      cases: rc!.cases,
      cameraRegistry: cameras!,
      consoleCameras: u?.consoleCameras ?? null,
      ...mqtt,
    }));
    await steps.run(review, () => ({
      events: rc!.events,
      cases: rc!.cases,
      notices: n?.notices ?? null,
      annotateEvent: n?.annotateEvent,
    }));
    const cases = rc?.cases ?? null;
    await steps.run(statistics, () => ({
      store,
      alerts: a?.alerts ?? null,
      events,
      notices: n?.notices ?? null,
      cases,
      devicePlaces: a?.devicePlaces,
      cameraRegistry: cameras,
    }));
    await steps.run(duty, () => ({ alerts: a!.alerts }));
    await steps.run(nbiot, () => mqtt);
    const r = await steps.run(retention, () => ({ store, enforcement: n?.enforcementRecords }));
    const { api, apiPort } = await steps.run(http, () => ({
      store,
      bus,
      ingest: ing?.ingest ?? null,
      alerts: a?.alerts ?? null,
      events,
      evidence,
      annotateEvent: n?.annotateEvent,
      plugins: [...steps.routes],
      retention: r?.retention ?? null,
    }));
    const g = await steps.run(gateway, () => ({ ...mqtt, fleet: ing!.fleet }));
    await steps.run(cameraFeed, () => ({ bus }));
    await steps.run(backupAgent, () => ({}));
    for (const m of takeMigrations())
      log.info(m, 'store file migrated to its schema version (the file as it was is kept beside it)');
    return {
      ...mqtt,
      mqttTlsPort: ing?.broker?.tlsPort ?? null,
      apiUrl: `${cfg.https ? 'https' : 'http'}://127.0.0.1:${apiPort}`,
      store,
      bus,
      ingest: ing?.ingest ?? null,
      alerts: a?.alerts ?? null,
      events,
      cases,
      api,
      hj212Port: g?.hj212Port ?? null,
      stop: steps.stop,
    };
  } catch (e) {
    await steps.stop();
    throw e;
  }
}
