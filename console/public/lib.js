// @ts-check
// Small helpers shared by the pages: building DOM, calling the API, formatting, paging, toasts.
import { getLang, t } from './i18n.js';

/** What h() and s() take as children: text, nodes, arrays of them; null, undefined and false are skipped. */
/** @typedef {string | number | Node | null | undefined | false | ChildList} Child */
/** @typedef {Array<Child>} ChildList */
/**
 * The element a tag such as 'tr.row' makes: its name before the first dot ('' is a div).
 * @template {string} T
 * @typedef {T extends `${infer N}.${string}` ? (N extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[N] : HTMLElement) : T extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[T] : HTMLElement} ElementOf
 */
/**
 * Attributes and properties for h(): `onclick` and the other handlers are listeners, `dataset` is merged, `class` is
 * added to the tag's classes, other non-string values are set as properties, strings as attributes.
 * @typedef {{ [K in keyof HTMLElementEventMap as `on${K}`]?: (e: HTMLElementEventMap[K]) => unknown } & { dataset?: Record<string, string>, [attr: string]: unknown }} Attrs
 */

/**
 * h('tr.row', {onclick, dataset: {id}}, child...) → an element. Children may be strings, numbers, nodes, arrays,
 * null or false (skipped). Text is always set as text, never parsed as HTML.
 * @template {string} T
 * @param {T} tag
 * @param {Attrs | Child} [attrs]
 * @param {...Child} children
 * @returns {ElementOf<T>}
 */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  /** @type {Attrs | null} */
  let props = null;
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) children.unshift(attrs);
  else if (attrs) props = /** @type {Attrs} */ (attrs);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function')
      el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    // A property the element has (checked, disabled, value as a number, ...): set as the property.
    else if (k in el && k !== 'list' && typeof v !== 'string')
      /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (el))[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return /** @type {ElementOf<T>} */ (el);
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/**
 * An SVG element; attributes are set as strings.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/** The API's error body: {"error": "bad_request", "message": "..."} (api/errors.ts), or the text of a non-JSON answer. */
/** @typedef {{ error?: string, message?: string, [field: string]: unknown }} ErrorBody */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {ErrorBody | null} body
   */
  constructor(status, body) {
    super(body?.message || body?.error || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Listeners for a 401 from any call (the session ended): the app goes back to the login page. */
const unauthorized = new Set();
/** @param {() => void} f */
export function onUnauthorized(f) {
  unauthorized.add(f);
}

/**
 * JSON in, JSON out; throws ApiError for any answer that is not 2xx. The answer is `any`: each page names the shape it
 * reads where it reads it.
 * @param {string} path
 * @param {{ method?: string, body?: unknown, quiet401?: boolean }} [options]
 * @returns {Promise<any>}
 */
export async function api(path, { method = 'GET', body, quiet401 = false } = {}) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers:
      body === undefined
        ? { accept: 'application/json' }
        : { accept: 'application/json', 'content-type': 'application/json' },
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

/**
 * A query string from the parameters that have a value ('' when none): '?a=1&b=x'.
 * @param {Record<string, unknown>} params
 */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const locale = () => (getLang() === 'en' ? 'en-GB' : 'zh-CN');

/** "2026-11-27 14:03:05" in the browser's zone (the city's staff are in it). */
/** @param {string | number | Date | null | undefined} v */
export function fmtTime(v) {
  if (v === undefined || v === null || v === '') return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  const p = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * @param {string | number | Date | null | undefined} v
 * @param {number} [now]
 */
export function fmtAgo(v, now = Date.now()) {
  if (v === undefined || v === null) return t('common.never');
  const s = Math.max(0, Math.round((now - new Date(v).getTime()) / 1000));
  if (s < 60) return t('common.ago.s', { n: s });
  if (s < 3600) return t('common.ago.m', { n: Math.floor(s / 60) });
  if (s < 86400) return t('common.ago.h', { n: Math.floor(s / 3600) });
  return t('common.ago.d', { n: Math.floor(s / 86400) });
}

/**
 * A number in the page's language, '—' for anything that is not a finite number.
 * @param {unknown} v
 * @param {number} [digits]
 */
export function fmtNum(v, digits = 1) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return v.toLocaleString(locale(), { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : digits });
}

/** @param {number} seconds */
export function fmtDuration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  return t('review.dwellFmt', { m: Math.floor(total / 60), s: total % 60 });
}

/**
 * Units of the contract's metrics (contracts/readings.ts METRICS), for labels.
 * @type {Readonly<Record<string, string>>}
 */
export const UNITS = {
  laeq_db: 'dB(A)',
  lmax_db: 'dB(A)',
  l10_db: 'dB(A)',
  l50_db: 'dB(A)',
  l90_db: 'dB(A)',
  pm25_ugm3: 'µg/m³',
  pm10_ugm3: 'µg/m³',
  tsp_ugm3: 'µg/m³',
  temp_c: '°C',
  rh_pct: '%',
  wind_ms: 'm/s',
  wind_dir_deg: '°',
  pressure_kpa: 'kPa',
  fume_mgm3: 'mg/m³',
  purifier_on: '0/1',
  fan_on: '0/1',
  level_cm: 'cm',
  flow_ls: 'L/s',
  rain_mmh: 'mm/h',
  tilt_deg: '°',
  open: '0/1',
  water_cm: 'cm',
  battery_pct: '%',
  rssi_dbm: 'dBm',
};
export const KINDS = ['noise', 'dust', 'fume', 'drainage', 'manhole'];
/** @type {Readonly<Record<string, readonly string[]>>} */
export const KIND_METRICS = {
  noise: ['laeq_db', 'lmax_db', 'l10_db', 'l50_db', 'l90_db'],
  dust: ['pm25_ugm3', 'pm10_ugm3', 'tsp_ugm3', 'temp_c', 'rh_pct', 'wind_ms', 'wind_dir_deg', 'pressure_kpa'],
  fume: ['fume_mgm3', 'purifier_on', 'fan_on'],
  drainage: ['level_cm', 'flow_ls', 'rain_mmh'],
  manhole: ['tilt_deg', 'open', 'water_cm', 'battery_pct', 'rssi_dbm'],
};
export const SEVERITIES = ['info', 'warning', 'major', 'critical'];

/**
 * A select bound to options [{value, label}], calling onchange(value).
 * @param {string} name
 * @param {string} value
 * @param {{ value: string, label: string }[]} options
 * @param {(value: string) => void} onchange
 * @param {Attrs} [extra]
 */
export function select(name, value, options, onchange, extra = {}) {
  return h(
    'select',
    {
      name,
      onchange: (/** @type {Event} */ e) => onchange(/** @type {HTMLSelectElement} */ (e.target).value),
      ...extra,
    },
    options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)),
  );
}

