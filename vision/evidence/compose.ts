// Evidence images: the original frame with the zone and the object's box drawn on it and a caption burnt in
// (camera, local time, what was found), and a close crop of the object. Drawn with an SVG overlay composited by
// sharp, so the frame's pixels are untouched except where the marks are.
import type { Box } from '../../contracts/index.js';
import { untrustedImage } from '../../runtime/image.js';

export interface Marks {
  box: Box;
  /** Zone outlines to draw (polygons and polylines in frame pixels). */
  polygons?: [number, number][][];
  polylines?: [number, number][][];
  caption: string;
  /** Text beside the box, e.g. "vehicle 0.91 #12". */
  label?: string;
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pts = (p: [number, number][]) => p.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');

export async function drawEvidence(
  jpeg: Buffer,
  width: number,
  height: number,
  m: Marks,
  quality = 90,
): Promise<Buffer> {
  const [x1, y1, x2, y2] = m.box;
  const stroke = Math.max(2, Math.round(width / 400));
  const font = Math.max(12, Math.round(height / 32));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
${(m.polygons ?? []).map((p) => `<polygon points="${pts(p)}" fill="rgba(255,200,0,0.18)" stroke="#ffc800" stroke-width="${stroke}"/>`).join('\n')}
${(m.polylines ?? []).map((p) => `<polyline points="${pts(p)}" fill="none" stroke="#00e0ff" stroke-width="${stroke}" stroke-dasharray="${stroke * 4},${stroke * 2}"/>`).join('\n')}
<rect x="${x1}" y="${y1}" width="${Math.max(1, x2 - x1)}" height="${Math.max(1, y2 - y1)}" fill="none" stroke="#ff2020" stroke-width="${stroke + 1}"/>
${m.label ? `<rect x="${x1}" y="${Math.max(0, y1 - font - 6)}" width="${Math.round(m.label.length * font * 0.6) + 8}" height="${font + 6}" fill="#ff2020"/><text x="${x1 + 4}" y="${Math.max(font, y1 - 6)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#fff">${esc(m.label)}</text>` : ''}
<rect x="0" y="${height - font - 12}" width="${width}" height="${font + 12}" fill="rgba(0,0,0,0.6)"/>
<text x="8" y="${height - 8}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#fff">${esc(m.caption)}</text>
</svg>`;
  // The frame's own size is the cap: the worker checked it against the camera before it got here.
  return untrustedImage(jpeg, width * height)
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality })
    .toBuffer();
}

/** A close crop of the box with a margin, scaled up to at least `minWidth` so a reviewer can see the object. */
export async function cropEvidence(
  jpeg: Buffer,
  width: number,
  height: number,
  box: Box,
  minWidth = 320,
  quality = 92,
): Promise<Buffer> {
  const [x1, y1, x2, y2] = box;
  const mx = (x2 - x1) * 0.15;
  const my = (y2 - y1) * 0.15;
  const left = Math.max(0, Math.floor(x1 - mx));
  const top = Math.max(0, Math.floor(y1 - my));
  const right = Math.min(width, Math.ceil(x2 + mx));
  const bottom = Math.min(height, Math.ceil(y2 + my));
  const w = Math.max(1, right - left);
  const h = Math.max(1, bottom - top);
  let img = untrustedImage(jpeg, width * height).extract({ left, top, width: w, height: h });
  if (w < minWidth) img = img.resize({ width: minWidth, kernel: 'lanczos3' });
  return img.jpeg({ quality }).toBuffer();
}

/** Local wall time in the city's zone, "2026-11-27 14:03:05", for captions. */
export function localTime(ts: number, timeZone: string): string {
  const f = new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return f.format(new Date(ts));
}
