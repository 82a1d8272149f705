// @ts-check
// Admin: cameras — the registry (the file's cameras, read-only, and the ones registered here), and the form that
// registers one: id, place, grid cell, coordinates, frame size, source, credentials (sent, never shown back), model.
import { t } from '../i18n.js';
import { api, badge, errorText, fmtAgo, h, toast } from '../lib.js';

/**
 * A camera as `GET /api/cameras` lists it (cameras/service.ts CameraView). `camera` is the registry's camera
 * (vision/cameras/config.ts Camera: place, frame size, zones, masks, rules and more), which the browser check cannot
 * load: its fields stay loosely typed here.
 * @typedef {object} CameraView
 * @property {'file' | 'console'} origin
 * @property {Record<string, any>} camera
 * @property {{ type: string, url?: string }} [source]
 * @property {boolean} hasCredentials
 * @property {{ ts: number, width: number, height: number } | null} latestFrame
 */
/** A detection model the worker can run (`GET /api/cameras/models`); `input` absent: the shape comes from the file. */
/** @typedef {{ name: string, input?: { width: number, height: number } }} Model */

const SOURCE_TYPES = ['snapshot', 'rtsp'];
/** The motion gate's defaults (vision/motion/config.ts), shown in a new camera's form. */
const MOTION_DEFAULTS = { threshold: 18, reverifyS: 10, wholeFrameS: 60 };

/** The model whose input shape is nearest the camera's aspect ratio (a fixed-shape model letterboxes the rest). */
/**
 * @param {Model[]} models
 * @param {number} width
 * @param {number} height
 * @returns {string | null}
 */
