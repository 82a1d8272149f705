// Drawings of everything that moves or is put out: vehicles, stalls, people, and the street furniture that stands
// in front of them. Each drawing is an SVG sprite with its ground point (where it stands) as the anchor, so the
// renderer can place it on the street at any depth and scale.
//
// Vehicles and tables are boxes in an oblique view: the long side faces the camera, and one end (the one the
// camera's yaw shows, StreetLayout.viewSide) is seen as a sheared face. That end carries the plate, drawn large
// enough for OCR at full resolution.
import { esc, shade } from './street.js';
import type { Rng } from './rng.js';

export interface Sprite {
  svg: string;
  width: number;
  height: number;
  /** The ground point (centre of where the object stands) in sprite pixels. */
  ax: number;
  ay: number;
  /** The plate's extent in sprite pixels, when a plate is drawn. */
  plateBox?: [number, number, number, number];
  /** The plate itself: centre, size, and shear (rows per pixel along it), in sprite pixels. */
  plateGeom?: PlateGeom;
}

export interface PlateGeom {
  cx: number;
  cy: number;
  w: number;
  h: number;
  slope: number;
}

const f = (v: number) => (Math.round(v * 100) / 100).toString();
type Pt = [number, number];

/** Collects SVG elements and their extent, and wraps them into a sprite around the anchor (0, 0). */
class Drawing {
  private parts: string[] = [];
  x0 = Infinity;
  y0 = Infinity;
  x1 = -Infinity;
  y1 = -Infinity;
  plate?: [number, number, number, number];
  plateGeom?: PlateGeom;

  grow(x0: number, y0: number, x1: number, y1: number): void {
    this.x0 = Math.min(this.x0, x0);
    this.y0 = Math.min(this.y0, y0);
    this.x1 = Math.max(this.x1, x1);
    this.y1 = Math.max(this.y1, y1);
  }

  poly(pts: Pt[], fill: string, extra = ''): void {
    for (const [x, y] of pts) this.grow(x, y, x, y);
    this.parts.push(`<polygon points="${pts.map(([x, y]) => `${f(x)},${f(y)}`).join(' ')}" fill="${fill}"${extra}/>`);
  }

  rect(x: number, y: number, w: number, h: number, fill: string, extra = ''): void {
    this.grow(x, y, x + w, y + h);
    this.parts.push(
      `<rect x="${f(x)}" y="${f(y)}" width="${f(Math.max(0, w))}" height="${f(Math.max(0, h))}" fill="${fill}"${extra}/>`,
    );
  }

  circle(cx: number, cy: number, r: number, fill: string, extra = ''): void {
    this.grow(cx - r, cy - r, cx + r, cy + r);
    this.parts.push(`<circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r)}" fill="${fill}"${extra}/>`);
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, fill: string, extra = ''): void {
    this.grow(cx - rx, cy - ry, cx + rx, cy + ry);
    this.parts.push(`<ellipse cx="${f(cx)}" cy="${f(cy)}" rx="${f(rx)}" ry="${f(ry)}" fill="${fill}"${extra}/>`);
  }

  line(a: Pt, b: Pt, stroke: string, w: number, extra = ''): void {
    this.grow(Math.min(a[0], b[0]) - w, Math.min(a[1], b[1]) - w, Math.max(a[0], b[0]) + w, Math.max(a[1], b[1]) + w);
    this.parts.push(
      `<line x1="${f(a[0])}" y1="${f(a[1])}" x2="${f(b[0])}" y2="${f(b[1])}" stroke="${stroke}" stroke-width="${f(w)}" stroke-linecap="round"${extra}/>`,
    );
  }

  /** Any element; the caller states its extent. */
  raw(svg: string, x0: number, y0: number, x1: number, y1: number): void {
    this.grow(x0, y0, x1, y1);
    this.parts.push(svg);
  }

