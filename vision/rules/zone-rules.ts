// The enforcement rules of one camera: illegal parking in no-parking zones and out-of-store vending on storefront
// sidewalks. Fed the tracker's tracks once per frame; keeps, per (track, zone), a candidate with the frames a
// reviewer needs (first seen, threshold crossed, last sighting) and says when an event is due. Pure logic: the
// frame is an opaque handle (the worker's JPEG buffer), kept only as long as a candidate may need it.
import { z } from 'zod';
import type { Box, EventType } from '../../contracts/events.js';
import { ConfigError, parseConfig } from '../../runtime/config.js';
import { PARKING_EVENT_TYPES, type Camera, type TimeWindow, type Zone } from '../cameras/config.js';
import type { Role, Track } from '../track/tracker.js';
import {
  area,
  bottomCentre,
  centre,
  distance,
  iou,
  pointInPolygon,
  polygonCentroid,
  sideOfPolyline,
  type Point,
} from './geometry.js';

function intersection(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}
import { inWindows, isTimeZone } from './time.js';

export const ZoneRulesOptionsSchema = z.strictObject({
  /** A vehicle is standing still while its box centre stays within max(px, frac × its box's smaller side)... */
  moveTolerancePx: z.number().min(0).default(8),
  /** ...of where its dwell started; moving further restarts the dwell. */
  moveToleranceFrac: z.number().min(0).max(1).default(0.1),
  /** Seconds after the threshold before the event is raised with the object still there; per zone when absent: */
  confirmS: z.number().min(0).optional(),
  /** ...max(confirmMinS, confirmFrac × the zone's dwellS). */
  confirmMinS: z.number().min(0).default(30),
  confirmFrac: z.number().min(0).max(10).default(0.1),
  /**
   * A new track in a zone whose box overlaps (IoU ≥ reacquireIou) the box of an event's object seen in the zone
   * within this many seconds is that object again (re-acquired after a long occlusion) and raises nothing.
   */
  cooldownS: z.number().min(0).default(3600),
  /**
   * An object that seems to leave its zone or move away for less than this is taken to be still there: a car driving
   * by in front hides the parked car's wheels (its visible box, and so its ground point, jumps), a person stands in
   * front of a stall. Only an absence longer than this ends the stay.
   */
  awayGraceS: z.number().min(0).default(20),
  /**
   * Before the threshold, a vehicle whose box stands somewhere else for at least this long has moved (pulled in and
   * adjusted): its dwell starts again from the first sighting at the new place. Shorter, it is a jumpy box (a passer-by
   * merged into it, a partial occlusion) and the dwell goes on: one such frame used to restart a dwell and miss a car
   * parked for the whole scene.
   */
  moveSettleS: z.number().min(0).default(10),
  /**
   * A vehicle is also standing still while its visible box lies at least this much inside the box it had when its
   * dwell started, or the reverse: occlusion shrinks the visible box without the vehicle moving.
   */
  stillContainment: z.number().gt(0).max(1).default(0.85),
  reacquireIou: z.number().gt(0).max(1).default(0.5),
  /**
   * A stay whose track was lost (not seen leaving) continues when a new track of the same role appears in the zone
   * within this many seconds of its last sighting, at an overlapping place: the tracker re-acquiring one parked car
   * under a new id is one stay, one event (Administrative Penalty Law art. 29, one act, one penalty).
   */
  continueGapS: z.number().min(0).default(30),
  /** ...overlapping: IoU with the stay's last box at least this, or centres within continueCentreFrac... */
  continueIou: z.number().gt(0).max(1).default(0.3),
  /** ...× the smaller side of the stay's last box (occlusion shrinks or shifts the new track's first box). */
  continueCentreFrac: z.number().min(0).max(2).default(0.5),
  /** Default IoU for present(). */
  presentIou: z.number().gt(0).max(1).default(0.3),
});
export type ZoneRulesOptions = z.output<typeof ZoneRulesOptionsSchema>;
export type ZoneRulesOptionsInput = z.input<typeof ZoneRulesOptionsSchema>;

