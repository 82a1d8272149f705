// @ts-check
// Admin: users — create (username, name, role, password), change role, disable or enable, reset a password.
import { t } from '../i18n.js';
import { api, badge, errorText, fmtTime, h, toast } from '../lib.js';

const ROLES = ['staff', 'reviewer', 'admin'];

/** A random password that reads well aloud (no 0/O, 1/l/I). */
export function randomPassword(n = 14) {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

/** A user as `GET /api/users` lists them (users/types.ts userView: never the hash). */
/** @typedef {{ username: string, role: import('../app.js').Role, displayName: string, disabled: boolean, createdAt: string, updatedAt: string, createdBy: string, updatedBy: string }} UserView */

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  /** @type {UserView[]} */
  let users = [];
  const tbody = h('tbody');
  const notice = h('p.notice', { hidden: true, 'data-test': 'notice' });

  const load = async () => {
    const r = await api('/api/users');
    users = Array.isArray(r) ? r : (r.items ?? []);
  };

  const show = (/** @type {string} */ text) => {
    notice.textContent = text;
    notice.hidden = false;
  };

  /**
   * @param {UserView} u
   * @param {Record<string, unknown>} body
   * @param {string} [message] shown in the notice instead of a toast (a new password)
   */
  async function patch(u, body, message) {
    try {
      await api(`/api/users/${encodeURIComponent(u.username)}`, { method: 'PATCH', body });
      await load();
      draw();
      if (message) show(message);
      else toast(t('users.updated', { u: u.username }), 'ok');
    } catch (e) {
      toast(errorText(e), 'error');
      draw();
    }
  }

  function draw() {
    tbody.replaceChildren(
      ...users.map((u) => {
        const self = u.username === ctx.user.username;
        return h(
          `tr.user${u.disabled ? '.disabled' : ''}`,
          { dataset: { username: u.username } },
          h('td.mono', u.username, self ? h('span.muted', t('users.self')) : null),
          h('td', u.displayName ?? ''),
          h(
            'td',
            h(
              'select',
              {
                name: 'role',
                disabled: self,
                onchange: (e) => patch(u, { role: /** @type {HTMLInputElement} */ (e.target).value }),
              },
              ROLES.map((r) => h('option', { value: r, selected: r === u.role }, t(`role.${r}`))),
            ),
          ),
          h('td', u.disabled ? badge('offline', t('users.disabled')) : badge('online', t('users.active'))),
          h('td.muted.small', fmtTime(u.createdAt)),
          h(
            'td.actions',
            !self &&
              h(
                'button.small',
                {
                  type: 'button',
                  'data-action': u.disabled ? 'enable' : 'disable',
                  onclick: () => patch(u, { disabled: !u.disabled }),
                },
                u.disabled ? t('users.enable') : t('users.disable'),
              ),
            !self &&
              h(
                'button.small',
                {
                  type: 'button',
                  'data-action': 'reset',
                  onclick: () => {
                    const p = randomPassword();
                    void patch(u, { password: p }, `${u.username}: ${t('users.generated', { p })}`);
                  },
                },
                t('users.resetPassword'),
              ),
          ),
        );
      }),
    );
  }

  const username = h('input', {
    name: 'username',
    required: true,
    pattern: '[A-Za-z0-9_.\\-]{2,64}',
    autocomplete: 'off',
  });
  const displayName = h('input', { name: 'displayName', autocomplete: 'off' });
  const role = h(
    'select',
    { name: 'role' },
    ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))),
  );
  const password = h('input', {
    name: 'password',
    required: true,
    minLength: 8,
    autocomplete: 'new-password',
    placeholder: t('users.passwordHint'),
  });
  const form = h(
    'form.create',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        const body = {
          username: username.value.trim(),
          password: password.value,
          role: role.value,
          ...(displayName.value.trim() ? { displayName: displayName.value.trim() } : {}),
        };
        try {
          await api('/api/users', { method: 'POST', body });
          show(`${t('users.created', { u: body.username })} · ${t('users.generated', { p: body.password })}`);
          form.reset();
          await load();
          draw();
        } catch (err) {
          toast(errorText(err), 'error');
        }
      },
    },
    h('h2', t('users.create')),
    h('label', t('users.username'), username),
    h('label', t('users.displayName'), displayName),
    h('label', t('users.role'), role),
    h(
      'label',
      t('users.newPassword'),
      h(
        'span.row',
        password,
        h('button.small', { type: 'button', onclick: () => (password.value = randomPassword()) }, t('users.generate')),
      ),
    ),
    h('button.primary', { type: 'submit' }, t('users.create')),
  );

  await load();
  draw();
  const el = h(
    'div.page.users',
    h('div.page-head', h('h1', t('users.title'))),
    notice,
    h(
      'div.users-grid',
      h(
        'table.list',
        h(
          'thead',
          h(
            'tr',
            ['users.username', 'users.displayName', 'users.role', 'users.status', 'users.when', 'alerts.actions'].map(
              (k) => h('th', t(k)),
            ),
          ),
        ),
        tbody,
      ),
      form,
    ),
  );
  return { el };
}
