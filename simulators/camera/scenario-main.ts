// Writes one simulated scenario so a person (or a test of the vision stage) can look at it:
//   npx tsx simulators/camera/scenario-main.ts --seed 7 --out DIR [--annotate]
// DIR/frames/NNNNNN.jpg, DIR/camera.json (a camera registry with this camera), DIR/truth.json (violations,
// non-violations, actors, per-frame boxes), and with --annotate DIR/annotated/NNNNNN.jpg with boxes and zones drawn.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { CameraRegistrySchema } from '../../vision/cameras/config.js';
import { ConfigError, parseConfig, runMain } from '../../runtime/config.js';
import { esc } from './street.js';
import { createScenario, type SimFrame } from './index.js';
import type { Camera } from '../../vision/cameras/config.js';

const USAGE = `usage: scenario-main.ts --seed N --out DIR [--family 0-3] [--duration S] [--fps F] [--width 1280 --height 720]
       [--start ISO-TIME] [--frames N] [--step K] [--annotate]`;

const COLOURS = { vehicle: '#ff3030', stall: '#30ff60', person: '#30d0ff' } as const;

/** Boxes, plates and zones drawn over a frame, for people. */
async function annotate(f: SimFrame, camera: Camera): Promise<Buffer> {
  const parts: string[] = [];
  for (const z of camera.zones) {
    const pts = z.type === 'no-parking' ? z.polygon : z.sidewalk;
    const colour = z.type === 'no-parking' ? '#ffa500' : '#ff40ff';
    parts.push(
      `<polygon points="${pts.map((p) => p.join(',')).join(' ')}" fill="none" stroke="${colour}" stroke-width="2" stroke-dasharray="6,4"/>`,
    );
    if (z.type === 'storefront')
      parts.push(
        `<polyline points="${z.storeLine.map((p) => p.join(',')).join(' ')}" fill="none" stroke="${colour}" stroke-width="3"/>`,
      );
    parts.push(
      `<text x="${pts[0]![0] + 4}" y="${pts[0]![1] + 14}" font-family="DejaVu Sans" font-size="12" fill="${colour}">${esc(z.id)} ${z.dwellS}s</text>`,
    );
  }
  for (const b of f.boxes) {
    const [x1, y1, x2, y2] = b.box;
    const c = COLOURS[b.cls];
    parts.push(
      `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${c}" stroke-width="2"${b.ignore ? ' stroke-dasharray="5,4"' : ''}/>`,
    );
    parts.push(
      `<text x="${x1 + 3}" y="${Math.max(12, y1 - 3)}" font-family="DejaVu Sans" font-size="12" fill="${c}">${esc(`${b.objectId} ${b.kind} ${Math.round(b.visible * 100)}%${b.stationary ? ' still' : ''}`)}</text>`,
    );
    if (b.plateBox) {
      const [px1, py1, px2, py2] = b.plateBox;
      parts.push(
        `<rect x="${px1}" y="${py1}" width="${px2 - px1}" height="${py2 - py1}" fill="none" stroke="#ffff00" stroke-width="1"/>`,
      );
    }
  }
  const w = camera.width;
  const h = camera.height;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${parts.join('')}<text x="8" y="${h - 10}" font-family="DejaVu Sans Mono" font-size="14" fill="#ffffff" stroke="#000" stroke-width="0.5">${esc(`#${f.seq} ${new Date(f.ts).toISOString()}`)}</text></svg>`;
  return sharp(f.jpeg)
    .composite([{ input: Buffer.from(svg) }])
    .jpeg({ quality: 85 })
    .toBuffer();
}

runMain('camera-scenario', async () => {
  // One libvips thread: the machines are small and shared, and frames are rendered one after another anyway.
  sharp.concurrency(1);
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        seed: { type: 'string' },
        out: { type: 'string' },
        family: { type: 'string' },
        duration: { type: 'string' },
        fps: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        start: { type: 'string' },
        frames: { type: 'string' },
        step: { type: 'string' },
        annotate: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const int = (name: string, s: string | undefined, min: number, max: number): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new ConfigError(`--${name} must be an integer from ${min} to ${max}, got "${s}"\n${USAGE}`);
    return n;
  };
  if (v.seed === undefined || !v.out) throw new ConfigError(`--seed and --out are required\n${USAGE}`);
  const seed = int('seed', v.seed, 0, 2 ** 31)!;
  let startTs: number | undefined;
  if (v.start !== undefined) {
    startTs = Date.parse(v.start);
    if (!Number.isFinite(startTs) || !/(Z|[+-]\d\d:\d\d)$/.test(v.start))
      throw new ConfigError(
        `--start must be an ISO time with a zone, e.g. 2026-05-01T10:00:00+08:00, got "${v.start}"`,
      );
  }
  const fps = v.fps === undefined ? undefined : Number(v.fps);
  if (fps !== undefined && !(fps > 0 && fps <= 30))
    throw new ConfigError(`--fps must be a number in (0, 30], got "${v.fps}"`);
  const sim = createScenario(seed, {
    family: int('family', v.family, 0, 3),
    durationS: int('duration', v.duration, 10, 24 * 3600),
    fps,
    width: int('width', v.width, 320, 3840),
    height: int('height', v.height, 240, 2160),
    startTs,
  });
  // The registry must load in the vision stage exactly as written.
  parseConfig(CameraRegistrySchema, sim.registry, 'camera.json');
  const out = v.out;
  fs.mkdirSync(path.join(out, 'frames'), { recursive: true });
  if (v.annotate) fs.mkdirSync(path.join(out, 'annotated'), { recursive: true });
  fs.writeFileSync(path.join(out, 'camera.json'), `${JSON.stringify(sim.registry, null, 2)}\n`);
  const count = Math.min(sim.frameCount, int('frames', v.frames, 1, 1_000_000) ?? sim.frameCount);
  const step = int('step', v.step, 1, 100_000) ?? 1;
  const frames: Array<{ seq: number; ts: number; file: string; boxes: SimFrame['boxes'] }> = [];
  const t0 = Date.now();
  let renderMs = 0;
  for await (const f of (async function* () {
    for (let seq = 0; seq < count; seq += step) {
      const s = performance.now();
      const fr = await sim.frame(seq);
      renderMs += performance.now() - s;
      yield fr;
    }
  })()) {
    const file = `frames/${String(f.seq).padStart(6, '0')}.jpg`;
    fs.writeFileSync(path.join(out, file), f.jpeg);
    if (v.annotate)
      fs.writeFileSync(
        path.join(out, 'annotated', `${String(f.seq).padStart(6, '0')}.jpg`),
        await annotate(f, sim.camera),
      );
    frames.push({ seq: f.seq, ts: f.ts, file, boxes: f.boxes });
    if (frames.length % 50 === 0) process.stderr.write(`frame ${f.seq + 1}/${count}\n`);
  }
  fs.writeFileSync(path.join(out, 'truth.json'), `${JSON.stringify({ ...sim.truth, frames })}\n`);
  const t = sim.truth;
  process.stderr.write(
    `seed ${seed} (${t.familyName}, ${t.light}): ${frames.length} frames in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
      `(${(renderMs / frames.length).toFixed(0)} ms/frame rendering); ${t.violations.length} violations, ${t.nonViolations.length} look-alikes; ${out}\n`,
  );
  for (const x of t.violations) {
    process.stderr.write(
      `  violation ${x.type} ${x.zoneId} ${x.objectId}${x.plate ? ` ${x.plate}` : ''} ${new Date(x.from).toISOString()} .. ${new Date(x.to).toISOString()}\n`,
    );
  }
  for (const x of t.nonViolations)
    process.stderr.write(
      `  not an event (${x.reason}) ${x.zoneId ?? '-'} ${x.objectId} ${Math.round((x.to - x.from) / 1000)} s\n`,
    );
});
