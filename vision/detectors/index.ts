// Object detectors behind one interface: a plugin per model family turns a model config into a Detector.
// The vision worker calls createDetector() and never sees the family.
import type { Logger } from '../../runtime/log.js';
import { parseModelConfig, type DetectorFamily, type ModelConfig, type ModelConfigInput } from './config.js';
import { createCenterNetDetector } from './centernet.js';
import { createNanoDetDetector } from './nanodet.js';
import { withRoleMerge } from './role-merge.js';
import { roleThresholdsOf } from './role-threshold.js';
import { withTiling } from './tiling.js';
import type { Detector } from './types.js';
import { createYoloDetector } from './yolo.js';

export interface DetectorPlugin {
  readonly family: DetectorFamily;
  /** Opens the model; a model file that is missing or not of this family is a ConfigError naming the file. */
  create(cfg: ModelConfig, logger: Logger): Promise<Detector>;
}

/** Every family the config accepts has exactly one plugin here (the Record type makes a missing one a type error). */
const PLUGINS: Record<DetectorFamily, DetectorPlugin> = {
  yolo: { family: 'yolo', create: createYoloDetector },
  centernet: { family: 'centernet', create: createCenterNetDetector },
  nanodet: { family: 'nanodet', create: createNanoDetDetector },
};

/** Validates the config (defaults filled in), then opens the model with its family's plugin (tiled if configured). */
export async function createDetector(cfg: ModelConfigInput | ModelConfig, logger: Logger): Promise<Detector> {
  const c = parseModelConfig(cfg, `detector model "${(cfg as { name?: unknown }).name ?? '?'}"`);
  const thresholds = roleThresholdsOf(c);
  const d = await PLUGINS[c.family].create(thresholds.decode, logger);
  // Tiling merges the passes' boxes by role itself. Per-role thresholds go last: after the merges, which a box
  // survives only by its own score (role-threshold.ts).
  return thresholds.wrap(c.tiling?.enabled ? withTiling(d, c.tiling) : withRoleMerge(d, c.roleMergeIou));
}

export * from './types.js';
export {
  DEFAULT_ROLES,
  DETECTOR_FAMILIES,
  ModelConfigSchema,
  ModelsConfigSchema,
  loadModelsConfig,
  modelFor,
  parseModelConfig,
  type DetectorFamily,
  type ModelConfig,
  type ModelConfigInput,
  type ModelsConfig,
} from './config.js';
export { decodeImage } from './image.js';
