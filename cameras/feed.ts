// The embedded default's gateway for the cameras registered in the console (ROLE=all): each camera's source (a
// snapshot URL, an RTSP stream through ffmpeg), read with the edge agent's own sources, its frames put straight onto bus topic
// "frames" as the simulated cameras' are (app/camera-feed.ts). A source whose settings change is restarted; a removed
// camera's is stopped. In production a city's cameras come through edge agents (edge/), configured on the gateway.
import { encodeBusFrame } from '../contracts/index.js';
import type { Bus } from '../bus/types.js';
import { RtspSource } from '../edge/drivers/camera/rtsp.js';
import { snapshotSource } from '../edge/drivers/camera/snapshot.js';
import type { FrameSource } from '../edge/drivers/camera/source.js';
import type { Logger } from '../runtime/log.js';
import type { Credentials, StoredCamera } from './schema.js';
import type { CameraService } from './service.js';

interface Running {
  key: string;
  source: FrameSource;
  done: Promise<void>;
}

/** Starts a frame loop per console camera and follows the camera service's changes; stop() ends them all. */
export function feedConsoleCameras(o: { cameras: CameraService; bus: Bus; logger: Logger }): { stop(): Promise<void> } {
  const running = new Map<string, Running>();
  let stopped = false;
  let chain = Promise.resolve();

  const start = async (c: StoredCamera): Promise<Running> => {
    const credentials = c.hasCredentials ? await o.cameras.credentials(c.camera.id) : null;
    const cam = c.camera;
    const opened = open(c, credentials, o.logger);
    if (!opened) {
      o.logger.warn(
        { camera: cam.id, source: c.source.type },
        'this process cannot read this kind of camera source: read it with an edge agent',
      );
      return { key: keyOf(c), source: { next: async () => null, stop: () => undefined }, done: Promise.resolve() };
    }
    const source = opened;
    let seq = 0;
    const done = (async () => {
      for (;;) {
        let f;
        try {
          f = await source.next();
        } catch (e) {
          o.logger.error({ camera: cam.id, err: (e as Error).message }, 'camera source failed');
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        if (!f) return;
        try {
          await o.bus.publish('frames', [
            {
              key: cam.id,
              value: encodeBusFrame({ district: cam.district, cameraId: cam.id, ts: f.ts, seq: seq++, jpeg: f.image }),
            },
          ]);
        } catch (e) {
          o.logger.warn(
            { camera: cam.id, err: (e as Error).message },
            'cannot put a camera frame on the bus; the next one follows',
          );
        }
      }
    })();
    o.logger.info({ camera: cam.id, source: c.source.type }, 'console camera feed started');
    return { key: keyOf(c), source, done };
  };

  const sync = (cameras: readonly StoredCamera[]) => {
    chain = chain
      .then(async () => {
        if (stopped) return;
        const wanted = new Map(cameras.map((c) => [c.camera.id, c]));
        for (const [id, r] of running) {
          const c = wanted.get(id);
          if (c && keyOf(c) === r.key) continue;
          // Not awaited: a source asleep until its next frame (a minute, for some) ends when it wakes.
          r.source.stop();
          running.delete(id);
        }
        for (const [id, c] of wanted) {
          if (!running.has(id)) running.set(id, await start(c));
        }
      })
      .catch((e: Error) => o.logger.error({ err: e.message }, 'console camera feed: cannot apply a change'));
  };

  const off = o.cameras.onChange(sync);
  sync(o.cameras.consoleCameras());
  return {
    async stop() {
      off();
      await chain;
      stopped = true;
      for (const r of running.values()) r.source.stop();
      // A source asleep until its next frame ends when it wakes; stopping waits a second at most for the others.
      await Promise.race([
        Promise.all([...running.values()].map((r) => r.done)),
        new Promise((r) => setTimeout(r, 1000).unref()),
      ]);
      running.clear();
    },
  };
}

/**
 * What makes a feed start again: any change of the camera (its source, district, credentials, which are not kept
 * here, so the change time stands for them). A zone save restarts it too: one frame interval, and simpler than
 * telling credentials apart.
 */
function keyOf(c: StoredCamera): string {
  return JSON.stringify([c.source, c.camera.district, c.hasCredentials, c.updatedAt]);
}

function open(c: StoredCamera, credentials: Credentials | null, log: Logger): FrameSource | null {
  const s = c.source;
  // The account goes into the source only here, in memory, as its own fields: the snapshot source answers the
  // camera's Digest or Basic challenge with it, the RTSP source gives it to ffmpeg; both keep it out of their logs.
  const account = credentials ? { username: credentials.username, password: credentials.password } : {};
  if (s.type === 'rtsp') return new RtspSource({ ...s, ...account }, log, c.camera.id);
  if (s.type === 'snapshot') return snapshotSource({ ...s, ...account }, log, c.camera.id);
  return null;
}
