// Renders a scenario's frame at time t: the static street (rendered once per scenario and kept as raw pixels),
// every actor's sprite (rendered once per actor, pose and scale, and cached) composited far to near, then the
// camera: light (brightness, contrast, colour cast), sensor noise, blur and JPEG quality, all seeded per scenario
// and frame. The same compositing pass records which object owns each pixel, so the truth boxes are the visible
// extent of each object after occlusion by whatever stands in front of it and clipping to the frame.
import sharp from 'sharp';
import type { Box } from '../../contracts/events.js';
import { lineY, ppmAt, type StreetLayout } from './layout.js';
import { Rng } from './rng.js';
import { actorStateAt, type Actor, type ActorState, type ObjectClass, type Scenario } from './scenario.js';
import {
  drawDecor,
  drawPerson,
  drawStall,
  drawVehicle,
  type PlateGeom,
  type Sprite,
  type ViewParams,
} from './sprites.js';
import { streetSvg } from './street.js';

/** Cast shadows of a sunny day: the buildings' shadow over part of the sidewalk (and the facades when backlit), trees'. */
function shadowSvg(l: StreetLayout, backlit: boolean, rng: Rng): string {
  const W = l.width;
  const parts: string[] = [];
  const depth = l.curbY - l.storeY;
  const lean = rng.float(-0.6, 0.6) * depth;
  if (backlit) parts.push(`<rect x="-300" y="-400" width="${W + 600}" height="${l.storeY + 400}" fill="#fff"/>`);
  for (const b of l.buildings) {
    const d = depth * rng.float(0.15, 1.15) * (0.6 + b.floors * 0.12);
    parts.push(
      `<polygon points="${b.x0},${l.storeY - 1} ${b.x1},${l.storeY - 1} ${b.x1 + lean},${l.storeY + d} ${b.x0 + lean},${l.storeY + d}" fill="#fff"/>`,
    );
  }
  for (const d of l.decor) {
    if (d.kind !== 'tree') continue;
    const r = ppmAt(l, d.baseY) * rng.float(1.2, 1.8);
    parts.push(
      `<ellipse cx="${d.x + lean * 0.5}" cy="${d.baseY + r * l.tiltK * 0.5}" rx="${r}" ry="${r * l.tiltK}" fill="#fff"/>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${l.height}"><rect width="${W}" height="${l.height}" fill="#000"/><g transform="matrix(1 ${l.slope} 0 1 0 ${(-l.slope * W) / 2})">${parts.join('')}</g></svg>`;
}

/** Objects less visible than this are marked `ignore`: training and evaluation should not count them. */
export const MIN_VISIBLE = 0.3;
/** Visible boxes smaller than this (pixels, either side) are marked `ignore` too. */
export const MIN_BOX_PX = 6;

export interface TruthBox {
  objectId: string;
  cls: ObjectClass;
  /** vehicle kind (sedan, bus, ebike...), stall kind (table, umbrella...), or walking/standing. */
  kind: string;
  /** The visible extent: pixels owned by the object after occlusion, clipped to the frame. [x1, y1, x2, y2], x2/y2 exclusive. */
  box: Box;
  /** The object's whole extent as if nothing hid it and the frame were infinite. */
  full: Box;
  /** Share of the object's pixels that are visible, 0..1. */
  visible: number;
  /** Too little visible (< MIN_VISIBLE) or too small: skip in training and evaluation. */
  ignore: boolean;
  /** Standing still (parked, put out, waiting) rather than moving. */
  stationary: boolean;
  plate?: string;
  /** The plate's extent (full resolution), and whether at least 90 % of its pixels are visible. */
  plateBox?: Box;
  plateVisible?: boolean;
}

export interface RenderedFrame {
  jpeg: Buffer;
  width: number;
  height: number;
  boxes: TruthBox[];
}

interface Raster {
  data: Buffer;
  w: number;
  h: number;
  ax: number;
  ay: number;
  /** Pixels with alpha >= 128 (the object's body; shadows are fainter and do not count). */
  opaque: number;
  /** Tight bounds of those pixels, x1/y1 exclusive. */
  bbox: [number, number, number, number];
  plateBox?: [number, number, number, number];
  plateGeom?: PlateGeom;
}

interface Placed {
  /** Index of the labelled object, or -1 for street furniture. */
  label: number;
  actor: Actor | null;
  state: ActorState | null;
  raster: Raster;
  left: number;
  top: number;
  depth: number;
  order: string;
}

const ALPHA_SOLID = 128;

/** v + CLAMP_OFFSET -> v clamped to 0..255, for v from -CLAMP_OFFSET to 1024 - CLAMP_OFFSET. */
const CLAMP_OFFSET = 512;
const CLAMP = Uint8Array.from({ length: 1536 }, (_, i) => Math.max(0, Math.min(255, i - CLAMP_OFFSET)));

async function rasterize(s: Sprite): Promise<Raster> {
  const { data, info } = await sharp(Buffer.from(s.svg), { density: 72 })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const w = info.width;
  const h = info.height;
  let opaque = 0;
  let x0 = w;
  let y0 = h;
  let x1 = 0;
  let y1 = 0;
  for (let y = 0, i = 3; y < h; y++) {
    for (let x = 0; x < w; x++, i += 4) {
      if (data[i]! >= ALPHA_SOLID) {
        opaque++;
        if (x < x0) x0 = x;
        if (x >= x1) x1 = x + 1;
        if (y < y0) y0 = y;
        if (y >= y1) y1 = y + 1;
      }
    }
  }
  const r: Raster = { data, w, h, ax: s.ax, ay: s.ay, opaque, bbox: [x0, y0, x1, y1] };
  if (s.plateBox) r.plateBox = s.plateBox;
  if (s.plateGeom) r.plateGeom = s.plateGeom;
  return r;
}

/** Scale buckets 2 % apart: a sprite is re-drawn only when its size changes noticeably. */
function bucket(ppm: number): number {
  return Math.round(Math.log(ppm) / Math.log(1.02));
}

export class SceneRenderer {
  readonly scenario: Scenario;
  readonly layout: StreetLayout;
  private bg: Promise<Buffer> | null = null;
  private cache = new Map<string, { raster: Promise<Raster>; bytes: number }>();
  private cacheBytes = 0;
  private decor: Promise<Placed[]> | null = null;
  private shadow: Promise<Uint8Array | null> | null = null;
  private noiseA: Int8Array | null = null;
  private noiseB: Int8Array | null = null;
  /** Bytes of sprite pixels that may stay cached; the least recently used are dropped first. */
  private readonly maxSpriteBytes: number;

  constructor(scenario: Scenario, opts: { maxSpriteBytes?: number } = {}) {
    this.scenario = scenario;
    this.layout = scenario.layout;
    this.maxSpriteBytes = opts.maxSpriteBytes ?? 48 * 1024 * 1024;
  }

  private background(): Promise<Buffer> {
    this.bg ??= sharp(Buffer.from(streetSvg(this.layout, this.scenario.light.mode)), { density: 72 })
      .removeAlpha()
      .raw()
      .toBuffer();
    return this.bg;
  }

  /** Where buildings and trees cast their shadow on a sunny day: 255 in shadow, 0 in the sun. */
  private shadowMask(): Promise<Uint8Array | null> {
    this.shadow ??= (async () => {
      const L = this.scenario.light;
      if (L.shade <= 0) return null;
      const svg = shadowSvg(this.layout, L.backlit, Rng.of(this.scenario.seed, 'shadows'));
      const { data } = await sharp(Buffer.from(svg), { density: 72 })
        .flatten({ background: '#000000' })
        .extractChannel(0)
        .raw()
        .toBuffer({ resolveWithObject: true });
      return new Uint8Array(data.buffer, data.byteOffset, data.length);
    })();
    return this.shadow;
  }

  private view(baseY: number): ViewParams {
    const ppm = Math.pow(1.02, bucket(ppmAt(this.layout, baseY)));
    return {
      ppm,
      vppm: ppm * this.layout.tiltK,
      viewSide: this.layout.viewSide,
      lightsOn: this.scenario.light.mode === 'dusk',
      frameScale: this.layout.height / 720,
    };
  }

  private sprite(key: string, draw: () => Sprite): Promise<Raster> {
    const hit = this.cache.get(key);
    if (hit) {
      // Refresh its place in the eviction order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit.raster;
    }
    const sprite = draw();
    const entry = { raster: rasterize(sprite), bytes: sprite.width * sprite.height * 4 };
    this.cache.set(key, entry);
    this.cacheBytes += entry.bytes;
    while (this.cacheBytes > this.maxSpriteBytes && this.cache.size > 1) {
      const [oldKey, old] = this.cache.entries().next().value!;
      this.cache.delete(oldKey);
      this.cacheBytes -= old.bytes;
    }
    return entry.raster;
  }

  private actorSprite(st: ActorState): Promise<Raster> {
    const a = st.actor;
    const v = this.view(st.baseY);
    const b = bucket(v.ppm);
    const rng = () => Rng.of(this.scenario.seed, 'sprite', a.n);
    switch (a.cls) {
      case 'vehicle':
        return this.sprite(`${a.id}|${b}`, () => drawVehicle(a.look, a.heading, v, rng()));
      case 'stall':
        return this.sprite(`${a.id}|${b}`, () => drawStall(a.look, v, rng()));
      case 'person':
        return this.sprite(`${a.id}|${st.facing}|${st.facing === 0 ? 0 : st.phase}|${b}`, () =>
          drawPerson(a.look, st.facing, st.phase, v),
        );
    }
  }

  private placeDecor(): Promise<Placed[]> {
    this.decor ??= Promise.all(
      this.layout.decor.map(async (d, i) => {
        const v = this.view(d.baseY);
        const raster = await this.sprite(`decor-${i}`, () =>
          drawDecor(d.kind, d.variant, v, Rng.of(this.scenario.seed, 'decor', i)),
        );
        const gy = lineY(this.layout, d.baseY, d.x);
        return {
          label: -1,
          actor: null,
          state: null,
          raster,
          left: Math.round(d.x - raster.ax),
          top: Math.round(gy - raster.ay),
          depth: gy,
          order: `decor-${i}`,
        };
      }),
    );
    return this.decor;
  }

  /** Everything in the scene at t, far to near. */
  private async place(t: number): Promise<Placed[]> {
    const states: ActorState[] = [];
    for (const a of this.scenario.actors) {
      const st = actorStateAt(this.scenario, a, t);
      if (st) states.push(st);
    }
    const placed: Placed[] = [];
    const rasters = await Promise.all(states.map((st) => this.actorSprite(st)));
    states.forEach((st, i) => {
      const raster = rasters[i]!;
      const gy = lineY(this.layout, st.baseY, st.x);
      const left = Math.round(st.x - raster.ax);
      const top = Math.round(gy - raster.ay);
      // Skip what lies wholly outside the frame.
      if (left >= this.layout.width || top >= this.layout.height || left + raster.w <= 0 || top + raster.h <= 0) return;
      placed.push({ label: 0, actor: st.actor, state: st, raster, left, top, depth: gy, order: st.actor.id });
    });
    placed.push(...(await this.placeDecor()));
    placed.sort((a, b) => a.depth - b.depth || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    let n = 0;
    for (const p of placed) if (p.actor) p.label = n++;
    return placed;
  }

  /**
   * Composites the placed sprites (into pixels when given) and marks each frame pixel's owner: the index in
   * `placed` of the nearest solid sprite pixel there.
   */
  private composite(placed: Placed[], pixels: Buffer | null): Int16Array {
    const W = this.layout.width;
    const H = this.layout.height;
    const owner = new Int16Array(W * H).fill(-1);
    placed.forEach((p, idx) => {
      const { data, w, h } = p.raster;
      const xs = Math.max(0, -p.left);
      const xe = Math.min(w, W - p.left);
      const ys = Math.max(0, -p.top);
      const ye = Math.min(h, H - p.top);
      for (let y = ys; y < ye; y++) {
        let si = (y * w + xs) * 4;
        let fi = (p.top + y) * W + p.left + xs;
        for (let x = xs; x < xe; x++, si += 4, fi++) {
          const a = data[si + 3]!;
          if (a === 0) continue;
          if (a >= ALPHA_SOLID) owner[fi] = idx;
          if (pixels) {
            const o = fi * 3;
            if (a === 255) {
              pixels[o] = data[si]!;
              pixels[o + 1] = data[si + 1]!;
              pixels[o + 2] = data[si + 2]!;
            } else {
              const na = 255 - a;
              pixels[o] = (data[si]! * a + pixels[o]! * na + 127) / 255;
              pixels[o + 1] = (data[si + 1]! * a + pixels[o + 1]! * na + 127) / 255;
              pixels[o + 2] = (data[si + 2]! * a + pixels[o + 2]! * na + 127) / 255;
            }
          }
        }
      }
    });
    return owner;
  }

  private boxesFrom(placed: Placed[], owner: Int16Array): TruthBox[] {
    const W = this.layout.width;
    const H = this.layout.height;
    const count = new Int32Array(placed.length);
    const bx0 = new Int32Array(placed.length).fill(W);
    const by0 = new Int32Array(placed.length).fill(H);
    const bx1 = new Int32Array(placed.length);
    const by1 = new Int32Array(placed.length);
    // An object's pixels can only lie inside its own sprite's rectangle: count there.
    placed.forEach((p, o) => {
      if (!p.actor) return;
      const x0 = Math.max(0, p.left + p.raster.bbox[0]);
      const x1 = Math.min(W, p.left + p.raster.bbox[2]);
      const y0 = Math.max(0, p.top + p.raster.bbox[1]);
      const y1 = Math.min(H, p.top + p.raster.bbox[3]);
      for (let y = y0; y < y1; y++) {
        const row = y * W;
        for (let x = x0; x < x1; x++) {
          if (owner[row + x] !== o) continue;
          count[o]!++;
          if (x < bx0[o]!) bx0[o] = x;
          if (x + 1 > bx1[o]!) bx1[o] = x + 1;
          if (y < by0[o]!) by0[o] = y;
          if (y + 1 > by1[o]!) by1[o] = y + 1;
        }
      }
    });
    const out: TruthBox[] = [];
    placed.forEach((p, idx) => {
      if (!p.actor || !p.state) return;
      const r = p.raster;
      const a = p.actor;
      const visible = r.opaque ? count[idx]! / r.opaque : 0;
      const full: Box = [p.left + r.bbox[0], p.top + r.bbox[1], p.left + r.bbox[2], p.top + r.bbox[3]];
      const box: Box = count[idx]! > 0 ? [bx0[idx]!, by0[idx]!, bx1[idx]!, by1[idx]!] : [0, 0, 0, 0];
      const small = box[2] - box[0] < MIN_BOX_PX || box[3] - box[1] < MIN_BOX_PX;
      const kind = a.cls === 'person' ? (a.standing || !p.state.moving ? 'standing' : 'walking') : a.look.kind;
      const tb: TruthBox = {
        objectId: a.id,
        cls: a.cls,
        kind,
        box,
        full,
        visible: Math.round(visible * 1000) / 1000,
        ignore: visible < MIN_VISIBLE || small,
        stationary: !p.state.moving,
      };
      if (a.cls === 'vehicle' && a.look.plate && r.plateBox) {
        const pb: Box = [
          p.left + Math.floor(r.plateBox[0]),
          p.top + Math.floor(r.plateBox[1]),
          p.left + Math.ceil(r.plateBox[2]),
          p.top + Math.ceil(r.plateBox[3]),
        ];
        tb.plate = a.look.plate;
        tb.plateBox = pb;
        tb.plateVisible = r.plateGeom ? this.plateVisible(r.plateGeom, p.left, p.top, idx, owner) : false;
      }
      out.push(tb);
    });
    return out;
  }

  /** Whether at least 90 % of a plate's face is in the frame and not hidden by something in front. */
  private plateVisible(g: PlateGeom, left: number, top: number, idx: number, owner: Int16Array): boolean {
    const W = this.layout.width;
    const H = this.layout.height;
    let total = 0;
    let own = 0;
    for (let v = -g.h / 2 + 1.5; v <= g.h / 2 - 1.5; v += 2) {
      for (let u = -g.w / 2 + 1.5; u <= g.w / 2 - 1.5; u += 2) {
        const x = Math.round(left + g.cx + u);
        const y = Math.round(top + g.cy + v + g.slope * u);
        total++;
        if (x >= 0 && y >= 0 && x < W && y < H && owner[y * W + x] === idx) own++;
      }
    }
    return total > 0 && own / total >= 0.9;
  }

  /**
   * One object's whole extent at t (as if nothing hid it) and whether it stands still; null when it is not in the
   * scene. Cheap: draws only that object's sprite.
   */
  async objectBox(objectId: string, t: number): Promise<{ full: Box; stationary: boolean } | null> {
    const a = this.scenario.actors.find((x) => x.id === objectId);
    const st = a ? actorStateAt(this.scenario, a, t) : null;
    if (!st) return null;
    const r = await this.actorSprite(st);
    const left = Math.round(st.x - r.ax);
    const top = Math.round(lineY(this.layout, st.baseY, st.x) - r.ay);
    return { full: [left + r.bbox[0], top + r.bbox[1], left + r.bbox[2], top + r.bbox[3]], stationary: !st.moving };
  }

  /** The truth boxes at t without drawing pixels (cheaper: for checks and statistics). */
  async boxesAt(t: number): Promise<TruthBox[]> {
    const placed = await this.place(t);
    return this.boxesFrom(placed, this.composite(placed, null));
  }

  private noiseTables(): [Int8Array, Int8Array] {
    if (!this.noiseA || !this.noiseB) {
      const rng = Rng.of(this.scenario.seed, 'noise');
      const sd = this.scenario.light.noise;
      const make = (n: number) => {
        const t = new Int8Array(n);
        for (let i = 0; i < n; i++)
          t[i] = Math.max(-127, Math.min(127, Math.round((rng.next() + rng.next() + rng.next() - 1.5) * 2 * sd * 0.7)));
        return t;
      };
      // Two tables of coprime lengths: their sum does not repeat within a frame.
      this.noiseA = make(1 << 20);
      this.noiseB = make(65_521);
    }
    return [this.noiseA, this.noiseB];
  }

  /** Light, noise, blur and JPEG of the composited pixels. */
  private async camera(pixels: Buffer, seq: number, placed: Placed[], owner: Int16Array): Promise<Buffer> {
    const L = this.scenario.light;
    const rng = Rng.of(this.scenario.seed, 'frame', seq);
    const bright = L.brightness * (1 + 0.025 * rng.gauss());
    const contrast = L.contrast * (1 + 0.02 * rng.gauss());
    // Integer lookup tables and a clamp table: several times faster than float arithmetic per channel. Pixels in a
    // cast shadow use a darker, slightly bluer set.
    const lutSet = (gain: number, blue: number) =>
      L.cast.map((g, ch) => {
        const lut = new Int16Array(256);
        const k = bright * g * gain * (ch === 2 ? blue : 1);
        for (let v = 0; v < 256; v++) lut[v] = Math.round(((v / 255 - 0.5) * contrast + 0.5) * 255 * k);
        return lut;
      }) as [Int16Array, Int16Array, Int16Array];
    const [lr, lg, lb] = lutSet(1, 1);
    const [sr, sg, sb] = lutSet(L.shade > 0 ? L.shade : 1, 1.08);
    const mask = await this.shadowMask();
    // Shadows lie on the ground: an object is shaded as a whole when the ground it stands on is, whatever lies
    // behind it on the screen.
    const W = this.layout.width;
    const objShade = new Uint8Array(placed.length + 1);
    if (mask) {
      placed.forEach((p, i) => {
        const gx = Math.round(p.left + p.raster.ax);
        const gy = Math.round(p.top + p.raster.ay);
        objShade[i] = gx >= 0 && gx < W && gy >= 0 && gy < this.layout.height && mask[gy * W + gx]! > 127 ? 1 : 0;
      });
    }
    const [na, nb] = this.noiseTables();
    const clamp = CLAMP;
    let ia = rng.int(0, na.length - 1);
    let ib = rng.int(0, nb.length - 1);
    const maskA = na.length - 1;
    const lenB = nb.length;
    const n = pixels.length;
    for (let i = 0, px = 0; i < n; i += 3, px++) {
      const e = nb[ib]! + CLAMP_OFFSET;
      const o = owner[px]!;
      if (mask && (o < 0 ? mask[px]! > 127 : objShade[o] === 1)) {
        pixels[i] = clamp[sr[pixels[i]!]! + na[ia & maskA]! + e]!;
        pixels[i + 1] = clamp[sg[pixels[i + 1]!]! + na[(ia + 1) & maskA]! + e]!;
        pixels[i + 2] = clamp[sb[pixels[i + 2]!]! + na[(ia + 2) & maskA]! + e]!;
      } else {
        pixels[i] = clamp[lr[pixels[i]!]! + na[ia & maskA]! + e]!;
        pixels[i + 1] = clamp[lg[pixels[i + 1]!]! + na[(ia + 1) & maskA]! + e]!;
        pixels[i + 2] = clamp[lb[pixels[i + 2]!]! + na[(ia + 2) & maskA]! + e]!;
      }
      ia += 3;
      if (++ib === lenB) ib = 0;
    }
    const blur = L.blur > 0 ? Math.max(0.3, L.blur + 0.08 * rng.gauss()) : 0;
    const quality = Math.max(60, Math.min(95, L.quality + rng.int(-4, 4)));
    let img = sharp(pixels, { raw: { width: this.layout.width, height: this.layout.height, channels: 3 } });
    if (blur >= 0.3) img = img.blur(blur);
    return img.jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
  }

  /** Renders the frame at t (ms from the scenario's start). */
  async renderFrame(t: number): Promise<RenderedFrame> {
    const [bg, placed] = await Promise.all([this.background(), this.place(t)]);
    const pixels = Buffer.from(bg);
    const owner = this.composite(placed, pixels);
    const boxes = this.boxesFrom(placed, owner);
    const seq = Math.round(t / this.scenario.frameMs);
    const jpeg = await this.camera(pixels, seq, placed, owner);
    return { jpeg, width: this.layout.width, height: this.layout.height, boxes };
  }
}

const renderers = new WeakMap<Scenario, SceneRenderer>();

/** Renders the frame of a scenario at t (ms from its start); keeps one renderer (and its caches) per scenario. */
export function renderFrame(scene: Scenario, t: number): Promise<RenderedFrame> {
  let r = renderers.get(scene);
  if (!r) {
    r = new SceneRenderer(scene);
    renderers.set(scene, r);
  }
  return r.renderFrame(t);
}