/**
 * Page controls for a list of `total` items shown `size` at a time.
 * @param {number} page
 * @param {number} size
 * @param {number} total
 * @param {(page: number) => void} go
 */
export function pager(page, size, total, go) {
  const pages = Math.max(1, Math.ceil(total / size));
  return h(
    'div.pager',
    h(
      'button.small',
      { type: 'button', disabled: page <= 1, onclick: () => go(page - 1), 'data-test': 'prev' },
      t('common.prev'),
    ),
    h('span.pager-text', t('common.page', { page, pages, total })),
    h(
      'button.small',
      { type: 'button', disabled: page >= pages, onclick: () => go(page + 1), 'data-test': 'next' },
      t('common.next'),
    ),
  );
}

/** @type {HTMLDivElement | null} */
let toastBox = null;
/**
 * A short message at the bottom right; kind: ok | error | info.
 * @param {string} text
 * @param {'ok' | 'error' | 'info'} [kind]
 * @param {number} [ms]
 */
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

/** @param {unknown} e */
export function errorText(e) {
  if (e instanceof ApiError && e.status === 403) return t('common.forbidden');
  return t('common.error', { msg: /** @type {{ message?: string } | null | undefined} */ (e)?.message ?? String(e) });
}

/** Runs f at most once per animation frame, however often it is asked for (bursts of live updates). */
/** @param {() => void} f */
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
/** @param {Event} e */
export function typing(e) {
  const el = e.target;
  return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

/**
 * @param {string} cls
 * @param {Child} text
 * @param {string} [title]
 */
export function badge(cls, text, title) {
  return h(`span.badge.${cls}`, title ? { title } : {}, text);
}

/** The evidence store's address of an image (statement photos, re-check frames): served by /api/evidence/:sha256. */
/** @param {string} sha256 */
export function evidenceUrl(sha256) {
  return `/api/evidence/${encodeURIComponent(sha256)}`;
}

/** A query code as the party sees it: XXXX-XXXX-XXXX-XXXX. */
/** @param {string | null | undefined} code */
export function fmtCode(code) {
  const c = String(code ?? '').replace(/[^0-9A-Za-z]/g, '');
  return c ? (c.match(/.{1,4}/g) ?? []).join('-') : '—';
}

/** @typedef {{ url: string, caption?: string }} GalleryImage */

/**
 * An image viewer over the page: images [{url, caption}], starting at `index`. ← → step, Esc or a click closes.
 * Returns a function that closes it (pages call it when they are left).
 * @param {GalleryImage[]} images
 * @param {number} [index]
 * @returns {() => void}
 */
export function openGallery(images, index = 0) {
  if (!images.length) return () => undefined;
  let i = Math.min(Math.max(0, index), images.length - 1);
  const pic = h('img', { alt: '' });
  const cap = h('figcaption');
  const show = () => {
    const img = /** @type {GalleryImage} */ (images[i]);
    pic.src = img.url;
    pic.alt = img.caption ?? '';
    cap.textContent = img.caption ?? '';
  };
  const box = h('div.lightbox', { 'data-test': 'gallery' }, h('figure', pic, cap));
  const close = () => {
    box.remove();
    document.removeEventListener('keydown', onKey, true);
  };
  // Captured before the page's own shortcuts, so Esc closes the picture and does nothing else.
  const onKey = (/** @type {KeyboardEvent} */ ev) => {
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

/**
 * A row of small images that open in the viewer: images [{url, caption}].
 * @param {GalleryImage[]} images
 * @param {(images: GalleryImage[], index: number) => unknown} [onOpen]
 */
export function thumbs(images, onOpen = openGallery) {
  return h(
    'div.thumbs',
    images.map((img, i) =>
      h('img.thumb', {
        src: img.url,
        alt: img.caption ?? '',
        title: img.caption ?? '',
        loading: 'lazy',
        decoding: 'async',
        onclick: (ev) => (ev.stopPropagation(), onOpen(images, i)),
      }),
    ),
  );
}
