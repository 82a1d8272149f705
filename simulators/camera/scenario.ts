// A seeded timeline for one camera: who drives by, who stops briefly or parks where, which stalls a shop puts out
// and for how long, who walks past. The timeline also yields the ground truth: every violation (an object that stood
// in a zone, inside the zone's time window, longer than its dwell) and the look-alikes that are not (brief stops,
// parking in a legal bay, goods kept inside the store line, things outside the window).
//
// Times inside the scenario are milliseconds from its start ("t"); the truth is in epoch milliseconds ("ts").
import type { Camera, TimeWindow } from '../../vision/cameras/config.js';
import {
  cameraEntry,
  lineY,
  makeLayout,
  ppmAt,
  visibleFrontage,
  vppmAt,
  type LaneGeom,
  type StreetLayout,
  type ZoneTimes,
} from './layout.js';
import { Rng } from './rng.js';
import {
  makePersonLook,
  makeStallLook,
  makeVehicleLook,
  STALL_KINDS,
  type PersonLook,
  type StallKind,
  type StallLook,
  type VehicleKind,
  type VehicleLook,
} from './sprites.js';
import type { Light } from './street.js';

export const TIME_ZONE = 'Asia/Shanghai';
const TZ_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

export type ObjectClass = 'vehicle' | 'stall' | 'person';
export const CLASSES: readonly ObjectClass[] = ['vehicle', 'stall', 'person'];

/** A point of an actor's path: at t (ms from the start) it stands at x, on the street line with base row y. */
export interface Keyframe {
  t: number;
  x: number;
  y: number;
}

interface ActorCommon {
  id: string;
  /** Index used to derive the actor's own random streams. */
  n: number;
  path: Keyframe[];
  /** Parked objects shake by a pixel or two from frame to frame (camera vibration, detector noise). */
  jitter: boolean;
}

export type VehicleRole = 'passing' | 'stop' | 'park';

export interface VehicleActor extends ActorCommon {
  cls: 'vehicle';
  look: VehicleLook;
  heading: 1 | -1;
  role: VehicleRole;
}

export interface StallActor extends ActorCommon {
  cls: 'stall';
  look: StallLook;
  inside: boolean;
}

export interface PersonActor extends ActorCommon {
  cls: 'person';
  look: PersonLook;
  /** Standing people face the camera. */
  standing: boolean;
}

export type Actor = VehicleActor | StallActor | PersonActor;

export type ViolationType = 'illegal-parking' | 'out-of-store-vending';

export interface Violation {
  type: ViolationType;
  zoneId: string;
  objectId: string;
  /** First and last frame (epoch ms) with the object standing in the zone. */
  from: number;
  to: number;
  /** When its dwell inside the zone's window passed the zone's dwellS. */
  thresholdAt: number;
  plate?: string;
}

export type NonViolationReason = 'brief-stop' | 'legal-bay' | 'inside-store-line' | 'brief-put-out' | 'outside-window';

export interface NonViolation {
  reason: NonViolationReason;
  /** The event type it could be mistaken for. */
  type: ViolationType;
  zoneId: string | null;
  objectId: string;
  from: number;
  to: number;
  /** Seconds of its stay that count against the zone's dwell (inside the window). */
  dwellInWindowS: number;
  plate?: string;
}

export interface ScenarioTruth {
  seed: number;
  family: number;
  familyName: string;
  cameraId: string;
  timeZone: string;
  startTs: number;
  durationMs: number;
  fps: number;
  light: Light;
  violations: Violation[];
  nonViolations: NonViolation[];
  actors: Array<{ id: string; cls: ObjectClass; kind: string; role: string; from: number; to: number; plate?: string }>;
}

export interface LightParams {
  mode: Light;
  brightness: number;
  contrast: number;
  /** Per-channel gains (r, g, b). */
  cast: [number, number, number];
  /** Standard deviation of sensor noise, in 8-bit levels. */
  noise: number;
  blur: number;
  /** Sunny days: light left in the shadows of buildings and trees (0 = overcast, no cast shadows). */
  shade: number;
  /** The facades face away from the sun: they are in shadow too. */
  backlit: boolean;
  quality: number;
}

export interface ScenarioOptions {
  width?: number;
  height?: number;
  /** Frames per second (default 1). */
  fps?: number;
  /** Length in virtual seconds (default: 300–600 drawn from the seed). */
  durationS?: number;
  /** Layout family; drawn from `families` (default: all) when absent. */
  family?: number;
  families?: readonly number[];
  /** Epoch ms of the first frame; zone windows are set around it. Default: a date and time drawn from the seed. */
  startTs?: number;
}

export interface Scenario {
  seed: number;
  layout: StreetLayout;
  camera: Camera;
  zoneTimes: ZoneTimes;
  fps: number;
  frameMs: number;
  frameCount: number;
  startTs: number;
  durationMs: number;
  light: LightParams;
  actors: Actor[];
  truth: ScenarioTruth;
}

// ---------------------------------------------------------------------------------------------------------------
// Time windows

