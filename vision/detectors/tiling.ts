// Tiling: a street camera's frame is 1280x720 or more, a COCO model's input 512x512 or less, so a whole-frame pass
// shrinks a person 30 px away from the camera's sharpest view to a dozen input pixels. The wrapper here runs the
// model on the whole frame (for the big, near objects) and on overlapping model-sized crops at the frame's own
// resolution (for the small, far ones), maps every box back to frame pixels and merges the duplicates: NMS by role
// (or class), and a box cut by a tile's inner edge merged into the same object's box from the whole frame or the
// neighbouring tile. It is a Detector itself, so the worker, the rules and the CLI use it unchanged.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Box } from '../../contracts/index.js';
import type { DetectResult, Detection, Detector, RawImage } from './types.js';
import { area } from '../rules/geometry.js';

const Size = z.number().int().min(16).max(8192);

/**
 * `tiling` in a model's config. Tiles are `tileSize` frame pixels (default: the model's input size, so a tile is
 * seen at full resolution) or a `grid` of columns x rows of equal tiles, overlapping by `overlap` of a tile.
 */
export const TilingSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Tile width and height in frame pixels, or one number for square tiles; default: the model's input size. */
    tileSize: z.union([Size, z.tuple([Size, Size])]).optional(),
    /** Instead of tileSize: [columns, rows] of equal tiles covering the frame. */
    grid: z.tuple([z.number().int().min(1).max(16), z.number().int().min(1).max(16)]).optional(),
    /** Fraction of a tile shared with its neighbour: an object narrower than this is whole in at least one tile. */
    overlap: z.number().min(0).max(0.75).default(0.25),
    /** Also run the model on the whole frame (letterboxed): big, near objects that no tile holds whole. */
    includeFullFrame: z.boolean().default(true),
    /** A frame that fits in one tile times this factor (both sides) is not tiled: only the whole-frame pass runs. */
    minFrameScale: z.number().min(1).max(8).default(1.15),
    /** Boxes of one role (see mergeBy) overlapping more than this (IoU) are one object; the best is kept. */
    mergeIou: z.number().min(0).max(1).default(0.5),
    /**
     * A box cut by a tile's inner edge lying this much (intersection over its own area, or the other's if smaller)
     * in a box of its role is the same object: merged into it (two cut halves make their union).
     */
    mergeIos: z.number().min(0).max(1).default(0.6),
    /**
     * Which boxes may be one object: of the same `role` (the rules see roles: a van that one pass calls a car and
     * another a truck is one vehicle), or only of the same `class`. Classes without a role merge by class.
     */
    mergeBy: z.enum(['role', 'class']).default('role'),
    /** A box within this many frame pixels of a tile's inner edge counts as cut by it. */
    edgeMargin: z.number().min(0).max(64).default(3),
    /** Stricter score threshold for detections from tiles (each tile adds its own chance of a false detection). */
    tileScoreThreshold: z.number().min(0).max(1).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.tileSize !== undefined && t.grid !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['grid'], message: 'give tileSize or grid, not both' });
    }
  });
export type TilingConfigInput = z.input<typeof TilingSchema>;
export type TilingConfig = z.output<typeof TilingSchema>;

/** A crop of the frame, in frame pixels. */
export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Starts along one axis of `n` tiles of `tile` pixels spread evenly from 0 to len - tile. */
function spread(len: number, tile: number, n: number): number[] {
  if (n <= 1 || tile >= len) return [0];
  return Array.from({ length: n }, (_, i) => Math.round((i * (len - tile)) / (n - 1)));
}

function axis(len: number, tile: number, overlap: number): { size: number; starts: number[] } {
  const size = Math.min(len, tile);
  if (size >= len) return { size, starts: [0] };
  const step = size * (1 - overlap);
  const n = Math.ceil((len - size) / step - 1e-9) + 1;
  return { size, starts: spread(len, size, n) };
}

