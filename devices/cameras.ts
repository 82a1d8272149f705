// Cameras registered in the console (cameras/) are devices of kind camera in this registry: the camera service
// publishes the whole set on the bus topic `cameras` whenever it changes (and again every few seconds), and the
// registry takes each camera's place from it (id, district, grid cell, coordinates, posted location). The camera
// page owns a camera's place; the registry keeps what it alone knows (site, dates, status).
import os from 'node:os';
import type { z } from 'zod';
import { jsonDecoder, subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import type { DeadLetterStore } from '../store/types.js';
import type { Logger } from '../runtime/log.js';
import { LiveCamerasSchema } from '../vision/worker.js';
import { cameraDevice } from './demo.js';
import type { DeviceRegistry } from './registry.js';

export async function followConsoleCameras(o: {
  registry: DeviceRegistry;
  bus: Bus;
  deadLetters: DeadLetterStore;
  logger: Logger;
}): Promise<Subscription> {
  let applied = '';
  // A group of this process's own, from now on, as the vision workers read it: the set comes again every few seconds.
  return subscribeDecoded<z.output<typeof LiveCamerasSchema>>(
    o.bus,
    'cameras',
    `device-registry-cameras-${os.hostname()}-${process.pid}`,
    async (batch) => {
      const latest = batch.at(-1)?.value;
      if (!latest) return;
      const key = JSON.stringify(latest);
      if (key === applied) return;
      const changed = latest.cameras
        .map((c) => {
          const d = cameraDevice(c);
          const before = o.registry.get(c.id);
          const same =
            before &&
            before.kind === 'camera' &&
            before.district === d.district &&
            before.gridCell === d.gridCell &&
            before.address === d.address &&
            before.location.lat === d.location.lat &&
            before.location.lon === d.location.lon;
          if (same) return null;
          // What only the registry knows stays as it was.
          return before
            ? {
                ...d,
                site: before.site,
                ruleGroup: before.ruleGroup,
                installedAt: before.installedAt,
                commissionedAt: before.commissionedAt,
                status: before.status,
              }
            : d;
        })
        .filter((d) => d !== null);
      if (changed.length) {
        await o.registry.upsertMany(
          changed.map((input, i) => ({ line: i + 1, input })),
          'cameras',
        );
        o.logger.info(
          { cameras: changed.map((d) => d.id) },
          'cameras registered in the console are in the device registry',
        );
      }
      applied = key;
    },
    {
      maxBatch: 16,
      ephemeral: true,
      decode: jsonDecoder(LiveCamerasSchema),
      deadLetters: o.deadLetters,
      logger: o.logger,
    },
  );
}