const hhmm = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
const minutesOf = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** Whether ts lies in one of the windows (local time in the city, UTC+8 without daylight saving). */
export function inWindows(ts: number, windows: readonly TimeWindow[]): boolean {
  const local = (((ts + TZ_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
  const min = local / 60_000;
  const weekday = ((Math.floor((ts + TZ_OFFSET_MS) / DAY_MS) + 3) % 7) + 1; // 1970-01-01 was a Thursday (4)
  return windows.some((w) => {
    const a = minutesOf(w.from);
    const b = minutesOf(w.to);
    const days = w.days;
    if (a <= b) return min >= a && min < b && (!days || days.includes(weekday));
    // Past midnight: the part after midnight belongs to the previous day's window.
    if (min >= a) return !days || days.includes(weekday);
    if (min < b) return !days || days.includes(((weekday + 5) % 7) + 1);
    return false;
  });
}

/**
 * The longest run of consecutive frames in [from, to] that lie inside the windows: the stay that counts against
 * the dwell. Returns its start and its length in ms (last frame minus first).
 */
function longestRunInWindow(
  from: number,
  to: number,
  frameMs: number,
  windows: readonly TimeWindow[],
): { start: number; ms: number } {
  let best = { start: from, ms: -1 };
  let runStart: number | null = null;
  for (let ts = from; ts <= to; ts += frameMs) {
    if (inWindows(ts, windows)) {
      if (runStart === null) runStart = ts;
      if (ts - runStart > best.ms) best = { start: runStart, ms: ts - runStart };
    } else runStart = null;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Paths

/** Position of a path at t, or null when the actor is not in the scene then. */
export function pathAt(
  path: readonly Keyframe[],
  t: number,
): { x: number; y: number; moving: boolean; dir: number } | null {
  if (path.length === 0) return null;
  const first = path[0]!;
  const last = path[path.length - 1]!;
  if (t < first.t || t > last.t) return null;
  if (path.length === 1) return { x: first.x, y: first.y, moving: false, dir: 0 };
  for (let i = 0; i < path.length - 1; i++) {
    const a = path[i]!;
    const b = path[i + 1]!;
    if (t >= a.t && t <= b.t) {
      const k = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
      const moving = a.x !== b.x || a.y !== b.y;
      return { x: a.x + (b.x - a.x) * k, y: a.y + (b.y - a.y) * k, moving, dir: Math.sign(b.x - a.x) };
    }
  }
  return { x: last.x, y: last.y, moving: false, dir: 0 };
}

interface Body {
  path: Keyframe[];
  halfLen: number;
}

/** Whether two vehicles would overlap on the road (same band, too close) at any time both are there. */
function collide(a: Body, b: Body, gapPx: number, bandPx: number): boolean {
  const t0 = Math.max(a.path[0]!.t, b.path[0]!.t);
  const t1 = Math.min(a.path[a.path.length - 1]!.t, b.path[b.path.length - 1]!.t);
  for (let t = t0; t <= t1; t += 250) {
    const pa = pathAt(a.path, t);
    const pb = pathAt(b.path, t);
    if (!pa || !pb) continue;
    if (Math.abs(pa.y - pb.y) < bandPx && Math.abs(pa.x - pb.x) < a.halfLen + b.halfLen + gapPx) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// The scenario

interface Episode {
  actor: VehicleActor | StallActor;
  zoneId: string | null;
  type: ViolationType;
  /** Stationary interval in scenario ms (from inclusive, to exclusive). */
  stopFrom: number;
  stopTo: number;
  kind: 'zone' | 'bay' | 'inside' | 'sidewalk';
}

const INSIDE_KINDS: readonly StallKind[] = ['table', 'rack', 'crates', 'shelf'];
const PASSING_KINDS: ReadonlyArray<readonly [VehicleKind, number]> = [
  ['sedan', 30],
  ['suv', 18],
  ['hatchback', 10],
  ['taxi', 8],
  ['van', 7],
  ['truck', 5],
  ['bus', 4],
  ['ebike', 12],
  ['motorcycle', 4],
];
const PARKING_KINDS: ReadonlyArray<readonly [VehicleKind, number]> = [
  ['sedan', 30],
  ['suv', 22],
  ['hatchback', 12],
  ['van', 10],
  ['taxi', 6],
  ['truck', 5],
];
const SPEED_MS: Record<VehicleKind, [number, number]> = {
  sedan: [4, 10],
  suv: [4, 10],
  hatchback: [4, 9],
  taxi: [4, 10],
  van: [4, 9],
  truck: [3, 7],
  bus: [2.5, 6],
  ebike: [3, 6],
  motorcycle: [4, 9],
};

function sun(rng: Rng, dusk: boolean): { shade: number; backlit: boolean } {
  if (dusk || rng.chance(0.45)) return { shade: 0, backlit: false };
  return { shade: rng.float(0.5, 0.75), backlit: rng.chance(0.4) };
}

function chooseLight(rng: Rng, localMin: number): LightParams {
  const dusk = localMin >= 17 * 60 + 30 || localMin < 6 * 60 + 30;
  const mode: Light = dusk ? 'dusk' : 'day';
  const cast: [number, number, number] = dusk
    ? rng.chance(0.5)
      ? [1.08, 0.98, 0.86]
      : [0.92, 0.97, 1.1]
    : [1 + rng.float(-0.04, 0.05), 1 + rng.float(-0.03, 0.03), 1 + rng.float(-0.05, 0.05)];
  return {
    mode,
    brightness: dusk ? rng.float(0.55, 0.75) : rng.float(0.9, 1.12),
    contrast: dusk ? rng.float(0.8, 1.0) : rng.float(0.85, 1.12),
    cast,
    noise: dusk ? rng.float(4, 10) : rng.float(1.5, 6),
    blur: rng.chance(0.3) ? 0 : rng.float(0.3, dusk ? 1.3 : 1.0),
    quality: rng.int(60, 95),
    ...sun(Rng.of(rng.int(1, 1e9), 'sun'), dusk),
  };
}

export function makeScenario(seed: number, opts: ScenarioOptions = {}): Scenario {
  const layout = makeLayout(seed, {
    width: opts.width,
    height: opts.height,
    family: opts.family,
    families: opts.families,
  });
  const rng = Rng.of(seed, 'scenario');
  const fps = opts.fps ?? 1;
  if (!(fps > 0 && fps <= 30)) throw new Error(`fps must be in (0, 30], got ${fps}`);
  const frameMs = 1000 / fps;
  const durationS = opts.durationS ?? rng.int(30, 60) * 10;
  const frameCount = Math.max(1, Math.floor((durationS * 1000) / frameMs));
  const D = frameCount * frameMs;
  const dwellChoices = [60, 70, 80, 90, 100, 110, 120];
  // Keep the dwell well below the scenario, so violations fit.
  const dwellFit = dwellChoices.filter((d) => d * 1000 * 1.8 < D);
  const npDwell = dwellFit.length ? rng.pick(dwellFit) : Math.max(10, Math.floor(D / 3000));
  const sfDwell = dwellFit.length ? rng.pick(dwellFit) : Math.max(10, Math.floor(D / 3000));
  const margin = (dwell: number) => Math.max(15_000, dwell * 250);
  /** Stop and start times fall between frames, so no frame shows an object half-arrived. */
  const onHalfFrame = (t: number) => Math.round((t - frameMs / 2) / frameMs) * frameMs + frameMs / 2;

  // Start time and windows. Most scenarios lie inside every window; some cross a window's end or start, so that
  // a violation outside the window (not an event) happens.
  // With a start time given (a live feed), windows are always on: the camera entry then depends on the seed alone.
  const crossing = rng.chance(0.2);
  const crossingKind = rng.pick(['end', 'start'] as const);
  const boundary: 'none' | 'end' | 'start' = opts.startTs === undefined && crossing ? crossingKind : 'none';
  const day = Date.UTC(2026, 3, 1) + (seed % 180) * DAY_MS - TZ_OFFSET_MS;
  let startTs: number;
  let npWindows: TimeWindow[];
  let sfWindows: TimeWindow[];
  const boundaryAt = boundary === 'none' ? 0 : Math.round((D * rng.float(0.3, 0.45)) / frameMs) * frameMs + frameMs / 2;
  if (boundary === 'end') {
    const endMin = rng.pick([19 * 60, 20 * 60, 21 * 60]);
    startTs = day + endMin * 60_000 - boundaryAt - frameMs / 2;
    startTs = Math.round(startTs / 1000) * 1000;
    npWindows = [{ from: hhmm(rng.pick([7, 8]) * 60), to: hhmm(endMin) }];
    sfWindows = rng.chance(0.5) ? [{ from: '08:00', to: hhmm(endMin) }] : [{ from: '00:00', to: '24:00' }];
  } else if (boundary === 'start') {
    const startMin = rng.pick([7 * 60, 7 * 60 + 30, 8 * 60]);
    startTs = day + startMin * 60_000 - boundaryAt - frameMs / 2;
    startTs = Math.round(startTs / 1000) * 1000;
    npWindows = [{ from: hhmm(startMin), to: hhmm(rng.pick([19, 20, 21]) * 60) }];
    sfWindows = [{ from: hhmm(startMin), to: '22:00' }];
  } else {
    startTs = opts.startTs ?? day + rng.int(8 * 60 + 30, 18 * 60 + 30) * 60_000 + rng.int(0, 59) * 1000;
    const localStart = Math.floor(((((startTs + TZ_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
    const endLocal = localStart + Math.ceil(D / 60_000);
    const fits = (a: number, b: number) => a <= localStart - 30 && b >= endLocal + 30 && b <= 24 * 60;
    const pickWindow = (froms: number[], tos: number[]): TimeWindow[] => {
      const options: TimeWindow[] = [];
      for (const a of froms) for (const b of tos) if (fits(a, b)) options.push({ from: hhmm(a), to: hhmm(b) });
      return rng.chance(0.4) || options.length === 0 ? [{ from: '00:00', to: '24:00' }] : [rng.pick(options)];
    };
    const always: TimeWindow[] = [{ from: '00:00', to: '24:00' }];
    const np = pickWindow([360, 420, 450, 480], [1140, 1200, 1260, 1320]);
    const sf = pickWindow([420, 480, 540], [1200, 1260, 1320, 1380]);
    npWindows = opts.startTs === undefined ? np : always;
    sfWindows = opts.startTs === undefined ? sf : always;
  }
  /**
   * Shortens a stay whose counted dwell (frames seen inside the window) is too close to the limit to call, so that
   * every stay is clearly a violation or clearly not one.
   */
  const unambiguous = (from: number, to: number, windows: TimeWindow[], dwellMs: number, m: number): number => {
    for (let end = to; end > from; end -= 2 * frameMs) {
      const span = framesIn(from, end, frameMs, D);
      if (!span) return end;
      const run = longestRunInWindow(startTs + span.first, startTs + span.last, frameMs, windows).ms;
      if (run < dwellMs - m || run >= dwellMs + m) return end;
    }
    return from;
  };
  const zoneTimes: ZoneTimes = {
    noParking: { windows: npWindows, dwellS: npDwell },
    storefront: { businessHours: sfWindows, dwellS: sfDwell },
  };
  const camera = cameraEntry(layout, zoneTimes, fps);
  const localStartMin = Math.floor(((((startTs + TZ_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
  const light = chooseLight(Rng.of(seed, 'light'), localStartMin);

  const W = layout.width;
  const actors: Actor[] = [];
  const episodes: Episode[] = [];
  let n = 0;
  const nextId = (prefix: string) => `${prefix}-${++n}`;
  const lane0 = layout.lanes[0]!;
  const laneBase = (lane: LaneGeom, widthM: number) => {
    const mid = (lane.top + lane.bottom) / 2;
    return Math.round(mid + 0.5 * widthM * vppmAt(layout, mid));
  };
  // A parked vehicle's near side, kept clear of the curb lane's edge line so its ground point is inside the zone.
  const curbBase = (widthM: number) =>
    Math.round(
      Math.min(
        layout.curbY + (0.35 + widthM) * vppmAt(layout, layout.curbY),
        layout.parkY - 0.2 * (layout.parkY - layout.curbY),
      ),
    );
  const halfLenPx = (look: VehicleLook, baseY: number) => {
    const ppm = ppmAt(layout, baseY);
    // The body, plus a little of the end face that sticks out on one side.
    return (look.lengthM * ppm) / 2 + 0.25 * Math.max(88 * (layout.height / 720), look.widthM * ppm * 0.62);
  };
  /** How far beyond the frame's edge a vehicle enters and leaves, so it never pops in. */
  const offPx = (look: VehicleLook, baseY: number) => {
    const ppm = ppmAt(layout, baseY);
    return (look.lengthM * ppm) / 2 + Math.max(88 * (layout.height / 720), look.widthM * ppm * 0.62) + 30;
  };
  const bodies: Body[] = [];
  const bandPx = (lane0.bottom - lane0.top) * 0.6;

  // --- Curb lane: parking and stopping, one spot per zone and per bay.
  interface Spot {
    kind: 'zone' | 'bay';
    zoneId: string | null;
    x0: number;
    x1: number;
  }
  const spots: Spot[] = [
    ...layout.noParking.map((z) => ({ kind: 'zone' as const, zoneId: z.zoneId, x0: z.x0, x1: z.x1 })),
    ...layout.bays.map((b) => ({ kind: 'bay' as const, zoneId: null, x0: b.x0, x1: b.x1 })),
  ];
  const npDwellMs = npDwell * 1000;
  const sfDwellMs = sfDwell * 1000;
  const h = lane0.dir;

  /** Builds the path of a vehicle that stops at x from stopFrom to stopTo (either may lie outside the scenario). */
  const parkingPath = (look: VehicleLook, x: number, stopFrom: number, stopTo: number, speedMs: number): Keyframe[] => {
    const yLane = laneBase(lane0, look.widthM);
    const yCurb = curbBase(look.widthM);
    const vpx = (speedMs * ppmAt(layout, yLane)) / 1000;
    const half = offPx(look, yLane);
    const pull = 1.0 * look.lengthM * ppmAt(layout, yLane);
    const xIn = h > 0 ? -half : W + half;
    const xOut = h > 0 ? W + half : -half;
    const pullMs = 4500;
    const path: Keyframe[] = [];
    if (stopFrom > 0) {
      const x1 = x - h * pull;
      const t1 = stopFrom - pullMs;
      path.push({ t: t1 - Math.abs(x1 - xIn) / vpx, x: xIn, y: yLane }, { t: t1, x: x1, y: yLane });
    }
    path.push({ t: stopFrom, x, y: yCurb }, { t: stopTo, x, y: yCurb });
    if (stopTo < D) {
      const x4 = x + h * pull;
      const t4 = stopTo + pullMs;
      path.push({ t: t4, x: x4, y: yLane }, { t: t4 + Math.abs(xOut - x4) / vpx, x: xOut, y: yLane });
    }
    return path;
  };

  for (const [si, spot] of spots.entries()) {
    const srng = Rng.of(seed, 'spot', si);
    let cursor = srng.chance(0.3) ? -srng.int(20, 200) * 1000 : srng.int(0, 40) * 1000;
    // Scenarios with a window boundary get a long stay on the first zone right after (or before) it.
    let forced = boundary !== 'none' && si === 0 && spot.kind === 'zone';
    let forceShift = 0;
    for (let tries = 0; tries < 14 && cursor < D - 30_000; tries++) {
      const look = makeVehicleLook(srng, srng.weighted(PARKING_KINDS));
      let stopFrom: number;
      let stopTo: number;
      if (forced) {
        if (boundary === 'end') {
          stopFrom = boundaryAt + srng.int(10, 30) * 1000 + forceShift;
          stopTo = Math.min(D + 60_000, stopFrom + npDwellMs + margin(npDwell) + srng.int(10, 60) * 1000);
        } else {
          stopFrom = (srng.chance(0.5) ? -srng.int(10, 60) * 1000 : srng.int(5, 20) * 1000) + forceShift;
          stopTo = boundaryAt - srng.int(5, 20) * 1000;
        }
      } else {
        stopFrom = Math.max(cursor, -200_000);
        let stay: number;
        if (spot.kind === 'bay') stay = srng.float(0.5, 3.5) * npDwellMs;
        else if (srng.chance(0.5)) stay = npDwellMs + margin(npDwell) + srng.float(0, 1.5) * npDwellMs;
        else stay = srng.float(0.15, 0.55) * npDwellMs;
        stopTo = stopFrom + stay;
      }
      stopFrom = onHalfFrame(stopFrom);
      stopTo = onHalfFrame(stopTo);
      if (spot.kind === 'zone') stopTo = unambiguous(stopFrom, stopTo, npWindows, npDwellMs, margin(npDwell));
      if (stopTo - stopFrom < 5 * frameMs) {
        cursor += 10_000;
        continue;
      }
      const speed = srng.float(4, 8);
      // The car stands with its body in the spot and its box's bottom centre well inside it.
      const yCurb = curbBase(look.widthM);
      const ppm = ppmAt(layout, yCurb);
      const L = look.lengthM * ppm;
      const E = Math.max(88 * (layout.height / 720), look.widthM * ppm * 0.62);
      const k = layout.height / 720;
      const lo = Math.max(spot.x0 + L / 2 + 5 * k, spot.x0 + 40 * k - (layout.viewSide * E) / 2);
      const hi = Math.min(spot.x1 - L / 2 - 5 * k, spot.x1 - 40 * k - (layout.viewSide * E) / 2);
      const x = Math.round(lo <= hi ? srng.float(lo, hi) : (spot.x0 + spot.x1) / 2 - (layout.viewSide * E) / 4);
      const path = parkingPath(look, x, stopFrom, stopTo, speed);
      const body: Body = { path, halfLen: halfLenPx(look, laneBase(lane0, look.widthM)) };
      if (bodies.some((b) => collide(b, body, 20, bandPx))) {
        if (forced) forceShift += 4000;
        else cursor = stopFrom + 12_000;
        continue;
      }
      forced = false;
      bodies.push(body);
      const actor: VehicleActor = {
        cls: 'vehicle',
        id: nextId('veh'),
        n,
        path,
        jitter: true,
        look,
        heading: h,
        role: spot.kind === 'bay' || stopTo - stopFrom > npDwellMs ? 'park' : 'stop',
      };
      actors.push(actor);
      episodes.push({ actor, zoneId: spot.zoneId, type: 'illegal-parking', stopFrom, stopTo, kind: spot.kind });
      cursor = Math.max(cursor, stopTo + 4500 + srng.int(10, 40) * 1000 + 8000);
    }
  }

  // --- Passing traffic in every lane, and a bus or truck passing slowly in front of a parked car.
  const addPassing = (lane: LaneGeom, look: VehicleLook, tEnter: number, speedMs: number): boolean => {
    const two = look.kind === 'ebike' || look.kind === 'motorcycle';
    const y = two
      ? Math.round(lane.top + (0.9 + look.widthM * 0.5) * vppmAt(layout, lane.top))
      : laneBase(lane, look.widthM);
    const half = halfLenPx(look, y);
    const off = offPx(look, y);
    const vpx = (speedMs * ppmAt(layout, y)) / 1000;
    const xIn = lane.dir > 0 ? -off : W + off;
    const xOut = lane.dir > 0 ? W + off : -off;
    const path: Keyframe[] = [
      { t: tEnter, x: xIn, y },
      { t: tEnter + Math.abs(xOut - xIn) / vpx, x: xOut, y },
    ];
    const body: Body = { path, halfLen: half };
    if (bodies.some((b) => collide(b, body, 40, bandPx))) return false;
    bodies.push(body);
    actors.push({
      cls: 'vehicle',
      id: nextId('veh'),
      n,
      path,
      jitter: false,
      look,
      heading: lane.dir,
      role: 'passing',
    });
    return true;
  };
  const occluders = episodes.filter(
    (e) => e.kind === 'zone' && e.stopTo - e.stopFrom > npDwellMs && e.stopTo > 30_000 && e.stopFrom < D - 30_000,
  );
  for (const e of occluders.slice(0, 2)) {
    const orng = Rng.of(seed, 'occluder', e.actor.n);
    const look = makeVehicleLook(orng, orng.chance(0.6) ? 'bus' : 'truck');
    const speed = orng.float(2, 3.5);
    const target = Math.max(e.stopFrom, 0) + (Math.min(e.stopTo, D) - Math.max(e.stopFrom, 0)) * orng.float(0.3, 0.7);
    const px = pathAt(e.actor.path, target)!.x;
    const y = laneBase(lane0, look.widthM);
    const vpx = (speed * ppmAt(layout, y)) / 1000;
    const xIn = lane0.dir > 0 ? -offPx(look, y) : W + offPx(look, y);
    for (let k = 0; k < 6; k++) {
      const tEnter = target - Math.abs(px - xIn) / vpx + k * 3000 * (k % 2 ? -1 : 1);
      if (addPassing(lane0, look, tEnter, speed)) break;
    }
  }
  for (const [li, lane] of layout.lanes.entries()) {
    const lrng = Rng.of(seed, 'traffic', li);
    const busy = lrng.float(4, 14);
    for (let t = -lrng.int(0, 10) * 1000; t < D; t += lrng.float(0.4, 1.6) * busy * 1000) {
      const kind = lrng.weighted(PASSING_KINDS);
      const look = makeVehicleLook(lrng, kind);
      const [v0, v1] = SPEED_MS[kind];
      for (let k = 0; k < 3; k++) if (addPassing(lane, look, t + k * 2500, lrng.float(v0, v1))) break;
    }
  }

  // --- Stalls: each visible shop frontage has a few slots; stalls are put out, kept inside, or left out too long.
  const storeToCurb = layout.curbY - layout.storeY;
  for (const shop of layout.shops) {
    const front = visibleFrontage(layout, shop);
    if (!front) continue;
    const srng = Rng.of(seed, 'shop', shop.x0 | 0);
    const ppmS = ppmAt(layout, layout.storeY);
    const slotW = 3.0 * ppmS;
    const nSlots = Math.floor((front.x1 - front.x0) / slotW);
    for (let slot = 0; slot < nSlots; slot++) {
      if (!srng.chance(0.55)) continue;
      const sx0 = front.x0 + slot * slotW;
      const sx1 = sx0 + slotW;
      const inside = srng.chance(0.25);
      // Umbrellas and tables with stools only ever stand outside.
      const kind: StallKind = srng.pick(inside ? INSIDE_KINDS : STALL_KINDS);
      const look = makeStallLook(srng, kind);
      let y: number;
      let x: number;
      if (inside) {
        // Inside the store line: in a doorway or open front wide enough for it.
        const needW = look.widthM * ppmS + 20;
        const op = shop.openings.find((o) => Math.min(o.x1, sx1) - Math.max(o.x0, sx0) >= needW);
        if (!op) continue;
        const a = Math.max(op.x0, sx0) + needW / 2;
        const b = Math.min(op.x1, sx1) - needW / 2;
        x = Math.round(srng.float(a, Math.max(a, b)));
        y = Math.round(layout.storeY - srng.float(0.45, 0.8) * vppmAt(layout, layout.storeY));
      } else {
        y = Math.round(layout.storeY + storeToCurb * srng.float(0.25, 0.62));
        const w = look.widthM * ppmAt(layout, y);
        const a = sx0 + w / 2 + 0.3 * ppmS;
        const b = sx1 - w / 2 - 0.3 * ppmS;
        x = Math.round(a <= b ? srng.float(a, b) : (sx0 + sx1) / 2);
      }
      // One or two stays per slot.
      let cursor = srng.chance(0.4) ? -srng.int(30, 300) * 1000 : srng.int(0, 90) * 1000;
      const stays = inside ? 1 : srng.int(1, 2);
      for (let k = 0; k < stays && cursor < D - 20_000; k++) {
        let stay: number;
        if (inside) stay = D + 120_000;
        else if (boundary !== 'none' && k === 0 && slot === 0) {
          // Around the window boundary: a long stay mostly outside the business hours.
          if (boundary === 'end') cursor = boundaryAt + srng.int(5, 30) * 1000;
          stay =
            boundary === 'end'
              ? sfDwellMs + margin(sfDwell) + srng.int(20, 60) * 1000
              : boundaryAt - cursor - srng.int(5, 20) * 1000;
          if (stay <= 10_000) continue;
        } else if (srng.chance(0.55)) stay = sfDwellMs + margin(sfDwell) + srng.float(0, 1.5) * sfDwellMs;
        else stay = srng.float(0.15, 0.55) * sfDwellMs;
        const from = Math.round(cursor / frameMs) * frameMs + frameMs / 2;
        let to = from + Math.round(stay / frameMs) * frameMs;
        if (!inside) to = unambiguous(from, to, sfWindows, sfDwellMs, margin(sfDwell));
        if (to - from < 5 * frameMs) continue;
        const actor: StallActor = {
          cls: 'stall',
          id: nextId('stall'),
          n,
          path: [
            { t: from, x, y },
            { t: to, x, y },
          ],
          jitter: true,
          look,
          inside,
        };
        actors.push(actor);
        episodes.push({
          actor,
          zoneId: shop.zoneId,
          type: 'out-of-store-vending',
          stopFrom: from,
          stopTo: to,
          kind: inside ? 'inside' : 'sidewalk',
        });
        // A vendor stands beside some stalls.
        if (!inside && srng.chance(0.5)) {
          const side = srng.chance(0.5) ? 1 : -1;
          const px = x + side * (look.widthM / 2 + 0.45) * ppmAt(layout, y);
          const py = y - Math.round(srng.float(0.2, 0.6) * vppmAt(layout, y));
          const pFrom = Math.max(from, 0) + srng.int(0, 20) * 1000;
          const pTo = Math.min(to, D) - srng.int(0, 20) * 1000;
          if (pTo > pFrom && px > 0 && px < W)
            actors.push({
              cls: 'person',
              id: nextId('ped'),
              n,
              path: [
                { t: pFrom, x: px, y: py },
                { t: pTo, x: px, y: py },
              ],
              jitter: false,
              look: makePersonLook(srng),
              standing: true,
            });
        }
        cursor = to + srng.int(20, 90) * 1000;
      }
    }
  }

  // --- People: walking along the sidewalk, crossing the road in front of parked cars, waiting at shop doors.
  const prng = Rng.of(seed, 'people');
  const walkBand = (): number => Math.round(layout.storeY + storeToCurb * prng.float(0.12, 0.92));
  for (let t = -prng.int(0, 15) * 1000; t < D; t += prng.float(3, 14) * 1000) {
    const look = makePersonLook(prng);
    const y = walkBand();
    const speed = prng.float(0.9, 1.6) * (look.heightM < 1.4 ? 0.8 : 1);
    const vpx = (speed * ppmAt(layout, y)) / 1000;
    const dir = prng.chance(0.5) ? 1 : -1;
    const xIn = dir > 0 ? -40 : W + 40;
    const xOut = dir > 0 ? W + 40 : -40;
    const path: Keyframe[] = [{ t, x: xIn, y }];
    if (prng.chance(0.2)) {
      // Stops for a while (looking at a shop window, on the phone).
      const xs = prng.float(0.15, 0.85) * W;
      const ts = t + Math.abs(xs - xIn) / vpx;
      const wait = prng.int(5, 40) * 1000;
      path.push(
        { t: ts, x: xs, y },
        { t: ts + wait, x: xs, y },
        { t: ts + wait + Math.abs(xOut - xs) / vpx, x: xOut, y },
      );
    } else path.push({ t: t + Math.abs(xOut - xIn) / vpx, x: xOut, y });
    actors.push({ cls: 'person', id: nextId('ped'), n, path, jitter: false, look, standing: false });
  }
  // Crossing in front of parked cars: occlusion of the plate and the body for a few frames.
  for (const e of episodes.filter((ep) => ep.kind === 'zone' || ep.kind === 'bay')) {
    if (!prng.chance(0.5)) continue;
    const look = makePersonLook(prng);
    const t0 = Math.max(0, e.stopFrom) + prng.float(0.2, 0.8) * (Math.min(e.stopTo, D) - Math.max(0, e.stopFrom));
    const at = pathAt(e.actor.path, t0);
    if (!at) continue;
    const x = at.x + prng.float(-0.3, 0.3) * look.heightM * ppmAt(layout, at.y);
    const down = prng.chance(0.6);
    const speed = prng.float(1.0, 1.5);
    const pts: Keyframe[] = [];
    let y = down ? layout.curbY - 6 : layout.height + 60;
    let t = t0;
    for (let k = 0; k < 60; k++) {
      pts.push({ t, x, y });
      const step = speed * vppmAt(layout, Math.min(layout.height, Math.max(layout.curbY, y)));
      y += down ? step : -step;
      t += 1000;
      if (down ? y > layout.height + 60 : y < layout.curbY - 6) break;
    }
    pts.push({ t, x, y: down ? layout.height + 60 : layout.curbY - 6 });
    actors.push({ cls: 'person', id: nextId('ped'), n, path: pts, jitter: false, look, standing: false });
  }

  // --- Ground truth from the episodes, frame by frame.
  const truth = judge(seed, layout, camera, zoneTimes, episodes, actors, {
    startTs,
    D,
    frameMs,
    fps,
    light: light.mode,
  });
  return { seed, layout, camera, zoneTimes, fps, frameMs, frameCount, startTs, durationMs: D, light, actors, truth };
}

/** Frame times (scenario ms) from a to b that the scenario shows. */
function framesIn(a: number, b: number, frameMs: number, D: number): { first: number; last: number } | null {
  const first = Math.max(0, Math.ceil(a / frameMs) * frameMs);
  const last = Math.min(D - frameMs, Math.ceil(b / frameMs) * frameMs - frameMs);
  return last >= first ? { first, last } : null;
}

function judge(
  seed: number,
  layout: StreetLayout,
  camera: Camera,
  times: ZoneTimes,
  episodes: Episode[],
  actors: Actor[],
  c: { startTs: number; D: number; frameMs: number; fps: number; light: Light },
): ScenarioTruth {
  const violations: Violation[] = [];
  const nonViolations: NonViolation[] = [];
  for (const e of episodes) {
    const span = framesIn(e.stopFrom, e.stopTo, c.frameMs, c.D);
    if (!span) continue;
    const from = c.startTs + span.first;
    const to = c.startTs + span.last;
    const plate = e.actor.cls === 'vehicle' ? (e.actor.look.plate ?? undefined) : undefined;
    const base = { type: e.type, objectId: e.actor.id, from, to, ...(plate ? { plate } : {}) };
    if (e.kind === 'bay') {
      nonViolations.push({ ...base, reason: 'legal-bay', zoneId: null, dwellInWindowS: 0 });
      continue;
    }
    if (e.kind === 'inside') {
      nonViolations.push({ ...base, reason: 'inside-store-line', zoneId: e.zoneId, dwellInWindowS: 0 });
      continue;
    }
    const windows = e.type === 'illegal-parking' ? times.noParking.windows : times.storefront.businessHours;
    const dwellMs = (e.type === 'illegal-parking' ? times.noParking.dwellS : times.storefront.dwellS) * 1000;
    const run = longestRunInWindow(from, to, c.frameMs, windows);
    const inWin = Math.max(0, run.ms);
    if (inWin >= dwellMs) {
      violations.push({ ...base, zoneId: e.zoneId!, thresholdAt: run.start + dwellMs });
    } else {
      const full = to - from;
      nonViolations.push({
        ...base,
        zoneId: e.zoneId,
        reason: full >= dwellMs ? 'outside-window' : e.type === 'illegal-parking' ? 'brief-stop' : 'brief-put-out',
        dwellInWindowS: Math.round(inWin / 1000),
      });
    }
  }
  const byTime = (a: { from: number }, b: { from: number }) => a.from - b.from;
  violations.sort(byTime);
  nonViolations.sort(byTime);
  const actorRows = actors
    .map((a) => {
      const span = framesIn(a.path[0]!.t, a.path[a.path.length - 1]!.t + 1, c.frameMs, c.D);
      if (!span) return null;
      const kind =
        a.cls === 'vehicle' ? a.look.kind : a.cls === 'stall' ? a.look.kind : a.standing ? 'standing' : 'walking';
      const role = a.cls === 'vehicle' ? a.role : a.cls === 'stall' ? (a.inside ? 'inside' : 'outside') : 'pedestrian';
      const plate = a.cls === 'vehicle' && a.look.plate ? { plate: a.look.plate } : {};
      return { id: a.id, cls: a.cls, kind, role, from: c.startTs + span.first, to: c.startTs + span.last, ...plate };
    })
    .filter((r): r is NonNullable<typeof r> => r !== null);
  return {
    seed,
    family: layout.family,
    familyName: layout.familyName,
    cameraId: camera.id,
    timeZone: TIME_ZONE,
    startTs: c.startTs,
    durationMs: c.D,
    fps: c.fps,
    light: c.light,
    violations,
    nonViolations,
    actors: actorRows,
  };
}

/** Where an actor stands at t, with what it needs to be drawn; null when it is not in the scene. */
export interface ActorState {
  actor: Actor;
  x: number;
  baseY: number;
  moving: boolean;
  /** Heading or facing: vehicles keep their heading, people face where they walk (0 = standing, facing the camera). */
  facing: -1 | 0 | 1;
  phase: number;
}

export function actorStateAt(s: Scenario, a: Actor, t: number): ActorState | null {
  const p = pathAt(a.path, t);
  if (!p) return null;
  let x = p.x;
  let y = p.y;
  if (a.jitter && !p.moving) {
    // Seeded per frame: a pixel or two, like a camera on a pole in the wind.
    const r = Rng.of(s.seed, 'jitter', a.n, Math.round(t));
    x += r.weighted([
      [-1, 2],
      [0, 3],
      [1, 2],
      [2, 0.4],
      [-2, 0.4],
    ] as const);
    y += r.weighted([
      [-1, 1],
      [0, 4],
      [1, 1],
    ] as const);
  }
  let facing: -1 | 0 | 1 = 0;
  if (a.cls === 'vehicle') facing = a.heading;
  else if (a.cls === 'person') facing = a.standing || !p.moving ? 0 : p.dir > 0 ? 1 : p.dir < 0 ? -1 : 0;
  const phase = a.cls === 'person' && p.moving ? (Math.floor(t / 450) + a.n) % 4 : 0;
  return { actor: a, x, baseY: y, moving: p.moving, facing, phase };
}

/** The image row of the ground under an actor's state. */
export function groundRow(l: StreetLayout, st: ActorState): number {
  return lineY(l, st.baseY, st.x);
}
