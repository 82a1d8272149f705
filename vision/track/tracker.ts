// A multi-object tracker per camera, ByteTrack-style: boxes are associated by IoU in two stages, high-score
// detections first, then low-score ones to the tracks still unmatched. The second stage is what keeps a parked car
// whose detector score dips for a frame (rain, glare, a person in front), and lost tracks are kept long enough to
// survive a bus passing in front of them. All times are the frames' capture times, so the tracker behaves the same
// at 0.2 and at 5 frames per second.
import { z } from 'zod';
import type { Box } from '../../contracts/events.js';
import { parseConfig } from '../../runtime/config.js';
import { centre, iou } from '../rules/geometry.js';
import { assign } from './hungarian.js';

export const ROLES = ['vehicle', 'two-wheeler', 'stall', 'person'] as const;
/** What an object means to the rules; detections without a role are not tracked. */
export type Role = (typeof ROLES)[number];

/** What the tracker needs of a detection (the detector's Detection has these fields and more). */
export interface TrackerDetection {
  /** x1, y1, x2, y2 in frame pixels. */
  box: Box;
  /** 0..1 */
  score: number;
  className: string;
  role: Role | null;
}

export type TrackState = 'tentative' | 'confirmed' | 'lost';

export interface Track {
  /** Per camera (per tracker), increasing from 1, never reused. */
  id: number;
  role: Role;
  /** The class most often detected on this track (a van may flicker between car and truck). */
  className: string;
  /** The latest matched detection's box. */
  box: Box;
  /** The latest matched detection's score. */
  score: number;
  /** Mean score of all matched detections. */
  scoreMean: number;
  /** Matched detections so far. */
  hits: number;
  firstSeen: number;
  /** Time of the latest matched detection. */
  lastSeen: number;
  state: TrackState;
  /** Matched to a detection in this frame. */
  matched: boolean;
}

export const TrackerOptionsSchema = z
  .strictObject({
    /** Detections at or above this score take part in the first association and may start tracks. */
    highScore: z.number().min(0).max(1).default(0.5),
    /** Detections below this are ignored; between lowScore and highScore they can only extend existing tracks. */
    lowScore: z.number().min(0).max(1).default(0.1),
    /** Minimum IoU for a track and a high-score detection to be the same object. */
    iouThreshold: z.number().gt(0).max(1).default(0.3),
    /** Minimum IoU for a low-score detection: stricter, because a low score is weak evidence by itself. */
    lowIouThreshold: z.number().gt(0).max(1).default(0.5),
    /**
     * Minimum IoU for a standing track (see standingFrac) and any detection. A vehicle passing in front of a parked
     * car, just come into view and without a track of its own, overlaps the car's box by a little more than
     * iouThreshold and used to take the car's track with it (the car came back under a new id, its stay cut in two);
     * the car's own detections, even half hidden, overlap its box by more.
     */
    standingIou: z.number().gt(0).max(1).default(0.5),
    /** A track is standing when its box moves by less than this × its box's smaller side a second (its velocity). */
    standingFrac: z.number().min(0).max(1).default(0.05),
    /** Matched detections before a track is confirmed (a single false detection never becomes a track). */
    minHits: z.number().int().min(1).max(100).default(2),
    /** How long an unmatched confirmed track is kept as lost before it is removed, ms. */
    maxLostMs: z.number().int().min(0).max(3_600_000).default(15_000),
    /** Constant-velocity prediction of moving tracks (helps moving cars at low frame rates). */
    motion: z.boolean().default(true),
    /** Predict at most this far ahead, ms: beyond one frame gap a guess only drifts. */
    maxPredictMs: z.number().int().min(0).default(5_000),
  })
  .refine((o) => o.lowScore <= o.highScore, { message: 'lowScore must not exceed highScore', path: ['lowScore'] });
export type TrackerOptions = z.output<typeof TrackerOptionsSchema>;
export type TrackerOptionsInput = z.input<typeof TrackerOptionsSchema>;

interface Internal {
  id: number;
  role: Role;
  box: Box;
  score: number;
  scoreSum: number;
  hits: number;
  classes: Map<string, number>;
  className: string;
  firstSeen: number;
  lastSeen: number;
  state: TrackState;
  matched: boolean;
  /** Velocity of the box centre, px/ms; null until a second match. */
  vx: number;
  vy: number;
  hasVelocity: boolean;
}

/** Above any sum of real costs (each ≤ 1): a forbidden pair is only chosen when nothing else is left. */
const FORBIDDEN = 1e6;

export class Tracker {
  readonly options: TrackerOptions;
  private tracks: Internal[] = [];
  private nextId = 1;
  private lastTs: number | undefined;

  constructor(options: TrackerOptionsInput = {}) {
    this.options = parseConfig(TrackerOptionsSchema, options, 'tracker options');
  }

  /**
   * One frame's detections at capture time ts (epoch ms) → every live track, by id. A frame not newer than the
   * previous one (a redelivery) changes nothing: the tracks are returned as they are, none matched.
   */
  update(detections: readonly TrackerDetection[], ts: number): Track[] {
    if (this.lastTs !== undefined && ts <= this.lastTs) return this.snapshot(false);
    this.lastTs = ts;
    const o = this.options;
    const high: TrackerDetection[] = [];
    const low: TrackerDetection[] = [];
    for (const d of detections) {
      if (d.role === null || !validBox(d.box) || !(d.score >= o.lowScore)) continue;
      (d.score >= o.highScore ? high : low).push(d);
    }
    for (const t of this.tracks) t.matched = false;

    const active = this.tracks.filter((t) => t.state !== 'tentative');
    const tentative = this.tracks.filter((t) => t.state === 'tentative');
    // 1. Confirmed and lost tracks with the high-score detections.
    const r1 = this.associate(active, high, o.iouThreshold, ts);
    // 2. The tracks left with the low-score detections: a parked car whose score dipped stays itself.
    const r2 = this.associate(r1.tracks, low, o.lowIouThreshold, ts);
    // 3. Tentative tracks with the high-score detections left over: they need consecutive hits to be confirmed.
    const r3 = this.associate(tentative, r1.dets, o.iouThreshold, ts);
    // 4. What no track claimed starts a new (tentative) track.
    for (const d of r3.dets) this.start(d, ts);

    const removed = new Set<Internal>(r3.tracks); // a tentative track that missed a frame was most likely noise
    for (const t of r2.tracks) {
      t.state = 'lost';
      if (ts - t.lastSeen > o.maxLostMs) removed.add(t);
    }
    if (removed.size) this.tracks = this.tracks.filter((t) => !removed.has(t));
    return this.snapshot(true);
  }

