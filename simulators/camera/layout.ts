// A seeded street as one enforcement camera sees it: storefronts across the top band, the sidewalk in front of them,
// the curb, a curb lane with painted no-parking zones and legal bays, driving lanes nearest the camera. The layout is
// both the drawing geometry and the camera's registry entry: the zones it emits are exactly what is painted, so the
// rules of the vision stage judge the same geometry the renderer drew.
//
// Coordinates: x is image pixels along the street; "base y" is the image row of a street line at the frame's centre
// column. The camera is slightly rolled/yawed, so every street line is skewed: its image row at x is
// base + slope * (x - width/2) (lineY). Upright things are drawn unskewed, standing on that line. Sizes follow a mild
// perspective: pixels per metre grow linearly from the store line down to the bottom of the frame (ppmAt).
import { CameraSchema, type Camera, type TimeWindow } from '../../vision/cameras/config.js';
import { Rng } from './rng.js';

export interface LayoutFamily {
  name: string;
  storeFrac: [number, number];
  ppmStore: [number, number];
  gain: [number, number];
  tiltK: [number, number];
  sidewalkM: [number, number];
  lanes: 1 | 2;
  twoWay: boolean;
  nearWalk: boolean;
  slope: [number, number];
  shops: [number, number];
  trees: number;
}

/**
 * Street layout families. The dataset CLI trains on families 0–2 by default; family 3 (wide sidewalk, higher camera,
 * trees) is kept for evaluation, so the vision eval can measure on street layouts never seen in training.
 */
export const LAYOUT_FAMILIES: readonly LayoutFamily[] = [
  {
    name: 'shopping-street',
    storeFrac: [0.4, 0.46],
    ppmStore: [58, 68],
    gain: [0.4, 0.6],
    tiltK: [0.38, 0.46],
    sidewalkM: [3.5, 4.5],
    lanes: 2,
    twoWay: true,
    nearWalk: false,
    slope: [0, 0.02],
    shops: [3, 5],
    trees: 0.3,
  },
  {
    name: 'narrow-lane',
    storeFrac: [0.42, 0.5],
    ppmStore: [64, 74],
    gain: [0.3, 0.5],
    tiltK: [0.4, 0.48],
    sidewalkM: [2.8, 3.5],
    lanes: 1,
    twoWay: false,
    nearWalk: true,
    slope: [0, 0.03],
    shops: [2, 4],
    trees: 0,
  },
  {
    name: 'tilted-avenue',
    storeFrac: [0.36, 0.42],
    ppmStore: [54, 62],
    gain: [0.5, 0.8],
    tiltK: [0.36, 0.44],
    sidewalkM: [3.5, 5],
    lanes: 2,
    twoWay: false,
    nearWalk: false,
    slope: [0.03, 0.06],
    shops: [3, 5],
    trees: 0.5,
  },
  {
    name: 'wide-sidewalk',
    storeFrac: [0.3, 0.36],
    ppmStore: [50, 58],
    gain: [0.5, 0.7],
    tiltK: [0.4, 0.5],
    sidewalkM: [5, 6.5],
    lanes: 2,
    twoWay: true,
    nearWalk: false,
    slope: [0, 0.03],
    shops: [2, 5],
    trees: 1,
  },
];

/** Families the dataset uses unless told otherwise: all but the last, which is held out for evaluation. */
export const TRAIN_FAMILIES: readonly number[] = LAYOUT_FAMILIES.map((_, i) => i).slice(0, -1);

export interface Segment {
  x0: number;
  x1: number;
}

export interface ShopGeom extends Segment {
  id: string;
  zoneId: string;
  nameEn: string;
  nameZh: string;
  front: 'shutter' | 'glass' | 'mixed';
  /** Parts of the front that are open to the sidewalk: goods "inside the store line" stand here. */
  openings: Segment[];
  door: Segment;
  wall: string;
  sign: string;
  signText: string;
  awning: { colour: string; stripe: string } | null;
  interior: string;
}

export interface BuildingGeom extends Segment {
  floors: number;
  wall: string;
  window: string;
  frame: string;
  acUnits: boolean;
}

