// The composition root: wires broker, store, bus, ingest, API and the simulated fleet into one running platform.
// `npm start` runs it with the embedded defaults (ROLE=all); production runs several processes of ROLE=ingest and
// one ROLE=api against Mosquitto, InfluxDB and Kafka. Tests and benchmarks start it in-process.
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../api/server.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded.js';
import { SERVICE_TOPICS } from '../broker/auth.js';
import { provisionMqttCredentials } from '../broker/credentials.js';
import { authPlugin, closedApiPlugin, startUsers } from '../users/index.js';
import type { Bus } from '../bus/types.js';
import { AlertManager } from '../alerts/manager.js';
import { startAlertService } from '../alerts/service.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { DetectorService } from '../analytics/service.js';
import { EdgeAgent } from '../edge/agent.js';
import { Ingest } from '../ingest/ingest.js';
import { ConfigError, parseConfig, readJsonFile } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import { makeFleet } from '../simulators/fleet.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { InfluxStore } from '../store/influxdb/store.js';
import type { Store } from '../store/types.js';
import type { AppConfig } from './config.js';
import { influxOptions, openBus } from './backends.js';
import { feedSimulatedCameras, simulatedCameras } from './camera-feed.js';
import { Hj212ConfigSchema } from '../edge/drivers/hj212/config.js';
import { loadNbiotConfig } from '../ingest/nbiot/config.js';
import { NBIOT_PATH, nbiotRoutes } from '../ingest/nbiot/routes.js';
import { startReviewIntake } from '../review/service.js';
import { ReviewService } from '../review/decisions.js';
import { CaseService, caseConfigFromEnv } from '../cases/service.js';
import { reviewRoutes } from '../review/routes.js';
import { consolePlugin } from '../console/plugin.js';
import { startCameras, withConsoleCameras, type CameraService } from '../cameras/index.js';
import { DeviceDirectory, deviceRoutes } from '../console/devices-route.js';
import { startDeviceRegistry } from '../devices/index.js';
import type { AuditEntry } from '../users/types.js';
import { auditRoutes } from '../users/audit-route.js';
import { rulesRoutes } from '../console/rules-route.js';
import { caseRoutes } from '../cases/routes.js';
import { EventStore } from '../review/store.js';
import { loadCameraRegistry } from '../vision/cameras/config.js';
import { loadModelsConfig } from '../vision/detectors/index.js';
import { openEvidenceStore } from '../vision/evidence/open.js';
import { loadRetention } from '../operations/retention/config.js';
import { RetentionJob, type RetentionJobOptions } from '../operations/retention/job.js';
import { PlateReader } from '../vision/ocr/index.js';
import { FrameRelay } from '../vision/relay.js';
import { VisionWorker, type PlateReading } from '../vision/worker.js';
import type { CameraRegistry } from '../vision/cameras/config.js';
import type { EventAnnotator } from '../review/routes.js';
import { loadNoticesConfig } from '../notices/config.js';
import { localDay } from '../runtime/time.js';
import { diskMetrics } from '../runtime/disk.js';
import { PartyRegistry, demoParties } from '../notices/parties.js';
import { ConsoleLogNotifier } from '../notices/notifiers/console-log.js';
import { SmsHttpNotifier } from '../notices/notifiers/sms-http.js';
import { LoudspeakerMqttNotifier } from '../notices/notifiers/loudspeaker-mqtt.js';
import type { Notifier } from '../notices/notifiers/types.js';
import { NoticeStore } from '../notices/store.js';
import { NoticeService } from '../notices/service.js';
import { noticeRoutes, noticeSummary, placesFromEvents } from '../notices/routes.js';
import type { Notice } from '../notices/types.js';
import { StatementStore, partyRoutes } from '../party/index.js';
import { loadLegalTexts, partyLimitsFromEnv } from '../party/config.js';
import { placeFromRegistry, storeSources, statsRoutes, type PlaceOf } from '../stats/index.js';
import { exportRoutes } from '../exports/routes.js';
import { reportRoutes } from '../reports/routes.js';
import { startDuty } from '../duty/index.js';
import { startBackupAgent } from '../operations/backup/agent.js';
import { takeMigrations } from '../store/duckdb/schema.js';

/** A plate reader opened at its first use (a failure to open is then logged with each plate it could not read). */
function lazyPlates(): PlateReading {
  let reader: Promise<PlateReader> | null = null;
  return { read: async (img, box) => (await (reader ??= PlateReader.open())).read(img, box) };
}

