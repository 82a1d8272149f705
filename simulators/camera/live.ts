// A live, controllable scene: the street of a seed, empty unless asked otherwise, on a clock that runs in wall time.
// A test puts a stall out in front of a shop (or parks a car in a no-parking zone), lets the vision worker raise its
// event, and later takes the object away again, or leaves it, to see what a re-check after a notice finds. Frames
// are rendered on demand for any capture time from the scene's start on, so a feed can send them with ts = now.
import type { Box } from '../../contracts/events.js';
import type { Camera, CameraRegistry } from '../../vision/cameras/config.js';
import { ppmAt, visibleFrontage, vppmAt } from './layout.js';
import { SceneRenderer, type TruthBox } from './render.js';
import { Rng } from './rng.js';
import { makeScenario, TIME_ZONE, type Actor, type Scenario, type StallActor, type VehicleActor } from './scenario.js';
import { makeStallLook, makeVehicleLook, type StallKind, type VehicleKind } from './sprites.js';

export interface LiveSceneOptions {
  /** Epoch ms of the scene's clock zero (default: now). Frames can be asked for any capture time from here on. */
  startTs?: number;
  /** Frames per second the camera sends (its registry entry's fps; default 1). */
  fps?: number;
  width?: number;
  height?: number;
  /** Layout family; drawn from the seed when absent. */
  family?: number;
  /** Dwell of the zones in seconds (tests use a few seconds); one number for all, or per zone type. Default the seed's. */
  dwellS?: number | { noParking?: number; storefront?: number };
  /**
   * Keep the seed's own timeline (traffic, stalls, passers-by), which plays once over the scenario's first minutes.
   * Default false: an empty street, only what the caller puts there.
   */
  background?: boolean;
  /** The camera's `publishedAt` in its registry entry (YYYY-MM-DD), e.g. long ago so that it enforces. */
  publishedAt?: string;
}

export interface LiveObject {
  id: string;
  cls: 'stall' | 'vehicle';
  zoneId: string;
  /** Epoch ms it appears, and from when it is gone (absent while in the scene). */
  from: number;
  removedAt?: number;
}

export interface LiveFrame {
  ts: number;
  jpeg: Buffer;
  width: number;
  height: number;
  /** Truth boxes of the objects in the frame (what a perfect detector would see). */
  boxes: TruthBox[];
}

export interface LiveScene {
  /** The camera's registry entry: zones enforced at all hours, dwell as asked. */
  readonly camera: Camera;
  /** A registry with just this camera (CameraRegistrySchema). */
  readonly registry: CameraRegistry;
  readonly fps: number;
  readonly startTs: number;
  readonly scenario: Scenario;
  /** Storefront zone ids (one per visible shop, left to right) and no-parking zone ids. */
  readonly storefrontZones: readonly string[];
  readonly noParkingZones: readonly string[];
  /**
   * Puts a stall out on the sidewalk in front of a shop (the zone's, or the first storefront zone), from `at` (epoch
   * ms, default now) until it is removed. `place` is where along the shop front, 0..1 (default 0.5). Returns its id.
   */
  putStall(o?: { zoneId?: string; kind?: StallKind; at?: number; place?: number }): string;
  /** A vehicle standing in a no-parking zone (the zone's, or the first) from `at` until removed. Returns its id. */
  parkVehicle(o?: { zoneId?: string; kind?: VehicleKind; at?: number; place?: number }): string;
  /** Takes an object out of the scene from `at` (default now) on: the shop carries the stall in, the car drives off. */
  remove(objectId: string, at?: number): void;
  /** The objects put into the scene, in order. */
  objects(): LiveObject[];
  /** The frame at capture time ts (epoch ms, not before the scene's start). */
  frameAt(ts: number): Promise<LiveFrame>;
  /** Where an object is at ts (its whole extent as if nothing hid it), or null when it is not in the scene then. */
  boxOf(objectId: string, ts: number): Promise<Box | null>;
}

/** "Until removed": a path end far beyond any test or demo. */
const FOREVER = 10 * 365 * 86_400_000;
const ALWAYS = [{ from: '00:00', to: '24:00' }];

