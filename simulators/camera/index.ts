// The camera simulator's entry point for other stages: the vision eval and the edge camera driver call
// createScenario(seed) and iterate its frames; the truth says what they should find.
import type { Box } from '../../contracts/events.js';
import type { Camera, CameraRegistry } from '../../vision/cameras/config.js';
import { SceneRenderer, type TruthBox } from './render.js';
import { makeScenario, TIME_ZONE, type Scenario, type ScenarioOptions, type ScenarioTruth } from './scenario.js';

export interface SimFrame {
  seq: number;
  /** Capture time, epoch ms. */
  ts: number;
  jpeg: Buffer;
  boxes: TruthBox[];
}

export interface CameraScenario {
  camera: Camera;
  /** A registry with just this camera: validates with CameraRegistrySchema. */
  registry: CameraRegistry;
  durationMs: number;
  fps: number;
  startTs: number;
  frameCount: number;
  /** Every frame in order, rendered lazily. */
  frames(opts?: { from?: number; to?: number; step?: number }): AsyncIterable<SimFrame>;
  /** One frame by its number (0-based). */
  frame(seq: number): Promise<SimFrame>;
  /** Truth boxes of a frame without rendering its pixels. */
  boxes(seq: number): Promise<TruthBox[]>;
  truth: ScenarioTruth;
  scenario: Scenario;
}

export function createScenario(seed: number, opts: ScenarioOptions = {}): CameraScenario {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  const scenario = makeScenario(seed, opts);
  const renderer = new SceneRenderer(scenario);
  const frame = async (seq: number): Promise<SimFrame> => {
    if (!Number.isInteger(seq) || seq < 0 || seq >= scenario.frameCount)
      throw new Error(`frame ${seq} is outside 0..${scenario.frameCount - 1}`);
    const t = seq * scenario.frameMs;
    const r = await renderer.renderFrame(t);
    return { seq, ts: scenario.startTs + Math.round(t), jpeg: r.jpeg, boxes: r.boxes };
  };
  return {
    camera: scenario.camera,
    registry: { timeZone: TIME_ZONE, cameras: [scenario.camera] },
    durationMs: scenario.durationMs,
    fps: scenario.fps,
    startTs: scenario.startTs,
    frameCount: scenario.frameCount,
    truth: scenario.truth,
    scenario,
    frame,
    boxes: (seq) => renderer.boxesAt(seq * scenario.frameMs),
    frames(o = {}) {
      const from = o.from ?? 0;
      const to = Math.min(o.to ?? scenario.frameCount, scenario.frameCount);
      const step = o.step ?? 1;
      return {
        async *[Symbol.asyncIterator]() {
          for (let seq = from; seq < to; seq += step) yield await frame(seq);
        },
      };
    },
  };
}

/** The bottom centre of a box: where the object stands, as the zone rules judge it. */
export function groundPoint(b: Box): [number, number] {
  return [(b[0] + b[2]) / 2, b[3]];
}

export { makeScenario, TIME_ZONE } from './scenario.js';
export type { ScenarioOptions, ScenarioTruth, Violation, NonViolation, ObjectClass } from './scenario.js';
export { renderFrame, SceneRenderer, MIN_VISIBLE, type TruthBox, type RenderedFrame } from './render.js';
export { makeLayout, cameraEntry, LAYOUT_FAMILIES, TRAIN_FAMILIES } from './layout.js';
export { createLiveScene, type LiveScene, type LiveSceneOptions, type LiveObject, type LiveFrame } from './live.js';
