// @ts-check
// Admin: the zone editor of one camera, drawn with the mouse over the camera's latest frame in the frame's own pixels
// (the zones' coordinates): no-parking polygons, storefronts (the shop's store line, then the sidewalk in front of
// it), motion masks. Click to add points; click the first point (or 完成 / Enter) to close; Esc cancels; drag a point to
// move it, double-click it to remove it. Time windows and dwell per zone in the side panel. The same checks as the
// server's (vision/cameras/config.ts cameraIssues) run on every change; the server's answer is shown as well.
import { t } from '../i18n.js';
import { api, errorText, fmtTime, h, s, toast, typing } from '../lib.js';

// The shapes as the camera's zones hold them (vision/cameras/config.ts Zone and the masks), in frame pixels.
/** @typedef {[number, number]} Point */
/** @typedef {{ from: string, to: string, days?: unknown }} TimeWindow */
/** @typedef {{ type: 'no-parking', id: string, name?: string, polygon: Point[], windows: TimeWindow[], dwellS: number, roles?: string[] }} NoParkingZone */
/** @typedef {{ type: 'storefront', id: string, name?: string, storeLine: Point[], sidewalk: Point[], businessHours: TimeWindow[], dwellS: number, shopId?: string }} StorefrontZone */
/** @typedef {NoParkingZone | StorefrontZone} Zone */
/** @typedef {{ type?: undefined, id: string, name?: string, polygon: Point[] }} Mask */
/** @typedef {'zone' | 'mask'} ShapeKind */
/** @typedef {{ kind: ShapeKind, index: number, message: string }} Problem */
/**
 * A shape being drawn: its tool, the stage (a storefront's line, then its sidewalk) and the points so far.
 * @typedef {{ tool: 'no-parking' | 'storefront' | 'mask', stage: 'polygon' | 'line' | 'sidewalk', points: Point[], line?: Point[] }} Drawing
 */

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const MIN_POINTS = { polygon: 3, line: 2 };
/** @typedef {[part: string, points: Point[], closed: boolean]} Part */

// ---- geometry (the browser's copy of vision/rules/geometry.ts selfIntersection: no build step to share it) ----

/**
 * @param {Point} p
 * @param {Point} q
 * @param {Point} r
 */
function orient(p, q, r) {
  return Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
}
/**
 * @param {Point} p
 * @param {Point} q
 * @param {Point} r
 */
function onSegment(p, q, r) {
  return (
    Math.min(p[0], r[0]) <= q[0] &&
    q[0] <= Math.max(p[0], r[0]) &&
    Math.min(p[1], r[1]) <= q[1] &&
    q[1] <= Math.max(p[1], r[1])
  );
}
/**
 * @param {Point} a
 * @param {Point} b
 * @param {Point} c
 * @param {Point} d
 */
function segmentsMeet(a, b, c, d) {
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(a, c, b)) ||
    (o2 === 0 && onSegment(a, d, b)) ||
    (o3 === 0 && onSegment(c, a, d)) ||
    (o4 === 0 && onSegment(c, b, d))
  );
}
/**
 * The first two edges (1-based) of a closed polygon that cross, or null.
 * @param {Point[]} poly
 * @returns {[number, number] | null}
 */
export function selfIntersection(poly) {
  const n = poly.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      const at = (/** @type {number} */ k) => /** @type {Point} */ (poly[k % n]);
      if (segmentsMeet(at(i), at(i + 1), at(j), at(j + 1))) return [i + 1, j + 1];
    }
  }
  return null;
}

/**
 * Windows as typed: "07:00-22:00, 22:00-06:00"; empty: always. Throws with a message for anything else.
 * @param {string} text
 * @returns {TimeWindow[]}
 */
export function parseWindows(text) {
  const parts = text.split(/[,，;\s]+/).filter(Boolean);
  return parts.map((p) => {
    const m = /^(\d\d:\d\d)[-–~](\d\d:\d\d)$/.exec(p);
    const [, from, to] = m ?? [];
    if (!from || !to || !HHMM.test(from) || !HHMM.test(to)) throw new Error(t('zones.badWindow', { text: p }));
    return { from, to };
  });
}
const windowsText = (/** @type {TimeWindow[] | undefined} */ ws) =>
  (ws ?? [])
    .filter((w) => !(w.from === '00:00' && w.to === '24:00' && !w.days))
    .map((w) => `${w.from}-${w.to}`)
    .join(', ');