export function createLiveScene(seed: number, o: LiveSceneOptions = {}): LiveScene {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  const startTs = o.startTs ?? Date.now();
  const scenario = makeScenario(seed, { startTs, fps: o.fps, width: o.width, height: o.height, family: o.family });
  if (!o.background) scenario.actors.splice(0);
  const layout = scenario.layout;
  const dwell = typeof o.dwellS === 'number' ? { noParking: o.dwellS, storefront: o.dwellS } : (o.dwellS ?? {});
  for (const [k, v] of Object.entries(dwell)) {
    if (v !== undefined && !(v > 0)) throw new Error(`dwellS.${k} must be positive, got ${v}`);
  }
  const camera: Camera = {
    ...scenario.camera,
    ...(o.publishedAt ? { publishedAt: o.publishedAt } : {}),
    zones: scenario.camera.zones.map((z) =>
      z.type === 'no-parking'
        ? { ...z, windows: ALWAYS, dwellS: dwell.noParking ?? z.dwellS }
        : { ...z, businessHours: ALWAYS, dwellS: dwell.storefront ?? z.dwellS },
    ),
  };
  const renderer = new SceneRenderer(scenario);
  const placed = new Map<string, { actor: StallActor | VehicleActor; obj: LiveObject }>();
  let n = 0;
  const rel = (ts: number) => ts - startTs;
  const checkTime = (ts: number, what: string) => {
    if (!Number.isFinite(ts) || ts < startTs) throw new Error(`${what} ${ts} is before the scene's start ${startTs}`);
  };
  const storefrontZones = layout.shops.filter((s) => visibleFrontage(layout, s)).map((s) => s.zoneId);
  const noParkingZones = layout.noParking.map((z) => z.zoneId);

  const add = (actor: StallActor | VehicleActor, zoneId: string, at: number) => {
    scenario.actors.push(actor as Actor);
    const obj: LiveObject = { id: actor.id, cls: actor.cls, zoneId, from: at };
    placed.set(actor.id, { actor, obj });
    return actor.id;
  };
  const at01 = (place: number | undefined) => {
    const p = place ?? 0.5;
    if (!(p >= 0 && p <= 1)) throw new Error(`place must lie in 0..1, got ${place}`);
    return p;
  };

  return {
    camera,
    registry: { timeZone: TIME_ZONE, cameras: [camera] },
    fps: scenario.fps,
    startTs,
    scenario,
    storefrontZones,
    noParkingZones,

    putStall(p = {}) {
      const zoneId = p.zoneId ?? storefrontZones[0];
      const shop = layout.shops.find((s) => s.zoneId === zoneId);
      const front = shop ? visibleFrontage(layout, shop) : null;
      if (!shop || !front)
        throw new Error(
          `camera ${camera.id} has no storefront zone "${zoneId}" (it has: ${storefrontZones.join(', ') || 'none'})`,
        );
      const at = p.at ?? Date.now();
      checkTime(at, 'putStall at');
      const k = ++n;
      const rng = Rng.of(seed, 'live-stall', k);
      const look = makeStallLook(rng, p.kind ?? 'table');
      // On the middle of the sidewalk, well clear of the store line and the curb, inside the shop's frontage.
      const y = Math.round(layout.storeY + (layout.curbY - layout.storeY) * 0.45);
      const half = (look.widthM * ppmAt(layout, y)) / 2 + 0.3 * ppmAt(layout, layout.storeY);
      const lo = front.x0 + half;
      const hi = front.x1 - half;
      const x = Math.round(lo <= hi ? lo + (hi - lo) * at01(p.place) : (front.x0 + front.x1) / 2);
      const t = rel(at);
      return add(
        {
          cls: 'stall',
          id: `live-stall-${k}`,
          n: 100_000 + k,
          path: [
            { t, x, y },
            { t: t + FOREVER, x, y },
          ],
          jitter: true,
          look,
          inside: false,
        },
        zoneId!,
        at,
      );
    },

    parkVehicle(p = {}) {
      const zoneId = p.zoneId ?? noParkingZones[0];
      const zone = layout.noParking.find((z) => z.zoneId === zoneId);
      if (!zone)
        throw new Error(
          `camera ${camera.id} has no no-parking zone "${zoneId}" (it has: ${noParkingZones.join(', ') || 'none'})`,
        );
      const at = p.at ?? Date.now();
      checkTime(at, 'parkVehicle at');
      const k = ++n;
      const rng = Rng.of(seed, 'live-vehicle', k);
      const look = makeVehicleLook(rng, p.kind ?? 'sedan');
      // As the scenario parks cars: the near side clear of the lane's edge line, the body inside the painted zone.
      const y = Math.round(
        Math.min(
          layout.curbY + (0.35 + look.widthM) * vppmAt(layout, layout.curbY),
          layout.parkY - 0.2 * (layout.parkY - layout.curbY),
        ),
      );
      const half = (look.lengthM * ppmAt(layout, y)) / 2 + 10;
      const lo = zone.x0 + half;
      const hi = zone.x1 - half;
      const x = Math.round(lo <= hi ? lo + (hi - lo) * at01(p.place) : (zone.x0 + zone.x1) / 2);
      const t = rel(at);
      const heading = layout.lanes[0]?.dir ?? 1;
      return add(
        {
          cls: 'vehicle',
          id: `live-vehicle-${k}`,
          n: 100_000 + k,
          path: [
            { t, x, y },
            { t: t + FOREVER, x, y },
          ],
          jitter: true,
          look,
          heading,
          role: 'park',
        },
        zoneId!,
        at,
      );
    },

    remove(objectId, at = Date.now()) {
      const e = placed.get(objectId);
      if (!e)
        throw new Error(`no object "${objectId}" in the scene (it has: ${[...placed.keys()].join(', ') || 'none'})`);
      checkTime(at, 'remove at');
      const path = e.actor.path;
      const first = path[0]!;
      // The path ends just before `at`: from then on the object is not drawn.
      const end = Math.max(first.t, rel(at) - 1);
      path.splice(1, path.length - 1, { t: end, x: first.x, y: first.y });
      e.obj.removedAt = at;
    },

    objects() {
      return [...placed.values()].map((e) => ({ ...e.obj }));
    },

    async frameAt(ts) {
      checkTime(ts, 'frame time');
      const r = await renderer.renderFrame(rel(ts));
      return { ts, jpeg: r.jpeg, width: r.width, height: r.height, boxes: r.boxes };
    },

    async boxOf(objectId, ts) {
      return (await renderer.objectBox(objectId, rel(ts)))?.full ?? null;
    },
  };
}
