// @ts-check
// Reviewers: the queue of auto-detected enforcement events, oldest first. Each shows its evidence frames (boxes and
// zone are drawn into the images by the vision stage), the close-up, plate, dwell time, camera and location. A
// reviewer confirms (C) or rejects with a reason (R, then 1–4, Enter); J/K move through the queue. Decided events
// show what was decided, by whom and when. One request loads a page of 50 events with everything needed to show them.
// Each event says who the party is ("registered shop X", or no contact: confirming files a case directly), and once
// decided what became of the notice. Events the vision worker linked as possibly one vehicle's one stay
// (possibleDuplicateOf) are marked in the queue and point to each other; confirming the later one files no second
// case. A fourth tab lists the parties' statements (陈述申辩) waiting for an answer.
import { t, tOr } from '../i18n.js';
import {
  ApiError,
  api,
  badge,
  errorText,
  fmtAgo,
  fmtDuration,
  fmtNum,
  fmtTime,
  h,
  pager,
  qs,
  toast,
  typing,
} from '../lib.js';
import { objectionsView } from './objections.js';
import { caseLink, outcome, recheckText } from './notices.js';

/** @typedef {import('../../../contracts/events.js').EnforcementEvent} EnforcementEvent */
/** @typedef {import('../../../contracts/events.js').EvidenceImage} EvidenceImage */
/**
 * What the review queue says about the party (event.party): who would be told when the event is confirmed.
 * @typedef {{ known?: boolean, kind?: string, name?: string, contact?: boolean, enforcing?: boolean }} PartyHint
 */
/**
 * A decision (review/store.ts ReviewDecision, as the API sends it).
 * @typedef {{ decision: 'confirm' | 'reject', reason?: string, note?: string, by?: { username: string, displayName?: string, role: string }, at: number | string }} Decision
 */
/**
 * An event as `GET /api/events` lists it: the detection (contracts/events.ts) with its review state, party and notice.
 * @typedef {EnforcementEvent & { status: 'pending' | 'confirmed' | 'rejected', receivedAt: number, review?: Decision, caseId?: string, outcome?: string, party?: PartyHint | null, notice?: import('./notices.js').NoticeView }} ReviewEvent
 */
/** The image viewer over the page; ← → step through the event's images. */
/** @typedef {HTMLDivElement & { step: (by: number) => void }} Lightbox */

const PAGE_SIZE = 50;
const REASONS = ['false-detection', 'permitted', 'duplicate', 'other'];
const FRAME_ORDER = ['first-seen', 'threshold', 'last', 'recheck'];
const saved = { status: 'pending' };
const DECISIONS = ['pending', 'confirmed', 'rejected'];
const TABS = [...DECISIONS, 'objections'];

/**
 * Who will be told when the event is confirmed, from event.party ({known, kind, name, contact}): null when the
 * platform does not say. `direct` is true when confirming files a case at once (nobody to tell).
 */
/**
 * @param {PartyHint | null | undefined} p
 * @returns {{ direct: boolean, trial?: boolean, lines: string[] } | null}
 */
