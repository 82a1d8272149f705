// @ts-check
// A line chart of one metric drawn as SVG, with threshold lines that may change with the time of day (day/night
// limits) and hover read-out. Thousands of readings are reduced to the min and max of each pixel column, which
// keeps every spike visible and the DOM small.
import { fmtNum, fmtTime, s } from './lib.js';

/** @type {Readonly<Record<string, string>>} */
const SEVERITY_COLOUR = { info: '#6b7a90', warning: '#c98a00', major: '#e05a00', critical: '#c8102e' };

/**
 * A round step (1, 2, 2.5, 5 × 10ⁿ) that cuts `range` into about `target` parts.
 * @param {number} range
 * @param {number} target
 */
function niceStep(range, target) {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

const TIME_STEPS = [60e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3];

const pad2 = (/** @type {number} */ n) => String(n).padStart(2, '0');
/**
 * @param {number} ts
 * @param {boolean} long with the date
 */
function timeLabel(ts, long) {
  const d = new Date(ts);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return long ? `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${hm}` : hm;
}

/** @typedef {{ label: string, severity: string, at: (ts: number) => number | null | undefined }} Threshold */
/** @typedef {{ from: number, to: number, low: number, high: number, label: string }} Band */

/**
 * points: [[ts, value]] in time order; thresholds: [{label, severity, at(ts) → level or null}];
 * bands: [{from, to, low, high, label}] — what the anomaly detector expected while an anomaly alert was open, drawn
 * as a shaded band so staff see how far outside it the readings went; from/to: the time range shown (epoch ms).
 * @param {object} o
 * @param {[number, number][]} o.points
 * @param {Threshold[]} [o.thresholds]
 * @param {Band[]} [o.bands]
 * @param {number} o.from
 * @param {number} o.to
 * @param {string} [o.unit]
 * @param {number} [o.width]
 * @param {number} [o.height]
 */
export function lineChart({ points, thresholds = [], bands = [], from, to, unit = '', width = 1200, height = 340 }) {
  const m = { l: 56, r: 96, t: 12, b: 28 };
  const w = width - m.l - m.r;
  const hgt = height - m.t - m.b;
  const x = (/** @type {number} */ ts) => m.l + ((ts - from) / (to - from)) * w;

  // Value range: the data, and the lowest threshold (so staff see how far the readings are from the limit).
  let lo = Infinity;
  let hi = -Infinity;
  for (const [, v] of points) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const levels = thresholds.map((th) => {
    /** @type {number[]} */
    const vals = [];
    for (let i = 0; i <= 48; i++) {
      const v = th.at(from + ((to - from) * i) / 48);
      if (v !== null && v !== undefined) vals.push(v);
    }
    return vals;
  });
  for (const b of bands) {
    lo = Math.min(lo, b.low);
    hi = Math.max(hi, b.high);
  }
  const lowest = levels.flat().sort((a, b) => a - b)[0];
  if (lowest !== undefined) {
    lo = Math.min(lo, lowest);
    hi = Math.max(hi, lowest);
  }
  const span = hi - lo;
  for (const v of levels.flat()) if (v <= hi + Math.max(span, Math.abs(hi) * 0.1) * 0.5) hi = Math.max(hi, v);
  if (!Number.isFinite(lo)) ((lo = 0), (hi = 1));
  if (hi === lo) ((hi += 1), (lo -= 1));
  const padV = (hi - lo) * 0.08;
  lo -= padV;
  hi += padV;
  const y = (/** @type {number} */ v) => m.t + hgt - ((v - lo) / (hi - lo)) * hgt;

  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'data-points': points.length,
  });

  // Grid and axes.
  const vStep = niceStep(hi - lo, 5);
  for (let v = Math.ceil(lo / vStep) * vStep; v <= hi; v += vStep) {
    svg.append(s('line', { x1: m.l, x2: m.l + w, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(s('text', { x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, fmtNum(v, 2)));
  }
  const tStep = TIME_STEPS.find((st) => (to - from) / st <= 8) ?? 86400e3;
  const long = to - from > 86400e3;
  const tz = new Date().getTimezoneOffset() * 60e3;
  for (let ts = Math.ceil((from - tz) / tStep) * tStep + tz; ts <= to; ts += tStep) {
    svg.append(s('line', { x1: x(ts), x2: x(ts), y1: m.t, y2: m.t + hgt, class: 'grid' }));
    svg.append(s('text', { x: x(ts), y: height - 8, 'text-anchor': 'middle', class: 'axis' }, timeLabel(ts, long)));
  }
  svg.append(s('text', { x: 6, y: m.t + 10, class: 'axis unit' }, unit));

  // Expected bands of anomaly alerts (at least 4 px wide, so a short alert is still seen).
  for (const b of bands) {
    const x1 = Math.max(m.l, x(Math.max(from, b.from)));
    const x2 = Math.min(m.l + w, Math.max(x1 + 4, x(Math.min(to, b.to))));
    if (x2 <= m.l || x1 >= m.l + w) continue;
    svg.append(
      s(
        'rect',
        {
          x: x1,
          y: y(b.high),
          width: x2 - x1,
          height: Math.max(1, y(b.low) - y(b.high)),
          class: 'expected-band',
          'data-band': b.label,
        },
        s('title', {}, b.label),
      ),
    );
  }

  // Threshold lines, sampled every 2 px so a day/night change shows as a step.
  thresholds.forEach((th) => {
    let d = '';
    let pen = false;
    let lastY = null;
    for (let px = 0; px <= w; px += 2) {
      const v = th.at(from + (px / w) * (to - from));
      if (v === null || v === undefined) {
        pen = false;
        continue;
      }
      const yy = y(v).toFixed(1);
      d += `${pen ? 'L' : 'M'}${(m.l + px).toFixed(1)},${yy}`;
      pen = true;
      lastY = yy;
    }
    if (!d) return;
    const colour = SEVERITY_COLOUR[th.severity] ?? '#c8102e';
    svg.append(s('path', { d, class: 'threshold', stroke: colour, 'data-threshold': th.label }));
    if (lastY !== null)
      svg.append(s('text', { x: m.l + w + 4, y: Number(lastY) + 4, class: 'th-label', fill: colour }, th.label));
  });

  // The readings: min and max per pixel column.
  if (points.length) {
    const cols = new Map();
    for (const [ts, v] of points) {
      const c = Math.round(x(ts));
      const e = cols.get(c);
      if (!e) cols.set(c, { min: v, max: v, first: v, last: v });
      else {
        if (v < e.min) e.min = v;
        if (v > e.max) e.max = v;
        e.last = v;
      }
    }
    let d = '';
    let prev = null;
    for (const [c, e] of [...cols].sort((a, b) => a[0] - b[0])) {
      const gapped = prev !== null && c - prev > Math.max(6, w / 40) * 4;
      d += `${d && !gapped ? 'L' : 'M'}${c},${y(e.first).toFixed(1)}`;
      if (e.min !== e.max) d += `L${c},${y(e.min).toFixed(1)}L${c},${y(e.max).toFixed(1)}`;
      d += `L${c},${y(e.last).toFixed(1)}`;
      prev = c;
    }
    svg.append(s('path', { d, class: 'series' }));
    if (points.length < 60)
      for (const [ts, v] of points) svg.append(s('circle', { cx: x(ts), cy: y(v), r: 2.5, class: 'dot' }));
  }

  // Hover read-out: the nearest reading to the pointer.
  const cursor = s('line', { y1: m.t, y2: m.t + hgt, class: 'cursor', visibility: 'hidden' });
  const label = s('text', { x: m.l + 6, y: m.t + 14, class: 'readout' });
  svg.append(cursor, label);
  svg.addEventListener('mousemove', (ev) => {
    if (!points.length) return;
    const r = svg.getBoundingClientRect();
    const px = ((ev.clientX - r.left) / r.width) * width;
    const ts = from + ((px - m.l) / w) * (to - from);
    let lo2 = 0;
    let hi2 = points.length - 1;
    while (lo2 < hi2) {
      const mid = (lo2 + hi2) >> 1;
      if (points[mid][0] < ts) lo2 = mid + 1;
      else hi2 = mid;
    }
    const near =
      lo2 > 0 && Math.abs(points[lo2 - 1][0] - ts) < Math.abs(points[lo2][0] - ts) ? points[lo2 - 1] : points[lo2];
    cursor.setAttribute('x1', String(x(near[0])));
    cursor.setAttribute('x2', String(x(near[0])));
    cursor.setAttribute('visibility', 'visible');
    label.textContent = `${fmtTime(near[0])}  ${fmtNum(near[1], 2)} ${unit}`;
  });
  svg.addEventListener('mouseleave', () => {
    cursor.setAttribute('visibility', 'hidden');
    label.textContent = '';
  });
  return svg;
}
