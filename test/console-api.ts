// The platform's API as the console uses it, started in-process for the browser test: the real API server
// (readings, alerts with the live stream, events and evidence), users and sessions with the /api guard, review
// decisions, cases with the built-in inbox, and the console's own plugins (static files, devices, rules). Only
// ingest, the broker and the detectors are left out: the test feeds the bus and the alert manager itself.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApi } from '../api/server.js';
import { caseRoutes } from '../cases/routes.js';
import { reviewRoutes } from '../review/routes.js';
import { AlertManager } from '../alerts/manager.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { MemoryBus } from '../bus/memory.js';
import { CaseService, caseConfigFromEnv } from '../cases/service.js';
import { consolePlugin } from '../console/plugin.js';
import { DeviceDirectory, deviceRoutes } from '../console/devices-route.js';
import { rulesRoutes } from '../console/rules-route.js';
import { ReviewService } from '../review/decisions.js';
import { EventStore } from '../review/store.js';
import { silentLogger } from '../runtime/log.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { authPlugin, startUsers, type Role, type Users } from '../users/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { loadNoticesConfig } from '../notices/config.js';
import { PartyRegistry } from '../notices/parties.js';
import { noticeRoutes, placesFromEvents } from '../notices/routes.js';
import { NoticeService } from '../notices/service.js';
import { NoticeStore } from '../notices/store.js';
import { StatementStore, partyRoutes } from '../party/index.js';

export const ADMIN_PASSWORD = 'console-admin-password';

export interface ConsoleApi {
  url: string;
  app: FastifyInstance;
  alerts: AlertManager;
  bus: MemoryBus;
  store: DuckDbStore;
  evidence: EvidenceStore;
  events: EventStore;
  cases: CaseService;
  users: Users;
  directory: DeviceDirectory;
  /** The users' clock: move it on to expire sessions. */
  clock: { offsetMs: number };
  addUser(username: string, role: Role, displayName: string): Promise<string>;
  close(): Promise<void>;
}

export async function startConsoleApi(dir: string): Promise<ConsoleApi> {
  const stops: (() => Promise<unknown>)[] = [];
  const bus = new MemoryBus();
  stops.push(() => bus.close());
  const store = await DuckDbStore.open({ file: path.join(dir, 'city.duckdb'), memoryLimit: '64MB' });
  stops.push(() => store.close());
  const alertStore = await DuckDbAlertStore.open(path.join(dir, 'alerts.duckdb'));
  stops.push(() => alertStore.close());
  const alerts = new AlertManager(alertStore);
  const evidence = new EvidenceStore(path.join(dir, 'evidence'));
  const events = await EventStore.open(path.join(dir, 'events.duckdb'));
  stops.push(() => events.close());
  const clock = { offsetMs: 0 };
  // A cheaper scrypt than production's: the test logs in a dozen times.
  const u = await startUsers({
    dataDir: dir,
    logger: silentLogger,
    adminPassword: ADMIN_PASSWORD,
    kdf: { ln: 10, r: 8, p: 1 },
    now: () => Date.now() + clock.offsetMs,
  });
  stops.push(() => u.close());
  const cases = await CaseService.open({
    config: caseConfigFromEnv({ CASE_RETRY_BASE_MS: '100', CASE_RETRY_MAX_MS: '1000' }, dir),
    logger: silentLogger,
    bus,
  });
  stops.push(() => cases.close());
  await cases.watchAlerts(alerts);
  const review = new ReviewService({ events, cases, logger: silentLogger });
  // The notify loop's read side and the party routes, so the console's notices, parties and objections views have
  // their API (the loop itself is tested in test/notices.e2e.test.ts: here confirmations file cases directly).
  const cameras = { timeZone: 'Asia/Shanghai', cameras: [] };
  const noticeStore = await NoticeStore.open(path.join(dir, 'notices.duckdb'));
  stops.push(() => noticeStore.close());
  const noticesConfig = loadNoticesConfig(path.resolve(import.meta.dirname, '../config/notices.json'), {});
  const notices = await NoticeService.open({
    store: noticeStore,
    config: noticesConfig,
    parties: new PartyRegistry({ shops: [], vehicles: [], minPlateConfidence: 0.8 }, { cameras, logger: silentLogger }),
    notifiers: [],
    bus,
    deadLetters: { add: async () => undefined },
    cameras,
    logger: silentLogger,
    deps: { fileCase: () => Promise.reject(new Error('no loop in the console test')) },
  });
  stops.push(() => notices.close());
  const statements = await StatementStore.open(path.join(dir, 'statements.duckdb'));
  stops.push(() => statements.close());
  const directory = await DeviceDirectory.start({
    bus,
    logger: silentLogger,
    alerts,
    snapshotFile: path.join(dir, 'devices.json'),
  });
  stops.push(() => directory.close());

  const app = await buildApi({
    store,
    registry: new Registry(),
    logger: silentLogger,
    alerts,
    events,
    evidence,
    plugins: [
      async (a) => {
        await a.register(authPlugin, { users: u.users });
        await a.register(reviewRoutes, { review });
        await a.register(caseRoutes, { cases, events, evidence });
        await a.register(consolePlugin);
        await a.register(deviceRoutes, { directory });
        await a.register(rulesRoutes, {
          rulesFile: path.resolve(import.meta.dirname, '../config/rules.json'),
          logger: silentLogger,
        });
        await a.register(noticeRoutes, { notices, placesOf: placesFromEvents((ids) => events.getMany(ids)) });
        await a.register(partyRoutes, {
          records: {
            noticeByCode: (c) => noticeStore.noticeByCode(c),
            noticesByPlateDay: (pl, d) => noticeStore.noticesByPlateDay(pl, d),
            event: (id) => events.get(id),
          },
          statements,
          evidence,
          cameras,
          publicationDays: noticesConfig.publicationDays,
          timeZone: 'Asia/Shanghai',
          logger: silentLogger,
        });
      },
    ],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  stops.push(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    alerts,
    bus,
    store,
    evidence,
    events,
    cases,
    users: u.users,
    directory,
    clock,
    async addUser(username, role, displayName) {
      const password = `${username}-password`;
      await u.users.create({ username, password, role, displayName }, 'admin', '127.0.0.1');
      return password;
    },
    async close() {
      for (const s of stops.reverse()) await s().catch(() => undefined);
    },
  };
}
