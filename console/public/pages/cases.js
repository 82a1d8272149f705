// @ts-check
// Cases sent (or waiting to be sent) to the city's case system, with their delivery status; a row opens the case's
// evidence (URLs with SHA-256), detection, review and the notice that came before it. Pages of 50; refreshed every
// 10 s while deliveries are pending. #/cases?id=ID shows that case first (the notices page links there).
import { pick, t, tOr } from '../i18n.js';
import { ApiError, api, badge, errorText, fmtDuration, fmtNum, fmtTime, h, pager, qs, select, toast } from '../lib.js';

// A case as the API sends it (cases/types.ts CaseView) or as a receiving system's inbox keeps it (inbox.js): the
// pages read what is there and show '—' for the rest, so its fields stay loosely typed.
/** @typedef {Record<string, any>} CaseView */

const PAGE_SIZE = 50;
const saved = { status: '' };

/** What was detected, in words: a camera's object and dwell, or a sensor rule's value against its limit. */
/** @param {Record<string, any>} d the case's detection: a camera's (kind vision) or a sensor rule's (kind rule) */
function detectionText(d) {
  if (d.kind === 'vision') {
    return [
      d.className,
      `${fmtNum(d.confidence * 100, 0)}%`,
      d.plate ? `${t('review.plate')} ${d.plate.text}` : null,
      `${t('review.dwell')} ${fmtDuration(d.dwellS)}`,
      `${t('review.camera')} ${d.cameraId}`,
      d.zone ? `${d.zone.name} (${d.zone.id})` : null,
    ]
      .filter(Boolean)
      .join(' · ');
  }
  if (d.kind === 'rule') {
    return [pick(d.name), `${d.deviceId}`, `${fmtNum(d.value)} / ${fmtNum(d.level)} (${d.metric})`, d.standard]
      .filter(Boolean)
      .join(' · ');
  }
  return JSON.stringify(d);
}

