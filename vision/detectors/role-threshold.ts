// Score thresholds per role. The model decodes at the lowest of them (a box is only ever suppressed by a better one
// in NMS and in the role and tile merges, so decoding lower and dropping afterwards keeps exactly the boxes that
// decoding at each role's own threshold would), then each detection must reach its role's threshold, or the model's
// scoreThreshold for a role without one and for classes without a role.
import type { ModelConfig } from './config.js';
import type { DetectResult, Detection, Detector, RawImage, Role } from './types.js';

export type RoleScoreThresholds = Partial<Record<Role, number>>;

/** The threshold the model must decode at so that every role's threshold can be applied afterwards. */
export function decodeThreshold(scoreThreshold: number, roles: RoleScoreThresholds | undefined): number {
  const own = Object.values(roles ?? {}).filter((t): t is number => t !== undefined);
  return Math.min(scoreThreshold, ...own);
}

/** Whether a detection reaches the threshold of its role (scoreThreshold when the role has none). */
export function reachesThreshold(
  d: Pick<Detection, 'score' | 'role'>,
  scoreThreshold: number,
  roles: RoleScoreThresholds | undefined,
): boolean {
  const t = d.role === null ? undefined : roles?.[d.role];
  return d.score >= (t ?? scoreThreshold);
}

export class RoleThresholdDetector implements Detector {
  constructor(
    private readonly inner: Detector,
    private readonly scoreThreshold: number,
    private readonly roles: RoleScoreThresholds,
  ) {}

  get info() {
    return this.inner.info;
  }

  async detect(img: RawImage): Promise<DetectResult> {
    const r = await this.inner.detect(img);
    return { ...r, detections: r.detections.filter((d) => reachesThreshold(d, this.scoreThreshold, this.roles)) };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * The model's config as its plugin must open it (decoding at the lowest threshold), and the wrapper that applies the
 * per-role thresholds to what comes out; the config unchanged and no wrapper when the model sets none.
 */
export function roleThresholdsOf(cfg: ModelConfig): {
  decode: ModelConfig;
  wrap: (d: Detector) => Detector;
} {
  const roles = cfg.roleScoreThresholds;
  const floor = decodeThreshold(cfg.scoreThreshold, roles);
  return {
    decode: { ...cfg, scoreThreshold: floor },
    wrap: (d) => (roles ? new RoleThresholdDetector(d, cfg.scoreThreshold, roles) : d),
  };
}
