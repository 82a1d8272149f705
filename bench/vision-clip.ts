// A fixed-camera clip made from one real photo, for bench:vision: what a city's street camera sends most of the time.
// The photo is held still; each frame gets a little sensor noise and JPEG re-encoding, a slow brightness drift (a
// cloud, auto-exposure), a timestamp burnt into the top-left corner (masked in the camera's registry entry, as a city
// would mask it), and every 40 frames a patch of the photo crosses the road in 8 frames, stands 20 frames and leaves
// in 8 (a vehicle pulling in, standing and driving off). The photo is read where it lies (../shared/real-images),
// never copied into the project: the fixed-camera frames there have no licence to be redistributed.
import sharp from 'sharp';
import type { Camera } from '../vision/cameras/config.js';
import { CameraSchema } from '../vision/cameras/config.js';

export interface Clip {
  camera: Camera;
  frames: { ts: number; seq: number; jpeg: Buffer }[];
}

/** Where the moving patch is at frame i of its 40-frame cycle (top-left corner), or null when it is out of frame. */
function patchAt(i: number, width: number, height: number, pw: number): { x: number; y: number } | null {
  const k = i % 40;
  const y = Math.round(height * 0.62);
  const stop = Math.round(width * 0.45);
  if (k < 8) return { x: Math.round(-pw + ((stop + pw) * (k + 1)) / 8), y };
  if (k < 28) return { x: stop, y };
  if (k < 36) return { x: Math.round(stop + ((width - stop) * (k - 27)) / 8), y };
  return null;
}

export async function photoClip(photo: string, count: number, startTs: number): Promise<Clip> {
  const base = await sharp(photo).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width, height } = base.info;
  const pw = Math.round(width / 9);
  const ph = Math.round(height / 9);
  // The patch: a piece of the photo's own road, bottom right, moved elsewhere.
  const patch = await sharp(base.data, { raw: { width, height, channels: 3 } })
    .extract({
      left: width - pw - Math.round(width / 20),
      top: height - ph - Math.round(height / 20),
      width: pw,
      height: ph,
    })
    .raw()
    .toBuffer();
  const stamp = { x: 8, y: 8, w: Math.round(width * 0.3), h: Math.round(height * 0.05) };
  const camera = CameraSchema.parse({
    id: 'photo-cam',
    district: 'bench',
    gridCell: 'bench',
    location: { lat: 0, lon: 0 },
    postedLocation: 'bench',
    width,
    height,
    zones: [
      {
        type: 'no-parking',
        id: 'np-1',
        name: 'bench zone',
        polygon: [
          [Math.round(width * 0.4), Math.round(height * 0.55)],
          [Math.round(width * 0.7), Math.round(height * 0.55)],
          [Math.round(width * 0.7), Math.round(height * 0.8)],
          [Math.round(width * 0.4), Math.round(height * 0.8)],
        ],
        dwellS: 10,
      },
    ],
    masks: [
      {
        id: 'timestamp',
        name: 'burnt-in time',
        polygon: [
          [0, 0],
          [stamp.x + stamp.w + 8, 0],
          [stamp.x + stamp.w + 8, stamp.y + stamp.h + 8],
          [0, stamp.y + stamp.h + 8],
        ],
      },
    ],
  });
  const frames: Clip['frames'] = [];
  let noise = 12345;
  const rand = () => (noise = (noise * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < count; i++) {
    const data = Buffer.from(base.data);
    const gain = 1 + 0.04 * Math.sin((2 * Math.PI * i) / 90);
    for (let j = 0; j < data.length; j++) data[j] = Math.max(0, Math.min(255, data[j]! * gain + (rand() - 0.5) * 6));
    const at = patchAt(i, width, height, pw);
    if (at) {
      for (let r = 0; r < ph; r++) {
        const y = at.y + r;
        if (y < 0 || y >= height) continue;
        const x0 = Math.max(0, at.x);
        const x1 = Math.min(width, at.x + pw);
        if (x1 <= x0) continue;
        patch.copy(data, (y * width + x0) * 3, (r * pw + (x0 - at.x)) * 3, (r * pw + (x1 - at.x)) * 3);
      }
    }
    const ts = startTs + i * 1000;
    const text = new Date(ts).toISOString().replace('T', ' ').slice(0, 19);
    const svg = Buffer.from(
      `<svg width="${stamp.w}" height="${stamp.h}" xmlns="http://www.w3.org/2000/svg"><text x="0" y="${Math.round(stamp.h * 0.85)}" font-family="DejaVu Sans Mono" font-size="${Math.round(stamp.h * 0.9)}" fill="white" stroke="black" stroke-width="1">${text}</text></svg>`,
    );
    const jpeg = await sharp(data, { raw: { width, height, channels: 3 } })
      .composite([{ input: svg, left: stamp.x, top: stamp.y }])
      .jpeg({ quality: 85 })
      .toBuffer();
    frames.push({ ts, seq: i, jpeg });
  }
  return { camera, frames };
}
