// Review and notices: the review queue's intake (events.duckdb, one writer of enforcement events), cases, the
// notify/re-check loop with the party's public page, and the reviewers' decisions.
import os from 'node:os';
import path from 'node:path';
import type { AlertManager } from '../../alerts/manager.js';
import type { Bus } from '../../bus/types.js';
import { withConsoleCameras, type CameraService } from '../../cameras/index.js';
import { caseRoutes } from '../../cases/routes.js';
import { CaseService, caseConfigFromEnv } from '../../cases/service.js';
import type { DeviceRegistryService } from '../../devices/index.js';
import { loadNoticesConfig } from '../../notices/config.js';
import { LoudspeakerMqttNotifier } from '../../notices/notifiers/loudspeaker-mqtt.js';
import { ConsoleLogNotifier } from '../../notices/notifiers/console-log.js';
import { SmsHttpNotifier } from '../../notices/notifiers/sms-http.js';
import type { Notifier } from '../../notices/notifiers/types.js';
import { PartyRegistry, demoParties } from '../../notices/parties.js';
import { noticeRoutes, noticeSummary, placesFromEvents } from '../../notices/routes.js';
import { NoticeService } from '../../notices/service.js';
import { NoticeStore } from '../../notices/store.js';
import type { Notice } from '../../notices/types.js';
import type { RetentionJobOptions } from '../../operations/retention/job.js';
import { loadLegalTexts, partyLimitsFromEnv } from '../../party/config.js';
import { StatementStore, partyRoutes } from '../../party/index.js';
import { ReviewService } from '../../review/decisions.js';
import type { EventAnnotator } from '../../review/routes.js';
import { reviewRoutes } from '../../review/routes.js';
import { startReviewIntake } from '../../review/service.js';
import { EventStore } from '../../review/store.js';
import type { Store } from '../../store/types.js';
import type { CameraRegistry } from '../../vision/cameras/config.js';
import type { EvidenceStore } from '../../vision/evidence/store.js';
import type { Step } from './step.js';
import { simulatedCameraCount } from './vision.js';

/** The review queue's intake and cases: from confirmed events and case-worthy alerts. */
export const reviewIntake: Step<
  { bus: Bus; store: Store; alerts: AlertManager; devices: DeviceRegistryService; evidence: EvidenceStore },
  { events: EventStore; cases: CaseService }
> = {
  name: 'review intake and cases',
  roles: ['all', 'api'],
  async start({ cfg, log, registry, bus, store, alerts, devices, evidence }, stops) {
    // Like the alert service, the review queue has one writer of enforcement events.
    const eventStore = await EventStore.open(path.join(cfg.dataDir, 'events.duckdb'));
    stops.add(() => eventStore.close());
    const intake = await startReviewIntake({
      bus,
      store: eventStore,
      deadLetters: store,
      logger: log.child({ part: 'review' }),
    });
    stops.add(() => intake.close());
    // Cases are kept with their outbox, dispatched to the city's case system (CASE_WEBHOOK_URL) or the built-in inbox.
    const caseService = await CaseService.open({
      config: caseConfigFromEnv(cfg, cfg.dataDir),
      logger: log.child({ part: 'cases' }),
      bus,
      registry,
      devicePlace: (id) => devices.casePlace(id),
    });
    stops.add(() => caseService.close());
    await caseService.watchAlerts(alerts);
    return {
      events: eventStore,
      cases: caseService,
      routes: [
        async (app) => {
          await app.register(caseRoutes, { cases: caseService, events: eventStore, evidence });
        },
      ],
    };
  },
};

/** Notice statuses that end an event without a case. */
const FINAL_WITHOUT_CASE = new Set(['corrected', 'notice-only', 'not-enforcing', 'recheck-unavailable']);

export interface NoticesServes {
  notices: NoticeService;
  annotateEvent: EventAnnotator;
  /** What the retention job may delete past its period: the enforcement records this process keeps. */
  enforcementRecords: NonNullable<RetentionJobOptions['enforcement']>;
}

