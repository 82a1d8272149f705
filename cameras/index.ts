// Cameras and zones registered in the console. See README.md.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../bus/types.js';
import type { DeadLetter } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import type { AuditEntry } from '../users/types.js';
import type { Camera, CameraRegistry } from '../vision/cameras/config.js';
import type { ModelsConfig } from '../vision/detectors/index.js';
import { feedConsoleCameras } from './feed.js';
import { cameraRoutes } from './routes.js';
import { CameraService } from './service.js';
import { CameraStore } from './store.js';

export { CameraService, CameraError, type CameraView, type Actor } from './service.js';
export { CameraStore } from './store.js';
export { cameraRoutes } from './routes.js';
export { feedConsoleCameras } from './feed.js';

export interface StartCamerasOptions {
  /** cameras.duckdb goes here. */
  dataDir: string;
  fileCameras: readonly Camera[];
  bus: Bus;
  audit: (e: AuditEntry) => Promise<void>;
  deadLetters: { add(items: readonly DeadLetter[]): Promise<void> };
  models: ModelsConfig;
  logger: Logger;
  /** Read the console cameras' sources in this process (the embedded default's gateway, ROLE=all). */
  feed: boolean;
}

/** Opens the camera store and service, and the feed when asked; `routes` registers /api/cameras. */
export async function startCameras(
  o: StartCamerasOptions,
): Promise<{ service: CameraService; routes(app: FastifyInstance): Promise<void>; close(): Promise<void> }> {
  const store = await CameraStore.open(path.join(o.dataDir, 'cameras.duckdb'));
  let service: CameraService;
  try {
    service = await CameraService.open({
      store,
      fileCameras: o.fileCameras,
      bus: o.bus,
      audit: o.audit,
      deadLetters: o.deadLetters,
      logger: o.logger,
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  const feed = o.feed ? feedConsoleCameras({ cameras: service, bus: o.bus, logger: o.logger }) : null;
  return {
    service,
    routes: async (app) => {
      await app.register(cameraRoutes, { cameras: service, models: o.models });
    },
    async close() {
      await feed?.stop();
      await service.close();
      await store.close();
    },
  };
}

/**
 * The registry as the notify loop and the party pages read it: the file's cameras and, as they are at each look, the
 * console's (a console camera's publishedAt decides whether it enforces, as a file camera's does; the file wins an id).
 */
export function withConsoleCameras(
  file: CameraRegistry,
  consoleCameras: Pick<CameraService, 'consoleCameras'> | null,
): CameraRegistry {
  if (!consoleCameras) return file;
  const ids = new Set(file.cameras.map((c) => c.id));
  return {
    timeZone: file.timeZone,
    get cameras() {
      return [
        ...file.cameras,
        ...consoleCameras
          .consoleCameras()
          .map((c) => c.camera)
          .filter((c) => !ids.has(c.id)),
      ];
    },
  };
}