/** A frame an object was seen in, with its box there: one evidence image. */
export interface Sighting<F> {
  frame: F;
  ts: number;
  box: Box;
}

/**
 * Why a candidate ended: its track was seen outside the zone, moved away from where its dwell started (vehicles),
 * was removed by the tracker (lost for too long), or the zone's time window closed.
 */
export type EndReason = 'left' | 'moved' | 'track-removed' | 'window-closed';

/** The roles the rules raise events for. */
export type RuleRole = 'vehicle' | 'two-wheeler' | 'stall';

export interface RuleEvent<F> {
  type: 'event';
  /** Unique per camera: camera/zone/track/start. The event-end of the same object carries the same key. */
  key: string;
  eventType: EventType;
  zone: Zone;
  trackId: number;
  role: RuleRole;
  className: string;
  /** First sighting in the zone (inside its window), threshold crossing, last sighting; epoch ms. */
  start: number;
  thresholdAt: number;
  end: number;
  /** end − start, seconds. */
  dwellS: number;
  /** Mean detector score over the sightings in the zone. */
  confidence: number;
  /** The last sighting's box. */
  box: Box;
  /** Earlier tracks of the same stay (the object re-acquired under trackId), oldest first; usually empty. */
  earlierTrackIds: number[];
  frames: { firstSeen: Sighting<F>; threshold: Sighting<F>; last: Sighting<F> };
  /** 'confirmed': still there confirmS after the threshold; otherwise the candidate ended early for this reason. */
  reason: 'confirmed' | EndReason;
}

/**
 * After an event raised while the object was still there ('confirmed'), the object's stay ends later: this says
 * when, with the final dwell and last sighting, so that the worker can complete the event.
 */
export interface RuleEventEnd<F> {
  type: 'event-end';
  key: string;
  eventType: EventType;
  zone: Zone;
  trackId: number;
  start: number;
  end: number;
  dwellS: number;
  last: Sighting<F>;
  reason: EndReason;
}

export type RuleOutput<F> = RuleEvent<F> | RuleEventEnd<F>;

/** A debug view of a candidate. */
export interface CandidateView {
  zoneId: string;
  trackId: number;
  role: RuleRole;
  className: string;
  /** dwelling: before the threshold; confirming: past it, event not yet raised; reported: event raised. */
  phase: 'dwelling' | 'confirming' | 'reported';
  start: number;
  /** Dwell so far, at the latest frame. */
  dwellS: number;
  thresholdAt?: number;
  box: Box;
  /** The track is lost (occluded or flickering) and keeps its dwell for now. */
  lost: boolean;
}

export type Presence = 'present' | 'occluded' | 'absent';

interface Candidate<F> {
  trackId: number;
  /** Earlier tracks whose stay this one continues (re-acquired under a new id), oldest first. */
  earlierTrackIds: number[];
  role: Role;
  className: string;
  start: number;
  /** The box where the dwell started (or the stay was taken over); its centre is where the object stands. */
  anchorBox: Box;
  /** Since when the object has seemed to be out of the zone or moved (within awayGraceS it is still there). */
  awaySince?: number;
  /** Before the threshold: the first sighting away from the anchor, while it settles (moveSettleS). */
  movedSince?: Sighting<F>;
  awayReason?: EndReason;
  tolerance: number;
  /** Released once the event is out: only `last` is needed after that. */
  firstSeen?: Sighting<F>;
  threshold?: Sighting<F>;
  thresholdAt?: number;
  last: Sighting<F>;
  scoreSum: number;
  scoreN: number;
  /** Set once the event is raised. */
  key?: string;
}

/** What is remembered of an event's object, for the cooldown. */
interface Reported {
  trackId: number;
  role: Role;
  box: Box;
  lastSeen: number;
}

