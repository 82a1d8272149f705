// @ts-check
// The console's shell: who is logged in, the navigation allowed for their role, the language switch, and a hash
// router (#/alerts, #/devices/ID, #/review, ...) so the server serves one page and every view is a bookmark.
import { getLang, setLang, t } from './i18n.js';
import { ApiError, api, errorText, h, onUnauthorized, toast } from './lib.js';

// The session's user as GET /api/session answers it (users/types.ts SessionUser; that file also declares the server's
// fastify types, which the browser check does not load).
/** @typedef {'staff' | 'reviewer' | 'admin'} Role */
/** @typedef {{ id: string, username: string, role: Role, displayName: string }} SessionUser */
/**
 * What app.js hands each page's render(ctx).
 * @typedef {object} PageContext
 * @property {SessionUser} user (null only on the login page, which does not read it)
 * @property {Record<string, string>} params the route's `:name` parts
 * @property {Record<string, string>} query the hash's query string
 * @property {(path: string) => void} navigate to `#/path`
 * @property {(user: SessionUser) => void} setUser after logging in
 * @property {() => Promise<void>} rerender
 * @property {(open?: number) => void} objectionsChanged a page that knows the number of open statements passes it
 */
/**
 * What a page's render(ctx) returns: its element, and what to do once shown and when left.
 * @typedef {object} Page
 * @property {HTMLElement} el
 * @property {() => void} [mounted]
 * @property {() => void} [destroy]
 */
/** @typedef {{ render: (ctx: PageContext) => Page | Promise<Page> }} PageModule */
/** @typedef {{ path: string, nav?: string, roles: Role[] | null, load: () => Promise<PageModule> }} Route */

/** @type {Route[]} */
const ROUTES = [
  { path: 'alerts', nav: 'nav.alerts', roles: ['staff', 'admin'], load: () => import('./pages/alerts.js') },
  { path: 'devices', nav: 'nav.devices', roles: ['staff', 'admin'], load: () => import('./pages/devices.js') },
  { path: 'devices/:id', roles: ['staff', 'admin'], load: () => import('./pages/device.js') },
  { path: 'review', nav: 'nav.review', roles: ['reviewer', 'admin'], load: () => import('./pages/review.js') },
  { path: 'notices', nav: 'nav.notices', roles: ['reviewer', 'admin'], load: () => import('./pages/notices.js') },
  { path: 'notices/:eventId', roles: ['reviewer', 'admin'], load: () => import('./pages/notice.js') },
  { path: 'parties', nav: 'nav.parties', roles: ['reviewer', 'admin'], load: () => import('./pages/parties.js') },
  { path: 'cases', nav: 'nav.cases', roles: ['reviewer', 'admin'], load: () => import('./pages/cases.js') },
  { path: 'inbox', nav: 'nav.inbox', roles: ['reviewer', 'admin'], load: () => import('./pages/inbox.js') },
  { path: 'stats', nav: 'nav.stats', roles: ['staff', 'reviewer', 'admin'], load: () => import('./pages/stats.js') },
  { path: 'cameras', nav: 'nav.cameras', roles: ['admin'], load: () => import('./pages/cameras.js') },
  { path: 'cameras/:id', roles: ['admin'], load: () => import('./pages/camera.js') },
  { path: 'map', nav: 'nav.map', roles: ['staff', 'reviewer', 'admin'], load: () => import('./pages/map.js') },
  { path: 'users', nav: 'nav.users', roles: ['admin'], load: () => import('./pages/users.js') },
  { path: 'audit', nav: 'nav.audit', roles: ['admin'], load: () => import('./pages/audit.js') },
  { path: 'account', roles: ['staff', 'reviewer', 'admin'], load: () => import('./pages/account.js') },
  { path: 'api', roles: ['staff', 'reviewer', 'admin'], load: () => import('./pages/api.js') },
  { path: 'login', roles: null, load: () => import('./pages/login.js') },
];

/** @type {Record<Role, string>} */
const HOME = { staff: 'alerts', reviewer: 'review', admin: 'alerts' };

/** @type {{ user: SessionUser | null, current: Page | null, renderSeq: number, openObjections: number | null }} */
const state = { user: null, current: null, renderSeq: 0, openObjections: null };
// Open statements (陈述申辩) wait in the reviewers' queue: their number is shown beside 审核 in the navigation.
/** @type {Role[]} */
const OBJECTION_ROLES = ['reviewer', 'admin'];
const OBJECTIONS_REFRESH_MS = 60_000;
// Both are in index.html.
const view = /** @type {HTMLElement} */ (document.getElementById('view'));
const top = /** @type {HTMLElement} */ (document.getElementById('top'));

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const parts = (pathPart ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  for (const r of ROUTES) {
    const pat = r.path.split('/');
    if (pat.length !== parts.length) continue;
    /** @type {Record<string, string>} */
    const params = {};
    if (
      pat.every((p, i) =>
        p.startsWith(':') ? ((params[p.slice(1)] = /** @type {string} */ (parts[i])), true) : p === parts[i],
      )
    ) {
      return { route: r, params, query: Object.fromEntries(new URLSearchParams(queryPart)) };
    }
  }
  return { route: null, params: {}, query: {} };
}

/** @param {string} path */
export function navigate(path) {
  if (location.hash === `#/${path}`) void render();
  else location.hash = `#/${path}`;
}

