// @ts-check
// Admins: the audit trail (#/audit): logins and refused logins, user, camera and device changes, review decisions,
// with who, when and from where; filtered by period, action and user, and exported as CSV with the same filters.
import { t, tOr } from '../i18n.js';
import { api, errorText, fmtTime, h, qs, select, toast } from '../lib.js';

const ACTIONS = [
  'login',
  'login_failed',
  'login_rate_limited',
  'logout',
  'session_expired',
  'user_created',
  'user_updated',
  'password_changed',
  'admin_password_set',
  'camera_created',
  'camera_updated',
  'camera_zones_changed',
  'camera_deleted',
  'device_created',
  'device_updated',
  'devices_imported',
  'device_credentials_issued',
  'review_confirm',
  'review_reject',
];

/** One line of the trail (users/audit-route.ts AuditLine, which the browser check cannot load: it imports the server). */
/** @typedef {{ ts: string, action: string, subject: string, by: string, ip: string, detail: string }} AuditLine */

export async function render() {
  /** @type {{ action: string, user: string, from: string, to: string }} */
  const f = { action: '', user: '', from: '', to: '' };
  const tbody = h('tbody');
  const csv = h('a', { href: '/api/audit.csv', download: 'audit.csv', 'data-test': 'audit-csv' }, t('audit.csv'));
  const query = () =>
    qs({
      action: f.action || undefined,
      user: f.user || undefined,
      from: f.from ? new Date(f.from).toISOString() : undefined,
      to: f.to ? new Date(f.to).toISOString() : undefined,
    });
  const load = async () => {
    try {
      /** @type {{ items: AuditLine[] }} */
      const { items } = await api(`/api/audit${query()}`);
      csv.setAttribute('href', `/api/audit.csv${query()}`);
      const rows = items.map((l) =>
        h(
          'tr',
          { dataset: { action: l.action } },
          h('td.nowrap', fmtTime(l.ts)),
          h('td', tOr(`audit.action.${l.action}`, l.action)),
          h('td.mono', l.subject),
          h('td', l.by),
          h('td.mono', l.ip),
          h('td.small', l.detail),
        ),
      );
      tbody.replaceChildren(...(rows.length ? rows : [h('tr', h('td.empty', { colSpan: 6 }, t('common.empty')))]));
    } catch (e) {
      toast(errorText(e), 'error');
    }
  };
  const input = (/** @type {'user' | 'from' | 'to'} */ name, /** @type {string} */ type) =>
    h('input', {
      type,
      name,
      'data-test': `audit-${name}`,
      onchange: (ev) => ((f[name] = /** @type {HTMLInputElement} */ (ev.target).value.trim()), void load()),
    });
  await load();
  const el = h(
    'div.page.audit',
    h('div.page-head', h('h1', t('audit.title')), csv),
    h(
      'div.filters',
      select(
        'action',
        '',
        [
          { value: '', label: `${t('audit.action')}: ${t('common.all')}` },
          ...ACTIONS.map((a) => ({ value: a, label: t(`audit.action.${a}`) })),
        ],
        (v) => ((f.action = v), void load()),
      ),
      h('label', `${t('audit.user')} `, input('user', 'text')),
      h('label', `${t('audit.from')} `, input('from', 'datetime-local')),
      h('label', `${t('audit.to')} `, input('to', 'datetime-local')),
    ),
    h(
      'table.list',
      h(
        'thead',
        h(
          'tr',
          ...['audit.ts', 'audit.action', 'audit.subject', 'audit.by', 'audit.ip', 'audit.detail'].map((k) =>
            h('th', t(k)),
          ),
        ),
      ),
      tbody,
    ),
  );
  return { el };
}