interface ZoneSpec<F> {
  zone: Zone;
  /** The roles the zone's rule applies to, each with the event type it raises. */
  events: Map<Role, EventType>;
  windows: TimeWindow[];
  dwellMs: number;
  confirmMs: number;
  /** Vehicles must stand still; a stall may be shifted about and is still out of the store. */
  stationary: boolean;
  contains: (ground: Point) => boolean;
  candidates: Map<number, Candidate<F>>;
  /** Tracks that raised (or were judged to repeat) an event in this zone: one event per (track, zone). */
  done: Set<number>;
  reported: Reported[];
}

export class ZoneRules<F> {
  readonly options: ZoneRulesOptions;
  private readonly specs: ZoneSpec<F>[];
  private readonly byId = new Map<string, ZoneSpec<F>>();
  private tracks: readonly Track[] = [];
  /** Tracks matched to a detection in the latest frame. */
  private matched = new Set<number>();
  private lastTs: number | undefined;

  constructor(
    readonly camera: Camera,
    readonly timeZone: string,
    options: ZoneRulesOptionsInput = {},
  ) {
    this.options = parseConfig(ZoneRulesOptionsSchema, options, `zone rules options of camera ${camera.id}`);
    if (!isTimeZone(timeZone)) {
      throw new ConfigError(`unknown time zone "${timeZone}" (use an IANA name such as Asia/Shanghai)`);
    }
    this.specs = camera.zones.map((z) => this.spec(z));
    for (const s of this.specs) this.byId.set(s.zone.id, s);
  }

  private spec(zone: Zone): ZoneSpec<F> {
    const o = this.options;
    const confirmMs = 1000 * (o.confirmS ?? Math.max(o.confirmMinS, o.confirmFrac * zone.dwellS));
    const base = {
      zone,
      dwellMs: zone.dwellS * 1000,
      confirmMs,
      candidates: new Map<number, Candidate<F>>(),
      done: new Set<number>(),
      reported: [] as Reported[],
    };
    if (zone.type === 'no-parking') {
      const polygon = zone.polygon;
      return {
        ...base,
        events: new Map(zone.roles.map((r) => [r, PARKING_EVENT_TYPES[r]])),
        windows: zone.windows,
        stationary: true,
        contains: (p) => pointInPolygon(p, polygon),
      };
    }
    const { sidewalk, storeLine } = zone;
    // The street side of the store line is the side the sidewalk lies on.
    const street = sideOfPolyline(polygonCentroid(sidewalk), storeLine);
    if (street === 0) {
      throw new ConfigError(
        `camera ${this.camera.id}, zone ${zone.id}: the sidewalk's centre lies on the store line; draw the sidewalk in front of the line`,
      );
    }
    return {
      ...base,
      events: new Map([['stall', 'out-of-store-vending']]),
      windows: zone.businessHours,
      stationary: false,
      contains: (p) => pointInPolygon(p, sidewalk) && sideOfPolyline(p, storeLine) === street,
    };
  }

  /**
   * One frame: the tracker's live tracks (all of them: a track missing from the list has been removed) at capture
   * time ts, and the frame's handle. Returns the events due and the ends of events raised earlier. A frame not
   * newer than the previous one is ignored.
   */
  update(tracks: readonly Track[], ts: number, frame: F): RuleOutput<F>[] {
    if (this.lastTs !== undefined && ts <= this.lastTs) return [];
    this.lastTs = ts;
    this.tracks = tracks;
    this.matched = new Set(tracks.filter((t) => t.matched).map((t) => t.id));
    const continueMs = this.options.continueGapS * 1000;
    const out: RuleOutput<F>[] = [];
    const live = new Set(tracks.map((t) => t.id));
    const cooldownMs = this.options.cooldownS * 1000;
    for (const s of this.specs) {
      s.reported = s.reported.filter((r) => ts - r.lastSeen <= cooldownMs);
      // Ids are never reused, so what is known of a removed track can go.
      for (const id of s.done) if (!live.has(id)) s.done.delete(id);
      const open = inWindows(ts, s.windows, this.timeZone);
      for (const c of [...s.candidates.values()]) {
        if (!live.has(c.trackId)) {
          // Not seen leaving: a new track may still pick the stay up (continuation) until the gap is over.
          if (!c.awayReason && ts - c.last.ts <= continueMs) continue;
          this.end(s, c, c.awayReason ?? 'track-removed', out);
        } else if (!open) this.end(s, c, 'window-closed', out);
      }
      if (!open) continue;
      for (const t of tracks) {
        // Lost tracks keep their candidate untouched: the dwell goes on through a short occlusion.
        if (s.events.has(t.role) && t.state === 'confirmed' && t.matched) this.observe(s, t, ts, frame, out);
      }
    }
    return out;
  }