export interface NoParkingGeom extends Segment {
  zoneId: string;
  name: string;
  style: 'zigzag' | 'hatched';
}

export interface BayGeom extends Segment {
  colour: string;
}

/** A driving lane between two base rows; dir is the travel direction (+1 = to the right). */
export interface LaneGeom {
  top: number;
  bottom: number;
  dir: 1 | -1;
}

export interface DecorGeom {
  kind: 'tree' | 'lamp' | 'bin' | 'bollard' | 'hydrant' | 'sign-pole';
  x: number;
  baseY: number;
  variant: number;
}

export interface StreetLayout {
  seed: number;
  family: number;
  familyName: string;
  width: number;
  height: number;
  /** Image rows per pixel along x of every street line (camera roll and yaw). */
  slope: number;
  /** Which end of a vehicle or a table the camera sees besides its long side: -1 the left end, +1 the right end. */
  viewSide: 1 | -1;
  /** Base rows of the street lines, top to bottom. */
  storeY: number;
  curbY: number;
  parkY: number;
  roadBottom: number;
  /** A near sidewalk below the road (narrow lanes). */
  nearWalk: boolean;
  lanes: LaneGeom[];
  ppmStore: number;
  ppmGain: number;
  /** Ground depth foreshortening: image rows per metre of depth = ppm * tiltK. */
  tiltK: number;
  shops: ShopGeom[];
  buildings: BuildingGeom[];
  noParking: NoParkingGeom[];
  bays: BayGeom[];
  decor: DecorGeom[];
  palette: {
    sidewalk: string;
    sidewalkLine: string;
    tileM: number;
    road: string;
    curb: string;
    sky: string;
    laneMark: string;
  };
  place: { street: string; number: number; district: string; gridCell: string; lat: number; lon: number; side: string };
}

export interface LayoutOptions {
  width?: number;
  height?: number;
  /** Layout family index into LAYOUT_FAMILIES; drawn from the seed when absent. */
  family?: number;
  /** Families to draw from when family is absent (default: all). */
  families?: readonly number[];
}

export const DEFAULT_WIDTH = 1280;
export const DEFAULT_HEIGHT = 720;

/** Image row of the street line with this base row, at column x. */
export function lineY(l: Pick<StreetLayout, 'slope' | 'width'>, baseY: number, x: number): number {
  return baseY + l.slope * (x - l.width / 2);
}

/** Pixels per metre of an upright object standing on the line with this base row. */
export function ppmAt(l: Pick<StreetLayout, 'ppmStore' | 'ppmGain' | 'storeY' | 'height'>, baseY: number): number {
  return l.ppmStore * (1 + (l.ppmGain * (baseY - l.storeY)) / (l.height - l.storeY));
}

/** Image rows per metre of ground depth (towards or away from the camera) at this base row. */
export function vppmAt(l: StreetLayout, baseY: number): number {
  return ppmAt(l, baseY) * l.tiltK;
}

/** The image point of street position (x, baseY). */
export function toImage(l: Pick<StreetLayout, 'slope' | 'width'>, x: number, baseY: number): [number, number] {
  return [x, lineY(l, baseY, x)];
}

const r1 = (v: number) => Math.round(v * 10) / 10;

const SHOPS: ReadonlyArray<readonly [string, string]> = [
  ['FRUIT', '水果店'],
  ['MART', '便利店'],
  ['24H', '24小时便利'],
  ['TEA', '茶饮店'],
  ['NOODLES', '面馆'],
  ['BAKERY', '面包房'],
  ['PHARMACY', '药房'],
  ['MOBILE', '手机店'],
  ['HOTPOT', '火锅店'],
  ['BBQ', '烧烤店'],
  ['FLOWERS', '花店'],
  ['SHOES', '鞋店'],
  ['OPTICAL', '眼镜店'],
  ['CAFE', '咖啡馆'],
  ['HARDWARE', '五金店'],
  ['SALON', '美发店'],
  ['DUMPLING', '饺子馆'],
  ['BOOKS', '书店'],
  ['SEAFOOD', '海鲜店'],
  ['MARKET', '超市'],
  ['BAOZI', '包子铺'],
  ['TOYS', '玩具店'],
  ['LAUNDRY', '洗衣店'],
  ['CLOTHING', '服装店'],
];
const STREETS = [
  '新华路',
  '人民路',
  '解放路',
  '中山路',
  '建设路',
  '和平路',
  '胜利路',
  '文化路',
  '青年路',
  '东风路',
  '健康路',
  '长江路',
];
const DISTRICTS = ['xinhua', 'jinghai', 'gusu', 'binhu', 'xiangcheng'];
const SIGN_COLOURS = [
  '#c8102e',
  '#0b5ed7',
  '#1b7f3b',
  '#f2a900',
  '#6f2da8',
  '#e35205',
  '#00857c',
  '#222222',
  '#b5121b',
  '#f5f5f0',
];
const WALLS = [
  '#d9cbb0',
  '#c9c4bc',
  '#e6dfd3',
  '#b9a58c',
  '#a9a9a9',
  '#d4b8a0',
  '#c7b299',
  '#e0d6c2',
  '#9fa7ad',
  '#b78f73',
];

