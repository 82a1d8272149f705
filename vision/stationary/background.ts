// Two backgrounds of one camera's small grey image: a long-term one, the empty street, learned from pixels that stay
// put and blended only where the frame matches it (so an object that stays is never blended in); and a short-term
// one that follows every frame within two or three. A pixel that differs from the long-term background but matches
// the short-term one is new and standing; from when is kept per pixel, so a passer-by in front of a stall does not
// restart it (a pixel that is new but moving keeps its time; only the empty street again clears it). Brightness is
// normalised against the long-term background as in the motion gate (vision/motion/background.ts): gain to its mean,
// then the median remaining difference taken off.
import type { GreyImage } from '../motion/grey.js';
import type { StationarySettings } from './config.js';

type Options = Pick<
  StationarySettings,
  'threshold' | 'longRate' | 'shortRate' | 'learnFrames' | 'absorbS' | 'globalChangeFrac'
>;

export class DualBackground {
  /** The empty street; valid where `known`. */
  readonly long: Float32Array;
  readonly short: Float32Array;
  /** The current frame, brightness-normalised to the long-term background. */
  readonly frame: Float32Array;
  /** 1 = the pixel's long-term background is learned. */
  private readonly known: Uint8Array;
  /**
   * Frames in a row a not yet learned pixel matched the short-term background; for a learned pixel that is new, the
   * frames in a row it matched the long-term background again.
   */
  private readonly stable: Uint16Array;
  /** Capture time since which the pixel is new (differs from the long-term background); NaN = it is not. */
  readonly since: Float64Array;
  private started = false;
  private readonly open: number;

  constructor(
    readonly width: number,
    readonly height: number,
    /** 1 = masked: never new, not part of the brightness estimate. */
    private readonly ignore: Uint8Array,
    private readonly o: Options,
  ) {
    const n = width * height;
    if (ignore.length !== n) throw new RangeError(`mask has ${ignore.length} pixels, expected ${n}`);
    this.long = new Float32Array(n);
    this.short = new Float32Array(n);
    this.frame = new Float32Array(n);
    this.known = new Uint8Array(n);
    this.stable = new Uint16Array(n);
    this.since = new Float64Array(n).fill(NaN);
    this.open = ignore.reduce((k, v) => k + (v ? 0 : 1), 0);
  }

  /** One frame at capture time ts. Returns whether the model (re)started from it (first frame, or most of it new). */
  update(img: GreyImage, ts: number): 'first' | 'global' | null {
    if (img.width !== this.width || img.height !== this.height)
      throw new RangeError(`grey image is ${img.width}x${img.height}, the background ${this.width}x${this.height}`);
    const cur = img.data;
    const n = cur.length;
    if (!this.started) {
      this.restart(cur);
      return 'first';
    }
    const { gain, offset, learned } = this.normalisation(cur);
    const t = this.o.threshold;
    let fresh = 0;
    for (let i = 0; i < n; i++) {
      const v = cur[i]! * gain - offset;
      this.frame[i] = v;
      if (this.known[i] && !this.ignore[i] && Math.abs(v - this.long[i]!) > t) fresh++;
    }
    if (learned > 0 && fresh / learned > this.o.globalChangeFrac) {
      this.restart(cur);
      return 'global';
    }
    const absorbMs = this.o.absorbS * 1000;
    const aL = this.o.longRate;
    const aS = this.o.shortRate;
    for (let i = 0; i < n; i++) {
      const v = this.frame[i]!;
      const s = this.short[i]!;
      this.short[i] = s + aS * (v - s);
      if (this.ignore[i]) continue;
      const matchShort = Math.abs(v - s) <= t;
      if (!this.known[i]) {
        // Learned only where the picture holds still for a few frames: a passer-by in the first frame is not the street.
        this.stable[i] = matchShort ? this.stable[i]! + 1 : 0;
        if (this.stable[i]! >= this.o.learnFrames) {
          this.long[i] = v;
          this.known[i] = 1;
        }
        continue;
      }
      const l = this.long[i]!;
      const d = Math.abs(v - l);
      const isNew = !Number.isNaN(this.since[i]!);
      if (d <= t && isNew) {
        // Back to the street only after learnFrames in a row: an object whose contrast is near the threshold dips
        // under it now and then, and must not lose its time (nor be blended in) at each dip.
        this.stable[i] = this.stable[i]! + 1;
        if (this.stable[i]! >= this.o.learnFrames) this.since[i] = NaN;
        continue;
      }
      if (d <= t) {
        // Blended only where the frame is well inside the threshold: what differs by nearly the threshold would creep
        // into the background, a little at each frame, until the object is gone from it.
        if (d <= t / 2) this.long[i] = l + aL * (v - l);
        continue;
      }
      this.stable[i] = 0;
      if (matchShort && !isNew) this.since[i] = ts;
      if (ts - this.since[i]! >= absorbMs) this.absorb(i);
    }
    return null;
  }

  /** The pixel's current look becomes the long-term background (a ghost, or an object standing longer than absorbS). */
  absorb(i: number): void {
    this.long[i] = this.frame[i]!;
    this.since[i] = NaN;
  }

  /** Gain to the long-term background's mean over the learned unmasked pixels, then the median difference. */
  private normalisation(cur: Uint8Array): { gain: number; offset: number; learned: number } {
    let sumBg = 0;
    let sumCur = 0;
    let learned = 0;
    for (let i = 0; i < cur.length; i++) {
      if (this.ignore[i] || !this.known[i]) continue;
      sumBg += this.long[i]!;
      sumCur += cur[i]!;
      learned++;
    }
    if (learned === 0) return { gain: 1, offset: 0, learned };
    const gain = sumCur > 0 ? sumBg / sumCur : 1;
    const hist = new Uint32Array(511);
    for (let i = 0; i < cur.length; i++) {
      if (this.ignore[i] || !this.known[i]) continue;
      const r = Math.round(cur[i]! * gain - this.long[i]!);
      hist[Math.max(-255, Math.min(255, r)) + 255]!++;
    }
    let acc = 0;
    for (let k = 0; k < hist.length; k++) {
      acc += hist[k]!;
      if (acc >= learned / 2) return { gain, offset: k - 255, learned };
    }
    return { gain, offset: 0, learned };
  }

  private restart(cur: Uint8Array): void {
    this.started = true;
    for (let i = 0; i < cur.length; i++) {
      this.short[i] = cur[i]!;
      this.frame[i] = cur[i]!;
    }
    this.known.fill(0);
    this.stable.fill(0);
    this.since.fill(NaN);
  }

  /** Bytes held: bounded by the image's size, whatever the camera shows. */
  get bytes(): number {
    return this.long.byteLength * 3 + this.known.byteLength + this.stable.byteLength + this.since.byteLength;
  }

  /** Share of the unmasked pixels learned so far. */
  get learnedFrac(): number {
    let k = 0;
    for (let i = 0; i < this.known.length; i++) if (this.known[i] && !this.ignore[i]) k++;
    return this.open === 0 ? 0 : k / this.open;
  }
}