function header() {
  top.replaceChildren();
  top.hidden = false;
  const u = state.user;
  const here = parseHash().route?.path.split('/')[0];
  const nav = u
    ? ROUTES.filter((r) => r.nav && r.roles?.includes(u.role)).map((r) => {
        const link = h(
          'a',
          { href: `#/${r.path}`, class: here === r.path ? 'active' : '', 'data-nav': r.path },
          t(r.nav ?? r.path),
        );
        return r.path === 'review' ? h('span.nav-item', link, objectionsBadge) : link;
      })
    : [];
  top.append(
    h(
      'div.brand',
      h('img', { src: '/console/favicon.svg', alt: '', width: 22, height: 22 }),
      h('span', t('app.title')),
    ),
    h('nav', nav),
    h(
      'div.right',
      u &&
        h(
          'a.user',
          { href: '#/account', title: t('nav.account') },
          `${u.displayName || u.username} · ${t(`role.${u.role}`)}`,
        ),
      h('button.link', { type: 'button', 'data-test': 'lang', onclick: switchLang }, t('lang.switch')),
      u && h('button.link', { type: 'button', 'data-test': 'logout', onclick: logout }, t('nav.logout')),
    ),
  );
}

// Outside the link, so the link's text stays its label; a click on it opens the statements tab of the review page.
const objectionsBadge = h('button.nav-badge', {
  type: 'button',
  hidden: true,
  'data-test': 'objections-badge',
  onclick: () => navigate('review?status=objections'),
});

function drawObjectionsBadge() {
  const n = state.openObjections;
  objectionsBadge.hidden = !n;
  objectionsBadge.textContent = n ? String(n > 99 ? '99+' : n) : '';
  objectionsBadge.title = n ? t('nav.objectionsOpen', { n }) : '';
}

/** Counts the open statements (or takes the count a page already knows) and redraws the badge. */
/** @param {number} [known] */
async function refreshObjections(known) {
  if (!state.user || !OBJECTION_ROLES.includes(state.user.role)) {
    state.openObjections = null;
  } else if (typeof known === 'number') {
    state.openObjections = known;
  } else {
    try {
      state.openObjections = (await api('/api/objections?status=open&limit=1', { quiet401: true })).total ?? null;
    } catch {
      // A platform without the statements routes (or a session that just ended): no badge.
      state.openObjections = null;
    }
  }
  drawObjectionsBadge();
}

function switchLang() {
  setLang(getLang() === 'en' ? 'zh-CN' : 'en');
  document.title = t('app.title');
  void render();
}

async function logout() {
  try {
    await api('/api/session', { method: 'DELETE', quiet401: true });
  } catch {
    /* already gone */
  }
  state.user = null;
  navigate('login');
}

async function render() {
  const seq = ++state.renderSeq;
  const { route, params, query } = parseHash();
  if (state.current?.destroy) state.current.destroy();
  state.current = null;
  if (!state.user && route?.path !== 'login') {
    sessionStorage.setItem('console.after', location.hash);
    return navigate('login');
  }
  if (!route || (state.user && route.path === 'login'))
    return navigate(state.user ? (HOME[state.user.role] ?? 'account') : 'login');
  header();
  drawObjectionsBadge();
  // Only the login page (roles null) is shown without a user: navigate() above saw to that.
  const user = /** @type {SessionUser} */ (state.user);
  if (route.roles && !route.roles.includes(user.role)) {
    view.replaceChildren(h('p.error', t('common.forbidden')));
    return;
  }
  view.replaceChildren(h('p.muted', t('common.loading')));
  try {
    const mod = await route.load();
    if (seq !== state.renderSeq) return;
    /** @type {PageContext} */
    const ctx = {
      user,
      params,
      query,
      navigate,
      setUser,
      rerender: render,
      objectionsChanged: (n) => void refreshObjections(n),
    };
    const page = await mod.render(ctx);
    if (seq !== state.renderSeq) {
      page.destroy?.();
      return;
    }
    state.current = page;
    view.replaceChildren(page.el);
    page.mounted?.();
  } catch (e) {
    if (seq !== state.renderSeq) return;
    if (e instanceof ApiError && e.status === 401) return;
    view.replaceChildren(h('p.error', errorText(e)));
  }
}

/**
 * Called by the login page.
 * @param {SessionUser} user
 */
function setUser(user) {
  state.user = user;
  void refreshObjections();
  const after = sessionStorage.getItem('console.after');
  sessionStorage.removeItem('console.after');
  if (after && !after.startsWith('#/login')) location.hash = after;
  else navigate(HOME[user.role] ?? 'account');
}

onUnauthorized(() => {
  if (!state.user) return;
  state.user = null;
  toast(t('common.sessionExpired'), 'error');
  sessionStorage.setItem('console.after', location.hash);
  navigate('login');
});

async function boot() {
  setLang(getLang());
  document.title = t('app.title');
  try {
    const r = await api('/api/session', { quiet401: true });
    state.user = r.user ?? r;
  } catch {
    state.user = null;
  }
  window.addEventListener('hashchange', () => void render());
  await render();
  void refreshObjections();
  setInterval(() => {
    if (!document.hidden) void refreshObjections();
  }, OBJECTIONS_REFRESH_MS);
  document.body.dataset.ready = '1';
}

void boot();