function partyPreview(p) {
  if (!p) return null;
  // A camera whose location has not been published long enough enforces nothing: no notice, no case.
  if (p.enforcing === false) return { direct: false, trial: true, lines: [t('review.party.notEnforcing')] };
  const named =
    p.known && p.name ? t(p.kind === 'vehicle' ? 'review.party.vehicle' : 'review.party.shop', { name: p.name }) : null;
  if (!named) return { direct: true, lines: [t('review.party.none')] };
  return p.contact
    ? { direct: false, lines: [named, t('review.party.willNotify')] }
    : { direct: true, lines: [named, t('review.party.noContact')] };
}

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  let status = TABS.includes(ctx.query.status ?? '') ? (ctx.query.status ?? saved.status) : saved.status;
  let offset = 0;
  /** @type {ReviewEvent[]} */
  let items = [];
  let total = 0;
  let sel = 0;
  /** @type {{ reason: string | null, note: string } | null} */
  let rejecting = null;
  let busy = false;
  /** @type {Lightbox | null} */
  let lightbox = null;
  let destroyed = false;
  /** @type {Record<string, number | null>} */
  const counts = { pending: null, confirmed: null, rejected: null, objections: null };
  const objections = objectionsView({
    onCount: (n) => {
      counts.objections = n;
      ctx.objectionsChanged?.(n);
      if (!destroyed) drawTabs();
    },
  });

  const tabsBox = h('div.tabs');
  const queue = h('ol.queue', { 'data-test': 'queue' });
  const pagerBox = h('div');
  const detail = h('section.detail', { 'data-test': 'detail' });

  async function load(/** @type {string} */ keepId = '') {
    if (status === 'objections') return objections.load();
    const r = await api(`/api/events${qs({ status, limit: PAGE_SIZE, offset })}`);
    items = r.items;
    total = r.total;
    counts[status] = r.total;
    const i = keepId ? items.findIndex((e) => e.id === keepId) : -1;
    sel = i >= 0 ? i : Math.min(sel, Math.max(0, items.length - 1));
  }

  async function loadCounts() {
    await Promise.all(
      TABS.filter((s) => s !== status).map(async (s) => {
        try {
          counts[s] = (
            await api(
              s === 'objections'
                ? `/api/objections${qs({ status: 'open', limit: 1 })}`
                : `/api/events${qs({ status: s, limit: 1 })}`,
            )
          ).total;
        } catch {
          counts[s] = null;
        }
      }),
    );
    if (counts.objections !== null) ctx.objectionsChanged?.(counts.objections);
  }

  function drawTabs() {
    tabsBox.replaceChildren(
      ...TABS.map((s) =>
        h(
          'button.tab',
          {
            type: 'button',
            class: [s === status ? 'active' : '', s === 'objections' ? 'objections-tab' : ''].filter(Boolean).join(' '),
            'data-status': s,
            onclick: () => switchStatus(s),
          },
          t(`review.${s}`),
          counts[s] === null || (s === 'objections' && !counts[s])
            ? ''
            : h(`span.count${s === 'objections' ? '.attention' : ''}`, String(counts[s])),
        ),
      ),
    );
  }

  async function switchStatus(/** @type {string} */ s) {
    if (s === status) return;
    status = saved.status = s;
    closeLightbox();
    offset = 0;
    sel = 0;
    rejecting = null;
    try {
      await load();
    } catch (e) {
      toast(errorText(e), 'error');
    }
    draw();
  }

  function draw() {
    if (destroyed) return;
    drawTabs();
    if (status === 'objections') {
      body.replaceChildren(objections.el);
      objections.draw();
      return;
    }
    if (!grid.isConnected) body.replaceChildren(grid);
    queue.replaceChildren(
      ...(items.length
        ? items.map((e, i) =>
            h(
              'li',
              h(
                'button.qitem',
                { type: 'button', class: i === sel ? 'active' : '', dataset: { id: e.id }, onclick: () => select(i) },
                h('div.qline', h('strong', t(`review.type.${e.type}`)), h('span.muted.small', fmtAgo(e.start))),
                h('div.qline.small', h('span', e.plate?.text ?? e.camera.id), h('span.muted', fmtDuration(e.dwellS))),
                queueParty(e),
                e.review
                  ? h(
                      'div.small.muted',
                      `${t(`review.${e.review.decision === 'confirm' ? 'confirmed' : 'rejected'}`)} · ${e.review.by?.username ?? ''}`,
                    )
                  : null,
              ),
            ),
          )
        : [h('li.muted.empty', status === 'pending' ? t('review.queueEmpty') : t('common.empty'))]),
    );
    pagerBox.replaceChildren(
      total > PAGE_SIZE
        ? pager(Math.floor(offset / PAGE_SIZE) + 1, PAGE_SIZE, total, async (p) => {
            offset = (p - 1) * PAGE_SIZE;
            sel = 0;
            await load();
            draw();
          })
        : '',
    );
    drawDetail();
    queue.querySelector('.qitem.active')?.scrollIntoView({ block: 'nearest' });
  }

  /** One line under the queue item: the party's name, or that confirming goes straight to a case; the notice once decided. */
  function queueParty(/** @type {ReviewEvent} */ e) {
    if (e.status === 'pending' && (e.possibleDuplicateOf || laterOf(e)))
      return h('div.small.qparty', h('span.tag.dup', { 'data-test': 'duplicate' }, t('review.duplicate.tag')));
    if (e.notice)
      return h('div.small', badge(`ns-${e.notice.status}`, tOr(`notice.status.${e.notice.status}`, e.notice.status)));
    const pv = partyPreview(e.party);
    if (!pv) return null;
    if (pv.trial) return h('div.small.qparty', h('span.tag', t('review.party.trial')));
    return h(
      'div.small.qparty',
      pv.direct ? h('span.tag.case', t('review.party.directCase')) : h('span.muted', e.party?.name),
    );
  }

  /** The event on this page that names e as its possible duplicate, if any. */
  function laterOf(/** @type {ReviewEvent} */ e) {
    return items.find((x) => x.possibleDuplicateOf === e.id);
  }

  /** A link to the other event of a linked pair: selects it when it is on this page, else shows its id. */
  function eventRef(/** @type {string} */ id) {
    const i = items.findIndex((x) => x.id === id);
    return i >= 0
      ? h('button.link.mono', { type: 'button', 'data-test': 'duplicate-link', onclick: () => select(i) }, id)
      : h('span.mono', id);
  }

  function duplicateBox(/** @type {ReviewEvent} */ e) {
    const later = laterOf(e);
    if (!e.possibleDuplicateOf && !later) return null;
    return h(
      'div.party-preview.duplicate',
      { 'data-test': 'duplicate-box' },
      e.possibleDuplicateOf
        ? h('div', h('strong', `${t('review.duplicate.of')}: `), eventRef(e.possibleDuplicateOf))
        : null,
      later ? h('div', h('strong', `${t('review.duplicate.later')}: `), eventRef(later.id)) : null,
      e.possibleDuplicateOf && e.status === 'pending' ? h('div.small.muted', t('review.duplicate.hint')) : null,
    );
  }

  function partyBox(/** @type {ReviewEvent} */ e) {
    const pv = partyPreview(e.party);
    if (!pv) return null;
    return h(
      `div.party-preview${pv.direct ? '.direct' : ''}`,
      { 'data-test': 'party', dataset: { direct: String(pv.direct) } },
      h('strong', `${t('review.party')}: `),
      h('span', pv.lines[0]),
      pv.lines[1] ? h('div.small', pv.lines[1]) : null,
    );
  }

  /** What became of the notice of a confirmed event: status and reason in words, re-check, case. */
  function noticeBox(/** @type {ReviewEvent} */ e) {
    const n = e.notice;
    if (!n) return null;
    return h(
      'div.notice-line',
      { 'data-test': 'notice' },
      h('strong', `${t('review.notice')}: `),
      outcome(n),
      n.status === 'awaiting-recheck' && n.recheckAt
        ? h('span', ' · ', t('notices.recheck'), ' ', recheckText(n))
        : null,
      n.caseId && !e.caseId ? h('span', ` · ${t('review.case')} `, caseLink(n.caseId)) : null,
      ' · ',
      h('a', { href: `#/notices/${encodeURIComponent(e.id)}` }, t('notices.open')),
    );
  }

  function select(/** @type {number} */ i) {
    if (i < 0 || i >= items.length) return;
    sel = i;
    rejecting = null;
    draw();
  }

  function frames(/** @type {ReviewEvent} */ e) {
    const byRole = (/** @type {string} */ r) => e.evidence.filter((x) => x.role === r);
    return FRAME_ORDER.flatMap(byRole);
  }

  function figure(/** @type {EvidenceImage} */ img, /** @type {boolean} */ big) {
    return h(
      `figure.evidence${big ? '.big' : ''}`,
      h('img', {
        src: img.url,
        alt: t(`review.role.${img.role}`),
        width: img.width,
        height: img.height,
        loading: 'eager',
        decoding: 'async',
        title: t('review.openImage'),
        dataset: { role: img.role, sha256: img.sha256 },
        onclick: () => openLightbox(img),
      }),
      h('figcaption', h('strong', t(`review.role.${img.role}`)), ' ', h('span.muted', fmtTime(img.capturedAt))),
    );
  }

  function drawDetail() {
    const e = items[sel];
    if (!e) {
      detail.replaceChildren(h('p.muted.center', status === 'pending' ? t('review.queueEmpty') : t('review.select')));
      return;
    }
    const crop = e.evidence.find((x) => x.role === 'crop');
    const original = e.evidence.find((x) => x.role === 'frame');
    const fact = (/** @type {string} */ k, /** @type {import('../lib.js').Child} */ v) => [h('dt', t(k)), h('dd', v)];
    detail.replaceChildren(
      h(
        'div.detail-head',
        h('h2', t(`review.type.${e.type}`), ' · ', e.zone.name),
        badge(`st-${e.status}`, t(`review.${e.status}`)),
        h('span.muted.small.mono', e.id),
      ),
      // (replaceChildren would print a null.)
      (e.status === 'pending' && partyBox(e)) || '',
      duplicateBox(e) || '',
      h(
        'div.frames',
        frames(e).map((img) => figure(img, img.role === 'threshold')),
      ),
      h(
        'div.facts-row',
        crop ? figure(crop, false) : null,
        h(
          'dl.facts',
          e.role === 'stall' && !e.plate
            ? null
            : fact(
                'review.plate',
                e.plate
                  ? h('span.plate', e.plate.text, h('span.muted.small', ` ${fmtNum(e.plate.confidence * 100, 0)}%`))
                  : h('span.muted', t('review.noPlate')),
              ),
          fact('review.dwell', h('strong', fmtDuration(e.dwellS))),
          fact('review.camera', e.camera.id),
          fact('review.location', e.camera.postedLocation),
          fact('common.district', e.camera.district),
          fact('review.gridCell', h('span.mono', e.camera.gridCell)),
          fact('review.coords', `${e.camera.location.lat.toFixed(5)}, ${e.camera.location.lon.toFixed(5)}`),
          fact('review.zone', `${e.zone.name} (${e.zone.id})`),
          fact('review.window', `${fmtTime(e.start)} → ${fmtTime(e.end)}`),
          fact('review.detector', `${e.className} · ${fmtNum(e.confidence * 100, 0)}% · ${e.detector.model}`),
          fact('review.received', fmtTime(e.receivedAt)),
          original
            ? fact(
                'review.original',
                h(
                  'button.link',
                  { type: 'button', 'data-test': 'original', onclick: () => openLightbox(original) },
                  t('review.viewOriginal'),
                ),
              )
            : null,
        ),
      ),
      decisionBox(e),
    );
    // The next event's images load while this one is being looked at.
    for (const img of items[sel + 1]?.evidence ?? []) new Image().src = img.url;
  }

  function decisionBox(/** @type {ReviewEvent} */ e) {
    if (e.review || e.status !== 'pending') {
      const r = e.review;
      return h(
        'div.decision.done',
        { 'data-test': 'decision' },
        h('h3', t('review.decision')),
        r
          ? h(
              'p',
              badge(`st-${e.status}`, t(`review.${e.status}`)),
              r.reason ? ` ${t(`review.reason.${r.reason}`)}` : '',
              r.note ? h('span.note', ` “${r.note}”`) : '',
              h(
                'div.muted',
                t('review.decidedBy', {
                  who: r.by?.displayName ?? r.by?.username ?? '?',
                  role: t(`role.${r.by?.role}`),
                  at: fmtTime(r.at),
                }),
              ),
              e.caseId ? h('div', `${t('review.case')}: `, caseLink(e.caseId)) : null,
              noticeBox(e),
            )
          : h('p', badge(`st-${e.status}`, t(`review.${e.status}`))),
      );
    }
    const actions = h(
      'div.actions',
      h(
        'button.primary.confirm',
        { type: 'button', disabled: busy, 'data-action': 'confirm', onclick: confirm },
        t('review.confirm'),
        h('kbd', 'C'),
      ),
      h(
        'button.danger',
        { type: 'button', disabled: busy, 'data-action': 'reject', onclick: () => startReject() },
        t('review.reject'),
        h('kbd', 'R'),
      ),
    );
    if (!rejecting) return h('div.decision', actions, shortcuts());
    const note = h('textarea', {
      name: 'note',
      rows: 2,
      maxLength: 2000,
      placeholder: t('common.notePlaceholder'),
      oninput: (ev) => rejecting && (rejecting.note = /** @type {HTMLTextAreaElement} */ (ev.target).value),
    });
    note.value = rejecting.note;
    const chosen = rejecting.reason;
    return h(
      'div.decision.rejecting',
      h(
        'fieldset.reasons',
        h('legend', t('review.reason')),
        REASONS.map((r, i) =>
          h(
            'label.reason',
            { class: chosen === r ? 'chosen' : '' },
            h('input', {
              type: 'radio',
              name: 'reason',
              value: r,
              checked: chosen === r,
              onchange: () => chooseReason(r),
            }),
            h('kbd', String(i + 1)),
            ` ${t(`review.reason.${r}`)}`,
          ),
        ),
      ),
      note,
      h(
        'div.actions',
        h(
          'button.danger',
          {
            type: 'button',
            disabled: busy || !rejecting.reason,
            'data-action': 'submit-reject',
            onclick: submitReject,
          },
          t('review.submitReject'),
          h('kbd', 'Enter'),
        ),
        h('button', { type: 'button', onclick: cancelReject }, t('common.cancel'), h('kbd', 'Esc')),
      ),
      shortcuts(),
    );
  }

  function shortcuts() {
    const k = (/** @type {string} */ key, /** @type {string} */ label) => h('span.key', h('kbd', key), ` ${t(label)}`);
    return h(
      'div.shortcuts',
      { 'data-test': 'shortcuts' },
      h('strong', `${t('review.shortcuts')}: `),
      k('C', 'review.key.confirm'),
      k('R', 'review.key.reject'),
      k('1–4', 'review.key.reason'),
      k('Enter', 'review.key.submit'),
      k('J', 'review.key.next'),
      k('K', 'review.key.prev'),
      k('Z', 'review.key.zoom'),
      k('Esc', 'review.key.close'),
    );
  }

  function startReject(/** @type {string | null} */ reason = null) {
    const e = items[sel];
    if (!e || e.status !== 'pending') return;
    rejecting = { reason, note: rejecting?.note ?? '' };
    drawDetail();
  }

  function chooseReason(/** @type {string} */ r) {
    if (!rejecting) rejecting = { reason: r, note: '' };
    rejecting.reason = r;
    drawDetail();
  }

  function cancelReject() {
    rejecting = null;
    drawDetail();
  }

  async function decide(/** @type {{ decision: 'confirm' | 'reject', reason?: string, note?: string }} */ body) {
    const e = items[sel];
    if (!e || busy || e.status !== 'pending') return;
    busy = true;
    drawDetail();
    try {
      /** @type {ReviewEvent} */
      const updated = await api(`/api/events/${encodeURIComponent(e.id)}/review`, { method: 'POST', body });
      if (body.decision === 'confirm') {
        // A linked event whose case is the earlier event's joined it: no second case was filed.
        const joined =
          updated.outcome === 'duplicate' ||
          (e.possibleDuplicateOf &&
            updated.caseId &&
            (await api(`/api/events/${encodeURIComponent(e.possibleDuplicateOf)}`).catch(() => null))?.caseId ===
              updated.caseId);
        const text = joined
          ? t('review.duplicate.joined')
          : updated.caseId
            ? t('review.confirmedToast', { case: updated.caseId })
            : updated.notice
              ? t('review.confirmedNotice', {
                  status: tOr(`notice.status.${updated.notice.status}`, updated.notice.status),
                  reason: tOr(`notice.reason.${updated.notice.reason}`, updated.notice.reason),
                })
              : t('review.confirmedToastNoCase');
        toast(text, 'ok');
      } else toast(t('review.rejectedToast', { reason: t(`review.reason.${body.reason}`) }), 'ok');
      removeCurrent(updated);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        toast(t('review.conflict'), 'error');
        removeCurrent(null);
      } else toast(errorText(err), 'error');
    } finally {
      busy = false;
      rejecting = null;
      draw();
    }
  }

  /** The decided event leaves the pending queue; the one after it is selected. */
  function removeCurrent(/** @type {ReviewEvent | null} */ updated) {
    const decidedStatus = updated?.status;
    if (status === 'pending') {
      items.splice(sel, 1);
      total = Math.max(0, total - 1);
      counts.pending = total;
      const counted = decidedStatus ? counts[decidedStatus] : null;
      if (decidedStatus && counted !== null && counted !== undefined) counts[decidedStatus] = counted + 1;
      if (sel >= items.length) sel = Math.max(0, items.length - 1);
      if (items.length < 5 && total > items.length) void load().then(draw, () => undefined);
    } else if (updated) items[sel] = updated;
  }

  const confirm = () => decide({ decision: 'confirm' });
  const submitReject = () => {
    if (!rejecting?.reason) return toast(t('review.needReason'), 'error');
    const note = rejecting.note.trim();
    return decide({ decision: 'reject', reason: rejecting.reason, ...(note ? { note } : {}) });
  };

  function openLightbox(/** @type {EvidenceImage} */ img) {
    const e = items[sel];
    const all = e ? [...frames(e), ...e.evidence.filter((x) => x.role === 'crop' || x.role === 'frame')] : [img];
    let i = Math.max(
      0,
      all.findIndex((x) => x.sha256 === img.sha256 && x.role === img.role),
    );
    const pic = h('img');
    const cap = h('figcaption');
    const show = () => {
      const shown = /** @type {EvidenceImage} */ (all[i]);
      pic.src = shown.url;
      cap.textContent = `${t(`review.role.${shown.role}`)} · ${fmtTime(shown.capturedAt)} · SHA-256 ${shown.sha256}`;
    };
    lightbox = /** @type {Lightbox} */ (h('div.lightbox', { onclick: closeLightbox }, h('figure', pic, cap)));
    lightbox.step = (d) => {
      i = (i + d + all.length) % all.length;
      show();
    };
    show();
    document.body.append(lightbox);
  }

  function closeLightbox() {
    lightbox?.remove();
    lightbox = null;
  }

  function onKey(/** @type {KeyboardEvent} */ ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    // The statements tab has no shortcuts: its keys are for writing answers.
    if (status === 'objections') return;
    if (lightbox) {
      if (ev.key === 'Escape' || ev.key.toLowerCase() === 'z') closeLightbox();
      else if (ev.key === 'ArrowRight') lightbox.step(1);
      else if (ev.key === 'ArrowLeft') lightbox.step(-1);
      else return;
      ev.preventDefault();
      return;
    }
    if (typing(ev)) {
      // In the note field: Enter submits the rejection (Shift+Enter is a new line), Esc cancels.
      const field = /** @type {HTMLTextAreaElement} */ (ev.target);
      if (rejecting && ev.key === 'Enter' && !ev.shiftKey && field.name === 'note') {
        ev.preventDefault();
        void submitReject();
      } else if (ev.key === 'Escape') {
        field.blur();
        cancelReject();
      }
      return;
    }
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    const e = items[sel];
    const pending = e && e.status === 'pending' && !busy;
    if (key === 'j' || key === 'ArrowDown') select(sel + 1);
    else if (key === 'k' || key === 'ArrowUp') select(sel - 1);
    else if (key === 'c' && pending && !rejecting) void confirm();
    else if (key === 'r' && pending) startReject(rejecting?.reason ?? null);
    else if (/^[1-4]$/.test(key) && pending) chooseReason(/** @type {string} */ (REASONS[Number(key) - 1]));
    else if (key === 'Enter' && rejecting && pending) void submitReject();
    else if (key === 'Escape' && rejecting) cancelReject();
    else if (key === 'z' && e)
      openLightbox(/** @type {EvidenceImage} */ (frames(e).find((x) => x.role === 'threshold') ?? e.evidence[0]));
    else return;
    ev.preventDefault();
  }

  await load();
  await loadCounts();
  document.addEventListener('keydown', onKey);
  // New events arrive while the reviewer works: the page is reloaded now and then, keeping the selection.
  const timer = setInterval(() => {
    if (busy || rejecting || lightbox || document.hidden) return;
    if (status === 'objections') return void objections.refresh();
    const keep = items[sel]?.id;
    void load(keep).then(draw, () => undefined);
  }, 20_000);

  const grid = h('div.review-grid', h('aside.queue-box', queue, pagerBox), detail);
  const body = h('div', grid);
  const el = h('div.page.review', h('div.page-head', h('h1', t('review.title')), tabsBox), body);
  draw();
  return {
    el,
    destroy() {
      destroyed = true;
      clearInterval(timer);
      closeLightbox();
      objections.destroy();
      document.removeEventListener('keydown', onKey);
    },
  };
}
