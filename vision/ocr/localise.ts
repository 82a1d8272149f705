// Finding a plate inside a vehicle's box by its colour: Chinese plates are saturated blue with white characters,
// gradient green (new energy) or yellow with black characters. A pixel pass classifies colours, connected regions
// of one colour with a plate's aspect and some character-coloured pixels inside are the candidates. Milliseconds
// in plain TypeScript; the PP-OCR text detector (det.ts) is the fallback when colour finds nothing readable.
import type { Box } from '../../contracts/index.js';
import type { RawImage } from '../detectors/types.js';

export type PlateColour = 'blue' | 'green' | 'yellow';
const COLOURS: (PlateColour | null)[] = [null, 'blue', 'green', 'yellow'];

/**
 * A text line that may be sheared (a plate seen at an angle): between x1 and x2 its centre line is
 * y = cy + slope * (x - (x1 + x2) / 2), and it is `height` pixels tall across. Image pixels.
 */
export interface TextBand {
  x1: number;
  x2: number;
  cy: number;
  slope: number;
  height: number;
}

/** The axis-aligned box around a band. */
export function bandBox(b: TextBand): Box {
  const dy = (Math.abs(b.slope) * (b.x2 - b.x1)) / 2 + b.height / 2;
  return [b.x1, b.cy - dy, b.x2, b.cy + dy];
}

export interface PlateCandidate {
  /** Image pixels, integers. */
  box: Box;
  /** The plate itself, deskewed. */
  band: TextBand;
  colour: PlateColour;
  score: number;
}

/** An integer region [x1, y1, x2, y2) inside the image, or null when nothing of it is inside. */
export function clipRegion(img: RawImage, box?: Box, grow = 0): [number, number, number, number] | null {
  const [bx1, by1, bx2, by2] = box ?? [0, 0, img.width, img.height];
  const gx = (bx2 - bx1) * grow;
  const gy = (by2 - by1) * grow;
  const x1 = Math.max(0, Math.floor(bx1 - gx));
  const y1 = Math.max(0, Math.floor(by1 - gy));
  const x2 = Math.min(img.width, Math.ceil(bx2 + gx));
  const y2 = Math.min(img.height, Math.ceil(by2 + gy));
  return x2 - x1 >= 1 && y2 - y1 >= 1 ? [x1, y1, x2, y2] : null;
}

export interface Component {
  value: number;
  /** Inclusive bounds in mask cells. */
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  count: number;
  /** Sum of the weights of its cells, when weights were given. */
  weight: number;
}

/** 4-connected regions of equal non-zero mask values. */
export function components(mask: Uint8Array, w: number, h: number, weights?: Float32Array, minCount = 1): Component[] {
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  const out: Component[] = [];
  for (let start = 0; start < w * h; start++) {
    const v = mask[start]!;
    if (v === 0 || seen[start]) continue;
    const c: Component = { value: v, minX: w, minY: h, maxX: 0, maxY: 0, count: 0, weight: 0 };
    let sp = 0;
    stack[sp++] = start;
    seen[start] = 1;
    while (sp > 0) {
      const p = stack[--sp]!;
      const x = p % w;
      const y = (p - x) / w;
      c.count++;
      if (weights) c.weight += weights[p]!;
      if (x < c.minX) c.minX = x;
      if (x > c.maxX) c.maxX = x;
      if (y < c.minY) c.minY = y;
      if (y > c.maxY) c.maxY = y;
      if (x > 0 && !seen[p - 1] && mask[p - 1] === v) {
        seen[p - 1] = 1;
        stack[sp++] = p - 1;
      }
      if (x < w - 1 && !seen[p + 1] && mask[p + 1] === v) {
        seen[p + 1] = 1;
        stack[sp++] = p + 1;
      }
      if (y > 0 && !seen[p - w] && mask[p - w] === v) {
        seen[p - w] = 1;
        stack[sp++] = p - w;
      }
      if (y < h - 1 && !seen[p + w] && mask[p + w] === v) {
        seen[p + w] = 1;
        stack[sp++] = p + w;
      }
    }
    if (c.count >= minCount) out.push(c);
  }
  return out;
}

/**
 * The band a component covers: per column of its box, the first and last cell of its value give the centre and
 * the extent (holes such as characters do not matter); a least-squares line through the centres gives the slope,
 * the median extent the height. mask cells are `step` image pixels, the mask starts at image (x0, y0).
 */
export function componentBand(
  mask: Uint8Array,
  w: number,
  c: Component,
  step: number,
  x0: number,
  y0: number,
): TextBand {
  const xs: number[] = [];
  const ys: number[] = [];
  const ext: number[] = [];
  for (let x = c.minX; x <= c.maxX; x++) {
    let first = -1;
    let last = -1;
    for (let y = c.minY; y <= c.maxY; y++) {
      if (mask[y * w + x] === c.value) {
        if (first < 0) first = y;
        last = y;
      }
    }
    if (first < 0) continue;
    xs.push(x);
    ys.push((first + last) / 2);
    ext.push(last - first + 1);
  }
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  // A shear steeper than 1:2 is not a plate we can read; the columns at the ends (rounded corners) are outliers.
  const slope = sxx > 0 ? Math.max(-0.5, Math.min(0.5, sxy / sxx)) : 0;
  const sorted = ext.sort((a, b) => a - b);
  const height = sorted[Math.floor(n / 2)]!;
  const x1 = x0 + c.minX * step;
  const x2 = x0 + (c.maxX + 1) * step;
  const midX = (c.minX + c.maxX + 1) / 2;
  return { x1, x2, cy: y0 + (my + slope * (midX - 0.5 - mx) + 0.5) * step, slope, height: height * step };
}

