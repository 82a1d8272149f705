// The console (served at /) and what its pages read: devices with their status, rules for chart lines; and the
// read-only statistics, exports and reports over the stores this process keeps.
import path from 'node:path';
import type { AlertManager } from '../../alerts/manager.js';
import type { Bus } from '../../bus/types.js';
import type { CaseService } from '../../cases/service.js';
import { DeviceDirectory, deviceRoutes } from '../../console/devices-route.js';
import { consolePlugin } from '../../console/plugin.js';
import { rulesRoutes } from '../../console/rules-route.js';
import type { DeviceRegistryService } from '../../devices/index.js';
import { exportRoutes } from '../../exports/routes.js';
import type { NoticeService } from '../../notices/service.js';
import { reportRoutes } from '../../reports/routes.js';
import type { EventStore } from '../../review/store.js';
import { storeSources, statsRoutes, type PlaceOf } from '../../stats/index.js';
import type { Store } from '../../store/types.js';
import type { AuditEntry } from '../../users/types.js';
import type { CameraRegistry } from '../../vision/cameras/config.js';
import type { Step } from './step.js';

export const consoleStep: Step<
  {
    bus: Bus;
    alerts: AlertManager;
    devices: DeviceRegistryService;
    auditTrail: ((e: AuditEntry) => Promise<void>) | undefined;
  },
  object
> = {
  name: 'console',
  roles: ['all', 'api'],
  async start({ cfg, log, bus, alerts, devices, auditTrail }, stops) {
    const directory = await DeviceDirectory.start({
      bus,
      logger: log.child({ part: 'devices' }),
      alerts,
      snapshotFile: path.join(cfg.dataDir, 'devices.json'),
    });
    stops.add(() => directory.close());
    return {
      routes: [
        async (app) => {
          await app.register(consolePlugin);
          await app.register(deviceRoutes, { directory, registry: devices.registry });
          await app.register(devices.routes, {
            audit: auditTrail,
            // Credentials go into the embedded broker's file, which it re-reads; an external broker keeps its own accounts.
            mqttCredentialsFile:
              cfg.ROLE === 'all' && !cfg.MQTT_URL && cfg.MQTT_AUTH
                ? path.join(cfg.dataDir, 'mqtt-credentials.json')
                : null,
            tileUrl: cfg.MAP_TILE_URL ?? null,
            tileAttribution: cfg.MAP_TILE_ATTRIBUTION,
          });
          await app.register(rulesRoutes, { rulesFile: cfg.RULES_FILE, logger: log.child({ part: 'api' }) });
        },
      ],
    };
  },
};

/** Statistics, exports and reports: read-only over the stores this process keeps (stats/, exports/, reports/). */
export const statistics: Step<
  {
    store: Store;
    alerts: AlertManager | null;
    events: EventStore | null;
    notices: NoticeService | null;
    cases: CaseService | null;
    devicePlaces: PlaceOf | undefined;
    cameraRegistry: CameraRegistry | null;
  },
  object
> = {
  name: 'statistics, exports and reports',
  roles: ['all', 'api'],
  async start({ cfg, store, alerts, events, notices, cases, devicePlaces, cameraRegistry }) {
    const handles = {
      alerts: alerts ?? undefined,
      events: events ?? undefined,
      notices: notices ?? undefined,
      cases: cases ?? undefined,
    };
    const sources = storeSources(handles);
    return {
      routes: [
        async (app) => {
          await app.register(statsRoutes, { sources, placeOf: devicePlaces });
          await app.register(exportRoutes, { readings: store, ...handles, stats: { sources, placeOf: devicePlaces } });
          await app.register(reportRoutes, {
            sources,
            placeOf: devicePlaces,
            chromium: cfg.CHROMIUM,
            timeZone: cameraRegistry?.timeZone ?? 'Asia/Shanghai',
          });
        },
      ],
    };
  },
};