/**
 * Everything wrong with the zones and masks, each message with the zone it belongs to.
 * @param {{ width: number, height: number }} camera
 * @param {Zone[]} zones
 * @param {Mask[]} masks
 * @returns {Problem[]}
 */
export function problems(camera, zones, masks) {
  /** @type {Problem[]} */
  const out = [];
  /** @type {Set<string>} */
  const ids = new Set();
  /**
   * @param {ShapeKind} kind
   * @param {number} index
   * @param {Zone | Mask} item
   * @param {Part[]} shapes
   */
  const check = (kind, index, item, shapes) => {
    const label = item.name || item.id;
    if (!item.id) out.push({ kind, index, message: t('zones.noId') });
    else if (ids.has(item.id)) out.push({ kind, index, message: t('zones.idTwice', { id: item.id }) });
    ids.add(item.id);
    for (const [part, pts, closed] of shapes) {
      const min = closed ? MIN_POINTS.polygon : MIN_POINTS.line;
      if (pts.length < min)
        out.push({ kind, index, message: t('zones.tooFew', { zone: label, part: t(`zones.part.${part}`), n: min }) });
      const outside = pts.find(([x, y]) => x < 0 || y < 0 || x > camera.width || y > camera.height);
      if (outside)
        out.push({
          kind,
          index,
          message: t('zones.outside', {
            zone: label,
            part: t(`zones.part.${part}`),
            x: outside[0],
            y: outside[1],
            w: camera.width,
            h: camera.height,
          }),
        });
      const cross = closed && pts.length >= 4 ? selfIntersection(pts) : null;
      if (cross)
        out.push({
          kind,
          index,
          message: t('zones.selfIntersecting', {
            zone: label,
            part: t(`zones.part.${part}`),
            a: cross[0],
            b: cross[1],
          }),
        });
    }
  };
  zones.forEach((z, i) => {
    if (!z.name) out.push({ kind: 'zone', index: i, message: t('zones.noName', { id: z.id }) });
    if (!(z.dwellS > 0)) out.push({ kind: 'zone', index: i, message: t('zones.badDwell', { zone: z.name || z.id }) });
    if (z.type === 'no-parking' && !((z.roles?.length ?? 0) > 0))
      out.push({ kind: 'zone', index: i, message: t('zones.noRole', { zone: z.name || z.id }) });
    check(
      'zone',
      i,
      z,
      z.type === 'no-parking'
        ? [['polygon', z.polygon, true]]
        : [
            ['storeLine', z.storeLine, false],
            ['sidewalk', z.sidewalk, true],
          ],
    );
  });
  masks.forEach((m, i) => check('mask', i, m, [['polygon', m.polygon, true]]));
  return out;
}

/**
 * @param {string} prefix
 * @param {Set<string>} taken
 */
