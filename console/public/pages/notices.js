// @ts-check
// Notices: what became of each confirmed event. The party is told first (SMS, the camera's loudspeaker, always a
// console record), the camera re-checks after the grace period, and only an uncorrected (or repeated) violation
// becomes a case. Each row: the event, the place, the party (name only), the status and its reason in words, the
// deliveries, the re-check and its evidence, the case, and the query code the party uses on the public page.
// Filtered by status and type, in pages of 50, refreshed every 15 s. A row opens the details; #/notices/ID is the
// notice of one event on its own page (pages/notice.js).
import { t, tOr } from '../i18n.js';
import {
  api,
  badge,
  errorText,
  evidenceUrl,
  fmtCode,
  fmtTime,
  h,
  openGallery,
  pager,
  qs,
  select,
  thumbs,
  toast,
} from '../lib.js';

/** @typedef {import('../../../contracts/events.js').EnforcementEvent} EnforcementEvent */
/** @typedef {import('../../../contracts/events.js').EvidenceImage} EvidenceImage */
/** @typedef {import('../lib.js').GalleryImage} GalleryImage */
/** Opens images in the viewer (openGallery, or a page's wrapper that closes the previous one). */
/** @typedef {(images: GalleryImage[], index: number) => void} Gallery */
// The notice's wire shape mirrors notices/types.ts (Notice, Party, Delivery, RecheckRecord), which the browser check
// cannot load (it reaches the server's stores); the list adds `place`.
/** @typedef {{ id: string, kind: string, name: string, licenceNo?: string }} NoticeParty */
/** @typedef {{ channel: string, status: 'pending' | 'sent' | 'failed', attempts: number, at: number, text?: string, to?: string, error?: string }} NoticeDelivery */
/** @typedef {{ attempts: number, result?: 'present' | 'absent' | 'unavailable', checkedAt?: number, evidence: EvidenceImage[], detail?: string }} Recheck */
/**
 * @typedef {object} NoticeView
 * @property {string} eventId
 * @property {string} eventType
 * @property {string} cameraId
 * @property {string} district
 * @property {string} zoneId
 * @property {string} code
 * @property {NoticeParty | null} party
 * @property {string} status
 * @property {string} reason
 * @property {number} priorOffences
 * @property {NoticeDelivery[]} deliveries
 * @property {number} [recheckAt]
 * @property {Recheck} [recheck]
 * @property {string} [caseId]
 * @property {number} createdAt
 * @property {number} [closedAt]
 * @property {{ postedLocation?: string, zoneName?: string }} [place]
 */

const PAGE_SIZE = 50;
const REFRESH_MS = 15_000;
/** notices/types.ts NOTICE_STATUSES, in the order a notice goes through them. */
export const NOTICE_STATUSES = [
  'awaiting-recheck',
  'corrected',
  'case',
  'notice-only',
  'not-enforcing',
  'recheck-unavailable',
];
const EVENT_TYPES = ['out-of-store-vending', 'illegal-parking', 'illegal-non-motor-parking'];
const saved = { status: '', type: '' };

export const statusBadge = (/** @type {string} */ status) =>
  badge(`ns-${status}`, tOr(`notice.status.${status}`, status));
export const reasonText = (/** @type {string | undefined} */ reason) => tOr(`notice.reason.${reason}`, reason ?? '');
const channelText = (/** @type {string} */ c) => tOr(`notice.channel.${c}`, c);

/** A notice's status with its reason in words: "已纠正 告知后已自行纠正，不予立案". */
/** @param {Pick<NoticeView, 'status' | 'reason'>} n */
export function outcome(n) {
  return h('span.outcome', statusBadge(n.status), ' ', h('span.reason', reasonText(n.reason)));
}

/** The party by name only (a shop's name, a vehicle's plate): contacts stay out of lists. */
/** @param {NoticeParty | null | undefined} p */
export function partyName(p) {
  if (!p) return h('span.muted', t('notices.noParty'));
  return h('span', h('span.tag', tOr(`party.kind.${p.kind}`, p.kind)), ' ', p.name);
}

