// @ts-check
// Parties: how many violations each registered shop or vehicle had, per event type, within the window the leniency
// rule counts in (a first offence in the window ends at the notice; repeats go to case). One request loads them all;
// sorting and searching happen here. Column titles sort (again: the other way). Refreshed every minute.
import { t, tOr } from '../i18n.js';
import { api, errorText, fmtAgo, fmtTime, h, pager, toast } from '../lib.js';

const PAGE_SIZE = 100;
const REFRESH_MS = 60_000;
const EVENT_TYPES = ['out-of-store-vending', 'illegal-parking'];
const saved = { key: 'total', dir: -1, q: '' };

/**
 * One party as `GET /api/parties` lists it: violations per event type within the window.
 * @typedef {{ id: string, kind: string, name?: string, licenceNo?: string, counts?: Record<string, number>, lastAt?: number }} PartyCount
 */
/** @typedef {'name' | 'kind' | 'total' | 'lastAt' | string} SortKey 'total', a column, or an event type */

const total = (/** @type {PartyCount} */ p) => Object.values(p.counts ?? {}).reduce((a, b) => a + (Number(b) || 0), 0);

/**
 * The value a column sorts by.
 * @param {PartyCount} p
 * @param {SortKey} key
 * @returns {string | number}
 */
function sortValue(p, key) {
  if (key === 'name') return p.name ?? '';
  if (key === 'kind') return p.kind ?? '';
  if (key === 'total') return total(p);
  if (key === 'lastAt') return p.lastAt ?? 0;
  return Number(p.counts?.[key] ?? 0);
}

export async function render() {
  /** @type {{ windowDays: number | null, items: PartyCount[] }} */
  let data = { windowDays: null, items: [] };
  let { key, dir, q } = saved;
  let page = 1;
  const tbody = h('tbody');
  const headRow = h('tr');
  const pagerBox = h('div');
  const windowLine = h('p.window', { 'data-test': 'window' });
  const summary = h('span.muted');

  const load = async () => {
    data = await api('/api/parties');
  };

  function sorted() {
    const needle = q.trim().toLowerCase();
    const items = needle
      ? data.items.filter((p) => `${p.name} ${p.licenceNo ?? ''} ${p.id}`.toLowerCase().includes(needle))
      : [...data.items];
    const collator = new Intl.Collator('zh-CN', { numeric: true });
    items.sort((a, b) => {
      const va = sortValue(a, key);
      const vb = sortValue(b, key);
      // Both values come from the same column: both strings or both numbers.
      const c =
        typeof va === 'string' ? collator.compare(va, /** @type {string} */ (vb)) : va - /** @type {number} */ (vb);
      // Ties: most violations first, then by name, so the order is stable.
      return dir * c || total(b) - total(a) || collator.compare(a.name ?? '', b.name ?? '');
    });
    return items;
  }

  function sortBy(/** @type {SortKey} */ k) {
    if (k === key) dir = -dir;
    else {
      key = k;
      dir = k === 'name' || k === 'kind' ? 1 : -1;
    }
    Object.assign(saved, { key, dir });
    page = 1;
    draw();
  }

  function th(/** @type {SortKey} */ k, /** @type {string} */ label, cls = '') {
    const arrow = k === key ? (dir > 0 ? ' ▲' : ' ▼') : '';
    return h(
      `th${cls}`,
      { 'aria-sort': k === key ? (dir > 0 ? 'ascending' : 'descending') : 'none' },
      h(
        'button.sort',
        { type: 'button', 'data-sort': k, title: t('parties.sortHint'), onclick: () => sortBy(k) },
        label,
        arrow,
      ),
    );
  }

  function draw() {
    windowLine.textContent = data.windowDays ? t('parties.window', { n: data.windowDays }) : '';
    const items = sorted();
    summary.textContent = t('parties.summary', { n: items.length });
    headRow.replaceChildren(
      th('name', t('parties.name')),
      th('kind', t('parties.kind')),
      h('th', t('parties.licence')),
      ...EVENT_TYPES.map((ty) => th(ty, t(`review.type.${ty}`), '.num')),
      th('total', t('parties.total'), '.num'),
      th('lastAt', t('parties.lastAt')),
    );
    const shown = items.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    tbody.replaceChildren(
      ...(shown.length
        ? shown.map((p) =>
            h(
              'tr.party',
              { dataset: { id: p.id, kind: p.kind } },
              h('td', p.name),
              h('td', tOr(`party.kind.${p.kind}`, p.kind)),
              h('td.mono', p.licenceNo ?? ''),
              ...EVENT_TYPES.map((ty) => h('td.num', { dataset: { type: ty } }, String(p.counts?.[ty] ?? 0))),
              h('td.num', h('strong', String(total(p)))),
              h('td', p.lastAt ? h('span', { title: fmtTime(p.lastAt) }, fmtAgo(p.lastAt)) : '—'),
            ),
          )
        : [h('tr', h('td.empty', { colSpan: 4 + EVENT_TYPES.length }, t('common.empty')))]),
    );
    pagerBox.replaceChildren(
      items.length > PAGE_SIZE ? pager(page, PAGE_SIZE, items.length, (p) => ((page = p), draw())) : '',
    );
  }

  await load();
  const timer = setInterval(() => {
    if (!document.hidden) void load().then(draw, () => undefined);
  }, REFRESH_MS);
  const search = h('input', {
    type: 'search',
    name: 'q',
    placeholder: t('parties.search'),
    value: q,
    oninput: (e) => {
      q = saved.q = /** @type {HTMLInputElement} */ (e.target).value;
      page = 1;
      draw();
    },
  });
  const el = h(
    'div.page.parties',
    h('div.page-head', h('h1', t('parties.title')), summary),
    windowLine,
    h(
      'div.filters',
      search,
      h(
        'button.small',
        { type: 'button', onclick: () => void load().then(draw, (e) => toast(errorText(e), 'error')) },
        t('common.refresh'),
      ),
    ),
    h('table.list.sortable', h('thead', headRow), tbody),
    pagerBox,
  );
  draw();
  return { el, destroy: () => clearInterval(timer) };
}
