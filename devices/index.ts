// The device registry as the platform starts it: the registry file, the city's GeoJSON layers, the demo's devices,
// and one plugin with the registry's routes and the map's.
import type { FastifyInstance } from 'fastify';
import type { DevicePlace as CasePlace } from '../cases/builder.js';
import type { Logger } from '../runtime/log.js';
import type { Camera } from '../vision/cameras/config.js';
import type { Bus } from '../bus/types.js';
import type { DeadLetterStore } from '../store/types.js';
import { followConsoleCameras } from './cameras.js';
import { registerDemoDevices } from './demo.js';
import { GridIndex, loadGeoJson } from './geo.js';
import { mapRoutes } from './map-routes.js';
import { DeviceRegistry } from './registry.js';
import { deviceRegistryRoutes, type DeviceRegistryRoutesOptions } from './routes.js';

export { DeviceRegistry, DeviceError } from './registry.js';
export { deviceRegistryRoutes } from './routes.js';
export { mapRoutes } from './map-routes.js';
export { GridIndex, loadGeoJson } from './geo.js';
export * from './types.js';

export interface StartDeviceRegistryOptions {
  /** $DATA_DIR/device-registry.json */
  file: string;
  districtsFile: string;
  gridFile: string;
  /** The demo's fleet and cameras to register (SIMULATE=1); null otherwise. */
  demo: { file: string; cameras: readonly Camera[] } | null;
  logger: Logger;
  /** Follow the cameras registered in the console (bus topic `cameras`) into the registry; none when absent. */
  cameras?: { bus: Bus; deadLetters: DeadLetterStore } | null;
}

export interface DeviceRegistryService {
  registry: DeviceRegistry;
  /** A registered device's place as a case carries it. */
  casePlace(id: string): CasePlace | null;
  close(): Promise<void>;
  /** The registry's and the map's routes. */
  routes(
    app: FastifyInstance,
    o: Omit<DeviceRegistryRoutesOptions, 'registry'> & { tileUrl: string | null; tileAttribution: string },
  ): Promise<void>;
}

export async function startDeviceRegistry(o: StartDeviceRegistryOptions): Promise<DeviceRegistryService> {
  const districts = loadGeoJson(o.districtsFile, 'district boundaries (MAP_DISTRICTS_FILE)');
  const grid = loadGeoJson(o.gridFile, 'grid cells (MAP_GRID_FILE)');
  const registry = DeviceRegistry.open({ file: o.file, grid: new GridIndex(grid, o.gridFile) });
  if (o.demo) {
    const added = await registerDemoDevices(registry, o.demo);
    if (added) o.logger.info({ added, file: o.demo.file }, 'demo devices registered with their places');
  }
  const follow = o.cameras
    ? await followConsoleCameras({ registry, bus: o.cameras.bus, deadLetters: o.cameras.deadLetters, logger: o.logger })
    : null;
  return {
    registry,
    async close() {
      await follow?.close();
      await registry.close();
    },
    casePlace(id) {
      const p = registry.place(id);
      return p
        ? { gridCell: p.gridCell, location: p.location, ...(p.address ? { postedLocation: p.address } : {}) }
        : null;
    },
    async routes(app, r) {
      await app.register(deviceRegistryRoutes, {
        registry,
        audit: r.audit,
        mqttCredentialsFile: r.mqttCredentialsFile,
        now: r.now,
      });
      await app.register(mapRoutes, { districts, grid, tileUrl: r.tileUrl, tileAttribution: r.tileAttribution });
    },
  };
}
