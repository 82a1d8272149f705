// @ts-check
// Statements (陈述申辩) the parties submitted on the public page, shown in the reviewers' queue as objections: the
// event they concern, the text, the photos, the contact the party gave, and "mark handled" with a note saying what
// was done. The law (Administrative Penalty Law art. 41) gives the party the right to state their case: each one must
// reach a person. Used as a tab of the review page.
import { t, tOr } from '../i18n.js';
import {
  ApiError,
  api,
  errorText,
  evidenceUrl,
  fmtCode,
  fmtTime,
  h,
  pager,
  qs,
  thumbs,
  toast,
  openGallery,
} from '../lib.js';

/**
 * A statement as `GET /api/objections` lists it: notices/types.ts Statement, with the event it concerns (null when
 * the event is gone).
 * @typedef {object} Objection
 * @property {string} id
 * @property {string} eventId
 * @property {string} code
 * @property {string} text
 * @property {{ sha256: string, bytes: number, type: string }[]} [photos]
 * @property {string} [contact]
 * @property {number} submittedAt
 * @property {'open' | 'handled'} status
 * @property {{ by: { username: string, role: string }, at: number, note: string }} [handled]
 * @property {import('../../../contracts/events.js').EnforcementEvent | null} [event]
 */

const PAGE_SIZE = 20;

/** What the photos of a statement look like in the viewer. */
/** @param {Objection} s */
function photoImages(s) {
  const n = s.photos?.length ?? 0;
  return (s.photos ?? []).map((p, i) => ({
    url: evidenceUrl(p.sha256),
    caption: `${t('objections.photos')} ${i + 1}/${n} · ${Math.round(p.bytes / 1024)} KB · SHA-256 ${p.sha256}`,
  }));
}

/**
 * The list of statements with its open/handled switch. `onCount(n)` hears the number of open ones whenever it is
 * known (the tab and the navigation badge show it).
 * @param {{ onCount?: (open: number) => void }} [options]
 */
