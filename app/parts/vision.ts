// Vision: the camera registry (plus the simulated cameras of the embedded default), one worker per process fed by
// the bus, the frame relay from MQTT, and the embedded default's simulated camera feed.
import os from 'node:os';
import type { Bus } from '../../bus/types.js';
import { localDay } from '../../runtime/time.js';
import type { Store } from '../../store/types.js';
import { loadCameraRegistry, type CameraRegistry } from '../../vision/cameras/config.js';
import { loadModelsConfig } from '../../vision/detectors/index.js';
import type { EvidenceStore } from '../../vision/evidence/store.js';
import { PlateReader } from '../../vision/ocr/index.js';
import { FrameRelay } from '../../vision/relay.js';
import { VisionWorker, type PlateReading } from '../../vision/worker.js';
import { feedSimulatedCameras, simulatedCameras } from '../camera-feed.js';
import type { AppConfig } from '../config.js';
import type { Step } from './step.js';

/** How many simulated cameras the embedded default adds (ROLE=all with SIMULATE). */
export const simulatedCameraCount = (cfg: AppConfig): number =>
  cfg.SIMULATE && cfg.ROLE === 'all' ? cfg.SIM_CAMERAS : 0;

/**
 * The camera registry (plus the simulated cameras of the embedded default): the vision worker's cameras, and for
 * the API the published monitoring locations and whether a camera enforces yet.
 */
export const cameraRegistry: Step<object, { cameraRegistry: CameraRegistry }> = {
  name: 'camera registry',
  roles: ['all', 'api', 'vision'],
  async start({ cfg }) {
    const file = loadCameraRegistry(cfg.CAMERAS_FILE);
    // The demo's cameras count as published two months ago, so the demo shows notices and cases.
    // The scenes' shop labels (shop-1, shop-2, ...) are per scene, not ids: the demo's parties registry names the
    // shops in front of each zone instead.
    const sim = simulatedCameras(cfg.SIM_SEED, simulatedCameraCount(cfg)).map((c) => ({
      ...c,
      publishedAt: c.publishedAt ?? localDay(Date.now() - 60 * 86_400_000, file.timeZone),
      zones: c.zones.map((z) => (z.type === 'storefront' ? { ...z, shopId: undefined } : z)),
    }));
    return { cameraRegistry: { ...file, cameras: [...file.cameras, ...sim] } };
  },
};

/** A plate reader opened at its first use (a failure to open is then logged with each plate it could not read). */
function lazyPlates(): PlateReading {
  let reader: Promise<PlateReader> | null = null;
  return { read: async (img, box) => (await (reader ??= PlateReader.open())).read(img, box) };
}

/**
 * One worker per process, fed by the bus; the frame relay brings frames from MQTT where cameras publish to a broker
 * that speaks MQTT 5. The worker runs without cameras too: an admin may add one in the console (bus topic "cameras").
 */
export const vision: Step<{ cameraRegistry: CameraRegistry; evidence: EvidenceStore; bus: Bus; store: Store }, object> =
  {
    name: 'vision',
    roles: ['all', 'vision'],
    async start({ cfg, log, registry, cameraRegistry: cameras, evidence, bus, store }, stops) {
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
      stops.add(() => worker.close());
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
        stops.add(() => relay.stop());
      }
      return {};
    },
  };

/** The embedded default's simulated street cameras (SIMULATE, SIM_CAMERAS), played onto the bus in-process. */
export const cameraFeed: Step<{ bus: Bus }, object> = {
  name: 'simulated cameras',
  roles: ['all'],
  async start({ cfg, log, bus }, stops) {
    const count = simulatedCameraCount(cfg);
    if (count > 0) {
      const feed = feedSimulatedCameras({ seed: cfg.SIM_SEED, count, bus, logger: log.child({ part: 'cameras' }) });
      stops.add(() => feed.stop());
    }
    return {};
  },
};
