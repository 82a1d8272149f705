// Synthetic plates for the tests and the benchmark: a Chinese plate drawn as SVG (GA 36 proportions, 440 x 140 mm,
// seven character slots, eight on new-energy plates) on a simple car, rendered with sharp. The province character
// needs a CJK font; without one librsvg draws a placeholder box, so callers check the alphanumeric part.
import sharp from 'sharp';
import type { Box } from '../../contracts/index.js';
import { decodeImage } from '../detectors/image.js';
import type { RawImage } from '../detectors/types.js';

export interface PlateStyle {
  background: string;
  foreground: string;
}
export const BLUE: PlateStyle = { background: '#0b3fa8', foreground: '#ffffff' };
export const GREEN: PlateStyle = { background: '#5fd37a', foreground: '#111111' };
export const YELLOW: PlateStyle = { background: '#f2c200', foreground: '#111111' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** SVG elements of a plate at (x, y), w x h pixels; `text` like "苏A·3K52L" (the dot is drawn, not a slot). */
export function plateSvg(
  x: number,
  y: number,
  w: number,
  h: number,
  text: string,
  style: PlateStyle = BLUE,
  shear = 0,
): string {
  const s = w / 440;
  const chars = [...text.replace('·', '')];
  // Slot centres in millimetres: 45 mm characters, 12 mm gaps, 34 mm around the dot.
  const slots = chars.length >= 8 ? [33, 84, 162, 210, 258, 306, 354, 402] : [38, 95, 174, 231, 288, 345, 402];
  const fg = style.foreground;
  const glyphs = chars
    .slice(0, slots.length)
    .map(
      (c, i) =>
        `<text x="${(x + slots[i]! * s).toFixed(1)}" y="${(y + h * 0.74).toFixed(1)}" font-family="DejaVu Sans Condensed" font-weight="bold" ` +
        `font-size="${(h * (chars.length >= 8 ? 0.5 : 0.56)).toFixed(1)}" fill="${fg}" text-anchor="middle">${esc(c)}</text>`,
    )
    .join('');
  const dotX = x + ((slots[1]! + slots[2]!) / 2) * s;
  // A plate seen at an angle: rows slope by `shear` image rows per pixel, about the plate's centre.
  const cx = x + w / 2;
  const cy = y + h / 2;
  return (
    `<g transform="translate(${cx} ${cy}) skewY(${(Math.atan(shear) * 180) / Math.PI}) translate(${-cx} ${-cy})">` +
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${h * 0.08}" fill="${style.background}"/>` +
    `<rect x="${x + h * 0.05}" y="${y + h * 0.05}" width="${w - h * 0.1}" height="${h * 0.9}" rx="${h * 0.06}" fill="none" stroke="${fg}" stroke-width="${Math.max(1, h * 0.04)}"/>` +
    `${glyphs}<circle cx="${dotX}" cy="${y + h / 2}" r="${h * 0.05}" fill="${fg}"/></g>`
  );
}

export interface PlateScene {
  image: RawImage;
  jpeg: Buffer;
  vehicleBox: Box;
  /** Around the plate (a sheared plate's box is taller than the plate). */
  plateBox: Box;
}

/**
 * A grey street with one car whose rear carries the plate, as a decoded JPEG (so the plate has JPEG artefacts
 * like a camera frame). Plate width in pixels; height follows the 440:140 ratio.
 */
export async function plateScene(opts: {
  text: string;
  style?: PlateStyle;
  carColour?: string;
  plateWidth?: number;
  /** Image rows per pixel along the plate: a plate seen at an angle. */
  shear?: number;
  width?: number;
  height?: number;
  quality?: number;
}): Promise<PlateScene> {
  const W = opts.width ?? 1280;
  const H = opts.height ?? 720;
  const pw = opts.plateWidth ?? 110;
  const ph = Math.round((pw * 140) / 440);
  const cw = Math.max(pw * 3, 240);
  const ch = Math.round(cw * 0.55);
  const cx = Math.round(W * 0.45);
  const cy = Math.round(H * 0.45);
  const px = Math.round(cx + (cw - pw) / 2);
  const py = Math.round(cy + ch * 0.62);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">` +
    `<rect width="${W}" height="${H}" fill="#8a8f94"/><rect y="${H * 0.3}" width="${W}" height="${H * 0.05}" fill="#c9c4b8"/>` +
    `<rect x="${cx}" y="${cy}" width="${cw}" height="${ch}" rx="${ch * 0.12}" fill="${opts.carColour ?? '#b03030'}"/>` +
    `<rect x="${cx + cw * 0.12}" y="${cy + ch * 0.1}" width="${cw * 0.76}" height="${ch * 0.32}" fill="#222833"/>` +
    `<rect x="${cx + cw * 0.04}" y="${cy + ch * 0.5}" width="${cw * 0.12}" height="${ch * 0.1}" fill="#e33"/>` +
    `<rect x="${cx + cw * 0.84}" y="${cy + ch * 0.5}" width="${cw * 0.12}" height="${ch * 0.1}" fill="#e33"/>` +
    `<circle cx="${cx + cw * 0.2}" cy="${cy + ch}" r="${ch * 0.18}" fill="#111"/><circle cx="${cx + cw * 0.8}" cy="${cy + ch}" r="${ch * 0.18}" fill="#111"/>` +
    plateSvg(px, py, pw, ph, opts.text, opts.style, opts.shear ?? 0) +
    `</svg>`;
  const jpeg = await sharp(Buffer.from(svg))
    .jpeg({ quality: opts.quality ?? 85 })
    .toBuffer();
  return {
    image: await decodeImage(jpeg),
    jpeg,
    vehicleBox: [cx, cy, cx + cw, Math.min(H, cy + ch + ch * 0.18)],
    plateBox: [px, py - (Math.abs(opts.shear ?? 0) * pw) / 2, px + pw, py + ph + (Math.abs(opts.shear ?? 0) * pw) / 2],
  };
}
