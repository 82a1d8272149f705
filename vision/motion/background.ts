// The background a camera's frames are compared with: a running (exponential) average of its small grey images.
// A pixel is foreground when it differs from the background by more than the threshold, and moving when it differs
// from the previous frame as well. Areas of foreground with moving pixels in them are where something moves
// (regions.ts): the whole of a car pulling in slowly, whose middle matches the previous frame; not the ghost a passing
// bus leaves in the average for a few frames, nor a car that has stopped (nothing of it moves; the tracker holds it,
// gate.ts). A change of the whole picture's brightness (a cloud, auto-exposure, street lights coming on) is
// taken out first: the frame is scaled to the background's mean brightness and the typical remaining difference (the
// median) is subtracted, so only what differs from the rest counts.
import type { GreyImage } from './grey.js';

export interface BackgroundOptions {
  threshold: number;
  backgroundRate: number;
  globalChangeFrac: number;
}

export interface MotionMap {
  /** Per small-image pixel, 1 = differs from the background (masked pixels never do). */
  foreground: Uint8Array;
  /** Per small-image pixel, 1 = foreground that differs from the previous frame too. */
  moving: Uint8Array;
  width: number;
  height: number;
  /** Moving share of the unmasked pixels. */
  movingFrac: number;
  /** The first frame (nothing to compare with) or a change of most of the picture: the background restarted. */
  restarted: 'first' | 'global' | null;
  /** The brightness factor applied to the frame before comparing (1: none). */
  gain: number;
}

export class BackgroundModel {
  private bg: Float32Array | null = null;
  /** The previous frame, brightness-normalised like the current one. */
  private prev: Float32Array | null = null;
  private readonly open: number;

  /** `ignore`: per small-image pixel, 1 = masked (never motion, not part of the brightness estimate). */
  constructor(
    readonly width: number,
    readonly height: number,
    private readonly ignore: Uint8Array,
    private readonly o: BackgroundOptions,
  ) {
    if (ignore.length !== width * height)
      throw new RangeError(`mask has ${ignore.length} pixels, expected ${width * height}`);
    this.open = ignore.reduce((n, v) => n + (v ? 0 : 1), 0);
  }

  /** Compares a frame with the background, then blends the frame into it. */
  update(img: GreyImage): MotionMap {
    if (img.width !== this.width || img.height !== this.height) {
      throw new RangeError(`grey image is ${img.width}x${img.height}, the background ${this.width}x${this.height}`);
    }
    const n = this.width * this.height;
    if (!this.bg || this.open === 0) return this.restart(img, this.bg ? 'global' : 'first');
    const bg = this.bg;
    const cur = img.data;
    let sumBg = 0;
    let sumCur = 0;
    for (let i = 0; i < n; i++) {
      if (this.ignore[i]) continue;
      sumBg += bg[i]!;
      sumCur += cur[i]!;
    }
    const gain = sumCur > 0 ? sumBg / sumCur : 1;
    const offset = this.medianResidual(cur, gain);
    const t = this.o.threshold;
    const prev = this.prev!;
    const norm = new Float32Array(n);
    const foreground = new Uint8Array(n);
    const moving = new Uint8Array(n);
    let count = 0;
    let fromBg = 0;
    for (let i = 0; i < n; i++) {
      const v = cur[i]! * gain - offset;
      norm[i] = v;
      if (this.ignore[i] || Math.abs(v - bg[i]!) <= t) continue;
      foreground[i] = 1;
      fromBg++;
      if (Math.abs(v - prev[i]!) > t) {
        moving[i] = 1;
        count++;
      }
    }
    if (fromBg / this.open > this.o.globalChangeFrac) return this.restart(img, 'global', gain);
    const movingFrac = count / this.open;
    const a = this.o.backgroundRate;
    for (let i = 0; i < n; i++) bg[i] = bg[i]! + a * (norm[i]! - bg[i]!);
    this.prev = norm;
    return { foreground, moving, width: this.width, height: this.height, movingFrac, restarted: null, gain };
  }

  /** The median of (frame × gain − background) over the unmasked pixels, by a histogram of whole grey levels. */
  private medianResidual(cur: Uint8Array, gain: number): number {
    const bg = this.bg!;
    const hist = new Uint32Array(511);
    for (let i = 0; i < cur.length; i++) {
      if (this.ignore[i]) continue;
      const r = Math.round(cur[i]! * gain - bg[i]!);
      hist[Math.max(-255, Math.min(255, r)) + 255]!++;
    }
    const half = this.open / 2;
    let acc = 0;
    for (let k = 0; k < hist.length; k++) {
      acc += hist[k]!;
      if (acc >= half) return k - 255;
    }
    return 0;
  }

  private restart(img: GreyImage, why: 'first' | 'global', gain = 1): MotionMap {
    this.bg = Float32Array.from(img.data);
    this.prev = Float32Array.from(img.data);
    const none = new Uint8Array(this.width * this.height);
    return {
      foreground: none,
      moving: none,
      width: this.width,
      height: this.height,
      movingFrac: 0,
      restarted: why,
      gain,
    };
  }
}