/** 1 blue, 2 green, 3 yellow, 0 anything else. Hue in degrees, saturation as (max - min) / max. */
function plateColour(r: number, g: number, b: number): number {
  const max = r > g ? (r > b ? r : b) : g > b ? g : b;
  if (max < 60) return 0;
  const min = r < g ? (r < b ? r : b) : g < b ? g : b;
  const d = max - min;
  if (d * 4 < max) return 0; // saturation below 0.25
  const s = d / max;
  let hue: number;
  if (max === b) hue = 240 + (60 * (r - g)) / d;
  else if (max === g) hue = 120 + (60 * (b - r)) / d;
  else hue = (360 + (60 * (g - b)) / d) % 360;
  if (hue >= 195 && hue <= 255 && s >= 0.4 && max >= 70) return 1;
  if (hue >= 85 && hue <= 165 && max >= 90) return 2;
  if (hue >= 38 && hue <= 65 && s >= 0.45 && max >= 110) return 3;
  return 0;
}

export interface ColourOptions {
  /** Smallest plate accepted, image pixels. */
  minWidth: number;
  minHeight: number;
  /** Cap on the pixels examined: a bigger region is sampled every other pixel (or sparser). */
  maxPixels: number;
  maxCandidates: number;
}

const DEFAULTS: ColourOptions = { minWidth: 24, minHeight: 8, maxPixels: 300_000, maxCandidates: 3 };

/** Plate candidates in a region of the image, best first. */
export function findPlatesByColour(
  img: RawImage,
  region: [number, number, number, number],
  opts: Partial<ColourOptions> = {},
): PlateCandidate[] {
  const o = { ...DEFAULTS, ...opts };
  const [x0, y0, x1, y1] = region;
  const area = (x1 - x0) * (y1 - y0);
  const step = Math.max(1, Math.ceil(Math.sqrt(area / o.maxPixels)));
  const w = Math.floor((x1 - x0) / step);
  const h = Math.floor((y1 - y0) / step);
  if (w < 2 || h < 2) return [];
  const mask = new Uint8Array(w * h);
  const px = img.data;
  const rowBytes = img.width * 3;
  for (let j = 0; j < h; j++) {
    let p = (y0 + j * step) * rowBytes + x0 * 3;
    const m = j * w;
    for (let i = 0; i < w; i++, p += 3 * step) mask[m + i] = plateColour(px[p]!, px[p + 1]!, px[p + 2]!);
  }

  const minCells = Math.max(4, Math.floor((o.minWidth * o.minHeight) / (step * step) / 3));
  const out: PlateCandidate[] = [];
  for (const c of components(mask, w, h, undefined, minCells)) {
    const bw = c.maxX - c.minX + 1;
    if (bw * step < o.minWidth || (c.maxY - c.minY + 1) * step < o.minHeight) continue;
    // Measured along the band, so that a plate seen at an angle (sheared) keeps its aspect and fill.
    const band = componentBand(mask, w, c, step, x0, y0);
    const hCells = band.height / step;
    if (band.height < o.minHeight) continue;
    const aspect = bw / hCells;
    if (aspect < 1.8 || aspect > 6.5) continue;
    const fill = c.count / (bw * hCells);
    if (fill < 0.3) continue;
    // Characters inside the band: white on blue, dark on green and yellow. A blue car door has none.
    const light = c.value === 1;
    let text = 0;
    let cells = 0;
    const midX = (c.minX + c.maxX + 1) / 2 - 0.5;
    const cyCells = (band.cy - y0) / step - 0.5;
    for (let i = c.minX; i <= c.maxX; i++) {
      const yc = cyCells + band.slope * (i - midX);
      const ya = Math.max(0, Math.ceil(yc - hCells / 2));
      const yb = Math.min(h - 1, Math.floor(yc + hCells / 2));
      for (let j = ya; j <= yb; j++) {
        const p = (y0 + j * step) * rowBytes + (x0 + i * step) * 3;
        const r = px[p]!;
        const g = px[p + 1]!;
        const b = px[p + 2]!;
        const max = r > g ? (r > b ? r : b) : g > b ? g : b;
        const min = r < g ? (r < b ? r : b) : g < b ? g : b;
        if (light ? max >= 150 && (max - min) * 10 < max * 3 : max < 100) text++;
        cells++;
      }
    }
    const textFrac = text / Math.max(1, cells);
    if (textFrac < 0.05 || textFrac > 0.65) continue;
    // Best: a plate's 3.1–3.4 aspect, solid colour around characters that cover about a quarter of it.
    const score = Math.min(1, fill) * Math.exp(-Math.abs(Math.log(aspect / 3.3))) * (1 - Math.abs(textFrac - 0.25));
    out.push({
      box: [
        x0 + c.minX * step,
        y0 + c.minY * step,
        Math.min(x1, x0 + (c.maxX + 1) * step),
        Math.min(y1, y0 + (c.maxY + 1) * step),
      ],
      band,
      colour: COLOURS[c.value]!,
      score,
    });
  }
  return out.sort((a, b) => b.score - a.score).slice(0, o.maxCandidates);
}