export function nearestModel(models, width, height) {
  const aspect = width / height;
  /** @type {{ name: string, d: number } | null} */
  let best = null;
  for (const m of models) {
    // A model that takes its shape from the file is square in practice (640x640).
    const a = m.input ? m.input.width / m.input.height : 1;
    const d = Math.abs(Math.log(a / aspect));
    if (!best || d < best.d - 1e-9) best = { name: m.name, d };
  }
  return best?.name ?? null;
}

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  /** @type {CameraView[]} */
  let cameras = [];
  /** @type {{ default: string | null, fixedCamera: string | null, items: Model[] }} */
  let models = { default: null, fixedCamera: null, items: [] };
  /**
   * The id of the camera whose settings the form is changing; null: the form registers a new one.
   * @type {string | null}
   */
  let editing = null;
  const tbody = h('tbody');

  const load = async () => {
    const [c, m] = await Promise.all([api('/api/cameras'), api('/api/cameras/models')]);
    cameras = c.items;
    models = m;
  };

  function draw() {
    tbody.replaceChildren(
      ...(cameras.length === 0
        ? [h('tr', h('td.muted', { colSpan: 7 }, t('common.empty')))]
        : cameras.map((c) =>
            h(
              'tr.camera',
              { dataset: { id: c.camera.id } },
              h('td.mono', h('a', { href: `#/cameras/${encodeURIComponent(c.camera.id)}` }, c.camera.id)),
              h('td', c.camera.postedLocation, h('div.muted.small.mono', c.camera.gridCell)),
              h('td', c.camera.district),
              h(
                'td',
                c.source ? t(`cameras.source.${c.source.type}`) : '—',
                c.hasCredentials ? h('div.muted.small', t('cameras.hasCredentials')) : null,
              ),
              h('td', t('cameras.zoneCount', { n: c.camera.zones.length, m: c.camera.masks?.length ?? 0 })),
              h('td', c.latestFrame ? fmtAgo(c.latestFrame.ts) : badge('offline', t('cameras.noFrame'))),
              h(
                'td.actions',
                c.origin === 'file'
                  ? h('span.muted.small', { title: t('cameras.fileHint') }, t('cameras.origin.file'))
                  : [
                      h(
                        'button.small',
                        { type: 'button', 'data-action': 'edit', onclick: () => edit(c) },
                        t('cameras.edit'),
                      ),
                      h(
                        'button.small',
                        { type: 'button', 'data-action': 'delete', onclick: () => remove(c) },
                        t('cameras.delete'),
                      ),
                    ],
              ),
            ),
          )),
    );
    drawModels();
  }

  async function remove(/** @type {CameraView} */ c) {
    if (!confirm(t('cameras.deleteConfirm', { id: c.camera.id }))) return;
    try {
      await api(`/api/cameras/${encodeURIComponent(c.camera.id)}`, { method: 'DELETE' });
      toast(t('cameras.deleted', { id: c.camera.id }), 'ok');
      await load();
      draw();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  const field = (/** @type {string} */ name, /** @type {import('../lib.js').Attrs} */ attrs = {}) =>
    h('input', { name, autocomplete: 'off', ...attrs });
  const f = {
    id: field('id', { required: true, pattern: '[A-Za-z0-9_.\\-]{1,64}' }),
    district: field('district', { required: true, pattern: '[A-Za-z0-9_.\\-]{1,64}' }),
    place: field('place', { required: true }),
    gridCell: field('gridCell', {
      required: true,
      pattern: '\\d{15}',
      inputMode: 'numeric',
      placeholder: '320582008024372',
    }),
    lat: field('lat', { required: true, type: 'number', step: 'any', min: -90, max: 90 }),
    lon: field('lon', { required: true, type: 'number', step: 'any', min: -180, max: 180 }),
    width: field('width', { required: true, type: 'number', min: 1, value: 1920 }),
    height: field('height', { required: true, type: 'number', min: 1, value: 1080 }),
    fps: field('fps', { type: 'number', min: 0.1, max: 30, step: 'any', value: 1 }),
    publishedAt: field('publishedAt', { type: 'date' }),
    sourceType: h(
      'select',
      { name: 'sourceType' },
      SOURCE_TYPES.map((s) => h('option', { value: s }, t(`cameras.source.${s}`))),
    ),
    url: field('url', {
      required: true,
      type: 'url',
      placeholder: 'http://192.0.2.10/ISAPI/Streaming/channels/101/picture',
    }),
    username: field('username'),
    password: field('password', { type: 'password', autocomplete: 'new-password' }),
    model: h('select', { name: 'model' }),
    // The motion gate (vision/motion): the settings a city changes; the rest keep the camera's values.
    motionEnabled: field('motionEnabled', { type: 'checkbox', checked: true }),
    motionThreshold: field('motionThreshold', {
      type: 'number',
      min: 1,
      max: 255,
      step: 1,
      value: MOTION_DEFAULTS.threshold,
    }),
    motionReverifyS: field('motionReverifyS', {
      type: 'number',
      min: 1,
      max: 3600,
      step: 1,
      value: MOTION_DEFAULTS.reverifyS,
    }),
    motionWholeFrameS: field('motionWholeFrameS', {
      type: 'number',
      min: 1,
      max: 86400,
      step: 1,
      value: MOTION_DEFAULTS.wholeFrameS,
    }),
  };
  /**
   * The edited camera's whole motion setting, so that fields the form does not show (set through the API or the
   * registry file) are kept when it saves.
   * @type {Record<string, unknown>}
   */
  let motionKept = {};
  const motionFields = [f.motionThreshold, f.motionReverifyS, f.motionWholeFrameS];
  const motionOnOff = () => motionFields.forEach((el) => (el.disabled = !f.motionEnabled.checked));
  f.motionEnabled.addEventListener('change', motionOnOff);
  const modelHint = h('p.muted.small', { 'data-test': 'model-hint' });
  const formTitle = h('h2', t('cameras.create'));
  const submit = h('button.primary', { type: 'submit' }, t('cameras.create'));
  const cancelEdit = h(
    'button.small',
    { type: 'button', hidden: true, 'data-action': 'cancel-edit', onclick: () => stopEditing() },
    t('common.cancel'),
  );

  /** Fills the form with a console camera's settings; its account is kept unless a new one is typed. */
  function edit(/** @type {CameraView} */ c) {
    editing = c.camera.id;
    const cam = c.camera;
    f.id.value = cam.id;
    f.id.readOnly = true;
    f.district.value = cam.district;
    f.place.value = cam.postedLocation;
    f.gridCell.value = cam.gridCell;
    f.lat.value = String(cam.location.lat);
    f.lon.value = String(cam.location.lon);
    f.width.value = String(cam.width);
    f.height.value = String(cam.height);
    f.fps.value = String(cam.fps);
    f.publishedAt.value = cam.publishedAt ?? '';
    f.sourceType.value = c.source?.type ?? 'snapshot';
    f.url.value = c.source?.url ?? '';
    f.username.value = '';
    f.password.value = '';
    f.username.placeholder = c.hasCredentials ? t('cameras.keepCredentials') : '';
    drawModels();
    f.model.value = cam.model ?? models.default ?? '';
    motionKept = cam.motion ?? {};
    f.motionEnabled.checked = cam.motion?.enabled ?? true;
    f.motionThreshold.value = String(cam.motion?.threshold ?? MOTION_DEFAULTS.threshold);
    f.motionReverifyS.value = String(cam.motion?.reverifyS ?? MOTION_DEFAULTS.reverifyS);
    f.motionWholeFrameS.value = String(cam.motion?.wholeFrameS ?? MOTION_DEFAULTS.wholeFrameS);
    motionOnOff();
    formTitle.textContent = t('cameras.editTitle', { id: cam.id });
    submit.textContent = t('common.save');
    cancelEdit.hidden = false;
    f.place.focus();
  }

  function stopEditing() {
    editing = null;
    form.reset();
    f.id.readOnly = false;
    f.username.placeholder = '';
    formTitle.textContent = t('cameras.create');
    submit.textContent = t('cameras.create');
    cancelEdit.hidden = true;
    motionKept = {};
    motionOnOff();
    errors.hidden = true;
    drawModels();
  }
  const errors = h('ul.form-errors', { hidden: true, 'data-test': 'errors' });

  function drawModels() {
    const w = Number(f.width.value) || 16;
    const hh = Number(f.height.value) || 9;
    // The deployment's model for a fixed street camera (models.json fixedCamera), else the nearest aspect ratio's.
    const fixed = models.items.some((m) => m.name === models.fixedCamera) ? models.fixedCamera : null;
    const best = fixed ?? nearestModel(models.items, w, hh);
    const chosen = f.model.value;
    f.model.replaceChildren(
      ...models.items.map((m) =>
        h(
          'option',
          { value: m.name },
          `${m.name}${m.input ? ` · ${m.input.width}×${m.input.height}` : ''}${m.name === models.default ? ` (${t('cameras.defaultModel')})` : ''}`,
        ),
      ),
    );
    f.model.value = chosen && models.items.some((m) => m.name === chosen) ? chosen : (best ?? models.default ?? '');
    modelHint.textContent = fixed
      ? t('cameras.modelHintFixed', { model: fixed })
      : best
        ? t('cameras.modelHint', { model: best, w, h: hh })
        : '';
  }
  f.width.addEventListener('change', () => ((f.model.value = ''), drawModels()));
  f.height.addEventListener('change', () => ((f.model.value = ''), drawModels()));

  const form = h(
    'form.create.camera-form',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        errors.hidden = true;
        const body = {
          id: f.id.value.trim(),
          district: f.district.value.trim(),
          place: f.place.value.trim(),
          gridCell: f.gridCell.value.trim(),
          location: { lat: Number(f.lat.value), lon: Number(f.lon.value) },
          width: Number(f.width.value),
          height: Number(f.height.value),
          fps: Number(f.fps.value) || 1,
          ...(f.model.value ? { model: f.model.value } : {}),
          ...(f.publishedAt.value ? { publishedAt: f.publishedAt.value } : {}),
          source: { type: f.sourceType.value, url: f.url.value.trim() },
          ...(f.username.value ? { credentials: { username: f.username.value, password: f.password.value } } : {}),
          motion: {
            ...motionKept,
            enabled: f.motionEnabled.checked,
            threshold: Number(f.motionThreshold.value) || MOTION_DEFAULTS.threshold,
            reverifyS: Number(f.motionReverifyS.value) || MOTION_DEFAULTS.reverifyS,
            wholeFrameS: Number(f.motionWholeFrameS.value) || MOTION_DEFAULTS.wholeFrameS,
          },
        };
        try {
          if (editing) {
            // The settings only: the zones stay as drawn (the server refuses settings they would not fit).
            await api(`/api/cameras/${encodeURIComponent(editing)}`, { method: 'PUT', body });
            toast(t('cameras.updated', { id: editing }), 'ok');
            stopEditing();
            await load();
            draw();
            return;
          }
          await api('/api/cameras', { method: 'POST', body });
          toast(t('cameras.created', { id: body.id }), 'ok');
          ctx.navigate(`cameras/${encodeURIComponent(body.id)}`);
        } catch (err) {
          // A 400 names each field that was refused (zod's issues).
          /** @type {{ path: (string | number)[], message: string }[]} */
          const issues = /** @type {any} */ (err)?.body?.issues ?? [];
          if (issues.length) {
            errors.replaceChildren(...issues.map((i) => h('li', `${i.path.join('.')}: ${i.message}`)));
            errors.hidden = false;
          }
          toast(errorText(err), 'error');
        } finally {
          // Never kept in the page longer than needed.
          f.password.value = '';
        }
      },
    },
    formTitle,
    h('label', t('cameras.id'), f.id),
    h('label', t('common.district'), f.district),
    h('label', t('cameras.place'), f.place),
    h('label', t('cameras.gridCell'), f.gridCell),
    h('div.row2', h('label', t('cameras.lat'), f.lat), h('label', t('cameras.lon'), f.lon)),
    h('div.row2', h('label', t('cameras.width'), f.width), h('label', t('cameras.height'), f.height)),
    h('label', t('cameras.fps'), f.fps),
    h('label', t('cameras.publishedAt'), f.publishedAt),
    h('p.muted.small', t('cameras.publishedAtHint')),
    h('label', t('cameras.sourceType'), f.sourceType),
    h('label', t('cameras.url'), f.url),
    h('div.row2', h('label', t('cameras.username'), f.username), h('label', t('cameras.password'), f.password)),
    h('p.muted.small', t('cameras.credentialsHint')),
    h('label', t('cameras.model'), f.model),
    modelHint,
    h(
      'fieldset.motion',
      { 'data-test': 'motion' },
      h('legend', t('cameras.motion')),
      h('label.check', f.motionEnabled, ' ', t('cameras.motionEnabled')),
      h('p.muted.small', t('cameras.motionHint')),
      h('label', t('cameras.motionThreshold'), f.motionThreshold),
      h(
        'div.row2',
        h('label', t('cameras.motionReverifyS'), f.motionReverifyS),
        h('label', t('cameras.motionWholeFrameS'), f.motionWholeFrameS),
      ),
    ),
    errors,
    h('div.row', submit, cancelEdit),
  );

  await load();
  draw();
  const el = h(
    'div.page.cameras',
    h('div.page-head', h('h1', t('cameras.title'))),
    h(
      'div.users-grid',
      h(
        'table.list',
        h(
          'thead',
          h(
            'tr',
            [
              'cameras.id',
              'cameras.place',
              'common.district',
              'cameras.sourceType',
              'cameras.zones',
              'cameras.latestFrame',
              'alerts.actions',
            ].map((k) => h('th', t(k))),
          ),
        ),
        tbody,
      ),
      form,
    ),
  );
  return { el };
}