  /** Standing still: the centre within tolerance of where the dwell started, or one box (nearly) inside the other. */
  private still(c: Candidate<F>, box: Box): boolean {
    return this.standsAt(c.anchorBox, c.tolerance, box);
  }

  /** Whether box stands where ref stood: centres within tolerance, or one box (nearly) inside the other. */
  private standsAt(ref: Box, tolerance: number, box: Box): boolean {
    if (distance(centre(box), centre(ref)) <= tolerance) return true;
    const inter = iou(box, ref) === 0 ? 0 : intersection(box, ref);
    const k = this.options.stillContainment;
    return inter >= k * area(box) || inter >= k * area(ref);
  }

  private observe(s: ZoneSpec<F>, t: Track, ts: number, frame: F, out: RuleOutput<F>[]): void {
    const c = s.candidates.get(t.id);
    const inZone = s.contains(bottomCentre(t.box));
    if (c && inZone && s.stationary && !c.threshold && !c.key) {
      if (!this.still(c, t.box)) {
        // Before the threshold a move that lasts is a new stop (a car pulling in and adjusting): the dwell starts again
        // from its first sighting at the new place. One that does not last (a jumpy box) changes nothing.
        c.movedSince ??= { frame, ts, box: t.box };
        if (ts - c.movedSince.ts >= this.options.moveSettleS * 1000)
          s.candidates.set(t.id, this.candidate(t, c.movedSince));
        return;
      }
      // Back where the dwell started: the move did not last. Unless the box also stands where the move went: a car
      // whose dwell started on a box still pulling in stands near that first box, its jitter now inside the stillness
      // test, now outside; such a frame does not undo the move (it used to, and the dwell restarted late: after the
      // last such frame instead of from the car's arrival).
      if (c.movedSince && !this.standsAt(c.movedSince.box, this.tolerance(c.movedSince.box), t.box))
        c.movedSince = undefined;
    }
    if (c && (!inZone || (s.stationary && !this.still(c, t.box)))) {
      // Away from the zone or from where it stood: only for a moment (occlusion, a jumpy box), or for real?
      c.awaySince ??= ts;
      c.awayReason = inZone ? 'moved' : 'left';
      if (ts - c.awaySince < this.options.awayGraceS * 1000) return;
      if (!inZone) {
        this.end(s, c, 'left', out);
        return;
      }
      // Moved for good, after the threshold: the vehicle has driven off.
      this.end(s, c, 'moved', out);
      return;
    }
    if (!inZone) return;
    const seen: Sighting<F> = { frame, ts, box: t.box };
    if (!c) {
      if (s.done.has(t.id)) return;
      const stay = this.continues(s, t, ts);
      if (stay) {
        this.takeOver(s, stay, t);
        this.observe(s, t, ts, frame, out);
        return;
      }
      if (this.repeats(s, t.id, t.role, t.box, ts)) {
        s.done.add(t.id);
        return;
      }
      s.candidates.set(t.id, this.candidate(t, seen));
      return;
    }
    c.awaySince = undefined;
    c.awayReason = undefined;
    c.last = seen;
    c.className = t.className;
    c.scoreSum += t.score;
    c.scoreN++;
    if (c.key) {
      for (const r of s.reported) if (r.trackId === t.id) r.lastSeen = ts;
      return;
    }
    if (!c.threshold && ts - c.start >= s.dwellMs) {
      c.threshold = seen;
      c.thresholdAt = ts;
    }
    if (c.threshold && ts - c.threshold.ts >= s.confirmMs) this.emit(s, c, 'confirmed', out);
  }

