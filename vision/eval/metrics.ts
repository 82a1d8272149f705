// Scoring the vision path against the simulator's ground truth: detector mAP@0.5 on frames (VOC all-point
// interpolation) and event precision/recall against the scenario's violations.
import type { Box, EnforcementEvent } from '../../contracts/index.js';

export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

export interface GtBox {
  cls: string;
  box: Box;
  /** Hard to see (mostly occluded, tiny): a detection on it is neither right nor wrong. */
  ignore: boolean;
}

export interface PredBox {
  cls: string;
  box: Box;
  score: number;
}

/** Accumulates detections over frames, per class, for average precision at one IoU threshold. */
export class ApAccumulator {
  private readonly preds = new Map<string, { score: number; tp: boolean }[]>();
  private readonly positives = new Map<string, number>();

  constructor(
    readonly classes: readonly string[],
    private readonly iouThreshold = 0.5,
  ) {
    for (const c of classes) {
      this.preds.set(c, []);
      this.positives.set(c, 0);
    }
  }

  addFrame(gt: readonly GtBox[], preds: readonly PredBox[]): void {
    for (const c of this.classes) {
      const g = gt.filter((x) => x.cls === c);
      this.positives.set(c, this.positives.get(c)! + g.filter((x) => !x.ignore).length);
      const used = new Array<boolean>(g.length).fill(false);
      const ps = preds.filter((p) => p.cls === c).sort((a, b) => b.score - a.score);
      for (const p of ps) {
        let best = -1;
        let bestIou = this.iouThreshold;
        for (let i = 0; i < g.length; i++) {
          if (used[i]) continue;
          const v = iou(p.box, g[i]!.box);
          if (v >= bestIou) {
            bestIou = v;
            best = i;
          }
        }
        if (best >= 0) {
          used[best] = true;
          // Matching an ignored box: neither a hit nor a false alarm.
          if (!g[best]!.ignore) this.preds.get(c)!.push({ score: p.score, tp: true });
        } else {
          this.preds.get(c)!.push({ score: p.score, tp: false });
        }
      }
    }
  }

  /** AP per class and their mean. */
  result(): { perClass: Record<string, number>; map: number; positives: Record<string, number> } {
    const perClass: Record<string, number> = {};
    for (const c of this.classes) perClass[c] = averagePrecision(this.preds.get(c)!, this.positives.get(c)!);
    const vals = Object.values(perClass);
    return {
      perClass,
      map: vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length),
      positives: Object.fromEntries(this.positives),
    };
  }
}

/** VOC 2010+ all-point interpolated AP. */
export function averagePrecision(preds: { score: number; tp: boolean }[], positives: number): number {
  if (positives === 0) return preds.length === 0 ? 1 : 0;
  const sorted = [...preds].sort((a, b) => b.score - a.score);
  const prec: number[] = [];
  const rec: number[] = [];
  let tp = 0;
  let fp = 0;
  for (const p of sorted) {
    if (p.tp) tp++;
    else fp++;
    prec.push(tp / (tp + fp));
    rec.push(tp / positives);
  }
  // Precision envelope, then the area under the step curve.
  for (let i = prec.length - 2; i >= 0; i--) prec[i] = Math.max(prec[i]!, prec[i + 1]!);
  let ap = 0;
  let prevR = 0;
  for (let i = 0; i < rec.length; i++) {
    ap += (rec[i]! - prevR) * prec[i]!;
    prevR = rec[i]!;
  }
  return ap;
}

export interface TruthViolation {
  type: string;
  zoneId: string;
  objectId: string;
  from: number;
  to: number;
  plate?: string;
}

export interface EventMatch {
  tp: { event: EnforcementEvent; truth: TruthViolation }[];
  fp: EnforcementEvent[];
  fn: TruthViolation[];
}

/**
 * An event is right when it names the zone and type of a violation and its time span overlaps the violation's
 * (one event per violation; a second event for the same violation is a false one: a duplicate).
 */
export function matchEvents(events: readonly EnforcementEvent[], truth: readonly TruthViolation[]): EventMatch {
  const used = new Set<number>();
  const tp: EventMatch['tp'] = [];
  const fp: EnforcementEvent[] = [];
  for (const e of [...events].sort((a, b) => a.start - b.start)) {
    let best = -1;
    let bestOverlap = 0;
    truth.forEach((t, i) => {
      if (used.has(i) || t.type !== e.type || t.zoneId !== e.zone.id) return;
      const overlap = Math.min(t.to, e.end) - Math.max(t.from, e.start);
      if (overlap >= 0 && (best < 0 || overlap > bestOverlap)) {
        best = i;
        bestOverlap = overlap;
      }
    });
    if (best >= 0) {
      used.add(best);
      tp.push({ event: e, truth: truth[best]! });
    } else fp.push(e);
  }
  return { tp, fp, fn: truth.filter((_, i) => !used.has(i)) };
}

/** Plates compared on their letters and digits (the province character needs a CJK font the renderer may lack). */
export function plateKey(p: string): string {
  return p.replace(/[^A-Za-z0-9]/g, '').toUpperCase();
}