/** Why an event became a case after its notice: the reason in words, how the party was told, the re-check. */
/** @param {Record<string, any>} n the notice part of a case */
function noticeText(n) {
  return [
    tOr(`notice.reason.${n.reason}`, n.reason),
    n.notifiedAt ? t('cases.notifiedAt', { at: fmtTime(n.notifiedAt) }) : null,
    n.channels?.length ? n.channels.map((/** @type {string} */ c) => tOr(`notice.channel.${c}`, c)).join('、') : null,
    n.priorOffences ? t('cases.priorOffences', { n: n.priorOffences }) : null,
    n.recheck
      ? `${t('notices.recheck')}: ${tOr(`notice.recheck.${n.recheck.result}`, n.recheck.result)}${n.recheck.checkedAt ? ` ${fmtTime(n.recheck.checkedAt)}` : ''}`
      : null,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** @param {CaseView} c */
export function caseDetail(c) {
  const ev = c.evidence ?? [];
  const review = c.review;
  return h(
    'div.detail',
    h(
      'div',
      h('strong', `${t('cases.source')}: `),
      c.source ? `${t(`cases.source.${c.source.type}`)} · ${c.source.id}` : '—',
    ),
    c.postedLocation ? h('div', h('strong', `${t('review.location')}: `), c.postedLocation) : null,
    c.detection ? h('div', h('strong', `${t('cases.detection')}: `), detectionText(c.detection)) : null,
    review
      ? h(
          'div',
          h('strong', `${t('cases.review')}: `),
          t('review.decidedBy', {
            who: review.by?.displayName ?? review.by?.username ?? '?',
            role: t(`role.${review.by?.role}`),
            at: fmtTime(review.at),
          }),
          review.note ? ` “${review.note}”` : '',
        )
      : null,
    c.notice
      ? h('div', { 'data-test': 'case-notice' }, h('strong', `${t('cases.notice')}: `), noticeText(c.notice))
      : null,
    ev.length
      ? h(
          'div',
          h('strong', t('cases.evidence')),
          h(
            'ul.evidence-list',
            ev.map((/** @type {import('../../../contracts/events.js').EvidenceImage} */ x) =>
              h(
                'li',
                h('a', { href: x.url, target: '_blank', rel: 'noopener' }, t(`review.role.${x.role}`)),
                ' ',
                h('span.muted', fmtTime(x.capturedAt)),
                ' ',
                h('code.small', x.sha256),
              ),
            ),
          ),
        )
      : null,
  );
}

/** The case asked for by #/cases?id=ID, above the list. */
/** @param {string} id */
async function focusedCase(id) {
  try {
    const c = await api(`/api/cases/${encodeURIComponent(id)}`);
    return h(
      'section.panel.focused',
      { 'data-test': 'focused-case', dataset: { id: c.id } },
      h(
        'h2',
        t('cases.focused', { id: c.id }),
        ' ',
        c.eventType ? h('span.muted', tOr(`review.type.${c.eventType}`, c.eventType)) : null,
        ' ',
        c.delivery ? badge(`dl-${c.delivery.status}`, t(`cases.delivery.${c.delivery.status}`)) : null,
      ),
      caseDetail(c),
      h('a.small', { href: '#/cases' }, t('cases.showAll')),
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return h('p.error', t('cases.notFound', { id }));
    return h('p.error', errorText(e));
  }
}

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  let status = saved.status;
  let page = 1;
  /** @type {{ items: CaseView[], total: number }} */
  let data = { items: [], total: 0 };
  /** @type {Set<string>} */
  const open = new Set();
  const tbody = h('tbody');
  const pagerBox = h('div');
  const summary = h('span.muted');

  const load = async () => {
    data = await api(`/api/cases${qs({ status, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`);
  };

  const location = (/** @type {CaseView} */ c) =>
    c.postedLocation ??
    (c.location && typeof c.location === 'object'
      ? `${Number(c.location.lat).toFixed(5)}, ${Number(c.location.lon).toFixed(5)}`
      : String(c.location ?? '—'));

  function draw() {
    /** @type {Record<string, number>} */
    const counts = { delivered: 0, pending: 0, failed: 0 };
    for (const c of data.items) if (c.delivery?.status in counts) counts[c.delivery.status]++;
    summary.textContent = t('cases.summary', counts);
    const rows = [];
    for (const c of data.items) {
      const d = c.delivery ?? {};
      rows.push(
        h(
          `tr.case.delivery-${d.status}`,
          {
            dataset: { id: c.id, delivery: d.status ?? '' },
            onclick: () => (open.has(c.id) ? open.delete(c.id) : open.add(c.id), draw()),
          },
          h('td.mono', c.id),
          h('td', c.eventType ? tOr(`review.type.${c.eventType}`, c.eventType) : '—'),
          h('td', h('span.mono', c.code ?? '—'), c.codeName ? h('div.muted.small', pick(c.codeName)) : null),
          h('td', c.district ?? '—', h('div.muted.small.mono', c.gridCell ?? '')),
          h('td', location(c)),
          h('td', fmtTime(c.occurredAt)),
          h('td', fmtTime(c.createdAt)),
          h(
            'td',
            badge(`dl-${d.status}`, t(`cases.delivery.${d.status ?? 'pending'}`)),
            h(
              'div.muted.small',
              [
                d.adapter,
                d.attempts ? t('cases.attempts', { n: d.attempts }) : null,
                d.deliveredAt ? t('cases.deliveredAt', { at: fmtTime(d.deliveredAt) }) : null,
              ]
                .filter(Boolean)
                .join(' · '),
            ),
            d.lastError ? h('div.error.small', d.lastError) : null,
          ),
        ),
      );
      if (open.has(c.id)) rows.push(h('tr.detail-row', h('td', { colSpan: 8 }, caseDetail(c))));
    }
    tbody.replaceChildren(...(rows.length ? rows : [h('tr', h('td.empty', { colSpan: 8 }, t('common.empty')))]));
    pagerBox.replaceChildren(
      pager(
        page,
        PAGE_SIZE,
        data.total,
        (p) => ((page = p), void load().then(draw, (e) => toast(errorText(e), 'error'))),
      ),
    );
  }

  await load();
  const focused = ctx?.query?.id ? await focusedCase(ctx.query.id) : null;
  const timer = setInterval(() => {
    if (data.items.some((c) => c.delivery?.status === 'pending')) void load().then(draw, () => undefined);
  }, 10_000);
  const el = h(
    'div.page.cases',
    h('div.page-head', h('h1', t('cases.title')), summary),
    focused,
    h(
      'div.filters',
      select(
        'status',
        status,
        [
          { value: '', label: `${t('cases.delivery')}: ${t('common.all')}` },
          ...['pending', 'delivered', 'failed'].map((s) => ({ value: s, label: t(`cases.delivery.${s}`) })),
        ],
        (v) => {
          status = saved.status = v;
          page = 1;
          void load().then(draw, (e) => toast(errorText(e), 'error'));
        },
      ),
      h(
        'button.small',
        { type: 'button', onclick: () => void load().then(draw, (e) => toast(errorText(e), 'error')) },
        t('common.refresh'),
      ),
    ),
    h(
      'table.list.clickable',
      h(
        'thead',
        h(
          'tr',
          [
            'cases.id',
            'cases.type',
            'cases.code',
            'common.district',
            'cases.location',
            'cases.occurredAt',
            'cases.createdAt',
            'cases.delivery',
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