/** Channels with their state in one line: "短信 已发送 · 现场广播 发送失败". */
/** @param {NoticeDelivery[] | undefined} deliveries */
function deliveriesLine(deliveries) {
  if (!deliveries?.length) return h('span.muted', t('notices.noDeliveries'));
  return h(
    'span.deliveries',
    deliveries.map((d) =>
      h(
        'span.delivery',
        { dataset: { channel: d.channel, status: d.status }, title: d.to ?? '' },
        channelText(d.channel),
        ' ',
        badge(`dl-${d.status === 'sent' ? 'delivered' : d.status}`, t(`notice.delivery.${d.status}`)),
      ),
    ),
  );
}

const sameDay = (/** @type {number} */ a, /** @type {number} */ b) =>
  new Date(a).toDateString() === new Date(b).toDateString();

/**
 * When the camera looks again (while waiting), or what it found.
 * @param {Pick<NoticeView, 'status' | 'recheckAt' | 'recheck'>} n
 * @param {number} [now]
 */
export function recheckText(n, now = Date.now()) {
  const r = n.recheck;
  if (r?.result)
    return h(
      'span',
      h('strong', tOr(`notice.recheck.${r.result}`, r.result)),
      r.checkedAt ? h('span.muted.small', ` ${fmtTime(r.checkedAt)}`) : null,
    );
  if (n.status === 'awaiting-recheck' && n.recheckAt) {
    const min = Math.ceil((n.recheckAt - now) / 60_000);
    return h(
      'span',
      t('notices.recheckDue', {
        at: sameDay(n.recheckAt, now) ? fmtTime(n.recheckAt).slice(11, 16) : fmtTime(n.recheckAt),
      }),
      h(
        'span.muted.small',
        ' ',
        min > 0 ? t('notices.recheckIn', { n: min }) : t('notices.recheckOverdue'),
        r?.attempts ? ` · ${t('notices.recheckAttempts', { n: r.attempts })}` : '',
      ),
    );
  }
  return h('span.muted', t('notices.none'));
}

/** @param {string | null | undefined} caseId */
export function caseLink(caseId) {
  return caseId
    ? h(
        'a.mono',
        {
          href: `#/cases?id=${encodeURIComponent(caseId)}`,
          'data-test': 'case-link',
          onclick: (e) => e.stopPropagation(),
        },
        caseId,
      )
    : h('span.muted', t('notices.none'));
}

/** The text sent, shown on a click; `openTexts` remembers which are open across a refresh of the list. */
/**
 * @param {string} key
 * @param {string} text
 * @param {Set<string>} openTexts
 */
function textToggle(key, text, openTexts) {
  const el = h(
    'details.text',
    { open: openTexts.has(key) },
    h('summary', t('notices.showText')),
    h('p.sent-text', text),
  );
  el.addEventListener('toggle', () => (el.open ? openTexts.add(key) : openTexts.delete(key)));
  return el;
}

/**
 * @param {EvidenceImage[] | undefined} list
 * @param {(x: EvidenceImage) => string} label
 * @returns {GalleryImage[]}
 */
const evidenceImages = (list, label) =>
  (list ?? []).map((x) => ({
    url: evidenceUrl(x.sha256),
    caption: `${label(x)} · ${fmtTime(x.capturedAt)} · SHA-256 ${x.sha256}`,
  }));

/**
 * Everything about one notice: the event (when `event` is known: its place and evidence), the party, the outcome,
 * each delivery with its text, the re-check with its evidence, the case and the query code. `gallery(images, i)`
 * opens an image.
 * @param {NoticeView} n
 * @param {{ event?: EnforcementEvent | null, gallery?: Gallery, openTexts?: Set<string> }} [options]
 */
