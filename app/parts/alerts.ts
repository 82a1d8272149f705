// Detectors and alerts: the sensor analytics (rules, health, anomaly) raise signals on the bus; the alert service,
// the one writer of alert state, runs beside the API that serves it, with the device registry that places alerts
// and cases, and the on-duty calls that follow alerts.
import path from 'node:path';
import { AlertManager } from '../../alerts/manager.js';
import { startAlertService } from '../../alerts/service.js';
import { DuckDbAlertStore } from '../../alerts/store.js';
import { DetectorService } from '../../analytics/service.js';
import type { Bus } from '../../bus/types.js';
import { startDeviceRegistry, type DeviceRegistryService } from '../../devices/index.js';
import { startDuty } from '../../duty/index.js';
import { placeFromRegistry, type PlaceOf } from '../../stats/index.js';
import type { Store } from '../../store/types.js';
import type { CameraRegistry } from '../../vision/cameras/config.js';
import type { Step } from './step.js';

export interface AlertsServes {
  alerts: AlertManager;
  devices: DeviceRegistryService;
  /** Where devices are, for the statistics' groups (district, grid cell, site): the device registry's. */
  devicePlaces: PlaceOf;
}

/** The alert service (alerts.duckdb, one writer) and the device registry: where each device is, for alerts, cases and the map. */
export const alerts: Step<{ bus: Bus; store: Store; cameraRegistry: CameraRegistry }, AlertsServes> = {
  name: 'alert service and device registry',
  roles: ['all', 'api'],
  async start({ cfg, log, bus, store, cameraRegistry }, stops) {
    const alertStore = await DuckDbAlertStore.open(path.join(cfg.dataDir, 'alerts.duckdb'));
    stops.add(() => alertStore.close());
    // The demo registers its fleet.
    const devices = await startDeviceRegistry({
      file: path.join(cfg.dataDir, 'device-registry.json'),
      districtsFile: cfg.MAP_DISTRICTS_FILE,
      gridFile: cfg.MAP_GRID_FILE,
      demo:
        cfg.SIMULATE && cfg.ROLE === 'all' ? { file: cfg.DEMO_DEVICES_FILE, cameras: cameraRegistry.cameras } : null,
      logger: log.child({ part: 'devices' }),
      cameras: { bus, deadLetters: store },
    });
    stops.add(() => devices.close());
    const manager = new AlertManager(alertStore, { placeOf: (id) => devices.registry.place(id) });
    const sub = await startAlertService({ bus, manager, deadLetters: store, logger: log.child({ part: 'alerts' }) });
    stops.add(() => sub.close());
    return { alerts: manager, devices, devicePlaces: placeFromRegistry((id) => devices.registry.get(id)) };
  },
};

/**
 * The detectors stop before everything else. The platform stopping stops its own edge agent, whose devices then
 * report "agent stopped"; that is the platform going down, not twenty devices failing, and must not fire offline
 * alerts at the staff (an edge agent of its own that stops still does: its detectors keep running).
 */
export const detectors: Step<{ bus: Bus; store: Store }, object> = {
  name: 'detectors',
  roles: ['all', 'detectors'],
  stopsFirst: true,
  async start({ cfg, log, registry, bus, store }, stops) {
    const service = new DetectorService({
      bus,
      deadLetters: store,
      rulesFile: cfg.RULES_FILE,
      logger: log.child({ part: 'detectors' }),
      registry,
      anomalyStateFile: path.join(cfg.DATA_DIR, 'anomaly-state.bin'),
    });
    await service.start();
    stops.add(() => service.stop());
    return {};
  },
};

/** On-duty notification (DUTY_FILE): an alert calls the person on duty through their robot, then the next (duty/). */
export const duty: Step<{ alerts: AlertManager }, object> = {
  name: 'on-duty calls',
  roles: ['all', 'api'],
  async start({ cfg, log, alerts }, stops) {
    if (!cfg.DUTY_FILE) return {};
    const sms =
      cfg.SMS_GATEWAY_URL && cfg.SMS_GATEWAY_TOKEN
        ? { url: cfg.SMS_GATEWAY_URL, token: cfg.SMS_GATEWAY_TOKEN }
        : undefined;
    const d = await startDuty({
      file: cfg.DUTY_FILE,
      dataDir: cfg.dataDir,
      alerts,
      logger: log.child({ part: 'duty' }),
      sms,
    });
    stops.add(() => d.close());
    return { routes: [d.routes] };
  },
};
