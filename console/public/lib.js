// Small helpers shared by the pages: building DOM, calling the API, formatting, paging, toasts.
import { getLang, t } from './i18n.js';

/**
 * h('tr.row', {onclick, dataset: {id}}, child...) → an element. Children may be strings, numbers, nodes, arrays,
 * null or false (skipped). Text is always set as text, never parsed as HTML.
 */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    else if (k in el && k !== 'list' && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || body?.error || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Listeners for a 401 from any call (the session ended): the app goes back to the login page. */
const unauthorized = new Set();
export function onUnauthorized(f) {
  unauthorized.add(f);
}

/** JSON in, JSON out; throws ApiError for any answer that is not 2xx. */
export async function api(path, { method = 'GET', body, quiet401 = false } = {}) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { message: text.slice(0, 200) };
  }
  if (!res.ok) {
    if (res.status === 401 && !quiet401) for (const f of unauthorized) f();
    throw new ApiError(res.status, json);
  }
  return json;
}

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const locale = () => (getLang() === 'en' ? 'en-GB' : 'zh-CN');

/** "2026-11-27 14:03:05" in the browser's zone (the city's staff are in it). */
export function fmtTime(v) {
  if (v === undefined || v === null || v === '') return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtAgo(v, now = Date.now()) {
  if (v === undefined || v === null) return t('common.never');
  const s = Math.max(0, Math.round((now - new Date(v).getTime()) / 1000));
  if (s < 60) return t('common.ago.s', { n: s });
  if (s < 3600) return t('common.ago.m', { n: Math.floor(s / 60) });
  if (s < 86400) return t('common.ago.h', { n: Math.floor(s / 3600) });
  return t('common.ago.d', { n: Math.floor(s / 86400) });
}

export function fmtNum(v, digits = 1) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return v.toLocaleString(locale(), { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : digits });
}

export function fmtDuration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  return t('review.dwellFmt', { m: Math.floor(total / 60), s: total % 60 });
}

/** Units of the contract's metrics (contracts/readings.ts METRICS), for labels. */
export const UNITS = {
  laeq_db: 'dB(A)', lmax_db: 'dB(A)', l10_db: 'dB(A)', l50_db: 'dB(A)', l90_db: 'dB(A)',
  pm25_ugm3: 'µg/m³', pm10_ugm3: 'µg/m³', tsp_ugm3: 'µg/m³', temp_c: '°C', rh_pct: '%', wind_ms: 'm/s', wind_dir_deg: '°', pressure_kpa: 'kPa',
  fume_mgm3: 'mg/m³', purifier_on: '0/1', fan_on: '0/1',
  level_cm: 'cm', flow_ls: 'L/s', rain_mmh: 'mm/h',
  tilt_deg: '°', open: '0/1', water_cm: 'cm', battery_pct: '%', rssi_dbm: 'dBm',
};
export const KINDS = ['noise', 'dust', 'fume', 'drainage', 'manhole'];
export const KIND_METRICS = {
  noise: ['laeq_db', 'lmax_db', 'l10_db', 'l50_db', 'l90_db'],
  dust: ['pm25_ugm3', 'pm10_ugm3', 'tsp_ugm3', 'temp_c', 'rh_pct', 'wind_ms', 'wind_dir_deg', 'pressure_kpa'],
  fume: ['fume_mgm3', 'purifier_on', 'fan_on'],
  drainage: ['level_cm', 'flow_ls', 'rain_mmh'],
  manhole: ['tilt_deg', 'open', 'water_cm', 'battery_pct', 'rssi_dbm'],
};
export const SEVERITIES = ['info', 'warning', 'major', 'critical'];

/** A select bound to options [{value, label}], calling onchange(value). */
export function select(name, value, options, onchange, extra = {}) {
  return h(
    'select',
    { name, onchange: (e) => onchange(e.target.value), ...extra },
    options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)),
  );
}

/** Page controls for a list of `total` items shown `size` at a time. */
export function pager(page, size, total, go) {
  const pages = Math.max(1, Math.ceil(total / size));
  return h(
    'div.pager',
    h('button.small', { type: 'button', disabled: page <= 1, onclick: () => go(page - 1), 'data-test': 'prev' }, t('common.prev')),
    h('span.pager-text', t('common.page', { page, pages, total })),
    h('button.small', { type: 'button', disabled: page >= pages, onclick: () => go(page + 1), 'data-test': 'next' }, t('common.next')),
  );
}

let toastBox = null;
/** A short message at the bottom right; kind: ok | error | info. */
export function toast(text, kind = 'info', ms = 4000) {
  // Made again when something took it out of the page (the browser tests clear messages before a screenshot).
  if (!toastBox?.isConnected) {
    toastBox = h('div.toasts', { role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const el = h(`div.toast.${kind}`, text);
  toastBox.append(el);
  setTimeout(() => el.remove(), ms);
}

export function errorText(e) {
  if (e instanceof ApiError && e.status === 403) return t('common.forbidden');
  return t('common.error', { msg: e?.message ?? String(e) });
}

/** Runs f at most once per animation frame, however often it is asked for (bursts of live updates). */
export function coalesce(f) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      f();
    });
  };
}

/** True when a key press is meant for a text field, not for page shortcuts. */
export function typing(e) {
  const el = e.target;
  return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

export function badge(cls, text, title) {
  return h(`span.badge.${cls}`, title ? { title } : {}, text);
}

/** The evidence store's address of an image (statement photos, re-check frames): served by /api/evidence/:sha256. */
export function evidenceUrl(sha256) {
  return `/api/evidence/${encodeURIComponent(sha256)}`;
}

/** A query code as the party sees it: XXXX-XXXX-XXXX-XXXX. */
export function fmtCode(code) {
  const c = String(code ?? '').replace(/[^0-9A-Za-z]/g, '');
  return c ? c.match(/.{1,4}/g).join('-') : '—';
}

/**
 * An image viewer over the page: images [{url, caption}], starting at `index`. ← → step, Esc or a click closes.
 * Returns a function that closes it (pages call it when they are left).
 */
export function openGallery(images, index = 0) {
  if (!images.length) return () => undefined;
  let i = Math.min(Math.max(0, index), images.length - 1);
  const pic = h('img', { alt: '' });
  const cap = h('figcaption');
  const show = () => {
    pic.src = images[i].url;
    pic.alt = images[i].caption ?? '';
    cap.textContent = images[i].caption ?? '';
  };
  const box = h('div.lightbox', { 'data-test': 'gallery' }, h('figure', pic, cap));
  const close = () => {
    box.remove();
    document.removeEventListener('keydown', onKey, true);
  };
  // Captured before the page's own shortcuts, so Esc closes the picture and does nothing else.
  const onKey = (ev) => {
    if (ev.key === 'Escape') close();
    else if (ev.key === 'ArrowRight') i = (i + 1) % images.length;
    else if (ev.key === 'ArrowLeft') i = (i - 1 + images.length) % images.length;
    else return;
    ev.preventDefault();
    ev.stopPropagation();
    if (box.isConnected) show();
  };
  box.addEventListener('click', close);
  document.addEventListener('keydown', onKey, true);
  show();
  document.body.append(box);
  return close;
}

/** A row of small images that open in the viewer: images [{url, caption}]. */
export function thumbs(images, onOpen = openGallery) {
  return h(
    'div.thumbs',
    images.map((img, i) =>
      h('img.thumb', { src: img.url, alt: img.caption ?? '', title: img.caption ?? '', loading: 'lazy', decoding: 'async', onclick: (ev) => (ev.stopPropagation(), onOpen(images, i)) }),
    ),
  );
}