/**
 * The notify/re-check loop: a confirmed event is first told to the party (SMS, the camera's loudspeaker, the
 * console's log), re-checked after the grace period, and only an uncorrected one becomes a case. The party's public
 * page (/public/) shows the record and takes statements.
 */
export const notices: Step<
  {
    store: Store;
    bus: Bus;
    evidence: EvidenceStore;
    events: EventStore;
    cases: CaseService;
    cameraRegistry: CameraRegistry;
    consoleCameras: CameraService | null;
    /** The broker this process started, which the loudspeakers listen on. */
    mqttUrl: string | null;
    mqttPasswords: Map<string, string> | null;
  },
  NoticesServes
> = {
  name: 'notices and public page',
  roles: ['all', 'api'],
  async start(
    {
      cfg,
      log,
      registry,
      store,
      bus,
      evidence,
      events: eventStore,
      cases: caseService,
      cameraRegistry,
      consoleCameras,
      mqttUrl,
      mqttPasswords,
    },
    stops,
  ) {
    const simCameras = simulatedCameraCount(cfg);
    const nlog = log.child({ part: 'notices' });
    const noticesConfig = loadNoticesConfig(cfg.NOTICES_FILE, cfg);
    const simulated = cameraRegistry.cameras.slice(cameraRegistry.cameras.length - simCameras);
    const parties = PartyRegistry.load(cfg.PARTIES_FILE, {
      cameras: cameraRegistry,
      logger: nlog,
      extra: simCameras > 0 ? [demoParties(simulated)] : [],
    });
    const notifiers: Notifier[] = [new ConsoleLogNotifier({ logger: nlog })];
    if (noticesConfig.smsGateway)
      notifiers.push(new SmsHttpNotifier({ ...noticesConfig.smsGateway, timeoutMs: noticesConfig.delivery.timeoutMs }));
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
    stops.add(() => noticeStore.close());
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
    // A notice that ends without a case marks its event, so the start-up recovery leaves it alone.
    service.on('change', (n: Notice) => {
      if (FINAL_WITHOUT_CASE.has(n.status)) {
        eventStore
          .setOutcome(n.eventId, n.status)
          .catch((e: Error) =>
            nlog.error({ event: n.eventId, err: e.message }, 'recording the outcome of an event failed'),
          );
      }
    });
    await service.start();
    stops.add(() => service.close());
    const annotateEvent: EventAnnotator = async (s) => {
      const n = await service.get(s.event.id);
      const party = s.status === 'pending' ? await service.preview(s.event) : undefined;
      return { ...(n ? { notice: noticeSummary(n) } : {}), ...(party ? { party } : {}) };
    };
    const statements = await StatementStore.open(path.join(cfg.dataDir, 'statements.duckdb'));
    stops.add(() => statements.close());
    const texts = loadLegalTexts(cfg.LEGAL_BASIS_FILE);
    return {
      notices: service,
      annotateEvent,
      enforcementRecords: { events: eventStore, cases: caseService.store, statements, evidence },
      routes: [
        async (app) => {
          await app.register(noticeRoutes, {
            notices: service,
            placesOf: placesFromEvents((ids) => eventStore.getMany(ids)),
          });
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
        },
      ],
    };
  },
};

/** The reviewers' decisions on the queue, and the start-up recovery of decisions left half-done. */
export const review: Step<
  {
    events: EventStore;
    cases: CaseService | null;
    notices: NoticeService | null;
    annotateEvent: EventAnnotator | undefined;
  },
  object
> = {
  name: 'review decisions',
  roles: ['all', 'api'],
  async start({ log, events, cases, notices, annotateEvent }) {
    const r = new ReviewService({ events, cases, notices, logger: log.child({ part: 'review' }) });
    await r.recover();
    return {
      routes: [
        async (app) => {
          await app.register(reviewRoutes, { review: r, annotate: annotateEvent });
        },
      ],
    };
  },
};
