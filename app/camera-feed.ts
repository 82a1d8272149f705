// The embedded default's simulated street cameras, fed to the vision worker in-process. The embedded broker (aedes)
// speaks MQTT 3.1.1 only, which has no user properties for a frame's capture time, so these frames go straight onto
// the bus; real cameras go through an edge agent, MQTT 5 and the frame relay (ROLE=vision, or ROLE=all with MQTT_URL).
import type { Bus } from '../bus/types.js';
import { encodeBusFrame } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import { createScenario, type CameraScenario } from '../simulators/camera/index.js';
import type { LiveScene } from '../simulators/camera/live.js';
import type { Camera } from '../vision/cameras/config.js';

export interface SimulatedCamera {
  camera: Camera;
  stop(): Promise<void>;
}

const ALWAYS = [{ from: '00:00', to: '24:00' }];

/**
 * Camera registry entries of the simulated cameras: the street layout depends only on the seed. The demo enforces
 * its zones at all hours, so a scene replayed at any time of day shows its events.
 */
export function simulatedCameras(seed: number, n: number): Camera[] {
  return Array.from({ length: n }, (_, i) => {
    const c = createScenario(seed + i, { startTs: Date.now() }).camera;
    return {
      ...c,
      zones: c.zones.map((z) =>
        z.type === 'no-parking' ? { ...z, windows: ALWAYS } : { ...z, businessHours: ALWAYS },
      ),
    };
  });
}

/** Plays each camera's scene in real time (one frame per frame interval), again and again with a fresh clock. */
export function feedSimulatedCameras(o: { seed: number; count: number; bus: Bus; logger: Logger }): {
  stop(): Promise<void>;
} {
  let stopped = false;
  const loops: Promise<void>[] = [];
  for (let i = 0; i < o.count; i++) {
    loops.push(
      (async () => {
        while (!stopped) {
          const sc: CameraScenario = createScenario(o.seed + i, { startTs: Date.now() });
          o.logger.info(
            {
              camera: sc.camera.id,
              minutes: Math.round(sc.durationMs / 60_000),
              violations: sc.truth.violations.length,
            },
            'simulated camera scene starts',
          );
          const frameMs = 1000 / sc.fps;
          for (let seq = 0; seq < sc.frameCount && !stopped; seq++) {
            const due = sc.startTs + seq * frameMs;
            const wait = due - Date.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            try {
              const f = await sc.frame(seq);
              await o.bus.publish('frames', [
                {
                  key: sc.camera.id,
                  value: encodeBusFrame({
                    district: sc.camera.district,
                    cameraId: sc.camera.id,
                    ts: f.ts,
                    seq,
                    jpeg: f.jpeg,
                  }),
                },
              ]);
            } catch (e) {
              o.logger.error({ camera: sc.camera.id, err: (e as Error).message }, 'simulated camera frame failed');
            }
          }
        }
      })(),
    );
  }
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

export interface LiveFeed {
  /** Frames published so far. */
  readonly frames: number;
  stop(): Promise<void>;
}

/**
 * Plays a live scene (simulators/camera/live.ts) onto the bus as its camera would: one frame per frame interval of
 * the camera's fps, captured now (ts = the wall clock), so the scene's objects can be put out and taken away while
 * the vision worker watches. A frame that takes longer than the interval to render delays the next one (no backlog).
 */
export function feedLiveScene(o: { scene: LiveScene; bus: Bus; logger: Logger }): LiveFeed {
  const { scene, bus, logger } = o;
  const cam = scene.camera;
  const frameMs = 1000 / scene.fps;
  let stopped = false;
  let frames = 0;
  let wake: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  const loop = (async () => {
    let due = Math.max(Date.now(), scene.startTs);
    for (let seq = 0; !stopped; seq++) {
      const wait = due - Date.now();
      if (wait > 0) {
        await new Promise<void>((r) => {
          wake = r;
          timer = setTimeout(r, wait);
        });
        if (stopped) break;
      }
      due = Math.max(due + frameMs, Date.now());
      try {
        const f = await scene.frameAt(Date.now());
        await bus.publish('frames', [
          {
            key: cam.id,
            value: encodeBusFrame({ district: cam.district, cameraId: cam.id, ts: f.ts, seq, jpeg: f.jpeg }),
          },
        ]);
        frames++;
      } catch (e) {
        if (!stopped) logger.error({ camera: cam.id, err: (e as Error).message }, 'live camera frame failed');
      }
    }
  })();
  return {
    get frames() {
      return frames;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