function gridAxis(len: number, n: number, overlap: number): { size: number; starts: number[] } {
  if (n <= 1) return { size: len, starts: [0] };
  // n tiles of size s overlapping by overlap*s cover n*s - (n-1)*overlap*s = len.
  const size = Math.min(len, Math.ceil(len / (n - overlap * (n - 1))));
  return { size, starts: spread(len, size, n) };
}

/**
 * The tiles of a width x height frame (row by row), without the whole-frame pass. Empty when the frame is small
 * enough for the model to see whole (see minFrameScale).
 */
export function planTiles(
  width: number,
  height: number,
  t: TilingConfig,
  inputWidth: number,
  inputHeight: number,
): Tile[] {
  let xs: { size: number; starts: number[] };
  let ys: { size: number; starts: number[] };
  if (t.grid) {
    xs = gridAxis(width, t.grid[0], t.overlap);
    ys = gridAxis(height, t.grid[1], t.overlap);
  } else {
    const [tw, th] =
      t.tileSize === undefined
        ? [inputWidth, inputHeight]
        : typeof t.tileSize === 'number'
          ? [t.tileSize, t.tileSize]
          : t.tileSize;
    if (width <= tw * t.minFrameScale && height <= th * t.minFrameScale) return [];
    xs = axis(width, tw, t.overlap);
    ys = axis(height, th, t.overlap);
  }
  if (xs.starts.length * ys.starts.length <= 1) return [];
  const tiles: Tile[] = [];
  for (const y of ys.starts) for (const x of xs.starts) tiles.push({ x, y, width: xs.size, height: ys.size });
  return tiles;
}

/** The tile's pixels as a RawImage of their own (rows copied). */
export function cropTile(img: RawImage, t: Tile): RawImage {
  const row = t.width * 3;
  const out = Buffer.allocUnsafe(row * t.height);
  for (let y = 0; y < t.height; y++) {
    const src = ((t.y + y) * img.width + t.x) * 3;
    img.data.copy(out, y * row, src, src + row);
  }
  return { data: out, width: t.width, height: t.height, channels: 3 };
}

/** A detection from one pass, in frame pixels; `cut` when it touches an edge of its tile inside the frame. */
export interface PassDetection extends Detection {
  cut: boolean;
}

function overlaps(a: Box, b: Box): { iou: number; ios: number } {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return { iou: 0, ios: 0 };
  const inter = w * h;
  const aa = area(a);
  const ab = area(b);
  return { iou: inter / (aa + ab - inter), ios: inter / Math.max(1e-9, Math.min(aa, ab)) };
}

/** A tile's detections moved to frame pixels, each marked cut when it touches one of the tile's inner edges. */
export function fromTile(
  dets: readonly Detection[],
  t: Tile,
  frameWidth: number,
  frameHeight: number,
  edgeMargin: number,
): PassDetection[] {
  const innerL = t.x > 0;
  const innerT = t.y > 0;
  const innerR = t.x + t.width < frameWidth;
  const innerB = t.y + t.height < frameHeight;
  return dets.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const cut =
      (innerL && x1 <= edgeMargin) ||
      (innerT && y1 <= edgeMargin) ||
      (innerR && x2 >= t.width - edgeMargin) ||
      (innerB && y2 >= t.height - edgeMargin);
    return { ...d, box: [x1 + t.x, y1 + t.y, x2 + t.x, y2 + t.y], cut };
  });
}

/**
 * One box per object from the boxes of every pass, best score first. Greedy, per role (or class, see mergeBy), by
 * score; the best box keeps its class. A box is absorbed by a kept box of its role when they overlap more than
 * mergeIou, or when either is cut by a tile edge and the smaller lies mostly (mergeIos) in the other. A whole
 * box absorbs a cut one and keeps its own extent; a cut box takes a whole one's extent; two cut boxes become their
 * union (an object split between two tiles).
 */
