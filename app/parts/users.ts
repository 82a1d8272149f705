// Users and sessions, the audit trail and the console's cameras, in the processes that serve /api data (all, api);
// the others close /api.
import type { Bus } from '../../bus/types.js';
import { startCameras, type CameraService } from '../../cameras/index.js';
import type { EventStore } from '../../review/store.js';
import type { Store } from '../../store/types.js';
import { auditRoutes } from '../../users/audit-route.js';
import { authPlugin, closedApiPlugin, startUsers } from '../../users/index.js';
import type { AuditEntry } from '../../users/types.js';
import type { CameraRegistry } from '../../vision/cameras/config.js';
import { loadModelsConfig } from '../../vision/detectors/index.js';
import type { RoutePlugin, Step } from './step.js';

export interface UsersServes {
  consoleCameras: CameraService;
  auditTrail: (e: AuditEntry) => Promise<void>;
}

/** Every /api route but the session one needs a signed-in user with the right role. */
export const users: Step<
  { cameraRegistry: CameraRegistry; bus: Bus; store: Store; events: () => EventStore | null },
  UsersServes
> = {
  name: 'users and console cameras',
  roles: ['all', 'api'],
  async start({ cfg, log, cameraRegistry, bus, store, events }, stops) {
    const u = await startUsers({
      dataDir: cfg.dataDir,
      logger: log.child({ part: 'users' }),
      adminPassword: cfg.ADMIN_PASSWORD,
      sessionIdleMs: cfg.SESSION_IDLE_MINUTES * 60_000,
    });
    stops.add(() => u.close());
    const routes = [
      async (app) => {
        await app.register(authPlugin, { users: u.users });
      },
      // The audit trail for admins, with the review decisions kept in the events store (opened by a later step).
      async (app) => {
        await app.register(auditRoutes, {
          list: (limit, f) => u.users.store.listAudit(limit, f),
          decisions: (q) => events()?.list(q) ?? Promise.resolve({ items: [] }),
        });
      },
    ] satisfies RoutePlugin[];
    // Cameras and zones registered in the console (admin), published to every vision worker; in the embedded
    // default this process also reads their sources. The registry file's cameras win an id.
    const cams = await startCameras({
      dataDir: cfg.dataDir,
      fileCameras: cameraRegistry.cameras,
      bus,
      audit: (e) => u.users.store.audit(e),
      deadLetters: store,
      models: loadModelsConfig(cfg.MODELS_FILE),
      logger: log.child({ part: 'cameras' }),
      feed: cfg.ROLE === 'all',
    });
    stops.add(() => cams.close());
    return {
      consoleCameras: cams.service,
      auditTrail: (e) => u.users.store.audit(e),
      routes: [...routes, cams.routes],
    };
  },
};

/** Processes without the users database serve no /api data at all. */
export const closedApi: Step<object, object> = {
  name: 'closed /api',
  roles: ['ingest', 'detectors', 'vision'],
  async start() {
    return {
      routes: [
        async (app) => {
          await app.register(closedApiPlugin);
        },
      ],
    };
  },
};