const nextId = (prefix, taken) => {
  for (let i = 1; ; i++) if (!taken.has(`${prefix}-${i}`)) return `${prefix}-${i}`;
};

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  const id = ctx.params.id;
  /** @type {import('./cameras.js').CameraView} */
  const view = await api(`/api/cameras/${encodeURIComponent(id)}`);
  /** @type {{ width: number, height: number, zones: Zone[], masks?: Mask[], postedLocation: string, gridCell: string }} */
  const cam = /** @type {any} */ (view.camera);
  const W = cam.width;
  const H = cam.height;
  const readOnly = view.origin === 'file';
  /** @type {Zone[]} */
  let zones = structuredClone(cam.zones);
  /** @type {Mask[]} */
  let masks = structuredClone(cam.masks ?? []);
  /** @type {{ kind: ShapeKind, index: number } | null} */
  let selected = null;
  /** @type {Drawing | null} */
  let drawing = null;
  let dirty = false;
  /** The server's refusal of the last save, by field (zod's issues). */
  /** @type {{ path: (string | number)[], message: string }[]} */
  let serverIssues = [];

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'zone-canvas', 'data-test': 'canvas' });
  const frame = s('image', {
    href: `/api/cameras/${encodeURIComponent(id)}/frame?t=${Date.now()}`,
    x: 0,
    y: 0,
    width: W,
    height: H,
    preserveAspectRatio: 'none',
  });
  const shapes = s('g');
  const handles = s('g');
  svg.append(s('rect', { x: 0, y: 0, width: W, height: H, class: 'zone-bg' }), frame, shapes, handles);
  const frameNote = h('p.muted.small', { 'data-test': 'frame-note' });
  frame.addEventListener('error', () => (frameNote.textContent = t('zones.noFrame')));
  if (view.latestFrame) {
    frameNote.textContent = t('zones.frameAt', { at: fmtTime(view.latestFrame.ts) });
    if (view.latestFrame.width !== W || view.latestFrame.height !== H) {
      frameNote.textContent +=
        ' · ' + t('zones.frameSize', { fw: view.latestFrame.width, fh: view.latestFrame.height, w: W, h: H });
    }
  } else frameNote.textContent = t('zones.noFrame');

  const status = h('p.muted.small', { 'data-test': 'draw-status' });
  const problemList = h('ul.form-errors', { 'data-test': 'problems' });
  const panel = h('div.zone-panel', { 'data-test': 'zone-panel' });
  const list = h('ul.zone-list', { 'data-test': 'zone-list' });
  const saveBtn = h('button.primary', { type: 'button', 'data-test': 'save', onclick: () => save() }, t('common.save'));
  const finishBtn = h(
    'button.small',
    { type: 'button', 'data-test': 'finish', onclick: () => finish() },
    t('zones.finish'),
  );
  const cancelBtn = h(
    'button.small',
    { type: 'button', 'data-test': 'cancel', onclick: () => cancelDrawing() },
    t('common.cancel'),
  );

  /** The frame pixel under the mouse: the SVG is drawn at the frame's aspect ratio, scaled to the page. */
  /**
   * @param {MouseEvent} ev
   * @returns {Point}
   */
  function toFrame(ev) {
    const r = svg.getBoundingClientRect();
    const x = ((ev.clientX - r.left) * W) / r.width;
    const y = ((ev.clientY - r.top) * H) / r.height;
    return [Math.round(Math.min(W, Math.max(0, x))), Math.round(Math.min(H, Math.max(0, y)))];
  }

  const taken = () => new Set([...zones.map((z) => z.id), ...masks.map((m) => m.id)]);

  function startDrawing(/** @type {Drawing['tool']} */ tool) {
    if (readOnly) return;
    selected = null;
    drawing = { tool, stage: tool === 'storefront' ? 'line' : 'polygon', points: [] };
    draw();
  }

  function cancelDrawing() {
    drawing = null;
    draw();
  }

  /** Ends the current stage: a storefront's line goes on to its sidewalk; a polygon becomes a zone or a mask. */
  function finish() {
    if (!drawing) return;
    const need = drawing.stage === 'line' ? MIN_POINTS.line : MIN_POINTS.polygon;
    if (drawing.points.length < need) {
      toast(t('zones.needPoints', { n: need }), 'error');
      return;
    }
    const pts = drawing.points;
    if (drawing.stage === 'polygon') {
      const cross = pts.length >= 4 ? selfIntersection(pts) : null;
      if (cross)
        toast(
          t('zones.selfIntersecting', { zone: '', part: t('zones.part.polygon'), a: cross[0], b: cross[1] }),
          'error',
        );
    }
    if (drawing.tool === 'storefront' && drawing.stage === 'line') {
      drawing = { ...drawing, stage: 'sidewalk', line: pts, points: [] };
      draw();
      return;
    }
    if (drawing.tool === 'mask') {
      const mid = nextId('m', taken());
      masks.push({ id: mid, polygon: pts });
      selected = { kind: 'mask', index: masks.length - 1 };
    } else if (drawing.tool === 'no-parking') {
      const zid = nextId('np', taken());
      zones.push({
        type: 'no-parking',
        id: zid,
        name: `${t('zones.tool.no-parking')} ${zid}`,
        polygon: pts,
        windows: [{ from: '00:00', to: '24:00' }],
        dwellS: 300,
        roles: ['vehicle'],
      });
      selected = { kind: 'zone', index: zones.length - 1 };
    } else {
      const zid = nextId('sf', taken());
      zones.push({
        type: 'storefront',
        id: zid,
        name: `${t('zones.tool.storefront')} ${zid}`,
        storeLine: drawing.line ?? [],
        sidewalk: pts,
        businessHours: [{ from: '00:00', to: '24:00' }],
        dwellS: 600,
      });
      selected = { kind: 'zone', index: zones.length - 1 };
    }
    drawing = null;
    dirty = true;
    draw();
  }

  svg.addEventListener('click', (ev) => {
    if (!drawing) {
      // A click on the picture outside every shape ends the selection.
      if (ev.target === frame || /** @type {Element} */ (ev.target).classList?.contains('zone-bg')) {
        selected = null;
        draw();
      }
      return;
    }
    const p = toFrame(ev);
    const first = drawing.points[0];
    const closing =
      drawing.stage !== 'line' &&
      first &&
      drawing.points.length >= MIN_POINTS.polygon &&
      Math.hypot(p[0] - first[0], p[1] - first[1]) <= handleRadius() * 1.5;
    if (closing) return finish();
    drawing.points.push(p);
    draw();
  });

  // Dragging a point of the selected shape.
  /** @type {{ points: Point[], i: number } | null} */
  let drag = null;
  svg.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const p = toFrame(ev);
    drag.points[drag.i] = p;
    dirty = true;
    draw();
  });
  const endDrag = () => (drag = null);
  svg.addEventListener('pointerup', endDrag);
  svg.addEventListener('pointercancel', endDrag);

  const onKey = (/** @type {KeyboardEvent} */ ev) => {
    if (typing(ev)) return;
    if (ev.key === 'Escape' && drawing) cancelDrawing();
    else if (ev.key === 'Enter' && drawing) finish();
    else if ((ev.key === 'Delete' || ev.key === 'Backspace') && selected && !drawing) removeSelected();
  };
  document.addEventListener('keydown', onKey);

  const handleRadius = () => Math.max(4, Math.round(Math.max(W, H) / 160));

  function removeSelected() {
    if (!selected || readOnly) return;
    if (selected.kind === 'zone') zones.splice(selected.index, 1);
    else masks.splice(selected.index, 1);
    selected = null;
    dirty = true;
    draw();
  }

  /** Point lists of a shape that the mouse can edit: [points, closed]. */
  /**
   * @param {ShapeKind} kind
   * @param {Zone | Mask} item
   * @returns {[Point[], boolean][]}
   */
  function partsOf(kind, item) {
    if (kind === 'mask') return [[/** @type {Mask} */ (item).polygon, true]];
    if (item.type === 'no-parking') return [[item.polygon, true]];
    const storefront = /** @type {StorefrontZone} */ (item);
    return [
      [storefront.storeLine, false],
      [storefront.sidewalk, true],
    ];
  }

  /** @param {Problem[]} found */
  function drawShapes(found) {
    shapes.replaceChildren();
    handles.replaceChildren();
    const bad = new Set(found.map((p) => `${p.kind}:${p.index}`));
    const add = (/** @type {ShapeKind} */ kind, /** @type {Zone | Mask} */ item, /** @type {number} */ index) => {
      const isSel = selected && selected.kind === kind && selected.index === index;
      const cls = `shape ${kind === 'mask' ? 'mask' : item.type}${isSel ? ' selected' : ''}${bad.has(`${kind}:${index}`) ? ' invalid' : ''}`;
      const g = s('g', { class: cls, 'data-id': item.id });
      for (const [pts, closed] of partsOf(kind, item)) {
        const attr = { points: pts.map((p) => p.join(',')).join(' ') };
        g.append(closed ? s('polygon', attr) : s('polyline', { ...attr, class: 'store-line' }));
      }
      const [first] = /** @type {[Point[], boolean]} */ (partsOf(kind, item)[0]);
      const corner = first[0];
      if (corner)
        g.append(s('text', { x: corner[0] + 6, y: corner[1] - 6, class: 'zone-label' }, item.name || item.id));
      g.addEventListener('click', (ev) => {
        if (drawing) return;
        ev.stopPropagation();
        selected = { kind, index };
        draw();
      });
      shapes.append(g);
      if (isSel && !readOnly) {
        for (const [pts, closed] of partsOf(kind, item)) {
          pts.forEach((p, i) => {
            const c = s('circle', { cx: p[0], cy: p[1], r: handleRadius(), class: 'handle', 'data-test': 'handle' });
            c.addEventListener('pointerdown', (ev) => {
              ev.stopPropagation();
              svg.setPointerCapture?.(ev.pointerId);
              drag = { points: pts, i };
            });
            c.addEventListener('dblclick', (ev) => {
              ev.stopPropagation();
              if (pts.length <= (closed ? MIN_POINTS.polygon : MIN_POINTS.line))
                return toast(t('zones.needPoints', { n: closed ? MIN_POINTS.polygon : MIN_POINTS.line }), 'error');
              pts.splice(i, 1);
              dirty = true;
              draw();
            });
            handles.append(c);
          });
        }
      }
    };
    zones.forEach((z, i) => add('zone', z, i));
    masks.forEach((m, i) => add('mask', m, i));
    if (drawing) {
      const g = s('g', { class: `shape drawing ${drawing.tool}` });
      if (drawing.line)
        g.append(s('polyline', { points: drawing.line.map((p) => p.join(',')).join(' '), class: 'store-line' }));
      if (drawing.points.length) g.append(s('polyline', { points: drawing.points.map((p) => p.join(',')).join(' ') }));
      drawing.points.forEach((p, i) =>
        g.append(s('circle', { cx: p[0], cy: p[1], r: handleRadius(), class: i === 0 ? 'handle first' : 'handle' })),
      );
      shapes.append(g);
    }
  }

  function drawPanel() {
    if (!selected) {
      panel.replaceChildren(h('p.muted', readOnly ? t('zones.readOnly') : t('zones.selectHint')));
      return;
    }
    // The panel edits whichever of the fields the selected zone or mask has.
    /** @type {any} */
    const item = selected.kind === 'zone' ? zones[selected.index] : masks[selected.index];
    const changed = () => {
      dirty = true;
      drawShapes(problems(cam, zones, masks));
      drawProblems();
    };
    /**
     * @param {string} name
     * @param {string | number | undefined} value
     * @param {(value: string) => void} onchange
     * @param {import('../lib.js').Attrs} [attrs]
     */
    const input = (name, value, onchange, attrs = {}) =>
      h('input', {
        name,
        value: value ?? '',
        disabled: readOnly,
        onchange: (e) => (onchange(/** @type {HTMLInputElement} */ (e.target).value), changed()),
        ...attrs,
      });
    /** @type {HTMLElement[]} */
    const rows = [
      h('h2', selected.kind === 'mask' ? t('zones.tool.mask') : t(`zones.tool.${item.type}`)),
      h('label', t('zones.id'), h('input', { name: 'zoneId', value: item.id, disabled: true })),
    ];
    rows.push(
      h(
        'label',
        t('zones.name'),
        input('zoneName', item.name, (v) => (item.name = v.trim() || undefined)),
      ),
    );
    if (selected.kind === 'zone') {
      rows.push(
        h(
          'label',
          t('zones.dwell'),
          input('dwellS', item.dwellS, (v) => (item.dwellS = Number(v)), { type: 'number', min: 1, step: 1 }),
        ),
      );
      const key = item.type === 'no-parking' ? 'windows' : 'businessHours';
      const err = h('span.error.small');
      rows.push(
        h(
          'label',
          t(item.type === 'no-parking' ? 'zones.windows' : 'zones.businessHours'),
          h('input', {
            name: 'windows',
            value: windowsText(item[key]),
            placeholder: t('zones.windowsHint'),
            disabled: readOnly,
            onchange: (e) => {
              try {
                const ws = parseWindows(/** @type {HTMLInputElement} */ (e.target).value);
                item[key] = ws.length ? ws : [{ from: '00:00', to: '24:00' }];
                err.textContent = '';
                changed();
              } catch (x) {
                err.textContent = /** @type {Error} */ (x).message;
              }
            },
          }),
          err,
        ),
      );
      if (item.type === 'no-parking') {
        rows.push(
          h(
            'fieldset.roles',
            h('legend', t('zones.roles')),
            ['vehicle', 'two-wheeler'].map((r) =>
              h(
                'label.check',
                h('input', {
                  type: 'checkbox',
                  name: `role-${r}`,
                  checked: item.roles?.includes(r),
                  disabled: readOnly,
                  onchange: (e) => {
                    const set = new Set(item.roles ?? []);
                    if (/** @type {HTMLInputElement} */ (e.target).checked) set.add(r);
                    else set.delete(r);
                    item.roles = ['vehicle', 'two-wheeler'].filter((x) => set.has(x));
                    changed();
                  },
                }),
                t(`zones.role.${r}`),
              ),
            ),
          ),
        );
      } else {
        rows.push(
          h(
            'label',
            t('zones.shopId'),
            input('shopId', item.shopId, (v) => (item.shopId = v.trim() || undefined)),
          ),
        );
      }
    }
    if (!readOnly)
      rows.push(
        h('button.small', { type: 'button', 'data-action': 'delete-zone', onclick: removeSelected }, t('zones.delete')),
      );
    panel.replaceChildren(...rows);
  }

  function drawProblems() {
    const found = problems(cam, zones, masks);
    const items = [
      ...found.map((p) => p.message),
      ...serverIssues.map((i) => `${t('zones.server')}: ${i.path.join('.')}: ${i.message}`),
    ];
    problemList.replaceChildren(...items.map((m) => h('li', m)));
    problemList.hidden = items.length === 0;
    saveBtn.disabled = readOnly || found.length > 0;
    return found;
  }

  function drawList() {
    const row = (/** @type {ShapeKind} */ kind, /** @type {Zone | Mask} */ item, /** @type {number} */ index) =>
      h(
        'li',
        {
          class: selected && selected.kind === kind && selected.index === index ? 'active' : '',
          dataset: { id: item.id },
        },
        h(
          'button.link',
          { type: 'button', onclick: () => ((selected = { kind, index }), (drawing = null), draw()) },
          `${item.name || item.id}`,
        ),
        h(
          'span.muted.small',
          ` ${kind === 'mask' ? t('zones.tool.mask') : t(`zones.tool.${item.type}`)}${kind === 'zone' ? ` · ${/** @type {Zone} */ (item).dwellS} s` : ''}`,
        ),
      );
    list.replaceChildren(...zones.map((z, i) => row('zone', z, i)), ...masks.map((m, i) => row('mask', m, i)));
  }

  function draw() {
    const found = drawProblems();
    drawShapes(found);
    drawPanel();
    drawList();
    finishBtn.hidden = !drawing;
    cancelBtn.hidden = !drawing;
    status.textContent = drawing
      ? t(`zones.drawing.${drawing.stage}`, { n: drawing.points.length })
      : dirty
        ? t('zones.unsaved')
        : '';
  }

  async function save() {
    serverIssues = [];
    try {
      const r = await api(`/api/cameras/${encodeURIComponent(id)}/zones`, { method: 'PUT', body: { zones, masks } });
      zones = structuredClone(r.camera.zones);
      masks = structuredClone(r.camera.masks ?? []);
      dirty = false;
      toast(t('zones.saved'), 'ok');
    } catch (e) {
      serverIssues = /** @type {any} */ (e)?.body?.issues ?? [];
      toast(errorText(e), 'error');
    }
    draw();
  }

  const tools = readOnly
    ? []
    : /** @type {const} */ (['no-parking', 'storefront', 'mask']).map((tool) =>
        h(
          'button.small',
          { type: 'button', 'data-tool': tool, onclick: () => startDrawing(tool) },
          t(`zones.draw.${tool}`),
        ),
      );
  draw();
  const el = h(
    'div.page.zone-editor',
    h('div.page-head', h('h1', t('zones.title', { id })), h('a', { href: '#/cameras' }, t('zones.back'))),
    h(
      'p.muted',
      `${cam.postedLocation} · ${cam.gridCell} · ${W}×${H}${readOnly ? ` · ${t('cameras.origin.file')}` : ''}`,
    ),
    h(
      'div.zone-toolbar',
      tools,
      finishBtn,
      cancelBtn,
      h(
        'button.small',
        {
          type: 'button',
          onclick: () => frame.setAttribute('href', `/api/cameras/${encodeURIComponent(id)}/frame?t=${Date.now()}`),
        },
        t('zones.reloadFrame'),
      ),
      !readOnly && saveBtn,
    ),
    status,
    h('div.zone-grid', h('div.zone-stage', svg, frameNote), h('div.zone-side', list, panel, problemList)),
  );
  return {
    el,
    destroy() {
      document.removeEventListener('keydown', onKey);
    },
  };
}
