// Boxes and labels drawn on an image with an SVG overlay composited by sharp (as the evidence images are), in a
// colour per role, so a person checking a model on their own stills sees at a glance what it found.
import sharp from 'sharp';
import type { Detection } from '../detectors/index.js';

export const ROLE_COLOURS: Readonly<Record<string, string>> = Object.freeze({
  vehicle: '#1e88ff',
  person: '#18c964',
  stall: '#ff8a00',
  none: '#b0b0b0',
});

export interface DrawOptions {
  /** Scale the result down to at most this width (for documentation); default: the image's own size. */
  maxWidth?: number;
  quality?: number;
  /** A line burnt in at the bottom, e.g. the image's source and licence. */
  caption?: string;
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The image (any format sharp reads) with every detection's box and "class score" label, as a JPEG. */
export async function drawDetections(
  image: Buffer,
  width: number,
  height: number,
  detections: readonly Detection[],
  o: DrawOptions = {},
): Promise<Buffer> {
  const scaleDown = o.maxWidth !== undefined && width > o.maxWidth ? o.maxWidth / width : 1;
  // Sizes are chosen for the output so that labels stay legible after scaling down.
  const stroke = Math.max(2, Math.round(width / 500));
  const font = Math.max(11, Math.round(Math.max(width, height) / 90 / Math.max(scaleDown, 0.5)));
  const parts: string[] = [];
  // Lowest scores first, so the best boxes and labels are drawn on top.
  for (const d of [...detections].reverse()) {
    const [x1, y1, x2, y2] = d.box;
    const colour = ROLE_COLOURS[d.role ?? 'none']!;
    const label = `${d.className} ${d.score.toFixed(2)}`;
    const lw = Math.round(label.length * font * 0.6) + 6;
    const ly = y1 - font - 4 >= 0 ? y1 - font - 4 : y1;
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${Math.max(1, x2 - x1).toFixed(1)}" height="${Math.max(1, y2 - y1).toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>`,
      `<rect x="${x1.toFixed(1)}" y="${ly.toFixed(1)}" width="${lw}" height="${font + 4}" fill="${colour}" fill-opacity="0.85"/>`,
      `<text x="${(x1 + 3).toFixed(1)}" y="${(ly + font).toFixed(1)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#000">${esc(label)}</text>`,
    );
  }
  if (o.caption) {
    parts.push(
      `<rect x="0" y="${height - font - 10}" width="${width}" height="${font + 10}" fill="rgba(0,0,0,0.6)"/>`,
      `<text x="6" y="${height - 7}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#fff">${esc(o.caption)}</text>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">\n${parts.join('\n')}\n</svg>`;
  let img = sharp(image)
    .removeAlpha()
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  if (scaleDown < 1) {
    // composite() runs after resize() in one pipeline, so draw first, then scale the drawn image.
    img = sharp(await img.png().toBuffer()).resize({ width: Math.round(width * scaleDown) });
  }
  return img.jpeg({ quality: o.quality ?? 85, mozjpeg: true }).toBuffer();
}
