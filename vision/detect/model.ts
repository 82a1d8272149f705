// Opening a model of the models file by name, with per-run overrides (score threshold, tiling, input size): what
// the detect CLI, the real-image evaluation and the benchmark share. Tiling is applied here, around the family's
// plugin, so an override never wraps a detector twice.
import type { Logger } from '../../runtime/log.js';
import { ConfigError } from '../../runtime/config.js';
import { createDetector, type Detector, type ModelConfig, type ModelsConfig } from '../detectors/index.js';
import { TilingSchema, withTiling, type TilingConfig, type TilingConfigInput } from '../detectors/tiling.js';

export interface ModelOverrides {
  /** Model config fields set for this run, e.g. { scoreThreshold: 0.3, threads: 1 }. */
  config?: Record<string, unknown>;
  /** Tiling for this run: settings merged over the model's own, or false to turn it off. */
  tiling?: TilingConfigInput | false;
}

/** The model called `name` (the file's default when absent); an unknown name lists the names there are. */
export function findModel(models: ModelsConfig, name: string | undefined, source = 'the models file'): ModelConfig {
  const want = name ?? models.default;
  const m = models.models.find((x) => x.name === want);
  if (!m)
    throw new ConfigError(
      `no model is named "${want}" in ${source} (have: ${models.models.map((x) => x.name).join(', ')})`,
    );
  return m;
}

/**
 * The model the still-image tools (detect, the real-photo eval) use when none is named: `coco`, the real-camera
 * model, when the models file has it (the default model is the demo's, trained on simulated streets), else the default.
 */
export function stillsModel(models: ModelsConfig): string {
  return models.models.some((m) => m.name === 'coco') ? 'coco' : models.default;
}

/** The tiling a run uses: the override merged over the model's own `tiling`, validated. */
export function resolveTiling(model: ModelConfig, override: ModelOverrides['tiling']): TilingConfig | undefined {
  if (override === false) return undefined;
  const own = (model as { tiling?: TilingConfigInput }).tiling;
  if (override === undefined && own === undefined) return undefined;
  const r = TilingSchema.safeParse({ ...(own ?? {}), ...(override ?? {}) });
  if (!r.success)
    throw new ConfigError(
      `invalid tiling for model "${model.name}": ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** Opens the model with the overrides; ConfigError for a bad setting or an unusable model file. */
export async function openDetector(model: ModelConfig, logger: Logger, o: ModelOverrides = {}): Promise<Detector> {
  const tiling = resolveTiling(model, o.tiling);
  // The plugin gets the config without `tiling`: the wrapper goes on here, once.
  const { tiling: _own, ...rest } = { ...model, ...(o.config ?? {}) } as ModelConfig & { tiling?: unknown };
  const det = await createDetector(rest as ModelConfig, logger);
  return withTiling(det, tiling);
}