  /** The live tracks as of the last update. */
  current(): Track[] {
    return this.snapshot(true);
  }

  private snapshot(keepMatched: boolean): Track[] {
    return this.tracks.map((t) => ({
      id: t.id,
      role: t.role,
      className: t.className,
      box: [...t.box] as Box,
      score: t.score,
      scoreMean: t.scoreSum / t.hits,
      hits: t.hits,
      firstSeen: t.firstSeen,
      lastSeen: t.lastSeen,
      state: t.state,
      matched: keepMatched && t.matched,
    }));
  }

  private start(d: TrackerDetection, ts: number): void {
    const t: Internal = {
      id: this.nextId++,
      role: d.role!,
      box: [...d.box] as Box,
      score: d.score,
      scoreSum: d.score,
      hits: 1,
      classes: new Map([[d.className, 1]]),
      className: d.className,
      firstSeen: ts,
      lastSeen: ts,
      state: this.options.minHits <= 1 ? 'confirmed' : 'tentative',
      matched: true,
      vx: 0,
      vy: 0,
      hasVelocity: false,
    };
    this.tracks.push(t);
  }

  private hit(t: Internal, d: TrackerDetection, ts: number): void {
    const dt = ts - t.lastSeen;
    if (dt > 0) {
      const [cx0, cy0] = centre(t.box);
      const [cx1, cy1] = centre(d.box);
      const vx = (cx1 - cx0) / dt;
      const vy = (cy1 - cy0) / dt;
      // Smoothed, so that the jitter of a standing object's box averages out instead of being extrapolated.
      t.vx = t.hasVelocity ? (t.vx + vx) / 2 : vx;
      t.vy = t.hasVelocity ? (t.vy + vy) / 2 : vy;
      t.hasVelocity = true;
    }
    t.box = [...d.box] as Box;
    t.score = d.score;
    t.scoreSum += d.score;
    t.hits++;
    const n = (t.classes.get(d.className) ?? 0) + 1;
    t.classes.set(d.className, n);
    if (n > (t.classes.get(t.className) ?? 0)) t.className = d.className;
    t.lastSeen = ts;
    t.matched = true;
    if (t.state === 'lost' || t.hits >= this.options.minHits) t.state = 'confirmed';
  }

  private predicted(t: Internal, ts: number): Box {
    if (!this.options.motion || !t.hasVelocity) return t.box;
    const dt = Math.min(ts - t.lastSeen, this.options.maxPredictMs);
    const dx = t.vx * dt;
    const dy = t.vy * dt;
    return [t.box[0] + dx, t.box[1] + dy, t.box[2] + dx, t.box[3] + dy];
  }

  /** Seen at least twice, and moving by less than standingFrac of its box's smaller side a second. */
  private standing(t: Internal): boolean {
    if (!t.hasVelocity) return false;
    const side = Math.min(t.box[2] - t.box[0], t.box[3] - t.box[1]);
    return Math.hypot(t.vx, t.vy) * 1000 <= this.options.standingFrac * side;
  }

  /**
   * Optimal one-to-one matching of tracks and detections of the same role by IoU; pairs under minIou never match.
   * A track's IoU is the better of its last box and its predicted box, so a prediction can help a moving car but
   * never costs a standing one its match. Returns what stayed unmatched.
   */
  private associate(
    tracks: Internal[],
    dets: TrackerDetection[],
    minIou: number,
    ts: number,
  ): { tracks: Internal[]; dets: TrackerDetection[] } {
    if (tracks.length === 0 || dets.length === 0) return { tracks, dets };
    const matchedTracks = new Set<Internal>();
    const matchedDets = new Set<TrackerDetection>();
    for (const role of ROLES) {
      const group = tracks.filter((t) => t.role === role);
      const ds = dets.filter((d) => d.role === role);
      if (group.length === 0 || ds.length === 0) continue;
      const preds = group.map((t) => this.predicted(t, ts));
      const mins = group.map((t) => (this.standing(t) ? Math.max(minIou, this.options.standingIou) : minIou));
      let any = false;
      const cost = group.map((t, i) =>
        ds.map((d) => {
          const v = Math.max(iou(t.box, d.box), iou(preds[i]!, d.box));
          if (v < mins[i]!) return FORBIDDEN;
          any = true;
          return 1 - v;
        }),
      );
      if (!any) continue;
      assign(cost).forEach((j, i) => {
        if (j < 0 || cost[i]![j]! >= FORBIDDEN) return;
        this.hit(group[i]!, ds[j]!, ts);
        matchedTracks.add(group[i]!);
        matchedDets.add(ds[j]!);
      });
    }
    return { tracks: tracks.filter((t) => !matchedTracks.has(t)), dets: dets.filter((d) => !matchedDets.has(d)) };
  }
}

function validBox(b: Box): boolean {
  return b.every(Number.isFinite) && b[2] > b[0] && b[3] > b[1];
}
