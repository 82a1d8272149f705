// @ts-check
// Staff: the live alert list. One request loads the list (filtered by state, district and kind on the server,
// severity and device here); the Server-Sent Events stream /api/alerts/stream pushes every change, which is merged
// in place without a reload. Acknowledge and resolve take an optional note; the history shows who did what when.
import { pick, t } from '../i18n.js';
import {
  ApiError,
  KINDS,
  SEVERITIES,
  UNITS,
  api,
  badge,
  coalesce,
  errorText,
  fmtAgo,
  fmtNum,
  fmtTime,
  h,
  pager,
  qs,
  select,
  toast,
} from '../lib.js';

/**
 * An alert as the API sends it (alerts/routes.ts: the store's Alert with its times as ISO 8601 strings).
 * @typedef {object} AlertView
 * @property {string} id
 * @property {string} ruleId
 * @property {'threshold' | 'health' | 'anomaly'} category
 * @property {{ zh: string, en: string }} name
 * @property {string} standard
 * @property {string} deviceId
 * @property {string} district
 * @property {string} kind
 * @property {string} metric
 * @property {string} severity
 * @property {string} [tierLabel]
 * @property {'firing' | 'acknowledged' | 'resolved'} state
 * @property {string} firstSeen
 * @property {string} lastSeen
 * @property {number} value
 * @property {number} level
 * @property {number} peak
 * @property {{ model: string, low?: number, high?: number }} [expected]
 * @property {{ gridCell: string, location?: { lat: number, lon: number }, address?: string, site?: unknown }} [place]
 * @property {boolean} caseWorthy
 * @property {string} [caseCode]
 * @property {number} flaps
 * @property {string} [resolvedAt]
 * @property {{ at: string, type: string, by: string, severity?: string, value?: number, note?: string }[]} history
 */
/** @typedef {typeof saved} AlertFilter */