/** Notice statuses that end an event without a case. */
const FINAL_WITHOUT_CASE = new Set(['corrected', 'notice-only', 'not-enforcing', 'recheck-unavailable']);


const GATEWAY_ID = 'embedded-gateway';

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

export async function startPlatform(cfg: AppConfig, log: Logger): Promise<Platform> {
  const registry = new Registry();
  diskMetrics(registry, { data: cfg.dataDir, evidence: cfg.EVIDENCE_DIR });
  const stops: (() => Promise<void>)[] = [];
  // Stopped before everything else: the detectors. The platform stopping stops its own edge agent, whose devices then
  // report "agent stopped"; that is the platform going down, not twenty devices failing, and must not fire offline
  // alerts at the staff (an edge agent of its own that stops still does: its detectors keep running).
  const firstStops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of [...firstStops.splice(0), ...stops.splice(0).reverse()]) await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
  };
  try {
    const store = await openStore(cfg, log);
    stops.push(() => store.close());
    log.info({ store: store.name }, 'store open');

    let broker: EmbeddedBroker | null = null;
    let ingest: Ingest | null = null;
    let alerts: AlertManager | null = null;
    let mqttUrl: string | null = null;
    const bus = await openBus(cfg, log, registry);
    stops.push(() => bus.close());

    // The camera registry (plus the simulated cameras of the embedded default): the vision worker's cameras, and for
    // the API the published monitoring locations and whether a camera enforces yet.
    const simCameras = cfg.SIMULATE && cfg.ROLE === 'all' ? cfg.SIM_CAMERAS : 0;
    const cameraRegistry: CameraRegistry | null =
      cfg.ROLE === 'vision' || cfg.ROLE === 'all' || cfg.ROLE === 'api'
        ? (() => {
            const file = loadCameraRegistry(cfg.CAMERAS_FILE);
            // The demo's cameras count as published two months ago, so the demo shows notices and cases.
            // The scenes' shop labels (shop-1, shop-2, ...) are per scene, not ids: the demo's parties registry names the
            // shops in front of each zone instead.
            const sim = simulatedCameras(cfg.SIM_SEED, simCameras).map((c) => ({
              ...c,
              publishedAt: c.publishedAt ?? localDay(Date.now() - 60 * 86_400_000, file.timeZone),
              zones: c.zones.map((z) => (z.type === 'storefront' ? { ...z, shopId: undefined } : z)),
            }));
            return { ...file, cameras: [...file.cameras, ...sim] };
          })()
        : null;

    let events: EventStore | null = null;
    let consoleCameras: CameraService | null = null;
    let cases: CaseService | null = null;
    let review: ReviewService | null = null;
    let caseServiceRef: CaseService | null = null;
    const routePlugins: ((app: FastifyInstance) => Promise<void>)[] = [];
    let auditTrail: ((e: AuditEntry) => Promise<void>) | undefined;
    if (cfg.ROLE === 'all' || cfg.ROLE === 'api') {
      // Users and sessions: every /api route but the session one needs a signed-in user with the right role.
      const u = await startUsers({
        dataDir: cfg.dataDir,
        logger: log.child({ part: 'users' }),
        adminPassword: cfg.ADMIN_PASSWORD,
        sessionIdleMs: cfg.SESSION_IDLE_MINUTES * 60_000,
      });
      stops.push(() => u.close());
      routePlugins.push(async (app) => {
        await app.register(authPlugin, { users: u.users });
      });
      auditTrail = (e) => u.users.store.audit(e);
      // The audit trail for admins, with the review decisions kept in the events store (opened below).
      routePlugins.push(async (app) => {
        await app.register(auditRoutes, { list: (limit, f) => u.users.store.listAudit(limit, f), decisions: (q) => (events ? events.list(q) : Promise.resolve({ items: [] })) });
      });
      // Cameras and zones registered in the console (admin), published to every vision worker; in the embedded
      // default this process also reads their sources. The registry file's cameras win an id.
      const cams = await startCameras({
        dataDir: cfg.dataDir,
        fileCameras: cameraRegistry!.cameras,
        bus,
        audit: (e) => u.users.store.audit(e),
        deadLetters: store,
        models: loadModelsConfig(cfg.MODELS_FILE),
        logger: log.child({ part: 'cameras' }),
        feed: cfg.ROLE === 'all',
      });
      stops.push(() => cams.close());
      routePlugins.push(cams.routes);
      consoleCameras = cams.service;
    } else {
      // Processes without the users database serve no /api data at all.
      routePlugins.push(async (app) => {
        await app.register(closedApiPlugin);
      });
    }
    // The folder EVIDENCE_DIR, or the bucket of EVIDENCE_S3_* shared by several hosts (checked now: a wrong one stops here).
    const { evidence, close: closeEvidence } = await openEvidenceStore(cfg);
    stops.push(async () => closeEvidence());
    // What the retention job may delete past its period: the enforcement records, where this process keeps them.
    let enforcementRecords: RetentionJobOptions['enforcement'];
    // Where devices are, for the statistics' groups (district, grid cell, site): the device registry's.
    let devicePlaces: PlaceOf | undefined;
    if (cfg.ROLE === 'all' || cfg.ROLE === 'api') {
      // The alert service is the one writer of alert state; it runs beside the API that serves it.
      const alertStore = await DuckDbAlertStore.open(path.join(cfg.dataDir, 'alerts.duckdb'));
      stops.push(() => alertStore.close());
      // The device registry: where each device is, for alerts, cases and the map; the demo registers its fleet.
      const devices = await startDeviceRegistry({
        file: path.join(cfg.dataDir, 'device-registry.json'),
        districtsFile: cfg.MAP_DISTRICTS_FILE,
        gridFile: cfg.MAP_GRID_FILE,
        demo: cfg.SIMULATE && cfg.ROLE === 'all' ? { file: cfg.DEMO_DEVICES_FILE, cameras: cameraRegistry!.cameras } : null,
        logger: log.child({ part: 'devices' }),
        cameras: { bus, deadLetters: store },
      });
      stops.push(() => devices.close());
      devicePlaces = placeFromRegistry((id) => devices.registry.get(id));
      alerts = new AlertManager(alertStore, { placeOf: (id) => devices.registry.place(id) });
      const sub = await startAlertService({ bus, manager: alerts, deadLetters: store, logger: log.child({ part: 'alerts' }) });
      stops.push(() => sub.close());
      // Likewise the review queue: one writer of enforcement events.
      const eventStore = await EventStore.open(path.join(cfg.dataDir, 'events.duckdb'));
      events = eventStore;
      stops.push(() => eventStore.close());
      const intake = await startReviewIntake({ bus, store: eventStore, deadLetters: store, logger: log.child({ part: 'review' }) });
      stops.push(() => intake.close());
      // Cases: from confirmed events and case-worthy alerts, kept with their outbox, dispatched to the city's case
      // system (CASE_WEBHOOK_URL) or the built-in inbox.
      const caseService = await CaseService.open({
        config: caseConfigFromEnv(cfg, cfg.dataDir),
        logger: log.child({ part: 'cases' }),
        bus,
        registry,
        devicePlace: (id) => devices.casePlace(id),
      });
      cases = caseService;
      stops.push(() => caseService.close());
      await caseService.watchAlerts(alerts);
      caseServiceRef = caseService;
      routePlugins.push(async (app) => {
        await app.register(caseRoutes, { cases: caseService, events: eventStore, evidence });
      });
      // The console (served at /) and what its pages read: devices with their status, rules for chart lines.
      const directory = await DeviceDirectory.start({ bus, logger: log.child({ part: 'devices' }), alerts, snapshotFile: path.join(cfg.dataDir, 'devices.json') });
      stops.push(() => directory.close());
      routePlugins.push(async (app) => {
        await app.register(consolePlugin);
        await app.register(deviceRoutes, { directory, registry: devices.registry });
        await app.register(devices.routes, {
          audit: auditTrail,
          // Credentials go into the embedded broker's file, which it re-reads; an external broker keeps its own accounts.
          mqttCredentialsFile: cfg.ROLE === 'all' && !cfg.MQTT_URL && cfg.MQTT_AUTH ? path.join(cfg.dataDir, 'mqtt-credentials.json') : null,
          tileUrl: cfg.MAP_TILE_URL ?? null,
          tileAttribution: cfg.MAP_TILE_ATTRIBUTION,
        });
        await app.register(rulesRoutes, { rulesFile: cfg.RULES_FILE, logger: log.child({ part: 'api' }) });
      });
    }
    if (cfg.ROLE === 'all' || cfg.ROLE === 'detectors') {
      const detectors = new DetectorService({
        bus,
        deadLetters: store,
        rulesFile: cfg.RULES_FILE,
        logger: log.child({ part: 'detectors' }),
        registry,
        anomalyStateFile: path.join(cfg.DATA_DIR, 'anomaly-state.bin'),
      });
      await detectors.start();
      firstStops.push(() => detectors.stop());
    }

    // The simulated fleet is known before the broker starts: the broker needs each device's credentials.
    const fleet =
      cfg.SIMULATE && cfg.ROLE === 'all'
        ? makeFleet({
            seed: cfg.SIM_SEED,
            districts: cfg.SIM_DISTRICTS.split(',').map((d) => d.trim()).filter(Boolean),
            perKind: cfg.SIM_PER_KIND,
            groundTruth: path.join(cfg.dataDir, 'simulator', 'ground-truth.jsonl'),
            demoAt: Date.now(),
          })
        : [];
    let mqttPasswords: Map<string, string> | null = null;
    if (cfg.ROLE === 'all' || cfg.ROLE === 'ingest') {
      if (!cfg.MQTT_URL) {
        if (cfg.MQTT_AUTH) {
          // Own credentials for every simulated device and for the platform's own connections; fresh passwords
          // for the platform's accounts at every start, accounts an operator added are kept.
          const credFile = path.join(cfg.dataDir, 'mqtt-credentials.json');
          const creds = await provisionMqttCredentials(credFile, {
            devices: fleet.map((d) => ({ deviceId: d.id, district: d.district, kind: d.kind })),
            services: [
              { username: 'ingest', ...SERVICE_TOPICS.ingest },
              { username: GATEWAY_ID, ...SERVICE_TOPICS.gateway(GATEWAY_ID) },
              { username: 'nbiot', ...SERVICE_TOPICS.nbiot },
              { username: 'notices', ...SERVICE_TOPICS.notices },
            ],
          });
          mqttPasswords = creds.passwords;
          broker = await startEmbeddedBroker({ port: cfg.MQTT_PORT, host: cfg.HOST, logger: log, auth: creds.registry, authFile: credFile, tls: cfg.mqttTls ?? undefined });
        } else {
          log.warn('MQTT_AUTH=0: the embedded broker accepts any client and any topic (development only)');
          broker = await startEmbeddedBroker({ port: cfg.MQTT_PORT, host: cfg.HOST, logger: log, tls: cfg.mqttTls ?? undefined });
        }
        stops.push(() => broker!.close());
      }
      mqttUrl = cfg.MQTT_URL ?? broker!.url;
      ingest = new Ingest({
        mqttUrl,
        username: mqttPasswords ? 'ingest' : cfg.MQTT_USERNAME,
        password: mqttPasswords ? mqttPasswords.get('ingest') : cfg.MQTT_PASSWORD,
        caFile: cfg.MQTT_CA_FILE,
        // Stable per host so the broker keeps this instance's session (and its queued messages) across restarts.
        clientId: cfg.INGEST_CLIENT_ID ?? `ingest-${os.hostname()}`,
        // aedes speaks MQTT 3.1.1 only, so the embedded broker gets a plain subscription.
        shareGroup: broker || cfg.INGEST_SHARE_GROUP === '' ? undefined : cfg.INGEST_SHARE_GROUP,
        store,
        bus,
        logger: log.child({ part: 'ingest' }),
        registry,
        batchMaxReadings: cfg.INGEST_BATCH_MAX,
        batchMaxDelayMs: cfg.INGEST_BATCH_MS,
        maxPayloadBytes: cfg.INGEST_MAX_PAYLOAD_BYTES,
        receiveMaximum: cfg.INGEST_RECEIVE_MAXIMUM,
      });
      await ingest.start();
      stops.push(() => ingest!.stop());
    }

    // Vision: the camera registry (plus the simulated cameras of the embedded default), one worker per process, fed
    // by the bus; the frame relay brings frames from MQTT where cameras publish to a broker that speaks MQTT 5. The
    // worker runs without cameras too: an admin may add one in the console (bus topic "cameras").
    if (cfg.ROLE === 'all' || cfg.ROLE === 'vision') {
      const cameras = cameraRegistry!;
      {
        const worker = await VisionWorker.open({
          cameras,
          models: loadModelsConfig(cfg.MODELS_FILE),
          evidence,
          bus,
          deadLetters: store,
          logger: log.child({ part: 'vision' }),
          registry,
          // Without file cameras the OCR models (about 150 MB) are opened at the first plate a console camera needs.
          plates: !cfg.PLATES ? null : cameras.cameras.length > 0 ? await PlateReader.open() : lazyPlates(),
        });
        await worker.start();
        stops.push(() => worker.close());
      }
      if (cfg.MQTT_URL) {
        const relay = new FrameRelay({
          mqttUrl: cfg.MQTT_URL,
          username: cfg.MQTT_USERNAME,
          password: cfg.MQTT_PASSWORD,
          caFile: cfg.MQTT_CA_FILE,
          clientId: `frames-${os.hostname()}`,
          shareGroup: cfg.INGEST_SHARE_GROUP === '' ? undefined : 'frames',
          bus,
          deadLetters: store,
          logger: log.child({ part: 'frames' }),
        });
        await relay.start();
        stops.push(() => relay.stop());
      }
    }

    // The notify/re-check loop: a confirmed event is first told to the party (SMS, the camera's loudspeaker, the
    // console's log), re-checked after the grace period, and only an uncorrected one becomes a case. The party's
    // public page (/public/) shows the record and takes statements.
    let notices: NoticeService | null = null;
    let annotateEvent: EventAnnotator | undefined;
    if (events && caseServiceRef && cameraRegistry) {
      const eventStore = events;
      const caseService = caseServiceRef;
      const nlog = log.child({ part: 'notices' });
      const noticesConfig = loadNoticesConfig(cfg.NOTICES_FILE, cfg);
      const simulated = cameraRegistry.cameras.slice(cameraRegistry.cameras.length - simCameras);
      const parties = PartyRegistry.load(cfg.PARTIES_FILE, {
        cameras: cameraRegistry,
        logger: nlog,
        extra: simCameras > 0 ? [demoParties(simulated)] : [],
      });
      const notifiers: Notifier[] = [new ConsoleLogNotifier({ logger: nlog })];
      if (noticesConfig.smsGateway) notifiers.push(new SmsHttpNotifier({ ...noticesConfig.smsGateway, timeoutMs: noticesConfig.delivery.timeoutMs }));
      const speakerUrl = mqttUrl ?? cfg.MQTT_URL;
      if (noticesConfig.loudspeaker.enabled && speakerUrl) {
        notifiers.push(
          new LoudspeakerMqttNotifier({
            url: speakerUrl,
            username: mqttPasswords ? 'notices' : (cfg.NOTICES_MQTT_USERNAME ?? cfg.MQTT_USERNAME),
            password: mqttPasswords ? mqttPasswords.get('notices') : (cfg.NOTICES_MQTT_PASSWORD ?? cfg.MQTT_PASSWORD),
            caFile: cfg.MQTT_CA_FILE,
            clientId: `notices-${os.hostname()}`,
            repeat: noticesConfig.loudspeaker.repeat,
            timeoutMs: noticesConfig.delivery.timeoutMs,
            logger: nlog,
          }),
        );
      }
      const noticeStore = await NoticeStore.open(path.join(cfg.dataDir, 'notices.duckdb'));
      stops.push(() => noticeStore.close());
      const service = await NoticeService.open({
        store: noticeStore,
        config: noticesConfig,
        parties,
        notifiers,
        bus,
        deadLetters: store,
        cameras: withConsoleCameras(cameraRegistry, consoleCameras),
        logger: nlog,
        registry,
        deps: {
          fileCase: async (eventId, { notice }) => {
            const s = await eventStore.get(eventId);
            if (!s) throw new Error(`no event ${eventId} in the review store`);
            const c = await caseService.fileEvent(s, notice);
            await eventStore.setCaseId(eventId, c.id);
            return { id: c.id };
          },
        },
      });
      notices = service;
      // A notice that ends without a case marks its event, so the start-up recovery leaves it alone.
      service.on('change', (n: Notice) => {
        if (FINAL_WITHOUT_CASE.has(n.status)) {
          eventStore.setOutcome(n.eventId, n.status).catch((e: Error) => nlog.error({ event: n.eventId, err: e.message }, 'recording the outcome of an event failed'));
        }
      });
      await service.start();
      stops.push(() => service.close());
      annotateEvent = async (s) => {
        const n = await service.get(s.event.id);
        const party = s.status === 'pending' ? await service.preview(s.event) : undefined;
        return { ...(n ? { notice: noticeSummary(n) } : {}), ...(party ? { party } : {}) };
      };
      const statements = await StatementStore.open(path.join(cfg.dataDir, 'statements.duckdb'));
      stops.push(() => statements.close());
      enforcementRecords = { events: eventStore, cases: caseService.store, statements, evidence };
      const texts = loadLegalTexts(cfg.LEGAL_BASIS_FILE);
      routePlugins.push(async (app) => {
        await app.register(noticeRoutes, { notices: service, placesOf: placesFromEvents((ids) => eventStore.getMany(ids)) });
        await app.register(partyRoutes, {
          sourceUrl: cfg.SOURCE_URL,
          records: {
            noticeByCode: (code) => noticeStore.noticeByCode(code),
            noticesByPlateDay: (plate, day) => noticeStore.noticesByPlateDay(plate, day),
            event: (id) => eventStore.get(id),
          },
          statements,
          evidence,
          cameras: withConsoleCameras(cameraRegistry, consoleCameras),
          publicationDays: noticesConfig.publicationDays,
          timeZone: cameraRegistry.timeZone,
          logger: log.child({ part: 'public' }),
          registry,
          limits: partyLimitsFromEnv(cfg),
          texts,
        });
      });
    }
    if (events) {
      review = new ReviewService({ events, cases: caseServiceRef, notices, logger: log.child({ part: 'review' }) });
      await review.recover();
      const r = review;
      routePlugins.push(async (app) => {
        await app.register(reviewRoutes, { review: r, annotate: annotateEvent });
      });
    }

    // Statistics, exports and reports: read-only over the stores this process keeps (stats/, exports/, reports/).
    if (cfg.ROLE === 'all' || cfg.ROLE === 'api') {
      const handles = { alerts: alerts ?? undefined, events: events ?? undefined, notices: notices ?? undefined, cases: cases ?? undefined };
      const sources = storeSources(handles);
      routePlugins.push(async (app) => {
        await app.register(statsRoutes, { sources, placeOf: devicePlaces });
        await app.register(exportRoutes, { readings: store, ...handles, stats: { sources, placeOf: devicePlaces } });
        await app.register(reportRoutes, { sources, placeOf: devicePlaces, chromium: cfg.CHROMIUM, timeZone: cameraRegistry?.timeZone ?? 'Asia/Shanghai' });
      });
    }

    // On-duty notification (DUTY_FILE): an alert calls the person on duty through their robot, then the next (duty/).
    if (alerts && cfg.DUTY_FILE) {
      const sms = cfg.SMS_GATEWAY_URL && cfg.SMS_GATEWAY_TOKEN ? { url: cfg.SMS_GATEWAY_URL, token: cfg.SMS_GATEWAY_TOKEN } : undefined;
      const d = await startDuty({ file: cfg.DUTY_FILE, dataDir: cfg.dataDir, alerts, logger: log.child({ part: 'duty' }), sms });
      stops.push(() => d.close());
      routePlugins.push(d.routes);
    }

    const plugins: ((app: FastifyInstance) => Promise<void>)[] = [...routePlugins];
    if (cfg.NBIOT_CONFIG && (cfg.ROLE === 'all' || cfg.ROLE === 'api')) {
      const url = mqttUrl ?? cfg.MQTT_URL;
      if (!url) throw new ConfigError('NBIOT_CONFIG needs a broker: set MQTT_URL');
      const nbiot = loadNbiotConfig(cfg.NBIOT_CONFIG, {
        MQTT_URL: url,
        MQTT_USERNAME: mqttPasswords ? 'nbiot' : cfg.MQTT_USERNAME,
        MQTT_PASSWORD: mqttPasswords ? mqttPasswords.get('nbiot') : cfg.MQTT_PASSWORD,
        MQTT_CA_FILE: cfg.MQTT_CA_FILE,
        NBIOT_DATA_DIR: path.join(cfg.dataDir, 'nbiot'),
      });
      plugins.push(async (app) => {
        await app.register(nbiotRoutes, { config: nbiot, logger: log, registry });
      });
      log.info({ path: NBIOT_PATH, format: nbiot.format, devices: nbiot.devices.length }, 'NB-IoT push receiver enabled');
    }

    // Retention (config/retention.json) runs with the API, which reads the dead letters and the records anyway:
    // ingest then only writes, and its InfluxDB token can be write-only (docs/deploy.md, "InfluxDB tokens").
    const retention = cfg.ROLE === 'all' || cfg.ROLE === 'api' ? loadRetention(cfg.RETENTION_FILE) : null;
    if (retention) {
      const job = new RetentionJob({ config: retention, store, enforcement: enforcementRecords, logger: log.child({ part: 'retention' }), registry });
      job.start();
      stops.push(() => job.stop());
    }

    const readiness: Record<string, () => boolean> = {};
    if (ingest) readiness.mqtt = () => ingest!.connected;
    readiness.bus = () => bus.healthy();
    const api = await buildApi({
      store,
      registry,
      logger: log,
      readiness,
      alerts: alerts ?? undefined,
      events: events ?? undefined,
      evidence,
      annotateEvent,
      plugins,
      trustProxy: cfg.TRUST_PROXY,
      https: cfg.https ?? undefined,
      ...(retention ? { resolution: retention.readings } : {}),
    });
    await api.listen({ port: cfg.PORT, host: cfg.HOST }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EADDRINUSE' ? new ConfigError(`port ${cfg.PORT} is in use: stop the other server or set PORT`) : e;
    });
    stops.push(() => api.close());
    const apiPort = (api.server.address() as { port: number }).port;

    // The embedded default's field gateway: the simulated sensor fleet and the HJ 212 server monitors connect to.
    let hj212Port: number | null = null;
    if (cfg.ROLE === 'all' && mqttUrl && (cfg.SIMULATE || cfg.HJ212_PORT !== 'off')) {
      const hj212 =
        cfg.HJ212_PORT === 'off'
          ? undefined
          : parseConfig(
              Hj212ConfigSchema,
              {
                ...(cfg.HJ212_CONFIG ? (readJsonFile(cfg.HJ212_CONFIG, 'HJ212_CONFIG file') as Record<string, unknown>) : {}),
                port: cfg.HJ212_PORT,
                host: cfg.HOST,
                ...(cfg.HJ212_ACCEPT_UNKNOWN ? { acceptUnknown: true } : {}),
              },
              cfg.HJ212_CONFIG ?? 'HJ212_PORT',
            );
      if (hj212?.acceptUnknown) {
        log.warn({ port: hj212.port }, 'HJ 212 COMMISSIONING MODE (HJ212_ACCEPT_UNKNOWN=1): monitors not in the device map are stored as hj212-<MN>; turn it off once they are mapped');
      }
      const agent = new EdgeAgent(
        {
          gatewayId: GATEWAY_ID,
          mqtt: { url: mqttUrl, keepaliveS: 30, reconnectMinMs: 500, reconnectMaxMs: 30_000, settleMs: 1000 },
          buffer: { dir: path.join(cfg.dataDir, 'edge'), maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncMs: 1000 },
          publish: { inflight: 100, maxBatch: 100 },
          cameras: [],
          gatewayCredentials: mqttPasswords ? { username: GATEWAY_ID, password: mqttPasswords.get(GATEWAY_ID) } : {},
          hj212,
          devices: fleet.map((d) => (mqttPasswords ? { ...d, username: d.id, password: mqttPasswords.get(d.id) } : d)),
        },
        log.child({ part: 'gateway' }),
      );
      await agent.start().catch((e: NodeJS.ErrnoException) => {
        throw e.code === 'EADDRINUSE' ? new ConfigError(`port ${cfg.HJ212_PORT} is in use: stop the other server or set HJ212_PORT (or HJ212_PORT=off)`) : e;
      });
      stops.push(() => agent.stop());
      hj212Port = agent.hj212Port;
    }
    if (simCameras > 0) {
      const feed = feedSimulatedCameras({ seed: cfg.SIM_SEED, count: simCameras, bus, logger: log.child({ part: 'cameras' }) });
      stops.push(() => feed.stop());
    }
    // Answers `npm run backup` with consistent copies of the DuckDB files this process holds (operations/backup/).
    const backupAgent = await startBackupAgent({ dataDir: cfg.dataDir, logger: log.child({ part: 'backup' }) });
    stops.push(() => backupAgent.stop());
    for (const m of takeMigrations()) log.info(m, 'store file migrated to its schema version (the file as it was is kept beside it)');
    return { mqttUrl, mqttTlsPort: broker?.tlsPort ?? null, apiUrl: `${cfg.https ? 'https' : 'http'}://127.0.0.1:${apiPort}`, store, bus, ingest, alerts, events, cases, api, hj212Port, mqttPasswords, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
