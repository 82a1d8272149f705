// The camera simulator as a frame source: a seeded street scene rendered frame by frame, paced in wall time, with
// capture times on the scene's own clock (which starts now, so zone windows and business hours hold). When the
// scene ends it starts again from its first frame with a fresh clock (same street, so the registry entry holds).
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../../runtime/log.js';
import { createScenario } from '../../../simulators/camera/index.js';
import type { CameraSource, EdgeCamera } from './config.js';
import type { FrameSource } from './link.js';

type SimSource = Extract<CameraSource, { type: 'simulator' }>;

export async function simulatedCameraSource(src: SimSource, cam: EdgeCamera, log: Logger): Promise<FrameSource> {
  let startTs = Date.now();
  let sc = createScenario(src.seed, { startTs });
  const writeTruth = () => {
    if (!src.groundTruth) return;
    fs.mkdirSync(path.dirname(src.groundTruth), { recursive: true });
    fs.writeFileSync(src.groundTruth, JSON.stringify({ camera: sc.camera, truth: sc.truth }, null, 1));
  };
  writeTruth();
  log.info(
    { camera: cam.id, seed: src.seed, frames: sc.frameCount, violations: sc.truth.violations.length },
    'simulated camera scene ready',
  );
  let seq = 0;
  let stopped = false;
  let due = Date.now();
  return {
    async next() {
      if (stopped) return null;
      if (seq >= sc.frameCount) {
        if (src.once) return null;
        startTs = Date.now();
        sc = createScenario(src.seed, { startTs });
        writeTruth();
        seq = 0;
      }
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      due = Math.max(due + src.intervalMs, Date.now());
      const f = await sc.frame(seq++);
      return { ts: f.ts, image: f.jpeg };
    },
    stop() {
      stopped = true;
    },
  };
}