export function noticeDetail(n, { event = null, gallery = openGallery, openTexts = new Set() } = {}) {
  const fact = (/** @type {string} */ k, /** @type {import('../lib.js').Child[]} */ ...v) => [
    h('dt', t(k)),
    h('dd', ...v),
  ];
  const p = n.party;
  const recheckImgs = evidenceImages(n.recheck?.evidence, (x) => tOr(`review.role.${x.role}`, x.role));
  const eventImgs = event
    ? evidenceImages(
        (event.evidence ?? []).filter((x) => x.role !== 'frame'),
        (x) => tOr(`review.role.${x.role}`, x.role),
      )
    : [];
  return h(
    'div.notice-detail',
    { 'data-test': 'notice-detail' },
    h(
      'dl.facts',
      fact('notices.event', tOr(`review.type.${n.eventType}`, n.eventType), ' ', h('span.muted.small.mono', n.eventId)),
      fact(
        'notices.place',
        event ? `${event.camera?.postedLocation ?? ''} · ${event.zone?.name ?? n.zoneId}` : '',
        h('span.muted.small', `${event ? ' · ' : ''}${n.district} · ${n.cameraId} · ${n.zoneId}`),
      ),
      event ? fact('notices.eventTime', `${fmtTime(event.start)} → ${fmtTime(event.end)}`) : null,
      fact(
        'notices.party',
        partyName(p),
        p?.licenceNo ? h('span.muted.small', ` ${t('notices.licence')} ${p.licenceNo}`) : null,
      ),
      fact('notices.priorOffences', String(n.priorOffences ?? 0)),
      fact('notices.outcome', outcome(n)),
      fact('notices.createdAt', fmtTime(n.createdAt)),
      n.recheckAt ? fact('notices.recheckAt', fmtTime(n.recheckAt)) : null,
      n.recheck?.result ? fact('notices.recheckResult', recheckText(n)) : null,
      n.closedAt ? fact('notices.closedAt', fmtTime(n.closedAt)) : null,
      fact('notices.case', caseLink(n.caseId)),
      fact(
        'notices.code',
        h('span.mono.code', { 'data-test': 'code' }, fmtCode(n.code)),
        h('div.muted.small', t('notices.codeHint')),
      ),
    ),
    h('h4', t('notices.deliveries')),
    n.deliveries?.length
      ? h(
          'table.list.compact.deliveries-table',
          h(
            'tbody',
            n.deliveries.map((d, i) =>
              h(
                'tr.delivery-row',
                { dataset: { channel: d.channel, status: d.status } },
                h('td', channelText(d.channel)),
                h('td', badge(`dl-${d.status === 'sent' ? 'delivered' : d.status}`, t(`notice.delivery.${d.status}`))),
                h('td.mono', d.to ? `${t('notices.to')} ${d.to}` : ''),
                h(
                  'td.muted.small',
                  h('span.nowrap', fmtTime(d.at)),
                  ' · ',
                  h('span.nowrap', t('notices.attempts', { n: d.attempts })),
                  d.error ? h('div.error', d.error) : null,
                ),
                h('td', d.text ? textToggle(`${n.eventId}#${i}`, d.text, openTexts) : null),
              ),
            ),
          ),
        )
      : h('p.muted', t('notices.noDeliveries')),
    recheckImgs.length ? [h('h4', t('notices.recheckEvidence')), thumbs(recheckImgs, gallery)] : null,
    eventImgs.length ? [h('h4', t('notices.eventEvidence')), thumbs(eventImgs, gallery)] : null,
  );
}

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  let status = NOTICE_STATUSES.includes(ctx.query.status ?? '') ? (ctx.query.status ?? '') : saved.status;
  let type = EVENT_TYPES.includes(ctx.query.type ?? '') ? (ctx.query.type ?? '') : saved.type;
  let page = 1;
  /** @type {{ items: NoticeView[], total: number }} */
  let data = { items: [], total: 0 };
  /** @type {(() => void) | null} */
  let closeGallery = null;
  /** @type {Set<string>} */
  const open = new Set();
  /** @type {Set<string>} */
  const openTexts = new Set();
  // The events behind opened rows, read once each (their place and evidence).
  /** @type {Map<string, EnforcementEvent | null>} */
  const events = new Map();
  const tbody = h('tbody');
  const pagerBox = h('div');
  const summary = h('span.muted');

  const load = async () => {
    data = await api(`/api/notices${qs({ status, type, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`);
  };
  const reload = () => void load().then(draw, (e) => toast(errorText(e), 'error'));
  /** @type {Gallery} */
  const gallery = (images, i) => {
    closeGallery?.();
    closeGallery = openGallery(images, i);
  };

  async function toggle(/** @type {string} */ id) {
    if (open.has(id)) open.delete(id);
    else {
      open.add(id);
      if (!events.has(id)) {
        events.set(id, null);
        try {
          events.set(id, await api(`/api/events/${encodeURIComponent(id)}`));
        } catch {
          // Shown without the event's place and evidence.
        }
      }
    }
    draw();
  }

  function draw() {
    summary.textContent = t('common.page', {
      page,
      pages: Math.max(1, Math.ceil(data.total / PAGE_SIZE)),
      total: data.total,
    });
    /** @type {HTMLTableRowElement[]} */
    const rows = [];
    const now = Date.now();
    for (const n of data.items) {
      rows.push(
        h(
          `tr.notice-item.ns-row-${n.status}`,
          { dataset: { eventId: n.eventId, status: n.status }, onclick: () => void toggle(n.eventId) },
          h('td', tOr(`review.type.${n.eventType}`, n.eventType), h('div.muted.small', fmtTime(n.createdAt))),
          h(
            'td',
            { dataset: { test: 'place' } },
            n.place?.postedLocation ?? events.get(n.eventId)?.camera?.postedLocation ?? n.cameraId,
            h('div.muted.small', `${n.place?.zoneName ?? n.zoneId} · ${n.district} · ${n.cameraId}`),
          ),
          h('td', partyName(n.party)),
          h('td', outcome(n)),
          h('td', deliveriesLine(n.deliveries)),
          h('td', recheckText(n, now)),
          h('td', caseLink(n.caseId)),
          h(
            'td',
            h('span.mono.code', fmtCode(n.code)),
            h(
              'div',
              h(
                'a.small',
                { href: `#/notices/${encodeURIComponent(n.eventId)}`, onclick: (e) => e.stopPropagation() },
                t('notices.open'),
              ),
            ),
          ),
        ),
      );
      if (open.has(n.eventId))
        rows.push(
          h(
            'tr.detail-row',
            h('td', { colSpan: 8 }, noticeDetail(n, { event: events.get(n.eventId), gallery, openTexts })),
          ),
        );
    }
    tbody.replaceChildren(...(rows.length ? rows : [h('tr', h('td.empty', { colSpan: 8 }, t('common.empty')))]));
    pagerBox.replaceChildren(pager(page, PAGE_SIZE, data.total, (p) => ((page = p), reload())));
  }

  await load();
  const timer = setInterval(() => {
    if (!document.hidden) void load().then(draw, () => undefined);
  }, REFRESH_MS);
  const el = h(
    'div.page.notices',
    h('div.page-head', h('h1', t('notices.title')), summary),
    h('p.muted.small.about', t('notices.about')),
    h(
      'div.filters',
      select(
        'status',
        status,
        [
          { value: '', label: `${t('common.status')}: ${t('common.all')}` },
          ...NOTICE_STATUSES.map((s) => ({ value: s, label: t(`notice.status.${s}`) })),
        ],
        (v) => {
          status = saved.status = v;
          page = 1;
          reload();
        },
      ),
      select(
        'type',
        type,
        [
          { value: '', label: `${t('notices.type')}: ${t('common.all')}` },
          ...EVENT_TYPES.map((x) => ({ value: x, label: t(`review.type.${x}`) })),
        ],
        (v) => {
          type = saved.type = v;
          page = 1;
          reload();
        },
      ),
      h('button.small', { type: 'button', 'data-test': 'refresh', onclick: reload }, t('common.refresh')),
    ),
    h(
      'table.list.clickable',
      h(
        'thead',
        h(
          'tr',
          [
            'notices.type',
            'notices.place',
            'notices.party',
            'notices.outcome',
            'notices.deliveries',
            'notices.recheck',
            'notices.case',
            'notices.code',
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
      clearInterval(timer);
      closeGallery?.();
    },
  };
}
