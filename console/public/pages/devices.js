// @ts-check
// Staff: every sensor with its online/offline status, filtered by district, kind and status; refreshed every 30 s.
import { t } from '../i18n.js';
import { KINDS, api, badge, coalesce, errorText, fmtAgo, fmtTime, h, pager, select, toast } from '../lib.js';

const PAGE_SIZE = 100;
const saved = { district: '', kind: '', status: '', q: '' };

/**
 * One device as `GET /api/devices` lists it (console/devices-route.ts DeviceListItem, which the browser check cannot
 * load: it imports the server): the registry's record with what the directory saw. A device that publishes without
 * a registry entry has status `unregistered` and no place.
 * @typedef {object} DeviceListItem
 * @property {string} id
 * @property {string} deviceId
 * @property {string} kind
 * @property {string} district
 * @property {{ lat: number, lon: number } | null} location
 * @property {string | null} gridCell
 * @property {string} address
 * @property {{ name: string, party?: string } | null} site
 * @property {string | null} ruleGroup
 * @property {string | null} installedAt
 * @property {string | null} commissionedAt
 * @property {'active' | 'maintenance' | 'retired' | 'unregistered'} status
 * @property {boolean} online
 * @property {string | null} lastSeen
 * @property {'status' | 'alert' | 'silent' | 'never-seen'} [offlineReason]
 * @property {number} openAlerts
 */
/** @typedef {typeof saved} DeviceFilter */

export async function render() {
  const f = { ...saved };
  /** @type {DeviceListItem[]} */
  let devices = [];
  let page = 1;
  const tbody = h('tbody');
  const pagerBox = h('div');
  const summary = h('span.muted');
  const districtBox = h('span');

  const load = async () => {
    devices = await api('/api/devices');
  };

  const set = (/** @type {keyof DeviceFilter} */ k, /** @type {string} */ v) => {
    f[k] = v;
    saved[k] = v;
    page = 1;
    draw();
  };

  const draw = coalesce(() => {
    const list = devices.filter(
      (d) =>
        (!f.district || d.district === f.district) &&
        (!f.kind || d.kind === f.kind) &&
        (!f.status || (f.status === 'online') === d.online) &&
        (!f.q || d.deviceId.toLowerCase().includes(f.q.toLowerCase())),
    );
    summary.textContent = t('devices.summary', {
      online: devices.filter((d) => d.online).length,
      total: devices.length,
    });
    const districts = [...new Set(devices.map((d) => d.district))].sort();
    districtBox.replaceChildren(
      select(
        'district',
        f.district,
        [
          { value: '', label: `${t('common.district')}: ${t('common.all')}` },
          ...districts.map((d) => ({ value: d, label: d })),
        ],
        (v) => set('district', v),
      ),
    );
    const now = Date.now();
    const rows = list
      .slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)
      .map((d) =>
        h(
          `tr.device${d.online ? '' : '.offline'}`,
          { dataset: { device: d.deviceId, online: String(d.online) } },
          h('td', h('a', { href: `#/devices/${encodeURIComponent(d.deviceId)}` }, d.deviceId)),
          h('td', d.district),
          h('td', t(`kind.${d.kind}`)),
          h(
            'td',
            d.online ? badge('online', t('devices.online')) : badge('offline', t('devices.offline')),
            !d.online && d.offlineReason ? h('span.muted.small', ` ${t(`devices.reason.${d.offlineReason}`)}`) : null,
          ),
          h('td', { title: fmtTime(d.lastSeen) }, fmtAgo(d.lastSeen, now)),
          h('td.num', d.openAlerts ? h('a', { href: '#/alerts' }, String(d.openAlerts)) : '0'),
        ),
      );
    tbody.replaceChildren(...(rows.length ? rows : [h('tr', h('td.empty', { colSpan: 6 }, t('common.empty')))]));
    pagerBox.replaceChildren(pager(page, PAGE_SIZE, list.length, (p) => ((page = p), draw())));
  });

  await load();
  const timer = setInterval(() => load().then(draw, (e) => toast(errorText(e), 'error')), 30_000);
  const el = h(
    'div.page.devices',
    h('div.page-head', h('h1', t('devices.title')), summary),
    h(
      'div.filters',
      districtBox,
      select(
        'kind',
        f.kind,
        [
          { value: '', label: `${t('common.kind')}: ${t('common.all')}` },
          ...KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) })),
        ],
        (v) => set('kind', v),
      ),
      select(
        'status',
        f.status,
        [
          { value: '', label: `${t('common.status')}: ${t('common.all')}` },
          { value: 'online', label: t('devices.online') },
          { value: 'offline', label: t('devices.offline') },
        ],
        (v) => set('status', v),
      ),
      h('input', {
        name: 'q',
        type: 'search',
        placeholder: t('devices.id'),
        value: f.q,
        oninput: (e) => set('q', /** @type {HTMLInputElement} */ (e.target).value.trim()),
      }),
      h(
        'button.small',
        { type: 'button', onclick: () => load().then(draw, (e) => toast(errorText(e), 'error')) },
        t('common.refresh'),
      ),
    ),
    h(
      'table.list',
      h(
        'thead',
        h(
          'tr',
          [
            'devices.id',
            'common.district',
            'common.kind',
            'common.status',
            'devices.lastSeen',
            'devices.openAlerts',
          ].map((k) => h('th', t(k))),
        ),
      ),
      tbody,
    ),
    pagerBox,
  );
  draw();
  return { el, destroy: () => clearInterval(timer) };
}
