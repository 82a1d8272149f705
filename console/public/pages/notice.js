// @ts-check
// The notice of one event on its own page (#/notices/EVENT-ID): where a statement in the review queue links to, so a
// reviewer answering a party sees what the party was told, when, what the re-check found and whether a case was filed.
import { t } from '../i18n.js';
import { ApiError, api, h, openGallery } from '../lib.js';
import { noticeDetail, outcome } from './notices.js';

const REFRESH_MS = 15_000;

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  const id = ctx.params.eventId;
  /** @type {(() => void) | null} */
  let closeGallery = null;
  /** @type {import('./notices.js').Gallery} */
  const gallery = (images, i) => {
    closeGallery?.();
    closeGallery = openGallery(images, i);
  };
  const back = h('a', { href: '#/notices' }, t('notices.back'));
  /** @type {import('./notices.js').NoticeView} */
  let notice;
  try {
    notice = await api(`/api/notices/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      return { el: h('div.page.notice-page', h('div.page-head', back), h('p.muted', t('notices.notFound', { id }))) };
    }
    throw e;
  }
  let event = null;
  try {
    event = await api(`/api/events/${encodeURIComponent(id)}`);
  } catch {
    // The notice is shown without the event's place and evidence.
  }
  const openTexts = new Set();
  const headline = h('span');
  const body = h('section.panel');
  const draw = () => {
    headline.replaceChildren(outcome(notice));
    body.replaceChildren(noticeDetail(notice, { event, gallery, openTexts }));
  };
  // A notice waiting for its re-check changes within minutes.
  const timer = setInterval(async () => {
    if (document.hidden || notice.closedAt) return;
    try {
      notice = await api(`/api/notices/${encodeURIComponent(id)}`);
      draw();
    } catch {
      /* tried again later */
    }
  }, REFRESH_MS);
  draw();
  return {
    el: h('div.page.notice-page', h('div.page-head', back, h('h1', t('notices.title')), headline), body),
    destroy() {
      clearInterval(timer);
      closeGallery?.();
    },
  };
}