  build(): Sprite {
    const pad = 3;
    const ox = pad - Math.floor(this.x0);
    const oy = pad - Math.floor(this.y0);
    const width = Math.ceil(this.x1) - Math.floor(this.x0) + 2 * pad;
    const height = Math.ceil(this.y1) - Math.floor(this.y0) + 2 * pad;
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
      `<g transform="translate(${ox} ${oy})">${this.parts.join('')}</g></svg>`;
    const s: Sprite = { svg, width, height, ax: ox, ay: oy };
    if (this.plate) s.plateBox = [this.plate[0] + ox, this.plate[1] + oy, this.plate[2] + ox, this.plate[3] + oy];
    if (this.plateGeom) s.plateGeom = { ...this.plateGeom, cx: this.plateGeom.cx + ox, cy: this.plateGeom.cy + oy };
    return s;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Vehicles

export const VEHICLE_KINDS = [
  'sedan',
  'hatchback',
  'suv',
  'van',
  'taxi',
  'truck',
  'bus',
  'ebike',
  'motorcycle',
] as const;
export type VehicleKind = (typeof VEHICLE_KINDS)[number];

export interface VehicleLook {
  kind: VehicleKind;
  colour: string;
  /** Second colour: taxi stripe, bus livery, truck cargo box, rider's jacket. */
  accent: string;
  lengthM: number;
  heightM: number;
  widthM: number;
  plate: string | null;
  plateStyle: 'blue' | 'green' | 'yellow';
  /** Delivery box, roof rack, helmet colour and similar small variations. */
  variant: number;
}

const CAR_COLOURS: ReadonlyArray<readonly [string, number]> = [
  ['#f2f2f0', 6],
  ['#1c1d1f', 5],
  ['#b8bcc0', 4],
  ['#7d8186', 3],
  ['#9b1b1e', 1.5],
  ['#1d3f8f', 1.5],
  ['#2a2f4a', 1],
  ['#3d6b45', 0.7],
  ['#c7a44a', 0.5],
  ['#e06a1b', 0.5],
  ['#6b3b2a', 0.6],
  ['#8fb7d9', 0.6],
  ['#d9d2c0', 1],
  ['#5a1f4a', 0.4],
];
const PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';
const PLATE_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const PLATE_CHARS = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/** A Chinese plate: province character, city letter, "·", then five letters/digits (six for new-energy cars). */
export function makePlate(rng: Rng, style: VehicleLook['plateStyle'], localProvince = '苏'): string {
  const prov = rng.chance(0.8) ? localProvince : PROVINCES[rng.int(0, PROVINCES.length - 1)]!;
  const city = rng.chance(0.7) ? 'A' : PLATE_LETTERS[rng.int(0, 12)]!;
  let tail = '';
  if (style === 'green') {
    tail = rng.pick(['D', 'F']);
    for (let i = 0; i < 5; i++) tail += String(rng.int(0, 9));
  } else {
    // At most two letters, like most issued plates.
    const letters = new Set<number>();
    const nLetters = rng.int(0, 2);
    while (letters.size < nLetters) letters.add(rng.int(0, 4));
    for (let i = 0; i < 5; i++)
      tail += letters.has(i) ? PLATE_LETTERS[rng.int(0, PLATE_LETTERS.length - 1)]! : PLATE_CHARS[rng.int(0, 9)]!;
  }
  return `${prov}${city}·${tail}`;
}

export function makeVehicleLook(rng: Rng, kind: VehicleKind): VehicleLook {
  const colour = rng.weighted(CAR_COLOURS);
  const base = {
    kind,
    colour,
    accent: colour,
    plate: null as string | null,
    plateStyle: 'blue' as VehicleLook['plateStyle'],
    variant: rng.int(0, 7),
  };
  const carPlate = () => {
    const style = rng.chance(0.12) ? ('green' as const) : ('blue' as const);
    return { plate: makePlate(rng, style), plateStyle: style };
  };
  switch (kind) {
    case 'sedan':
      return { ...base, ...carPlate(), lengthM: rng.float(4.4, 4.9), heightM: rng.float(1.4, 1.5), widthM: 1.8 };
    case 'hatchback':
      return { ...base, ...carPlate(), lengthM: rng.float(3.7, 4.2), heightM: rng.float(1.45, 1.55), widthM: 1.72 };
    case 'suv':
      return { ...base, ...carPlate(), lengthM: rng.float(4.4, 4.9), heightM: rng.float(1.65, 1.8), widthM: 1.88 };
    case 'van':
      return {
        ...base,
        ...carPlate(),
        colour: rng.pick(['#f2f2f0', '#f2f2f0', '#b8bcc0', '#1d3f8f', '#c7c9cc']),
        lengthM: rng.float(4.6, 5.1),
        heightM: rng.float(1.9, 2.05),
        widthM: 1.85,
      };
    case 'taxi': {
      const scheme = rng.pick([
        ['#e6b800', '#2a6e3a'],
        ['#f2f2f0', '#1d5fae'],
        ['#3aa655', '#f2f2f0'],
        ['#e6b800', '#e6b800'],
      ] as const);
      return {
        ...base,
        ...carPlate(),
        colour: scheme[0],
        accent: scheme[1],
        lengthM: rng.float(4.5, 4.8),
        heightM: 1.48,
        widthM: 1.8,
      };
    }
    case 'truck':
      return {
        ...base,
        plate: makePlate(rng, 'yellow'),
        plateStyle: 'yellow',
        colour: rng.pick(['#f2f2f0', '#1d5fae', '#c0392b', '#e6b800', '#2a6e3a']),
        accent: rng.pick(['#d9d9d4', '#1d5fae', '#9aa0a6', '#f2f2f0', '#2b7bb9']),
        lengthM: rng.float(5.5, 6.6),
        heightM: rng.float(2.4, 2.8),
        widthM: 2.1,
      };
    case 'bus': {
      const livery = rng.pick([
        ['#2a8a4a', '#f2f2f0'],
        ['#1d5fae', '#f2f2f0'],
        ['#c0392b', '#f0c419'],
        ['#f2f2f0', '#2a8a4a'],
        ['#e67e22', '#f2f2f0'],
      ] as const);
      return {
        ...base,
        plate: makePlate(rng, 'yellow'),
        plateStyle: 'yellow',
        colour: livery[0],
        accent: livery[1],
        lengthM: rng.float(10, 12),
        heightM: rng.float(3.0, 3.2),
        widthM: 2.5,
      };
    }
    case 'ebike':
    case 'motorcycle':
      return {
        ...base,
        colour: rng.pick(['#1c1d1f', '#f2f2f0', '#c0392b', '#1d5fae', '#7d8186', '#e6b800', '#8fb7d9']),
        accent: rng.pick(['#2c3e50', '#c0392b', '#f1c40f', '#27ae60', '#7f8c8d', '#1d5fae', '#e67e22', '#ecf0f1']),
        lengthM: kind === 'ebike' ? rng.float(1.6, 1.8) : rng.float(1.9, 2.1),
        heightM: rng.float(1.6, 1.8),
        widthM: 0.7,
      };
  }
}

export interface ViewParams {
  /** Pixels per metre of upright things where the object stands. */
  ppm: number;
  /** Image rows per metre of ground depth there. */
  vppm: number;
  /** Which end the camera sees (-1 left, +1 right). */
  viewSide: 1 | -1;
  lightsOn: boolean;
  /** Frame height / 720: the minimum plate size is tuned for 1280x720 and scales with the frame. */
  frameScale?: number;
}

/** Smallest plate drawn on a vehicle, pixels: legible for OCR at full resolution. */
export const MIN_PLATE_W = 74;
export const MIN_PLATE_H = 24;

function plateColours(style: VehicleLook['plateStyle']): { bg: string; fg: string } {
  if (style === 'green') return { bg: '#5fc27e', fg: '#111111' };
  if (style === 'yellow') return { bg: '#f2c200', fg: '#111111' };
  return { bg: '#1747b4', fg: '#ffffff' };
}

/**
 * Draws a plate centred at (cx, cy) of the given width, sheared like the face it sits on (slope = image rows per
 * pixel along the face). Text is squeezed horizontally to fit, as real plate characters are tall and narrow.
 */
function drawPlate(
  d: Drawing,
  plate: string,
  style: VehicleLook['plateStyle'],
  cx: number,
  cy: number,
  w: number,
  slope: number,
  minScale: number,
): void {
  const h = Math.max(MIN_PLATE_H * minScale, w / 3.14);
  const { bg, fg } = plateColours(style);
  const fs = h * 0.72;
  // DejaVu Sans Bold: capitals and digits ~0.72 em, the separator ~0.38 em, a CJK fallback glyph ~1 em.
  const est = fs * (1 + 0.38 + 0.72 * (plate.length - 2));
  const sx = Math.min(1, (w - h * 0.35) / est);
  const angle = (Math.atan(slope) * 180) / Math.PI;
  const x0 = cx - w / 2;
  const y0 = cy - h / 2;
  const dyMax = Math.abs(slope * w) / 2;
  d.raw(
    `<g transform="translate(${f(cx)} ${f(cy)}) skewY(${f(angle)})">` +
      `<rect x="${f(-w / 2)}" y="${f(-h / 2)}" width="${f(w)}" height="${f(h)}" rx="${f(h * 0.1)}" fill="${bg}"/>` +
      `<rect x="${f(-w / 2 + 1.5)}" y="${f(-h / 2 + 1.5)}" width="${f(w - 3)}" height="${f(h - 3)}" rx="${f(h * 0.08)}" fill="none" stroke="${fg}" stroke-width="1.2"/>` +
      `<text transform="scale(${f(sx)} 1)" x="0" y="${f(fs * 0.36)}" font-family="DejaVu Sans" font-weight="bold" font-size="${f(fs)}" fill="${fg}" text-anchor="middle">${esc(plate)}</text>` +
      `</g>`,
    x0,
    y0 - dyMax,
    x0 + w,
    y0 + h + dyMax,
  );
  d.plate = [x0, y0 - dyMax, x0 + w, y0 + h + dyMax];
  d.plateGeom = { cx, cy, w, h, slope };
}

interface Profile {
  /** Heights in metres: bottom of the body, beltline (top of the lower body), roof. */
  sill: number;
  belt: number;
  top: number;
  /** Fractions of the length from the front: windshield base, roof start, roof end, rear window base. */
  fws: number;
  fr0: number;
  fr1: number;
  frw: number;
  wheelR: number;
  wheels: [number, number];
}

const PROFILES: Record<'sedan' | 'hatchback' | 'suv' | 'van' | 'taxi', Omit<Profile, 'top'>> = {
  sedan: { sill: 0.2, belt: 0.82, fws: 0.3, fr0: 0.44, fr1: 0.74, frw: 0.87, wheelR: 0.32, wheels: [0.18, 0.8] },
  taxi: { sill: 0.2, belt: 0.82, fws: 0.3, fr0: 0.44, fr1: 0.74, frw: 0.87, wheelR: 0.32, wheels: [0.18, 0.8] },
  hatchback: { sill: 0.19, belt: 0.84, fws: 0.27, fr0: 0.41, fr1: 0.88, frw: 0.98, wheelR: 0.31, wheels: [0.17, 0.83] },
  suv: { sill: 0.3, belt: 1.02, fws: 0.25, fr0: 0.37, fr1: 0.96, frw: 1.0, wheelR: 0.37, wheels: [0.18, 0.81] },
  van: { sill: 0.24, belt: 1.0, fws: 0.05, fr0: 0.17, fr1: 1.0, frw: 1.0, wheelR: 0.33, wheels: [0.15, 0.82] },
};

/** Geometry of the oblique view of a vehicle body: P(u, h, depth) in sprite pixels, u from the visible end. */
interface Frame3 {
  L: number;
  E: number;
  dy: number;
  s: 1 | -1;
  P(u: number, hM: number, depth: number): Pt;
}

function frame3(lengthM: number, widthM: number, v: ViewParams, minE: number): Frame3 {
  const L = lengthM * v.ppm;
  const E = Math.max(minE, widthM * v.ppm * 0.62);
  // Depth rises by what the ground plane says, but no steeper than a plate can be sheared and stay legible.
  const dy = Math.min(widthM * v.vppm, 0.2 * E);
  const s = v.viewSide;
  // Visible end at x = -L/2 (s = -1) or +L/2 (s = +1); the anchor (0, 0) is the middle of the near side at the ground.
  const xEnd = (s * L) / 2;
  return { L, E, dy, s, P: (u, hM, depth) => [xEnd - s * u * L + depth * s * E, -hM * v.ppm - depth * dy] };
}

function wheel(d: Drawing, c: Pt, r: number, far: boolean): void {
  d.circle(c[0], c[1], r, far ? '#0d0d0e' : '#17181a');
  if (!far) {
    d.circle(c[0], c[1], r * 0.58, '#8e9297');
    d.circle(c[0], c[1], r * 0.2, '#5a5d61');
  }
}

function lights(d: Drawing, at: Pt, r: number, front: boolean, on: boolean): void {
  if (front) {
    if (on) d.circle(at[0], at[1], r * 2.6, '#fff6c8', ' opacity="0.35"');
    d.ellipse(at[0], at[1], r * 1.3, r * 0.8, on ? '#fffbe6' : '#e8eef2', ' stroke="#555" stroke-width="0.8"');
  } else {
    if (on) d.circle(at[0], at[1], r * 2.4, '#ff3b2f', ' opacity="0.3"');
    d.rect(at[0] - r * 1.2, at[1] - r * 0.7, r * 2.4, r * 1.4, on ? '#ff4a3a' : '#b3141b');
  }
}

/** The end face of a box from height lo to hi at u = 0: grille or tailgate, lights and the plate. */
function endFace(
  d: Drawing,
  g: Frame3,
  lo: number,
  hi: number,
  colour: string,
  front: boolean,
  look: VehicleLook,
  v: ViewParams,
  plate: boolean,
): void {
  const face = [g.P(0, lo, 0), g.P(0, hi, 0), g.P(0, hi, 1), g.P(0, lo, 1)];
  d.poly(face, shade(colour, -0.12));
  const mid = (hM: number, depth: number) => g.P(0, hM, depth);
  const lh = lo + (hi - lo) * 0.72;
  const lr = Math.max(3, 0.09 * v.ppm);
  if (front) {
    const a = mid(lo + (hi - lo) * 0.45, 0.3);
    const b = mid(lo + (hi - lo) * 0.45, 0.7);
    d.line(a, b, '#2b2d30', Math.max(3, (hi - lo) * v.ppm * 0.18));
  }
  lights(d, mid(lh, 0.12), lr, front, v.lightsOn);
  lights(d, mid(lh, 0.88), lr, front, v.lightsOn);
  // Bumper.
  d.poly([g.P(0, lo, 0), g.P(0, lo + 0.12, 0), g.P(0, lo + 0.12, 1), g.P(0, lo, 1)], '#2f3134');
  if (plate && look.plate) {
    const k = v.frameScale ?? 1;
    const pw = Math.min(g.E - 10 * k, Math.max(MIN_PLATE_W * k, 0.44 * v.ppm * 2.2));
    const c = mid(lo + (hi - lo) * 0.3, 0.5);
    drawPlate(d, look.plate, look.plateStyle, c[0], c[1], pw, (-g.s * g.dy) / g.E, k);
  }
}

function drawCar(d: Drawing, look: VehicleLook, heading: 1 | -1, v: ViewParams): void {
  const base = PROFILES[look.kind as keyof typeof PROFILES];
  const pr: Profile = { ...base, top: look.heightM };
  const g = frame3(look.lengthM, look.widthM, v, (MIN_PLATE_W + 14) * (v.frameScale ?? 1));
  const frontVisible = heading === g.s;
  const u = (fr: number) => (frontVisible ? fr : 1 - fr);
  const c = look.colour;
  const dark = shade(c, -0.25);
  const glass = v.lightsOn ? '#2b3440' : '#3e5363';
  const glassSide = v.lightsOn ? '#26303a' : '#4a6172';
  // Shadow, then the far wheels.
  d.poly(
    [g.P(-0.03, 0, -0.05), g.P(1.03, 0, -0.05), g.P(1.03, 0, 1.05), g.P(-0.03, 0, 1.05)],
    '#000000',
    ' opacity="0.3"',
  );
  for (const w of pr.wheels) wheel(d, g.P(u(w), pr.wheelR, 0.92), pr.wheelR * v.ppm, true);
  // Lower body: end face, top (hood or boot), side.
  const cabinA = Math.min(u(pr.fws), u(pr.frw));
  const cabinB = Math.min(u(pr.fr0), u(pr.fr1));
  const cabinC = Math.max(u(pr.fr0), u(pr.fr1));
  const cabinD = Math.max(u(pr.fws), u(pr.frw));
  endFace(d, g, pr.sill, pr.belt, c, frontVisible, look, v, true);
  d.poly([g.P(0, pr.belt, 0), g.P(cabinA, pr.belt, 0), g.P(cabinA, pr.belt, 1), g.P(0, pr.belt, 1)], shade(c, 0.12));
  // Cabin: the end window (windshield or rear window), the roof, the side windows.
  const tum = 0.1;
  d.poly(
    [g.P(cabinA, pr.belt, 0.04), g.P(cabinB, pr.top, tum), g.P(cabinB, pr.top, 1 - tum), g.P(cabinA, pr.belt, 0.96)],
    glass,
    ` stroke="${dark}" stroke-width="2"`,
  );
  d.poly(
    [g.P(cabinB, pr.top, tum), g.P(cabinC, pr.top, tum), g.P(cabinC, pr.top, 1 - tum), g.P(cabinB, pr.top, 1 - tum)],
    shade(c, 0.18),
  );
  if (look.kind === 'taxi') {
    const m = (cabinB + cabinC) / 2;
    const a = g.P(m - 0.05, pr.top, 0.5);
    d.rect(
      a[0] - 0.25 * v.ppm,
      a[1] - 0.22 * v.ppm,
      0.5 * v.ppm,
      0.22 * v.ppm,
      v.lightsOn ? '#fff2a8' : '#f4f4f4',
      ` stroke="#333" stroke-width="1"`,
    );
  }
  if (look.kind === 'suv' && look.variant % 2 === 0) {
    d.line(
      g.P(cabinB + 0.03, pr.top + 0.05, tum),
      g.P(cabinC - 0.03, pr.top + 0.05, tum),
      '#2a2a2a',
      Math.max(2, 0.04 * v.ppm),
    );
  }
  // Side of the cabin, then the side of the lower body over it.
  d.poly([g.P(cabinA, pr.belt, 0), g.P(cabinB, pr.top, tum), g.P(cabinC, pr.top, tum), g.P(cabinD, pr.belt, 0)], c);
  const inset = 0.08;
  const wa = g.P(cabinA + 0.03, pr.belt + 0.05, 0.01);
  const wb = g.P(cabinB + 0.01, pr.top - inset, tum);
  const wc = g.P(cabinC - 0.01, pr.top - inset, tum);
  const wd = g.P(cabinD - 0.03, pr.belt + 0.05, 0.01);
  d.poly([wa, wb, wc, wd], glassSide);
  // Pillar between the doors' windows.
  const pm = (cabinB + cabinC) / 2;
  d.poly(
    [
      g.P(pm - 0.015, pr.belt + 0.04, 0),
      g.P(pm - 0.015, pr.top - 0.02, tum),
      g.P(pm + 0.015, pr.top - 0.02, tum),
      g.P(pm + 0.015, pr.belt + 0.04, 0),
    ],
    dark,
  );
  const side = [g.P(0, pr.sill, 0), g.P(0, pr.belt, 0), g.P(1, pr.belt, 0), g.P(1, pr.sill, 0)];
  d.poly(side, c);
  if (look.kind === 'taxi')
    d.poly(
      [g.P(0, pr.sill + 0.18, 0), g.P(0, pr.sill + 0.3, 0), g.P(1, pr.sill + 0.3, 0), g.P(1, pr.sill + 0.18, 0)],
      look.accent,
    );
  // Wheel arches, wheels, door lines, handles, mirror.
  for (const w of pr.wheels) {
    const wc0 = g.P(u(w), pr.wheelR, 0);
    d.circle(wc0[0], wc0[1], pr.wheelR * v.ppm * 1.15, '#141516');
    wheel(d, wc0, pr.wheelR * v.ppm, false);
  }
  d.line(g.P(0, pr.sill + 0.02, 0), g.P(1, pr.sill + 0.02, 0), shade(c, -0.35), 2);
  d.line(g.P(pm, pr.sill + 0.05, 0), g.P(pm, pr.belt - 0.02, 0), shade(c, -0.3), 1.5);
  d.line(g.P(cabinA + 0.02, pr.sill + 0.08, 0), g.P(cabinA + 0.02, pr.belt - 0.02, 0), shade(c, -0.3), 1.5);
  for (const hu of [pm - 0.06, (pm + cabinD) / 2 - 0.02]) {
    const h0 = g.P(hu, pr.belt - 0.12, 0);
    d.rect(h0[0] - 0.06 * v.ppm, h0[1], 0.12 * v.ppm, Math.max(2, 0.03 * v.ppm), shade(c, -0.4));
  }
  const mirror = g.P(u(pr.fws) + (frontVisible ? 0.02 : -0.02), pr.belt + 0.08, -0.05);
  d.ellipse(mirror[0], mirror[1], 0.07 * v.ppm, 0.05 * v.ppm, dark);
  // The light at the far end of the side (tail or head) and a side reflector.
  const farEnd = g.P(1, pr.belt - 0.15, 0);
  d.rect(
    farEnd[0] - (g.s < 0 ? 0.12 * v.ppm : 0),
    farEnd[1],
    0.12 * v.ppm,
    0.1 * v.ppm,
    frontVisible ? (v.lightsOn ? '#ff4a3a' : '#b3141b') : '#e8eef2',
  );
}

function drawTruck(d: Drawing, look: VehicleLook, heading: 1 | -1, v: ViewParams): void {
  const g = frame3(look.lengthM, look.widthM, v, (MIN_PLATE_W + 14) * (v.frameScale ?? 1));
  const frontVisible = heading === g.s;
  const u = (fr: number) => (frontVisible ? fr : 1 - fr);
  const cab = look.colour;
  const box = look.accent;
  const cabTop = 2.25;
  const boxTop = look.heightM;
  const sill = 0.45;
  const wheelR = 0.42;
  const openBed = look.variant % 3 === 0;
  d.poly(
    [g.P(-0.02, 0, -0.05), g.P(1.02, 0, -0.05), g.P(1.02, 0, 1.05), g.P(-0.02, 0, 1.05)],
    '#000000',
    ' opacity="0.3"',
  );
  for (const w of [0.15, 0.78]) wheel(d, g.P(u(w), wheelR, 0.92), wheelR * v.ppm, true);
  const [cab0, cab1] = [u(0), u(0.28)].sort((a, b) => a - b) as [number, number];
  const [box0, box1] = [u(0.3), u(1)].sort((a, b) => a - b) as [number, number];
  const chassis = [g.P(0, sill, 0), g.P(0, sill + 0.25, 0), g.P(1, sill + 0.25, 0), g.P(1, sill, 0)];
  d.poly(chassis, '#2a2b2e');
  const drawBox = (a: number, b: number, top: number, colour: string, isEnd: boolean) => {
    if (isEnd)
      d.poly([g.P(a, sill + 0.2, 0), g.P(a, top, 0), g.P(a, top, 1), g.P(a, sill + 0.2, 1)], shade(colour, -0.12));
    d.poly([g.P(a, top, 0), g.P(b, top, 0), g.P(b, top, 1), g.P(a, top, 1)], shade(colour, 0.15));
    d.poly([g.P(a, sill + 0.2, 0), g.P(a, top, 0), g.P(b, top, 0), g.P(b, sill + 0.2, 0)], colour);
  };
  if (frontVisible) {
    // Cab first (visible end), the box behind it rises above the cab roof.
    if (openBed) {
      drawBox(box0, box1, 1.5, shade(box, -0.1), false);
      const tarp = [
        g.P(box0 + 0.02, 1.5, 0.05),
        g.P(box0 + 0.05, 2.1, 0.2),
        g.P(box1 - 0.03, 2.1, 0.2),
        g.P(box1, 1.5, 0.05),
      ];
      d.poly(tarp, look.variant % 2 ? '#2f6db5' : '#3f7f4a');
    } else drawBox(box0, box1, boxTop, box, true);
    drawBox(cab0, cab1, cabTop, cab, true);
    const ws = [g.P(0, 1.45, 0.06), g.P(0, cabTop - 0.12, 0.08), g.P(0, cabTop - 0.12, 0.92), g.P(0, 1.45, 0.94)];
    d.poly(ws, v.lightsOn ? '#2b3440' : '#3e5363');
    endFace(d, g, sill, 1.2, cab, true, look, v, true);
  } else {
    if (openBed) {
      drawBox(cab0, cab1, cabTop, cab, false);
      drawBox(box0, box1, 1.5, shade(box, -0.1), true);
      const tarp = [
        g.P(box0 + 0.02, 1.5, 0.05),
        g.P(box0 + 0.05, 2.1, 0.2),
        g.P(box1 - 0.03, 2.1, 0.2),
        g.P(box1, 1.5, 0.05),
      ];
      d.poly(tarp, look.variant % 2 ? '#2f6db5' : '#3f7f4a');
    } else {
      drawBox(cab0, cab1, cabTop, cab, false);
      drawBox(box0, box1, boxTop, box, true);
      // Rear doors.
      d.line(g.P(0, sill + 0.3, 0.5), g.P(0, boxTop - 0.1, 0.5), shade(box, -0.4), 2);
    }
    endFace(d, g, sill, 1.1, '#3a3b3e', false, look, v, true);
  }
  // Cab side window and door.
  const cw0 = g.P(frontVisible ? cab0 + 0.04 : cab1 - 0.22, 2.05, 0);
  const cw1 = g.P(frontVisible ? cab0 + 0.2 : cab1 - 0.05, 1.45, 0);
  d.rect(
    Math.min(cw0[0], cw1[0]),
    cw0[1],
    Math.abs(cw1[0] - cw0[0]),
    cw1[1] - cw0[1],
    v.lightsOn ? '#26303a' : '#4a6172',
  );
  if (!openBed && look.variant % 2 === 1) {
    const mid = g.P((box0 + box1) / 2, (sill + boxTop) / 2 + 0.2, 0);
    d.raw(
      `<text x="${f(mid[0])}" y="${f(mid[1])}" font-family="DejaVu Sans" font-weight="bold" font-size="${f(0.45 * v.ppm)}" fill="${shade(box, -0.6)}" text-anchor="middle">${esc(['EXPRESS', 'LOGISTICS', 'FRESH', 'MOVING'][look.variant % 4]!)}</text>`,
      mid[0] - 2 * v.ppm,
      mid[1] - 0.5 * v.ppm,
      mid[0] + 2 * v.ppm,
      mid[1],
    );
  }
  for (const w of [0.15, 0.78]) {
    const wc0 = g.P(u(w), wheelR, 0);
    wheel(d, wc0, wheelR * v.ppm, false);
  }
}

function drawBus(d: Drawing, look: VehicleLook, heading: 1 | -1, v: ViewParams): void {
  const g = frame3(look.lengthM, look.widthM, v, (MIN_PLATE_W + 20) * (v.frameScale ?? 1));
  const frontVisible = heading === g.s;
  const u = (fr: number) => (frontVisible ? fr : 1 - fr);
  const top = look.heightM;
  const sill = 0.35;
  const wheelR = 0.5;
  const c = look.colour;
  d.poly(
    [g.P(-0.02, 0, -0.05), g.P(1.02, 0, -0.05), g.P(1.02, 0, 1.05), g.P(-0.02, 0, 1.05)],
    '#000000',
    ' opacity="0.3"',
  );
  for (const w of [0.2, 0.75]) wheel(d, g.P(u(w), wheelR, 0.92), wheelR * v.ppm, true);
  d.poly([g.P(0, sill, 0), g.P(0, top, 0), g.P(0, top, 1), g.P(0, sill, 1)], shade(c, -0.1));
  d.poly([g.P(0, top, 0), g.P(1, top, 0), g.P(1, top, 1), g.P(0, top, 1)], shade(look.accent, 0.1));
  d.poly([g.P(0, sill, 0), g.P(0, top, 0), g.P(1, top, 0), g.P(1, sill, 0)], c);
  d.poly([g.P(0, 1.0, 0), g.P(0, 1.25, 0), g.P(1, 1.25, 0), g.P(1, 1.0, 0)], look.accent);
  const glass = v.lightsOn ? '#c9b894' : '#3e5363';
  // Window band with pillars, doors.
  d.poly([g.P(0.02, 1.3, 0), g.P(0.02, top - 0.3, 0), g.P(0.98, top - 0.3, 0), g.P(0.98, 1.3, 0)], glass);
  for (let k = 1; k < 8; k++)
    d.line(
      g.P(0.02 + (0.96 * k) / 8, 1.3, 0),
      g.P(0.02 + (0.96 * k) / 8, top - 0.3, 0),
      shade(c, -0.2),
      Math.max(2, 0.08 * v.ppm),
    );
  for (const du of [frontVisible ? 0.08 : 0.82, 0.5]) {
    d.poly(
      [
        g.P(u(du), sill + 0.05, 0),
        g.P(u(du), top - 0.35, 0),
        g.P(u(du + 0.09), top - 0.35, 0),
        g.P(u(du + 0.09), sill + 0.05, 0),
      ],
      '#2c3a44',
      ` stroke="${shade(c, -0.3)}" stroke-width="2"`,
    );
  }
  // End: windshield and route display at the front, a small window at the back.
  if (frontVisible) {
    d.poly(
      [g.P(0, 1.2, 0.05), g.P(0, top - 0.45, 0.05), g.P(0, top - 0.45, 0.95), g.P(0, 1.2, 0.95)],
      glass,
      ` stroke="#222" stroke-width="2"`,
    );
    const a = g.P(0, top - 0.25, 0.5);
    d.rect(a[0] - g.E * 0.35, a[1] - 0.12 * v.ppm, g.E * 0.7, 0.24 * v.ppm, '#1b1b1b');
    d.raw(
      `<text x="${f(a[0])}" y="${f(a[1] + 0.08 * v.ppm)}" font-family="DejaVu Sans Mono" font-weight="bold" font-size="${f(0.2 * v.ppm)}" fill="#ff9f1a" text-anchor="middle">${['K1', '12', '306', '88', 'Y2', '51'][look.variant % 6]}</text>`,
      a[0] - 1,
      a[1] - 1,
      a[0] + 1,
      a[1] + 1,
    );
  } else d.poly([g.P(0, 2.0, 0.2), g.P(0, top - 0.4, 0.2), g.P(0, top - 0.4, 0.8), g.P(0, 2.0, 0.8)], glass);
  endFace(d, g, sill, 1.1, c, frontVisible, look, v, true);
  for (const w of [0.2, 0.75]) {
    const wc0 = g.P(u(w), wheelR, 0);
    d.circle(wc0[0], wc0[1], wheelR * v.ppm * 1.12, '#141516');
    wheel(d, wc0, wheelR * v.ppm, false);
  }
}

/** A rider on an e-bike or motorcycle, side view; heading +1 faces right. */
function drawTwoWheeler(d: Drawing, look: VehicleLook, heading: 1 | -1, v: ViewParams, rng: Rng): void {
  const p = v.ppm;
  const h = heading;
  const L = look.lengthM * p;
  const r = (look.kind === 'ebike' ? 0.26 : 0.31) * p;
  const xb = -h * L * 0.36;
  const xf = h * L * 0.36;
  d.ellipse(0, 0, L * 0.55, 0.25 * v.vppm + 2, '#000000', ' opacity="0.3"');
  wheel(d, [xb, -r], r, false);
  wheel(d, [xf, -r], r, false);
  // Body: floorboard and rear panel (scooter) or tank and frame (motorcycle).
  if (look.kind === 'ebike') {
    d.poly(
      [
        [xb - h * r * 0.2, -r * 1.1],
        [xb + h * r * 1.6, -r * 1.9],
        [xf - h * r * 0.6, -r * 1.1],
        [xf - h * r * 0.4, -r * 0.8],
        [xb + h * r * 0.4, -r * 0.7],
      ],
      look.colour,
    );
    d.line(
      [xf - h * r * 0.5, -r * 1.0],
      [xf - h * r * 0.1, -0.95 * p],
      shade(look.colour, -0.2),
      Math.max(3, 0.06 * p),
    );
  } else {
    d.poly(
      [
        [xb, -r * 1.2],
        [xb + h * L * 0.3, -0.85 * p],
        [xf - h * L * 0.25, -0.9 * p],
        [xf - h * r * 0.3, -r * 1.3],
        [xb + h * L * 0.35, -r * 1.0],
      ],
      look.colour,
    );
    d.line([xf - h * r * 0.2, -r], [xf - h * r * 0.6, -1.0 * p], '#333', Math.max(3, 0.05 * p));
  }
  d.line([xf - h * 0.15 * p, -1.0 * p], [xf - h * 0.05 * p, -1.02 * p], '#222', Math.max(3, 0.05 * p));
  if (v.lightsOn) d.circle(xf + h * 0.05 * p, -0.85 * p, 0.12 * p, '#fff6c8', ' opacity="0.5"');
  d.circle(xf + h * 0.02 * p, -0.85 * p, 0.05 * p, '#f4f4f0');
  // Delivery box on the back for some riders.
  if (look.variant % 3 === 0) {
    const bc = rng.pick(['#f6c500', '#1e88e5', '#f6c500', '#e53935']);
    d.rect(
      Math.min(xb - h * 0.25 * p, xb + h * 0.2 * p),
      -1.35 * p,
      0.45 * p,
      0.45 * p,
      bc,
      ` stroke="${shade(bc, -0.3)}" stroke-width="1.5"`,
    );
  }
  // Rider: legs, torso leaning forward, arms to the bar, helmet.
  const seat: Pt = [-h * 0.1 * p, -0.82 * p];
  const knee: Pt = [h * 0.2 * p, -0.72 * p];
  const foot: Pt = [h * 0.15 * p, -0.35 * p];
  const legW = Math.max(4, 0.13 * p);
  const trousers = rng.pick(['#1f2a44', '#222222', '#4a4a4a', '#5b4636']);
  d.line(seat, knee, trousers, legW);
  d.line(knee, foot, trousers, legW);
  const shoulder: Pt = [h * 0.02 * p, -1.42 * p];
  d.poly(
    [
      [seat[0] - h * 0.14 * p, seat[1]],
      [seat[0] + h * 0.12 * p, seat[1] + 0.02 * p],
      [shoulder[0] + h * 0.12 * p, shoulder[1]],
      [shoulder[0] - h * 0.16 * p, shoulder[1] + 0.02 * p],
    ],
    look.accent,
  );
  d.line(shoulder, [xf - h * 0.12 * p, -1.02 * p], look.accent, Math.max(3, 0.09 * p));
  const helmet = rng.pick(['#f6c500', '#e53935', '#f4f4f0', '#1e88e5', '#222222']);
  d.circle(shoulder[0] + h * 0.04 * p, shoulder[1] - 0.16 * p, 0.13 * p, rng.pick(SKIN));
  d.raw(
    `<path d="M${f(shoulder[0] + h * 0.04 * p - 0.15 * p)},${f(shoulder[1] - 0.14 * p)} a${f(0.15 * p)},${f(0.15 * p)} 0 0 1 ${f(0.3 * p)},0 z" fill="${helmet}"/>`,
    shoulder[0] - 0.2 * p,
    shoulder[1] - 0.33 * p,
    shoulder[0] + 0.2 * p,
    shoulder[1],
  );
}

export function drawVehicle(look: VehicleLook, heading: 1 | -1, v: ViewParams, rng: Rng): Sprite {
  const d = new Drawing();
  switch (look.kind) {
    case 'truck':
      drawTruck(d, look, heading, v);
      break;
    case 'bus':
      drawBus(d, look, heading, v);
      break;
    case 'ebike':
    case 'motorcycle':
      drawTwoWheeler(d, look, heading, v, rng);
      break;
    default:
      drawCar(d, look, heading, v);
  }
  return d.build();
}

// ---------------------------------------------------------------------------------------------------------------
// Stalls: everything a shop puts out. The umbrella and the table under it are one stall (one box).

export const STALL_KINDS = ['table', 'rack', 'crates', 'umbrella', 'shelf', 'dining'] as const;
export type StallKind = (typeof STALL_KINDS)[number];

export interface StallLook {
  kind: StallKind;
  widthM: number;
  colour: string;
  accent: string;
  goods: string[];
  variant: number;
  seed: number;
}

const GOODS = [
  '#e74c3c',
  '#f39c12',
  '#f1c40f',
  '#27ae60',
  '#2ecc71',
  '#e67e22',
  '#c0392b',
  '#8e44ad',
  '#3498db',
  '#ecf0f1',
  '#d35400',
  '#16a085',
  '#f5b7b1',
  '#7dcea0',
];

export function makeStallLook(rng: Rng, kind: StallKind): StallLook {
  const widthM = {
    table: rng.float(1.2, 1.8),
    rack: rng.float(1.2, 1.7),
    crates: rng.float(0.9, 1.8),
    umbrella: rng.float(2.0, 2.6),
    shelf: rng.float(1.0, 1.4),
    dining: rng.float(1.4, 2.0),
  }[kind];
  return {
    kind,
    widthM,
    colour: rng.pick([
      '#1e88e5',
      '#e53935',
      '#43a047',
      '#f4f4f0',
      '#fdd835',
      '#8d6e63',
      '#fb8c00',
      '#5e35b1',
      '#00897b',
    ]),
    accent: rng.pick(['#f4f4f0', '#fdd835', '#e53935', '#1e88e5', '#222222']),
    goods: Array.from({ length: 5 }, () => rng.pick(GOODS)),
    variant: rng.int(0, 7),
    seed: rng.int(1, 1_000_000),
  };
}

/** Goods piled on a surface from depth 0.1 to 0.9, between u0 and u1 of the width (in the box frame g). */
function goodsOn(
  d: Drawing,
  g: Frame3,
  u0: number,
  u1: number,
  hM: number,
  look: StallLook,
  rng: Rng,
  v: ViewParams,
): void {
  const kind = look.variant % 3;
  for (let row = 0; row < 2; row++) {
    const depth = row === 0 ? 0.65 : 0.25;
    for (let uu = u0 + 0.03; uu < u1 - 0.05;) {
      const w = rng.float(0.08, 0.16);
      const c = rng.pick(look.goods);
      const at = g.P(uu + w / 2, hM, depth);
      if (kind === 0) {
        // Fruit and vegetables: heaps of balls.
        const r = rng.float(0.05, 0.08) * v.ppm;
        for (let k = 0; k < 3; k++)
          d.circle(at[0] + (k - 1) * r * 1.3, at[1] - r, r, c, ` stroke="${shade(c, -0.3)}" stroke-width="0.8"`);
        d.circle(at[0], at[1] - r * 2.2, r, c, ` stroke="${shade(c, -0.3)}" stroke-width="0.8"`);
      } else if (kind === 1) {
        // Boxed goods.
        const bh = rng.float(0.12, 0.3) * v.ppm;
        d.rect(
          at[0] - (w * g.L) / 2.2,
          at[1] - bh,
          (w * g.L) / 1.1,
          bh,
          c,
          ` stroke="${shade(c, -0.35)}" stroke-width="1"`,
        );
      } else {
        // Bottles and jars.
        const bh = rng.float(0.18, 0.3) * v.ppm;
        const bw = Math.max(3, 0.06 * v.ppm);
        d.rect(at[0] - bw / 2, at[1] - bh, bw, bh, c, ` rx="${f(bw / 3)}"`);
        d.rect(at[0] - bw / 4, at[1] - bh - bw * 0.7, bw / 2, bw * 0.7, shade(c, -0.3));
      }
      uu += w + rng.float(0.0, 0.04);
    }
  }
}

function tableBox(d: Drawing, g: Frame3, hM: number, top: string, cloth: string | null, legs: string): void {
  const legW = Math.max(2, g.L * 0.015);
  if (!cloth) {
    for (const [uu, dep] of [
      [0.03, 0.9],
      [0.97, 0.9],
      [0.03, 0.05],
      [0.97, 0.05],
    ] as const)
      d.line(g.P(uu, 0, dep), g.P(uu, hM, dep), legs, legW);
  }
  d.poly([g.P(0, hM, 0), g.P(1, hM, 0), g.P(1, hM, 1), g.P(0, hM, 1)], top);
  if (cloth) {
    // A cloth hanging down the front and the visible end.
    const hang = hM * 0.75;
    d.poly([g.P(0, hM, 0), g.P(0, hM - hang, 0), g.P(0, hM - hang, 1), g.P(0, hM, 1)], shade(cloth, -0.15));
    d.poly([g.P(0, hM, 0), g.P(1, hM, 0), g.P(1, hM - hang, 0), g.P(0, hM - hang, 0)], cloth);
    for (const [uu, dep] of [
      [0.03, 0],
      [0.97, 0],
    ] as const)
      d.line(g.P(uu, 0, dep), g.P(uu, hM - hang, dep), legs, legW);
  } else d.poly([g.P(0, hM, 0), g.P(1, hM, 0), g.P(1, hM - 0.05, 0), g.P(0, hM - 0.05, 0)], shade(top, -0.2));
}

export function drawStall(look: StallLook, v: ViewParams, rng: Rng): Sprite {
  const d = new Drawing();
  const p = v.ppm;
  const s = v.viewSide;
  const box = (lengthM: number, depthM: number): Frame3 => {
    const L = lengthM * p;
    const E = depthM * p * 0.62;
    const dy = depthM * v.vppm;
    const xEnd = (s * L) / 2;
    return { L, E, dy, s, P: (uu, hM, depth) => [xEnd - s * uu * L + depth * s * E, -hM * p - depth * dy] };
  };
  switch (look.kind) {
    case 'table': {
      const g = box(look.widthM, 0.7);
      d.poly(
        [g.P(-0.02, 0, -0.05), g.P(1.02, 0, -0.05), g.P(1.02, 0, 1.05), g.P(-0.02, 0, 1.05)],
        '#000000',
        ' opacity="0.25"',
      );
      tableBox(
        d,
        g,
        0.75,
        look.variant % 2 ? '#f4f4f0' : shade(look.colour, 0.2),
        look.variant % 2 ? look.colour : null,
        '#777b80',
      );
      goodsOn(d, g, 0, 1, 0.75, look, rng, v);
      if (look.variant % 4 === 1) {
        // A hand-written price board.
        const a = g.P(0.15, 0.75, 0.1);
        d.rect(a[0] - 0.2 * p, a[1] - 0.45 * p, 0.4 * p, 0.3 * p, '#f7f3e3', ' stroke="#333" stroke-width="1"');
        d.raw(
          `<text x="${f(a[0])}" y="${f(a[1] - 0.22 * p)}" font-family="DejaVu Sans" font-weight="bold" font-size="${f(0.14 * p)}" fill="#c0392b" text-anchor="middle">${5 + (look.seed % 20)}</text>`,
          a[0],
          a[1],
          a[0],
          a[1],
        );
      }
      break;
    }
    case 'dining': {
      const g = box(0.8, 0.8);
      d.poly([g.P(-0.6, 0, -0.3), g.P(1.6, 0, -0.3), g.P(1.6, 0, 1.3), g.P(-0.6, 0, 1.3)], '#000000', ' opacity="0.2"');
      const stool = (uu: number, dep: number) => {
        const a = g.P(uu, 0, dep);
        const sw = 0.3 * p;
        d.poly(
          [
            [a[0] - sw / 2, a[1]],
            [a[0] - sw / 2 + 3, a[1] - 0.42 * p],
            [a[0] + sw / 2 - 3, a[1] - 0.42 * p],
            [a[0] + sw / 2, a[1]],
          ],
          look.accent === '#222222' ? '#e53935' : look.accent,
          ` stroke="${shade(look.colour, -0.3)}" stroke-width="1"`,
        );
        d.ellipse(
          a[0],
          a[1] - 0.43 * p,
          sw / 2 + 2,
          0.06 * p,
          shade(look.accent === '#222222' ? '#e53935' : look.accent, 0.2),
        );
      };
      stool(-0.35, 0.3);
      stool(1.35, 0.6);
      tableBox(d, g, 0.72, look.colour, null, '#555');
      goodsOn(d, g, 0.2, 0.8, 0.72, { ...look, variant: 2 }, rng, v);
      stool(0.5, -0.45);
      break;
    }
    case 'rack': {
      const W = look.widthM * p;
      const H = rng.float(1.5, 1.7) * p;
      d.ellipse(0, 0, W * 0.55, 0.15 * v.vppm + 3, '#000000', ' opacity="0.2"');
      const postW = Math.max(3, 0.04 * p);
      for (const x of [-W / 2, W / 2]) {
        d.line([x, 0], [x, -H], '#a0a4a8', postW);
        d.line([x - 0.2 * p, -0.05 * p], [x + 0.2 * p, -0.05 * p], '#7a7e82', postW);
        d.circle(x - 0.2 * p, -0.03 * p, 0.04 * p, '#222');
        d.circle(x + 0.2 * p, -0.03 * p, 0.04 * p, '#222');
      }
      d.line([-W / 2, -H], [W / 2, -H], '#b0b4b8', postW);
      // Clothes on hangers: shirts, dresses, trousers.
      const n = Math.max(4, Math.round(look.widthM / 0.14));
      for (let i = 0; i < n; i++) {
        const x = -W / 2 + ((i + 0.5) * W) / n;
        const c = rng.pick([...look.goods, look.colour, look.accent]);
        const cw = (W / n) * rng.float(1.6, 2.4);
        const len = rng.float(0.6, 1.0) * p;
        d.line([x, -H], [x, -H + 0.06 * p], '#555', 1.2);
        d.poly(
          [
            [x - cw * 0.35, -H + 0.06 * p],
            [x + cw * 0.35, -H + 0.06 * p],
            [x + cw * 0.5, -H + 0.06 * p + len],
            [x - cw * 0.5, -H + 0.06 * p + len],
          ],
          c,
          ` stroke="${shade(c, -0.25)}" stroke-width="1"`,
        );
      }
      break;
    }
    case 'crates': {
      const stacks = Math.max(1, Math.round(look.widthM / 0.55));
      const cw = 0.5;
      const g = box(stacks * cw + (stacks - 1) * 0.05, 0.38);
      d.poly(
        [g.P(-0.02, 0, -0.05), g.P(1.02, 0, -0.05), g.P(1.02, 0, 1.05), g.P(-0.02, 0, 1.05)],
        '#000000',
        ' opacity="0.25"',
      );
      const crateC = look.variant % 2 ? look.colour : '#b5895a';
      for (let sIdx = 0; sIdx < stacks; sIdx++) {
        const u0 = (sIdx * (cw + 0.05)) / (stacks * cw + (stacks - 1) * 0.05);
        const u1 = u0 + cw / (stacks * cw + (stacks - 1) * 0.05);
        const levels = rng.int(1, 3);
        for (let lv = 0; lv < levels; lv++) {
          const h0 = lv * 0.28;
          const h1 = h0 + 0.28;
          d.poly([g.P(u0, h0, 0), g.P(u0, h1, 0), g.P(u0, h1, 1), g.P(u0, h0, 1)], shade(crateC, -0.2));
          d.poly(
            [g.P(u0, h0, 0), g.P(u0, h1, 0), g.P(u1, h1, 0), g.P(u1, h0, 0)],
            crateC,
            ` stroke="${shade(crateC, -0.4)}" stroke-width="1"`,
          );
          for (const fr of [0.33, 0.66])
            d.line(g.P(u0, h0 + 0.28 * fr, 0), g.P(u1, h0 + 0.28 * fr, 0), shade(crateC, -0.35), 1.2);
          if (lv === levels - 1) {
            d.poly([g.P(u0, h1, 0), g.P(u1, h1, 0), g.P(u1, h1, 1), g.P(u0, h1, 1)], shade(crateC, 0.15));
            goodsOn(d, g, u0, u1, h1, { ...look, variant: 0 }, rng, v);
          }
        }
      }
      break;
    }
    case 'umbrella': {
      const R = (look.widthM / 2) * p;
      const poleH = rng.float(2.2, 2.45) * p;
      const g = box(rng.float(1.0, 1.4), 0.6);
      d.ellipse(0, 0, R * 0.9, 0.5 * v.vppm + 4, '#000000', ' opacity="0.22"');
      tableBox(d, g, 0.75, '#f4f4f0', look.variant % 2 ? look.accent : null, '#777b80');
      goodsOn(d, g, 0, 1, 0.75, look, rng, v);
      d.line([0, -0.75 * p], [0, -poleH], '#d0d0d0', Math.max(2, 0.035 * p));
      // Canopy: a flattened dome in coloured segments with a scalloped rim.
      const rimY = -poleH + 0.35 * p;
      const seg = 8;
      for (let i = 0; i < seg; i++) {
        const xa = -R + (2 * R * i) / seg;
        const xb = -R + (2 * R * (i + 1)) / seg;
        const col = i % 2 ? look.colour : look.accent;
        d.poly(
          [
            [0, -poleH - 0.12 * p],
            [xa, rimY],
            [xb, rimY],
          ],
          col,
          ` stroke="${shade(col, -0.2)}" stroke-width="0.8"`,
        );
        d.raw(
          `<path d="M${f(xa)},${f(rimY)} q${f((xb - xa) / 2)},${f(0.12 * p)} ${f(xb - xa)},0 z" fill="${col}"/>`,
          xa,
          rimY,
          xb,
          rimY + 0.12 * p,
        );
      }
      if (look.variant % 3 === 0) {
        d.raw(
          `<text x="0" y="${f(rimY - 0.05 * p)}" font-family="DejaVu Sans" font-weight="bold" font-size="${f(0.16 * p)}" fill="${shade(look.colour, -0.5)}" text-anchor="middle">${['COLA', 'BEER', 'TEA', 'ICE'][look.variant % 4]}</text>`,
          0,
          rimY,
          0,
          rimY,
        );
      }
      break;
    }
    case 'shelf': {
      const g = box(look.widthM, 0.45);
      const H = rng.float(1.2, 1.6);
      d.poly(
        [g.P(-0.02, 0, -0.05), g.P(1.02, 0, -0.05), g.P(1.02, 0, 1.05), g.P(-0.02, 0, 1.05)],
        '#000000',
        ' opacity="0.25"',
      );
      const frameC = look.variant % 2 ? '#9ea3a8' : '#8d6e63';
      d.poly([g.P(0, 0, 1), g.P(0, H, 1), g.P(1, H, 1), g.P(1, 0, 1)], shade(frameC, 0.25));
      const tiers = rng.int(3, 4);
      for (let t = 0; t < tiers; t++) {
        const h = 0.1 + (t * (H - 0.15)) / tiers;
        d.poly([g.P(0, h, 0), g.P(1, h, 0), g.P(1, h, 1), g.P(0, h, 1)], shade(frameC, 0.1));
        goodsOn(d, g, 0.02, 0.98, h, { ...look, variant: (look.variant + t) % 3 }, rng, v);
        d.poly([g.P(0, h, 0), g.P(1, h, 0), g.P(1, h - 0.04, 0), g.P(0, h - 0.04, 0)], shade(frameC, -0.2));
      }
      for (const uu of [0, 1]) d.line(g.P(uu, 0, 0), g.P(uu, H, 0), shade(frameC, -0.3), Math.max(2, 0.04 * p));
      d.line(g.P(0, 0, 1), g.P(0, H, 1), shade(frameC, -0.3), Math.max(2, 0.04 * p));
      break;
    }
  }
  return d.build();
}

// ---------------------------------------------------------------------------------------------------------------
// People

const SKIN = ['#f1c7a5', '#e0ac86', '#c68c67', '#a56d4a', '#f5d3b8'];

export interface PersonLook {
  heightM: number;
  skin: string;
  hair: string;
  longHair: boolean;
  top: string;
  bottom: string;
  skirt: boolean;
  bag: 'none' | 'backpack' | 'handbag';
  bagColour: string;
  hat: boolean;
}

export function makePersonLook(rng: Rng): PersonLook {
  const child = rng.chance(0.08);
  return {
    heightM: child ? rng.float(1.05, 1.35) : rng.float(1.52, 1.86),
    skin: rng.pick(SKIN),
    hair: rng.pick(['#1a1512', '#2b1e16', '#3b2a1e', '#5a4632', '#8a8a8a']),
    longHair: rng.chance(0.4),
    top: rng.pick([
      '#f4f4f0',
      '#222222',
      '#c0392b',
      '#2980b9',
      '#27ae60',
      '#f1c40f',
      '#8e44ad',
      '#e67e22',
      '#7f8c8d',
      '#1f3a5f',
      '#d98cb3',
      '#5d4037',
    ]),
    bottom: rng.pick(['#1f2a44', '#222222', '#4a4a4a', '#c2b280', '#3b5b8a', '#6d4c41', '#9e9e9e']),
    skirt: rng.chance(0.15),
    bag: rng.weighted([
      ['none', 5],
      ['backpack', 2],
      ['handbag', 2],
    ] as const),
    bagColour: rng.pick(['#222222', '#6d4c41', '#c0392b', '#2c3e50', '#d7ccc8']),
    hat: rng.chance(0.15),
  };
}

/**
 * A person standing on (0, 0). facing: +1 walking right, -1 walking left, 0 facing the camera (standing).
 * phase 0..3 is the stride.
 */
export function drawPerson(look: PersonLook, facing: -1 | 0 | 1, phase: number, v: ViewParams): Sprite {
  const d = new Drawing();
  const p = v.ppm;
  const H = look.heightM * p;
  const head = 0.125 * H;
  const hipY = -0.5 * H;
  const shoulderY = -0.8 * H;
  const legW = Math.max(3, 0.075 * H);
  const armW = Math.max(2.5, 0.055 * H);
  d.ellipse(0, 0, 0.3 * p, Math.max(2, 0.12 * v.vppm), '#000000', ' opacity="0.25"');
  const stride = [0.16, 0.06, -0.16, -0.06][phase % 4]! * H;
  const torsoW = 0.26 * H;
  if (facing === 0) {
    // Front view: two legs, torso, arms by the sides.
    for (const sx of [-1, 1]) {
      d.line([sx * 0.05 * H, hipY], [sx * 0.06 * H, -0.03 * H], look.bottom, legW);
      d.ellipse(sx * 0.06 * H, -0.02 * H, legW * 0.7, legW * 0.35, '#1b1b1b');
    }
    if (look.skirt)
      d.poly(
        [
          [-torsoW * 0.42, hipY - 0.05 * H],
          [torsoW * 0.42, hipY - 0.05 * H],
          [torsoW * 0.6, hipY + 0.16 * H],
          [-torsoW * 0.6, hipY + 0.16 * H],
        ],
        look.bottom,
      );
    else d.rect(-torsoW * 0.42, hipY - 0.05 * H, torsoW * 0.84, 0.1 * H, look.bottom);
    d.poly(
      [
        [-torsoW / 2, shoulderY],
        [torsoW / 2, shoulderY],
        [torsoW * 0.42, hipY],
        [-torsoW * 0.42, hipY],
      ],
      look.top,
    );
    for (const sx of [-1, 1])
      d.line([sx * torsoW * 0.5, shoulderY + armW / 2], [sx * torsoW * 0.58, hipY + 0.02 * H], look.top, armW);
    for (const sx of [-1, 1]) d.circle(sx * torsoW * 0.58, hipY + 0.04 * H, armW * 0.55, look.skin);
    if (look.bag === 'backpack') {
      d.line([-torsoW * 0.3, shoulderY], [-torsoW * 0.3, shoulderY + 0.15 * H], look.bagColour, 2);
      d.line([torsoW * 0.3, shoulderY], [torsoW * 0.3, shoulderY + 0.15 * H], look.bagColour, 2);
    }
  } else {
    const h = facing;
    // Far leg and arm first, then the near ones.
    const legs: Array<[number, string]> = [
      [-stride, shade(look.bottom, -0.2)],
      [stride, look.bottom],
    ];
    for (const [st, col] of legs) {
      const foot: Pt = [st * 0.9 * h, -0.03 * H];
      const knee: Pt = [st * 0.5 * h + h * 0.02 * H, -0.26 * H];
      d.line([0, hipY], knee, col, legW);
      d.line(knee, foot, col, legW);
      d.ellipse(foot[0] + h * 0.03 * H, -0.02 * H, legW * 0.9, legW * 0.4, '#1b1b1b');
    }
    if (look.skirt)
      d.poly(
        [
          [-torsoW * 0.3, hipY - 0.05 * H],
          [torsoW * 0.3, hipY - 0.05 * H],
          [torsoW * 0.45, hipY + 0.17 * H],
          [-torsoW * 0.45, hipY + 0.17 * H],
        ],
        look.bottom,
      );
    d.line([0, shoulderY + armW], [-stride * 0.8 * h, hipY + 0.02 * H], shade(look.top, -0.2), armW);
    if (look.bag === 'backpack')
      d.rect(
        h < 0 ? torsoW * 0.3 : -torsoW * 0.3 - 0.16 * H,
        shoulderY + 0.02 * H,
        0.16 * H,
        0.22 * H,
        look.bagColour,
        ' rx="3"',
      );
    d.poly(
      [
        [-torsoW * 0.32, shoulderY],
        [torsoW * 0.32, shoulderY],
        [torsoW * 0.3, hipY],
        [-torsoW * 0.3, hipY],
      ],
      look.top,
    );
    d.line([0, shoulderY + armW], [stride * 0.8 * h, hipY + 0.02 * H], look.top, armW);
    d.circle(stride * 0.8 * h, hipY + 0.04 * H, armW * 0.55, look.skin);
    if (look.bag === 'handbag')
      d.rect(stride * 0.8 * h - 0.05 * H, hipY + 0.05 * H, 0.1 * H, 0.1 * H, look.bagColour, ' rx="2"');
  }
  // Neck, head, hair.
  d.rect(-0.025 * H, shoulderY - 0.04 * H, 0.05 * H, 0.05 * H, look.skin);
  const hy = shoulderY - 0.04 * H - head * 0.5;
  d.ellipse(0, hy, head * 0.42, head * 0.52, look.skin);
  const hairBack = facing === 0 ? 0 : -facing * head * 0.1;
  d.raw(
    `<path d="M${f(-head * 0.45 + hairBack)},${f(hy)} a${f(head * 0.45)},${f(head * 0.52)} 0 0 1 ${f(head * 0.9)},0 z" fill="${look.hair}"/>`,
    -head * 0.5,
    hy - head * 0.55,
    head * 0.5,
    hy,
  );
  if (look.longHair)
    d.rect(
      -head * 0.42 + (facing === 0 ? 0 : -facing * head * 0.15),
      hy - head * 0.1,
      head * (facing === 0 ? 0.84 : 0.5),
      head * 0.8,
      look.hair,
    );
  if (look.hat) d.ellipse(0, hy - head * 0.42, head * 0.62, head * 0.16, '#d8c9a8');
  return d.build();
}

// ---------------------------------------------------------------------------------------------------------------
// Street furniture that stands in front of things (and so hides them).

export function drawDecor(
  kind: 'tree' | 'lamp' | 'bin' | 'bollard' | 'hydrant' | 'sign-pole',
  variant: number,
  v: ViewParams,
  rng: Rng,
): Sprite {
  const d = new Drawing();
  const p = v.ppm;
  switch (kind) {
    case 'tree': {
      const trunkH = rng.float(2.6, 3.4) * p;
      const tw = rng.float(0.18, 0.28) * p;
      d.ellipse(0, 0, 0.6 * p, 0.25 * v.vppm + 2, '#5b4a3a', ' opacity="0.6"');
      d.poly(
        [
          [-tw / 2, 0],
          [-tw / 3, -trunkH],
          [tw / 3, -trunkH],
          [tw / 2, 0],
        ],
        ['#5d4634', '#6b5443', '#4e3b2c', '#7a6a55'][variant % 4]!,
      );
      const greens = ['#3f7d3a', '#4f8f43', '#356b31', '#5b9a4a'];
      for (let i = 0; i < 9; i++) {
        const r = rng.float(0.7, 1.2) * p;
        d.circle(rng.float(-1.3, 1.3) * p, -trunkH - rng.float(0.2, 1.8) * p, r, rng.pick(greens), ' opacity="0.96"');
      }
      break;
    }
    case 'lamp': {
      const H = rng.float(6, 8) * p;
      d.line([0, 0], [0, -H], '#5f6468', Math.max(3, 0.12 * p));
      d.line([0, -H], [variant % 2 ? 1.2 * p : -1.2 * p, -H - 0.2 * p], '#5f6468', Math.max(2, 0.08 * p));
      d.rect(-0.12 * p, -0.3 * p, 0.24 * p, 0.3 * p, '#4a4f53');
      break;
    }
    case 'bin': {
      const cols = [
        ['#2e7d32', '#7f8c8d'],
        ['#1565c0', '#616161'],
        ['#6d4c41', '#9e9e9e'],
      ][variant % 3]!;
      for (const [i, c] of cols.entries()) {
        const x = (i - 0.5) * 0.55 * p;
        d.rect(x - 0.25 * p, -0.95 * p, 0.5 * p, 0.95 * p, c, ' rx="3"');
        d.rect(x - 0.27 * p, -1.0 * p, 0.54 * p, 0.1 * p, shade(c, -0.3), ' rx="2"');
      }
      break;
    }
    case 'hydrant': {
      d.rect(-0.12 * p, -0.7 * p, 0.24 * p, 0.7 * p, '#c62828', ' rx="2"');
      d.ellipse(0, -0.7 * p, 0.14 * p, 0.08 * p, '#b71c1c');
      d.rect(-0.2 * p, -0.45 * p, 0.4 * p, 0.08 * p, '#b71c1c');
      break;
    }
    case 'bollard': {
      d.rect(-0.08 * p, -0.8 * p, 0.16 * p, 0.8 * p, '#9e9e9e', ' rx="3"');
      break;
    }
    case 'sign-pole': {
      const H = 2.6 * p;
      d.line([0, 0], [0, -H], '#8a9096', Math.max(3, 0.06 * p));
      const r = 0.3 * p;
      d.circle(0, -H, r, '#c62828');
      d.circle(0, -H, r * 0.78, '#1e5bb8');
      d.line([-r * 0.55, -H - r * 0.55], [r * 0.55, -H + r * 0.55], '#c62828', r * 0.2);
      break;
    }
  }
  return d.build();
}