const PAGE_SIZE = 50;
// Filters survive leaving the page and coming back (for this tab).
const saved = { state: 'open', district: '', kind: '', severity: '', device: '' };

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  const f = { ...saved };
  /** @type {Map<string, AlertView>} */
  const items = new Map();
  /** @type {Set<string>} */
  const fresh = new Set();
  /** @type {Set<string>} */
  const expanded = new Set();
  let page = 1;
  /** @type {{ id: string, action: 'ack' | 'resolve', draft: string, focus: boolean } | null} */
  let acting = null;
  /** @type {Set<string>} */
  let districts = new Set();
  /** @type {EventSource | null} */
  let es = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let reconnectTimer;
  let destroyed = false;

  const live = h('span.live', { 'data-test': 'live' });
  const summary = h('span.muted');
  const tbody = h('tbody');
  const pagerBox = h('div');
  const districtSel = h('span');

  const setLive = (/** @type {boolean} */ on) => {
    live.className = on ? 'live on' : 'live off';
    live.textContent = on ? `● ${t('alerts.live')}` : `○ ${t('alerts.reconnecting')}`;
  };

  const matches = (/** @type {AlertView} */ a) =>
    (f.state === 'open' ? a.state !== 'resolved' : f.state === 'all' || a.state === f.state) &&
    (!f.district || a.district === f.district) &&
    (!f.kind || a.kind === f.kind) &&
    (!f.severity || a.severity === f.severity) &&
    (!f.device || a.deviceId.toLowerCase().includes(f.device.toLowerCase()));

  const sorted = () =>
    [...items.values()]
      .filter(matches)
      // Most severe first, then newest; an acknowledged alert keeps its place (it does not jump away when acted on).
      .sort(
        (a, b) =>
          SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) ||
          Date.parse(b.firstSeen) - Date.parse(a.firstSeen),
      );

  // Alerts pushed by the stream while a list is being fetched: the fetched list may predate them, so they are laid
  // over it instead of being wiped by it (a new alert would otherwise vanish until the next reload).
  /** @type {Map<string, AlertView> | null} */
  let pushedDuringLoad = null;

  async function load() {
    const serverState = f.state === 'all' ? undefined : f.state;
    /** @type {Map<string, AlertView>} */
    const pushed = new Map();
    pushedDuringLoad = pushed;
    /** @type {{ items: AlertView[] }} */
    let r;
    try {
      r = await api(`/api/alerts${qs({ state: serverState, district: f.district, kind: f.kind, limit: 5000 })}`);
    } finally {
      if (pushedDuringLoad === pushed) pushedDuringLoad = null;
    }
    items.clear();
    for (const a of r.items) items.set(a.id, a);
    for (const a of pushed.values()) if (matches(a)) items.set(a.id, a);
    for (const a of items.values()) districts.add(a.district);
  }

  function districtOptions() {
    districtSel.replaceChildren(
      select(
        'district',
        f.district,
        [
          { value: '', label: `${t('common.district')}: ${t('common.all')}` },
          ...[...districts].sort().map((d) => ({ value: d, label: d })),
        ],
        (v) => setFilter('district', v, true),
      ),
    );
  }

  /**
   * @param {keyof AlertFilter} key
   * @param {string} value
   * @param {boolean} [reload] the server filters by it: fetch the list again
   */
  async function setFilter(key, value, reload) {
    f[key] = value;
    saved[key] = value;
    page = 1;
    if (reload) {
      try {
        await load();
      } catch (e) {
        toast(errorText(e), 'error');
      }
    }
    draw();
  }

  const draw = coalesce(() => {
    if (destroyed) return;
    const list = sorted();
    const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
    if (page > pages) page = pages;
    const firing = list.filter((a) => a.state === 'firing').length;
    const acknowledged = list.filter((a) => a.state === 'acknowledged').length;
    summary.textContent = t('alerts.summary', { firing, acknowledged });
    /** @type {HTMLTableRowElement[]} */
    const rows = [];
    for (const a of list.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)) {
      rows.push(row(a));
      if (acting?.id === a.id) rows.push(actionRow(a));
      if (expanded.has(a.id)) rows.push(detailRow(a));
    }
    const focused = /** @type {HTMLTextAreaElement | null} */ (document.activeElement)?.name === 'note';
    tbody.replaceChildren(...(rows.length ? rows : [h('tr', h('td.empty', { colSpan: 7 }, t('common.empty')))]));
    pagerBox.replaceChildren(pager(page, PAGE_SIZE, list.length, (p) => ((page = p), draw())));
    if (focused || acting?.focus) {
      const ta = /** @type {HTMLTextAreaElement | null} */ (tbody.querySelector('textarea[name=note]'));
      if (ta) {
        ta.focus();
        ta.setSelectionRange(ta.value.length, ta.value.length);
      }
      if (acting) acting.focus = false;
    }
  });

  function row(/** @type {AlertView} */ a) {
    const unit = UNITS[a.metric] ?? '';
    const isNew = fresh.has(a.id);
    return h(
      `tr.alert.state-${a.state}${isNew ? '.fresh' : ''}`,
      { dataset: { id: a.id, state: a.state, device: a.deviceId } },
      h('td', badge(`sev-${a.severity}`, t(`severity.${a.severity}`))),
      h(
        'td',
        h(
          'button.link.name',
          { type: 'button', onclick: () => toggle(expanded, a.id), title: t('common.details') },
          pick(a.name),
        ),
        a.tierLabel && h('span.tag', a.tierLabel),
        h('span.tag.cat', t(`alerts.category.${a.category}`)),
        a.caseWorthy && h('span.tag.case', t('alerts.caseWorthy')),
      ),
      h(
        'td',
        h('a', { href: `#/devices/${encodeURIComponent(a.deviceId)}` }, a.deviceId),
        h('div.muted.small', `${a.district} · ${t(`kind.${a.kind}`)}`),
      ),
      h(
        'td.num',
        `${fmtNum(a.value)} / ${fmtNum(a.level)} `,
        h('span.muted.small', unit),
        h('div.muted.small', a.metric),
      ),
      h('td', badge(`st-${a.state}`, t(`alerts.state.${a.state}`))),
      h(
        'td',
        h('span', { title: fmtTime(a.firstSeen) }, fmtAgo(a.firstSeen)),
        h('div.muted.small', { title: fmtTime(a.lastSeen) }, `${t('alerts.last')} ${fmtAgo(a.lastSeen)}`),
      ),
      h(
        'td.actions',
        a.state === 'firing' &&
          h(
            'button.small',
            { type: 'button', 'data-action': 'ack', onclick: () => openAction(a.id, 'ack') },
            t('alerts.ack'),
          ),
        a.state !== 'resolved' &&
          h(
            'button.small',
            { type: 'button', 'data-action': 'resolve', onclick: () => openAction(a.id, 'resolve') },
            t('alerts.resolve'),
          ),
      ),
    );
  }

  /**
   * The note form under the alert being acted on (drawn only while `acting` is set for it).
   * @param {AlertView} a
   */
  function actionRow(a) {
    const shown = /** @type {NonNullable<typeof acting>} */ (acting);
    const ta = h('textarea', {
      name: 'note',
      rows: 2,
      maxLength: 2000,
      placeholder: t('common.notePlaceholder'),
      oninput: (e) => acting && (acting.draft = /** @type {HTMLTextAreaElement} */ (e.target).value),
    });
    ta.value = shown.draft;
    const submit = h(
      'button.primary.small',
      { type: 'submit', 'data-test': 'submit-action' },
      shown.action === 'ack' ? t('alerts.ack') : t('alerts.resolve'),
    );
    return h(
      'tr.action-row',
      h(
        'td',
        { colSpan: 7 },
        h(
          'form.inline',
          {
            onsubmit: async (e) => {
              e.preventDefault();
              if (!acting) return;
              submit.disabled = true;
              await act(a, acting.action, acting.draft.trim());
            },
            onkeydown: (e) => {
              if (e.key === 'Escape') closeAction();
            },
          },
          h('strong', shown.action === 'ack' ? t('alerts.ackTitle') : t('alerts.resolveTitle')),
          ta,
          submit,
          h('button.small', { type: 'button', onclick: closeAction }, t('common.cancel')),
        ),
      ),
    );
  }

  function detailRow(/** @type {AlertView} */ a) {
    return h(
      'tr.detail-row',
      h(
        'td',
        { colSpan: 7 },
        h(
          'div.detail',
          h('div', h('strong', `${t('alerts.standard')}: `), a.standard),
          h('div.muted', [
            t('alerts.peak', { v: fmtNum(a.peak) }),
            a.flaps ? ` · ${t('alerts.flaps', { n: a.flaps })}` : '',
            a.caseCode ? ` · ${a.caseCode}` : '',
          ]),
          h('h4', t('alerts.history')),
          h(
            'ol.history',
            a.history.map((e) =>
              h(
                'li',
                h('span.muted', fmtTime(e.at)),
                ' ',
                h('strong', t(`alert.${e.type}`)),
                ' · ',
                e.by === 'system' ? t('alert.system') : e.by,
                e.severity ? ` · ${t(`severity.${e.severity}`)}` : '',
                typeof e.value === 'number' ? ` · ${fmtNum(e.value)}` : '',
                e.note ? h('div.note', e.note) : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  function toggle(/** @type {Set<string>} */ set, /** @type {string} */ id) {
    if (set.has(id)) set.delete(id);
    else set.add(id);
    draw();
  }

  function openAction(/** @type {string} */ id, /** @type {'ack' | 'resolve'} */ action) {
    acting = { id, action, draft: acting?.id === id ? acting.draft : '', focus: true };
    draw();
  }

  function closeAction() {
    acting = null;
    draw();
  }

  async function act(/** @type {AlertView} */ a, /** @type {'ack' | 'resolve'} */ action, /** @type {string} */ note) {
    try {
      /** @type {AlertView} */
      const updated = await api(`/api/alerts/${encodeURIComponent(a.id)}/${action}`, {
        method: 'POST',
        body: note ? { note } : {},
      });
      items.set(updated.id, updated);
      acting = null;
      toast(action === 'ack' ? t('alerts.acked') : t('alerts.resolved'), 'ok');
    } catch (e) {
      toast(errorText(e), 'error');
      if (e instanceof ApiError && e.status === 409) acting = null;
    }
    draw();
  }

  function connect() {
    es = new EventSource('/api/alerts/stream');
    let hadError = false;
    es.onopen = () => {
      setLive(true);
      // Changes may have been missed while disconnected: load the list again.
      if (hadError) load().then(draw, () => undefined);
      hadError = false;
    };
    es.addEventListener('alert', (ev) => {
      /** @type {AlertView} */
      let a;
      try {
        a = JSON.parse(ev.data);
      } catch {
        return;
      }
      const known = items.has(a.id);
      if (!known && !matches(a)) return;
      if (!known) {
        fresh.add(a.id);
        setTimeout(() => {
          fresh.delete(a.id);
          draw();
        }, 8000);
      }
      items.set(a.id, a);
      pushedDuringLoad?.set(a.id, a);
      districts.add(a.district);
      draw();
    });
    es.onerror = () => {
      hadError = true;
      setLive(false);
      if (es?.readyState === EventSource.CLOSED && !destroyed) {
        // The server refused the stream (a 401 ends the session; anything else: try again shortly).
        api('/api/session').catch(() => undefined);
        reconnectTimer = setTimeout(connect, 5000);
      }
    };
  }

  await load();
  try {
    const devices = await api('/api/devices');
    for (const d of devices) districts.add(d.district);
  } catch {
    /* the device list is optional here */
  }
  districtOptions();
  setLive(false);
  connect();

  const el = h(
    'div.page.alerts',
    h('div.page-head', h('h1', t('alerts.title')), live, summary),
    h(
      'div.filters',
      select(
        'state',
        f.state,
        ['open', 'firing', 'acknowledged', 'resolved', 'all'].map((s) => ({
          value: s,
          label: `${t('alerts.state')}: ${s === 'all' ? t('common.all') : t(`alerts.state.${s}`)}`,
        })),
        (v) => setFilter('state', v, true),
      ),
      districtSel,
      select(
        'kind',
        f.kind,
        [
          { value: '', label: `${t('common.kind')}: ${t('common.all')}` },
          ...KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) })),
        ],
        (v) => setFilter('kind', v, true),
      ),
      select(
        'severity',
        f.severity,
        [
          { value: '', label: `${t('severity.label')}: ${t('common.all')}` },
          ...SEVERITIES.map((s) => ({ value: s, label: t(`severity.${s}`) })),
        ],
        (v) => setFilter('severity', v, false),
      ),
      h('input', {
        name: 'device',
        type: 'search',
        placeholder: t('alerts.searchDevice'),
        value: f.device,
        oninput: (e) => setFilter('device', /** @type {HTMLInputElement} */ (e.target).value.trim(), false),
      }),
      h('button.small', { type: 'button', onclick: () => setFilter('state', f.state, true) }, t('common.refresh')),
    ),
    h(
      'table.list',
      h(
        'thead',
        h(
          'tr',
          [
            'severity.label',
            'alerts.alert',
            'alerts.device',
            'alerts.value',
            'alerts.state',
            'alerts.since',
            'alerts.actions',
          ].map((k) => h('th', t(k))),
        ),
      ),
      tbody,
    ),
    pagerBox,
  );
  draw();
  return {
    el,
    destroy() {
      destroyed = true;
      clearTimeout(reconnectTimer);
      es?.close();
    },
  };
}