export function mergeDetections(
  dets: readonly PassDetection[],
  o: { mergeIou: number; mergeIos: number; mergeBy?: 'role' | 'class' },
): Detection[] {
  const byRole = (o.mergeBy ?? 'role') === 'role';
  const same = (a: Detection, b: Detection) =>
    byRole && a.role !== null ? a.role === b.role : a.classId === b.classId;
  const order = [...dets].sort((a, b) => b.score - a.score);
  const kept: PassDetection[] = [];
  for (const d of order) {
    let absorbed = false;
    for (const k of kept) {
      if (!same(k, d)) continue;
      const { iou, ios } = overlaps(k.box, d.box);
      if (!(iou > o.mergeIou || ((k.cut || d.cut) && ios >= o.mergeIos))) continue;
      if (k.cut && d.cut) {
        k.box = [
          Math.min(k.box[0], d.box[0]),
          Math.min(k.box[1], d.box[1]),
          Math.max(k.box[2], d.box[2]),
          Math.max(k.box[3], d.box[3]),
        ];
      } else if (k.cut) {
        k.box = [...d.box];
        k.cut = false;
      }
      absorbed = true;
      break;
    }
    if (!absorbed) kept.push({ ...d, box: [...d.box] });
  }
  return kept.map(({ cut: _cut, ...d }) => d);
}

/** A Detector that runs its inner detector on the whole frame and on tiles, and merges the boxes. */
export class TilingDetector implements Detector {
  constructor(
    private readonly inner: Detector,
    readonly tiling: TilingConfig,
  ) {}

  get info() {
    return this.inner.info;
  }

  /** The tiles a frame of this size is cut into (the whole-frame pass comes on top when includeFullFrame). */
  tilesFor(width: number, height: number): Tile[] {
    return planTiles(width, height, this.tiling, this.inner.info.inputWidth, this.inner.info.inputHeight);
  }

  async detect(img: RawImage): Promise<DetectResult> {
    const p = await this.passes(img);
    if (p === null) return this.inner.detect(img);
    const m0 = performance.now();
    const detections = mergeDetections(p.detections, this.tiling);
    p.timings.postprocessMs += performance.now() - m0;
    return { detections, timings: p.timings };
  }

  /**
   * Every pass's boxes in frame pixels, before the merge (null when the frame is not tiled): what detect() merges,
   * and what an evaluation of merge settings computes once per photo (vision/eval/loo.ts).
   */
  async passes(img: RawImage): Promise<{ detections: PassDetection[]; timings: DetectResult['timings'] } | null> {
    const t = this.tiling;
    const tiles = this.tilesFor(img.width, img.height);
    if (tiles.length === 0) return null;
    const timings = { preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 };
    const add = (r: DetectResult) => {
      timings.preprocessMs += r.timings.preprocessMs;
      timings.inferenceMs += r.timings.inferenceMs;
      timings.postprocessMs += r.timings.postprocessMs;
    };
    const all: PassDetection[] = [];
    if (t.includeFullFrame) {
      const r = await this.inner.detect(img);
      add(r);
      for (const d of r.detections) all.push({ ...d, cut: false });
    }
    for (const tile of tiles) {
      const c0 = performance.now();
      const crop = cropTile(img, tile);
      timings.preprocessMs += performance.now() - c0;
      const r = await this.inner.detect(crop);
      add(r);
      const dets =
        t.tileScoreThreshold === undefined
          ? r.detections
          : r.detections.filter((d) => d.score >= t.tileScoreThreshold!);
      all.push(...fromTile(dets, tile, img.width, img.height, t.edgeMargin));
    }
    return { detections: all, timings };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The detector as configured: wrapped in tiling when the model's `tiling` is enabled, else unchanged. */
export function withTiling(inner: Detector, tiling: TilingConfig | undefined): Detector {
  return tiling?.enabled ? new TilingDetector(inner, tiling) : inner;
}