  /**
   * The stay a new track continues: a candidate of the same role in this zone whose own track is not seen now (lost,
   * or removed without being seen leaving), last seen within continueGapS, at an overlapping place. The best
   * overlap wins.
   */
  private continues(s: ZoneSpec<F>, t: Track, ts: number): Candidate<F> | undefined {
    const o = this.options;
    let best: Candidate<F> | undefined;
    let bestIou = -1;
    for (const c of s.candidates.values()) {
      if (c.role !== t.role || c.trackId === t.id || this.matched.has(c.trackId)) continue;
      if (c.awayReason === 'left' || c.awayReason === 'moved') continue;
      if (ts - c.last.ts > o.continueGapS * 1000) continue;
      const last = c.last.box;
      const overlap = iou(last, t.box);
      const side = Math.min(last[2] - last[0], last[3] - last[1]);
      if (overlap < o.continueIou && distance(centre(last), centre(t.box)) > o.continueCentreFrac * side) continue;
      if (overlap > bestIou) {
        best = c;
        bestIou = overlap;
      }
    }
    return best;
  }

  /** The new track carries the stay on: same start, frames and (once raised) event key; it stands where it is now. */
  private takeOver(s: ZoneSpec<F>, c: Candidate<F>, t: Track): void {
    const old = c.trackId;
    s.candidates.delete(old);
    s.done.add(old);
    c.earlierTrackIds.push(old);
    c.trackId = t.id;
    c.anchorBox = t.box;
    c.awaySince = undefined;
    c.awayReason = undefined;
    s.candidates.set(t.id, c);
    for (const r of s.reported) if (r.trackId === old) r.trackId = t.id;
  }

  /** How far a vehicle's box centre may wander and still stand where this box stood. */
  private tolerance(box: Box): number {
    const side = Math.min(box[2] - box[0], box[3] - box[1]);
    return Math.max(this.options.moveTolerancePx, this.options.moveToleranceFrac * side);
  }

  private candidate(t: Track, seen: Sighting<F>): Candidate<F> {
    return {
      trackId: t.id,
      role: t.role,
      earlierTrackIds: [],
      className: t.className,
      start: seen.ts,
      anchorBox: t.box,
      tolerance: this.tolerance(t.box),
      firstSeen: seen,
      last: seen,
      scoreSum: t.score,
      scoreN: 1,
    };
  }

  /** Whether an object already reported in this zone (by another track) is at this box. */
  private repeats(s: ZoneSpec<F>, trackId: number, role: Role, box: Box, ts: number): boolean {
    const cooldownMs = this.options.cooldownS * 1000;
    const minIou = this.options.reacquireIou;
    // A reported object whose own track is seen away from its spot right now is not the one at this box.
    return s.reported.some(
      (r) =>
        r.trackId !== trackId &&
        r.role === role &&
        ts - r.lastSeen <= cooldownMs &&
        iou(r.box, box) >= minIou &&
        s.candidates.get(r.trackId)?.awaySince === undefined,
    );
  }

  private end(s: ZoneSpec<F>, c: Candidate<F>, reason: EndReason, out: RuleOutput<F>[]): void {
    s.candidates.delete(c.trackId);
    if (c.key) {
      out.push({
        type: 'event-end',
        key: c.key,
        eventType: s.events.get(c.role)!,
        zone: s.zone,
        trackId: c.trackId,
        start: c.start,
        end: c.last.ts,
        dwellS: (c.last.ts - c.start) / 1000,
        last: c.last,
        reason,
      });
    } else if (c.threshold) {
      // Past the threshold but gone before confirmS: the event is raised now, its last sighting is the last frame.
      this.emit(s, c, reason, out);
    }
    // Seen going away: a new object at the same spot is not this one.
    if (reason === 'left' || reason === 'moved') s.reported = s.reported.filter((r) => r.trackId !== c.trackId);
    // Seen out of the zone for good: what the track brings back into the zone later is a new stay. A lost track may be
    // taken over by another vehicle (the tracker re-associates it with one passing where it was lost), and one event
    // per (track, zone) for ever used to keep that vehicle from ever raising one there.
    if (reason === 'left') s.done.delete(c.trackId);
  }

