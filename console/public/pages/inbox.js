// @ts-check
// The built-in case inbox of the embedded default: what a city's case system would have received, so the whole path
// from detection to case can be seen without an external system. Entries are shown as the inbox lists them.
import { pick, t, tOr } from '../i18n.js';
import { api, errorText, fmtTime, h, pager, qs, toast } from '../lib.js';
import { caseDetail } from './cases.js';

const PAGE_SIZE = 50;

export async function render() {
  let page = 1;
  // Entries as the inbox lists them, in whatever shape the receiving system keeps (see load()).
  /** @type {any[]} */
  let items = [];
  let total = 0;
  let enabled = true;
  const open = new Set();
  const tbody = h('tbody');
  const pagerBox = h('div');

  const load = async () => {
    const r = await api(`/api/case-inbox${qs({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`);
    // The inbox may answer a list or {items, total}; an entry may wrap the case ({case, receivedAt}) or be it.
    items = Array.isArray(r) ? r : (r.items ?? []);
    total = Array.isArray(r) ? r.length : (r.total ?? items.length);
    enabled = Array.isArray(r) || r.enabled !== false;
  };

  function draw() {
    /** @type {HTMLTableRowElement[]} */
    const rows = [];
    items.forEach((x, i) => {
      const c = x.case ?? x.body ?? x;
      const key = c.id ?? String(i);
      rows.push(
        h(
          'tr.inbox-item',
          { dataset: { id: key }, onclick: () => (open.has(key) ? open.delete(key) : open.add(key), draw()) },
          h('td', fmtTime(x.receivedAt ?? x.deliveredAt ?? c.createdAt)),
          h('td.mono', c.id ?? '—'),
          h('td', c.eventType ? tOr(`review.type.${c.eventType}`, c.eventType) : '—'),
          h('td', h('span.mono', c.code ?? '—'), c.codeName ? h('div.muted.small', pick(c.codeName)) : null),
          h('td', c.district ?? '—'),
          h(
            'td',
            c.postedLocation ??
              (c.location?.lat !== undefined ? `${c.location.lat.toFixed(5)}, ${c.location.lon.toFixed(5)}` : '—'),
          ),
          h('td', fmtTime(c.occurredAt)),
        ),
      );
      if (open.has(key))
        rows.push(
          h(
            'tr.detail-row',
            h(
              'td',
              { colSpan: 7 },
              caseDetail(c),
              h('details', h('summary', t('inbox.raw')), h('pre.raw', JSON.stringify(x, null, 2))),
            ),
          ),
        );
    });
    tbody.replaceChildren(...(rows.length ? rows : [h('tr', h('td.empty', { colSpan: 7 }, t('common.empty')))]));
    pagerBox.replaceChildren(
      pager(page, PAGE_SIZE, total, (p) => ((page = p), void load().then(draw, (e) => toast(errorText(e), 'error')))),
    );
  }

  await load();
  const el = h(
    'div.page.inbox',
    h(
      'div.page-head',
      h('h1', t('inbox.title')),
      h(
        'button.small',
        { type: 'button', onclick: () => void load().then(draw, (e) => toast(errorText(e), 'error')) },
        t('common.refresh'),
      ),
    ),
    h('p.muted', t('inbox.about')),
    enabled ? null : h('p.notice', t('inbox.webhook')),
    h(
      'table.list.clickable',
      h(
        'thead',
        h(
          'tr',
          [
            'inbox.received',
            'cases.id',
            'cases.type',
            'cases.code',
            'common.district',
            'cases.location',
            'cases.occurredAt',
          ].map((k) => h('th', t(k))),
        ),
      ),
      tbody,
    ),
    pagerBox,
  );
  draw();
  return { el };
}