function sidewalkColours(rng: Rng): { sidewalk: string; sidewalkLine: string } {
  return rng.pick([
    { sidewalk: '#a3a19b', sidewalkLine: '#8c8a85' },
    { sidewalk: '#a87e6e', sidewalkLine: '#8f6a5c' },
    { sidewalk: '#bdb19a', sidewalkLine: '#a39880' },
    { sidewalk: '#8d8f90', sidewalkLine: '#78797a' },
    { sidewalk: '#b3a69f', sidewalkLine: '#978a83' },
  ]);
}

export function makeLayout(seed: number, opts: LayoutOptions = {}): StreetLayout {
  const width = opts.width ?? DEFAULT_WIDTH;
  const height = opts.height ?? DEFAULT_HEIGHT;
  const rng = Rng.of(seed, 'layout');
  const families = opts.families ?? LAYOUT_FAMILIES.map((_, i) => i);
  const family = opts.family ?? rng.pick(families);
  const fam = LAYOUT_FAMILIES[family];
  if (!fam) throw new Error(`unknown layout family ${family} (0..${LAYOUT_FAMILIES.length - 1})`);
  // Sizes were tuned at 1280x720; a frame of another size scales them.
  const k = height / DEFAULT_HEIGHT;
  const slope = rng.float(fam.slope[0], fam.slope[1]) * (rng.chance(0.5) ? 1 : -1);
  const viewSide: 1 | -1 = rng.chance(0.5) ? 1 : -1;
  const storeY = Math.round(height * rng.float(fam.storeFrac[0], fam.storeFrac[1]));
  const ppmStore = rng.float(fam.ppmStore[0], fam.ppmStore[1]) * k;
  const ppmGain = rng.float(fam.gain[0], fam.gain[1]);
  const tiltK = rng.float(fam.tiltK[0], fam.tiltK[1]);
  const partial = { storeY, ppmStore, ppmGain, height };
  // Bands below the store line, each a depth in metres turned into rows at its own scale.
  const down = (y: number, metres: number) =>
    y + metres * ppmAt(partial, y + metres * 0.5 * ppmAt(partial, y) * tiltK) * tiltK;
  const curbY = Math.round(down(storeY, rng.float(fam.sidewalkM[0], fam.sidewalkM[1])));
  const parkY = Math.round(down(curbY, rng.float(2.6, 3.0)));
  const lanes: LaneGeom[] = [];
  let y = parkY;
  const dir0: 1 | -1 = rng.chance(0.5) ? 1 : -1;
  for (let i = 0; i < fam.lanes; i++) {
    const bottom = Math.round(down(y, rng.float(3.2, 3.6)));
    lanes.push({ top: y, bottom, dir: fam.twoWay && i === 1 ? (-dir0 as 1 | -1) : dir0 });
    y = bottom;
  }
  const roadBottom = fam.nearWalk ? Math.min(y, Math.round(height * rng.float(0.9, 0.93))) : y;
  if (fam.nearWalk) lanes[lanes.length - 1]!.bottom = roadBottom;

  const pal = sidewalkColours(rng);
  const palette = {
    ...pal,
    tileM: rng.pick([0.3, 0.4, 0.5, 0.6]),
    road: rng.pick(['#4b4d50', '#55575a', '#5e5f61', '#46484a', '#626363']),
    curb: rng.pick(['#c2c1bb', '#b0aea8', '#d0ccc2']),
    sky: rng.pick(['#cfd8e3', '#dfe5ea', '#b8c9dc']),
    laneMark: rng.pick(['#e8e8e2', '#f2f2ee', '#d8d8d0']),
  };

  // Shops: n frontages covering a little more than the frame, so the ones at the edges are cut like in a real view.
  const nShops = rng.int(fam.shops[0], fam.shops[1]);
  const weights = Array.from({ length: nShops }, () => rng.float(0.7, 1.3));
  const total = weights.reduce((s, w) => s + w, 0);
  const left = -width * rng.float(0.02, 0.1);
  const right = width * (1 + rng.float(0.02, 0.1));
  const names = rng.shuffle([...SHOPS]);
  const shops: ShopGeom[] = [];
  let x = left;
  for (let i = 0; i < nShops; i++) {
    const x1 = i === nShops - 1 ? right : x + ((right - left) * weights[i]!) / total;
    const pillar = 0.35 * ppmStore;
    const front = rng.pick(['shutter', 'shutter', 'glass', 'mixed'] as const);
    const inner = { x0: x + pillar, x1: x1 - pillar };
    const doorW = Math.min(1.6 * ppmStore, (inner.x1 - inner.x0) * 0.5);
    const doorAt = rng.pick([0.5, 0.3, 0.7]);
    const door = { x0: inner.x0 + (inner.x1 - inner.x0 - doorW) * doorAt, x1: 0 };
    door.x1 = door.x0 + doorW;
    let openings: Segment[];
    if (front === 'shutter') openings = [inner];
    else if (front === 'glass') openings = [door];
    else {
      const mid = inner.x0 + (inner.x1 - inner.x0) * rng.float(0.4, 0.6);
      openings = rng.chance(0.5) ? [{ x0: inner.x0, x1: mid }] : [{ x0: mid, x1: inner.x1 }];
    }
    const [nameEn, nameZh] = names[i % names.length]!;
    const sign = rng.pick(SIGN_COLOURS);
    shops.push({
      id: `shop-${i + 1}`,
      zoneId: `sf-${i + 1}`,
      nameEn,
      nameZh,
      x0: x,
      x1,
      front,
      openings: openings.map((o) => ({ x0: r1(o.x0), x1: r1(o.x1) })),
      door: { x0: r1(door.x0), x1: r1(door.x1) },
      wall: rng.pick(WALLS),
      sign,
      signText:
        sign === '#f5f5f0' || sign === '#f2a900'
          ? rng.pick(['#c8102e', '#222222', '#0b5ed7'])
          : rng.pick(['#ffffff', '#ffffff', '#ffe066']),
      awning: rng.chance(0.35)
        ? {
            colour: rng.pick(['#c8102e', '#1b7f3b', '#0b5ed7', '#e35205', '#6f2da8']),
            stripe: rng.pick(['#ffffff', '#f2e6c9']),
          }
        : null,
      interior: rng.pick(['#3b3530', '#2e3236', '#45403a', '#4a4a52']),
    });
    x = x1;
  }
  // Buildings above: each spans one to three shop frontages.
  const buildings: BuildingGeom[] = [];
  for (let i = 0; i < shops.length;) {
    const span = Math.min(shops.length - i, rng.int(1, 3));
    buildings.push({
      x0: shops[i]!.x0,
      x1: shops[i + span - 1]!.x1,
      floors: rng.int(2, 6),
      wall: rng.pick(WALLS),
      window: rng.pick(['#5d7286', '#6f8797', '#46586a', '#7d8e99']),
      frame: rng.pick(['#eeeeee', '#8a8f94', '#3a3a3a', '#c9c2b4']),
      acUnits: rng.chance(0.6),
    });
    i += span;
  }

  // The curb lane, left to right: no-parking zones and legal bays with gaps between them, in metres at that depth.
  const laneMid = (curbY + parkY) / 2;
  const ppmLane = ppmAt(partial, laneMid);
  // Arrangements in seeded order; the first that fits the frame without shrinking pieces much is used.
  const arrangements: Array<Array<'zone' | 'bay'>> = rng.chance(0.4)
    ? [
        rng.pick([
          ['zone', 'bay', 'zone'],
          ['zone', 'zone', 'bay'],
          ['bay', 'zone', 'zone'],
        ]),
        ['zone', 'bay', 'zone'],
        ['zone', 'bay'],
        ['bay', 'zone'],
      ]
    : [
        rng.pick([
          ['zone', 'bay'],
          ['bay', 'zone'],
          ['bay', 'zone', 'bay'],
        ]),
        ['zone', 'bay'],
        ['bay', 'zone'],
      ];
  const gapPx = 0.9 * ppmLane;
  const pieceM = (kd: 'zone' | 'bay') => (kd === 'zone' ? rng.float(6.2, 7.5) : rng.float(5.6, 6.2));
  let kinds = arrangements[0]!;
  let lens: number[] = [];
  let need = 0;
  for (const a of arrangements) {
    kinds = a;
    lens = a.map((kd) => pieceM(kd) * ppmLane);
    need = lens.reduce((s, v) => s + v, 0) + gapPx * (lens.length - 1);
    if (need * 0.9 <= width - 20) break;
  }
  const scaleDown = need > width - 20 ? (width - 20) / need : 1;
  let cx = 10 + (width - 20 - need * scaleDown) * rng.next();
  const noParking: NoParkingGeom[] = [];
  const bays: BayGeom[] = [];
  const style = rng.pick(['zigzag', 'hatched'] as const);
  const bayColour = rng.pick(['#f0f0ea', '#f0f0ea', '#2f6fd6']);
  kinds.forEach((kd, i) => {
    const seg = { x0: r1(cx), x1: r1(cx + lens[i]! * scaleDown) };
    if (kd === 'zone') {
      const n = noParking.length + 1;
      noParking.push({
        ...seg,
        zoneId: `np-${n}`,
        name: `禁停区${n}`,
        style: fam.name === 'wide-sidewalk' && n === 2 ? (style === 'zigzag' ? 'hatched' : 'zigzag') : style,
      });
    } else bays.push({ ...seg, colour: bayColour });
    cx += (lens[i]! + gapPx) * scaleDown;
  });

  // Street furniture on the sidewalk near the curb; trees and lamps also hide what is behind them.
  const decor: DecorGeom[] = [];
  const furnitureY = curbY - 0.45 * ppmAt(partial, curbY) * tiltK;
  const nTrees = rng.chance(fam.trees) ? rng.int(1, 3) : 0;
  for (let i = 0; i < nTrees; i++)
    decor.push({
      kind: 'tree',
      x: r1(width * ((i + rng.float(0.2, 0.8)) / nTrees)),
      baseY: r1(furnitureY),
      variant: rng.int(0, 3),
    });
  if (rng.chance(0.6))
    decor.push({ kind: 'lamp', x: r1(rng.float(0.05, 0.95) * width), baseY: r1(furnitureY), variant: rng.int(0, 2) });
  if (rng.chance(0.5))
    decor.push({
      kind: 'bin',
      x: r1(rng.float(0.05, 0.95) * width),
      baseY: r1(furnitureY - 4 * k),
      variant: rng.int(0, 2),
    });
  if (rng.chance(0.4))
    decor.push({ kind: 'hydrant', x: r1(rng.float(0.05, 0.95) * width), baseY: r1(furnitureY), variant: 0 });
  if (rng.chance(0.5))
    decor.push({
      kind: 'sign-pole',
      x: r1((noParking[0]!.x0 + noParking[0]!.x1) / 2),
      baseY: r1(furnitureY + 3 * k),
      variant: 0,
    });

  const district = rng.pick(DISTRICTS);
  const street = rng.pick(STREETS);
  const place = {
    street,
    number: rng.int(1, 400),
    district,
    gridCell: `320582${String(rng.int(1, 12)).padStart(3, '0')}${String(rng.int(1, 30)).padStart(3, '0')}${String(rng.int(1, 400)).padStart(3, '0')}`,
    lat: Math.round(rng.float(31.2, 32.2) * 1e5) / 1e5,
    lon: Math.round(rng.float(119.8, 121.0) * 1e5) / 1e5,
    side: rng.pick(['北侧', '南侧', '东侧', '西侧']),
  };
  return {
    seed,
    family,
    familyName: fam.name,
    width,
    height,
    slope,
    viewSide,
    storeY,
    curbY,
    parkY,
    roadBottom,
    nearWalk: fam.nearWalk,
    lanes,
    ppmStore,
    ppmGain,
    tiltK,
    shops,
    buildings,
    noParking,
    bays,
    decor,
    palette,
    place,
  };
}