  private emit(s: ZoneSpec<F>, c: Candidate<F>, reason: RuleEvent<F>['reason'], out: RuleOutput<F>[]): void {
    s.done.add(c.trackId);
    const firstSeen = c.firstSeen;
    const threshold = c.threshold;
    if (!firstSeen || !threshold) return;
    // Two tracks on one object (a duplicate detection, a re-acquisition while the old track lingered): one event.
    if (this.repeats(s, c.trackId, c.role, c.last.box, c.last.ts)) {
      s.candidates.delete(c.trackId);
      return;
    }
    const key = `${this.camera.id}/${s.zone.id}/${c.trackId}/${c.start}`;
    out.push({
      type: 'event',
      key,
      eventType: s.events.get(c.role)!,
      zone: s.zone,
      trackId: c.trackId,
      role: c.role as RuleRole,
      className: c.className,
      start: c.start,
      thresholdAt: threshold.ts,
      end: c.last.ts,
      dwellS: (c.last.ts - c.start) / 1000,
      confidence: Math.min(1, Math.max(0, c.scoreSum / c.scoreN)),
      box: c.last.box,
      earlierTrackIds: [...c.earlierTrackIds],
      frames: { firstSeen, threshold, last: c.last },
      reason,
    });
    s.reported.push({ trackId: c.trackId, role: c.role, box: c.last.box, lastSeen: c.last.ts });
    if (reason === 'confirmed') {
      c.key = key;
      c.firstSeen = undefined;
      c.threshold = undefined;
    }
  }

  /** The candidates now, for a debug view. */
  candidates(): CandidateView[] {
    const state = new Map(this.tracks.map((t) => [t.id, t.state]));
    const now = this.lastTs ?? 0;
    const views: CandidateView[] = [];
    for (const s of this.specs) {
      for (const c of s.candidates.values()) {
        views.push({
          zoneId: s.zone.id,
          trackId: c.trackId,
          role: c.role as RuleRole,
          className: c.className,
          phase: c.key ? 'reported' : c.threshold ? 'confirming' : 'dwelling',
          start: c.start,
          dwellS: (now - c.start) / 1000,
          ...(c.thresholdAt !== undefined ? { thresholdAt: c.thresholdAt } : {}),
          box: c.last.box,
          lost: state.get(c.trackId) === 'lost',
        });
      }
    }
    return views;
  }

  /**
   * For a re-check: is an object of this role in the zone now, overlapping the box (IoU ≥ iouMin)? 'present' when
   * a confirmed track matched in the latest frame is; 'occluded' when only a lost track (not seen for a few
   * seconds, still remembered) is; 'absent' otherwise. The zone's time window does not matter here.
   */
  presence(zoneId: string, box: Box, role: Role, iouMin = this.options.presentIou): Presence {
    const s = this.byId.get(zoneId);
    if (!s) throw new RangeError(`camera ${this.camera.id} has no zone "${zoneId}"`);
    let found: Presence = 'absent';
    for (const t of this.tracks) {
      if (t.role !== role || t.state === 'tentative') continue;
      if (iou(t.box, box) < iouMin || !s.contains(bottomCentre(t.box))) continue;
      if (t.state === 'confirmed') return 'present';
      found = 'occluded';
    }
    return found;
  }

  /** present(zoneId, box, role, iouMin): whether a confirmed track of that role overlaps the box in the zone now. */
  present(zoneId: string, box: Box, role: Role, iouMin = this.options.presentIou): boolean {
    return this.presence(zoneId, box, role, iouMin) === 'present';
  }
}
