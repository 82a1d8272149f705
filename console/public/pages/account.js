// @ts-check
// Every user: change their own password (the current one is asked for again).
import { t } from '../i18n.js';
import { api, errorText, h, toast } from '../lib.js';

/** @param {import('../app.js').PageContext} ctx */
export function render(ctx) {
  const current = h('input', {
    name: 'currentPassword',
    type: 'password',
    required: true,
    autocomplete: 'current-password',
  });
  const next = h('input', {
    name: 'password',
    type: 'password',
    required: true,
    minLength: 8,
    autocomplete: 'new-password',
  });
  const form = h(
    'form.create',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await api(`/api/users/${encodeURIComponent(ctx.user.username)}`, {
            method: 'PATCH',
            body: { password: next.value, currentPassword: current.value },
          });
          form.reset();
          toast(t('account.changed'), 'ok');
        } catch (err) {
          toast(errorText(err), 'error');
        }
      },
    },
    h('h2', t('account.changePassword')),
    h('label', t('account.current'), current),
    h('label', t('account.new'), next),
    h('button.primary', { type: 'submit' }, t('common.save')),
  );
  const u = ctx.user;
  return {
    el: h(
      'div.page.account',
      h('div.page-head', h('h1', t('account.title'))),
      h('p', `${u.displayName ?? u.username} (${u.username}) · ${t(`role.${u.role}`)}`),
      form,
      h('p', h('a', { href: '#/api', 'data-test': 'api-doc-link' }, t('account.apiDoc'))),
    ),
  };
}