/** Zone times the scenario sets; the layout alone uses "always" and dwell 90 s. */
export interface ZoneTimes {
  noParking: { windows: TimeWindow[]; dwellS: number };
  storefront: { businessHours: TimeWindow[]; dwellS: number };
}

const ALWAYS: TimeWindow[] = [{ from: '00:00', to: '24:00' }];

/** The part of a storefront's frontage inside the frame, or null when too little of it is visible. */
export function visibleFrontage(l: StreetLayout, s: ShopGeom): Segment | null {
  const x0 = Math.max(0, s.x0);
  const x1 = Math.min(l.width, s.x1);
  return x1 - x0 >= 2 * l.ppmStore ? { x0: r1(x0), x1: r1(x1) } : null;
}

/** The painted no-parking polygon: the curb lane between x0 and x1, in image pixels. */
export function noParkingPolygon(l: StreetLayout, z: Segment): Array<[number, number]> {
  const inset = 2;
  const top = l.curbY + inset;
  const bot = l.parkY - inset;
  return [toImage(l, z.x0, top), toImage(l, z.x1, top), toImage(l, z.x1, bot), toImage(l, z.x0, bot)].map(
    ([px, py]) => [r1(px), r1(Math.min(l.height, Math.max(0, py)))] as [number, number],
  );
}