export function objectionsView({ onCount = () => undefined } = {}) {
  let status = 'open';
  /** @type {Objection[]} */
  let items = [];
  let total = 0;
  let offset = 0;
  /** @type {(() => void) | null} */
  let closeGallery = null;
  /** @type {Set<string>} */
  const busy = new Set();
  // Notes being written survive a refresh of the list.
  /** @type {Map<string, string>} */
  const drafts = new Map();
  const list = h('div.objections', { 'data-test': 'objections' });
  const pagerBox = h('div');
  const switcher = h('div.tabs.sub');

  async function load() {
    const r = await api(`/api/objections${qs({ status, limit: PAGE_SIZE, offset })}`);
    items = r.items ?? [];
    total = r.total ?? items.length;
    if (status === 'open') onCount(total);
  }

  /** @type {import('./notices.js').Gallery} */
  const gallery = (images, i) => {
    closeGallery?.();
    closeGallery = openGallery(images, i);
  };

  function eventLine(/** @type {Objection} */ s) {
    const e = s.event;
    if (!e) return h('div.muted', t('objections.eventGone'), ' · ', h('span.mono', s.eventId));
    return h(
      'div.objection-event',
      h('strong', tOr(`review.type.${e.type}`, e.type)),
      ' · ',
      e.camera?.postedLocation ?? e.camera?.id ?? '',
      e.zone?.name ? ` · ${e.zone.name}` : '',
      ' · ',
      h('span.muted', fmtTime(e.start)),
      ' ',
      h(
        'a',
        { href: `#/notices/${encodeURIComponent(e.id ?? s.eventId)}`, 'data-test': 'notice-link' },
        t('objections.viewNotice'),
      ),
    );
  }

  function handleForm(/** @type {Objection} */ s) {
    const note = h('textarea', {
      name: 'note',
      rows: 2,
      maxLength: 2000,
      placeholder: t('objections.notePlaceholder'),
      oninput: (ev) => drafts.set(s.id, /** @type {HTMLInputElement} */ (ev.target).value),
    });
    note.value = drafts.get(s.id) ?? '';
    return h(
      'form.inline.handle',
      {
        onsubmit: (ev) => {
          ev.preventDefault();
          void handle(s, note.value.trim(), note);
        },
      },
      note,
      h(
        'button.primary',
        { type: 'submit', disabled: busy.has(s.id), 'data-action': 'handle' },
        t('objections.handle'),
      ),
    );
  }

  function card(/** @type {Objection} */ s) {
    const photos = photoImages(s);
    return h(
      `article.objection.${s.status}`,
      { dataset: { id: s.id, status: s.status } },
      h(
        'div.objection-head',
        eventLine(s),
        h('span.muted.small', `${t('objections.submittedAt')} ${fmtTime(s.submittedAt)}`),
      ),
      h('p.statement-text', s.text),
      photos.length
        ? h('div', h('span.muted.small', `${t('objections.photos')} (${photos.length})`), thumbs(photos, gallery))
        : null,
      h(
        'div.small',
        h('span.muted', `${t('objections.contact')}: `),
        s.contact ? h('span', s.contact) : h('span.muted', t('objections.noContact')),
        h('span.muted', ` · ${t('objections.code')}: `),
        h('span.mono', fmtCode(s.code)),
      ),
      s.status === 'handled' && s.handled
        ? h(
            'div.handled',
            t('objections.handledBy', {
              who: s.handled.by?.username ?? '?',
              role: tOr(`role.${s.handled.by?.role}`, s.handled.by?.role ?? ''),
              at: fmtTime(s.handled.at),
            }),
            s.handled.note ? h('span.note', ` “${s.handled.note}”`) : null,
          )
        : handleForm(s),
    );
  }

  function draw() {
    switcher.replaceChildren(
      .../** @type {const} */ (['open', 'handled']).map((st) =>
        h(
          'button.tab',
          { type: 'button', class: st === status ? 'active' : '', 'data-objections': st, onclick: () => switchTo(st) },
          t(`objections.${st}`),
        ),
      ),
    );
    list.replaceChildren(
      ...(items.length
        ? items.map(card)
        : [h('p.muted.empty', t(status === 'open' ? 'objections.empty' : 'objections.emptyHandled'))]),
    );
    pagerBox.replaceChildren(
      total > PAGE_SIZE
        ? pager(Math.floor(offset / PAGE_SIZE) + 1, PAGE_SIZE, total, (p) => {
            offset = (p - 1) * PAGE_SIZE;
            void load().then(draw, (e) => toast(errorText(e), 'error'));
          })
        : '',
    );
  }

  async function switchTo(/** @type {'open' | 'handled'} */ st) {
    if (st === status) return;
    status = st;
    offset = 0;
    try {
      await load();
    } catch (e) {
      toast(errorText(e), 'error');
    }
    draw();
  }

  /**
   * @param {Objection} s
   * @param {string} note
   * @param {HTMLTextAreaElement} field
   */
  async function handle(s, note, field) {
    if (!note) {
      toast(t('objections.needNote'), 'error');
      field.focus();
      return;
    }
    if (busy.has(s.id)) return;
    busy.add(s.id);
    draw();
    try {
      await api(`/api/objections/${encodeURIComponent(s.id)}/handle`, { method: 'POST', body: { note } });
      toast(t('objections.handledToast'), 'ok');
      drafts.delete(s.id);
    } catch (e) {
      busy.delete(s.id);
      if (e instanceof ApiError && e.status === 409) toast(t('objections.conflict'), 'error');
      else {
        // Kept as written, to be sent again.
        toast(errorText(e), 'error');
        draw();
        return;
      }
    }
    busy.delete(s.id);
    // Handled here or by someone else: the open list is read again (and with it the count).
    try {
      await load();
    } catch (e) {
      toast(errorText(e), 'error');
    }
    draw();
  }

  /** Reads the list again, unless the reviewer is writing a note in it (the text would lose its focus). */
  async function refresh() {
    if (list.contains(document.activeElement) || busy.size) return;
    try {
      await load();
      draw();
    } catch {
      /* the next refresh tries again */
    }
  }

  const el = h(
    'section.objections-box',
    h('div.filters', switcher, h('span.muted.small', t('objections.about'))),
    list,
    pagerBox,
  );
  return {
    el,
    load,
    draw,
    refresh,
    destroy() {
      closeGallery?.();
    },
  };
}