/** The sidewalk polygon in front of a frontage: store line down to the curb. */
export function sidewalkPolygon(l: StreetLayout, s: Segment): Array<[number, number]> {
  return [
    toImage(l, s.x0, l.storeY),
    toImage(l, s.x1, l.storeY),
    toImage(l, s.x1, l.curbY),
    toImage(l, s.x0, l.curbY),
  ].map(([px, py]) => [r1(px), r1(Math.min(l.height, Math.max(0, py)))] as [number, number]);
}

/** The registry entry of the camera that sees this layout. */
export function cameraEntry(l: StreetLayout, times?: ZoneTimes, fps = 1): Camera {
  const np = times?.noParking ?? { windows: ALWAYS, dwellS: 90 };
  const sf = times?.storefront ?? { businessHours: ALWAYS, dwellS: 90 };
  const zones: unknown[] = [];
  for (const z of l.noParking) {
    zones.push({
      type: 'no-parking',
      id: z.zoneId,
      name: `${l.place.street}${z.name}`,
      polygon: noParkingPolygon(l, z),
      windows: np.windows,
      dwellS: np.dwellS,
    });
  }
  for (const s of l.shops) {
    const f = visibleFrontage(l, s);
    if (!f) continue;
    const [a, b] = [toImage(l, f.x0, l.storeY), toImage(l, f.x1, l.storeY)];
    zones.push({
      type: 'storefront',
      id: s.zoneId,
      name: `${s.nameZh}门前`,
      shopId: s.id,
      storeLine: [a, b].map(([px, py]) => [r1(px), r1(py)]),
      sidewalk: sidewalkPolygon(l, f),
      businessHours: sf.businessHours,
      dwellS: sf.dwellS,
    });
  }
  return CameraSchema.parse({
    id: `sim-cam-${l.seed}`,
    district: l.place.district,
    gridCell: l.place.gridCell,
    location: { lat: l.place.lat, lon: l.place.lon },
    postedLocation: `${l.place.street}${l.place.number}号${l.place.side}（模拟）`,
    fps,
    width: l.width,
    height: l.height,
    zones,
  });
}

/** Whether a point lies inside a polygon (even-odd rule). */
export function pointInPolygon(p: readonly [number, number], poly: ReadonlyArray<readonly [number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
