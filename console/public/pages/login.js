// @ts-check
// Login: username and password → POST /api/session (the server sets the HttpOnly session cookie).
import { t } from '../i18n.js';
import { ApiError, api, h } from '../lib.js';

/** @param {import('../app.js').PageContext} ctx */
export function render(ctx) {
  const msg = h('p.error', { role: 'alert', hidden: true });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button.primary', { type: 'submit' }, t('login.submit'));
  const form = h(
    'form.login',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        msg.hidden = true;
        submit.disabled = true;
        try {
          const r = await api('/api/session', {
            method: 'POST',
            body: { username: user.value.trim(), password: pass.value },
            quiet401: true,
          });
          ctx.setUser(r.user ?? r);
        } catch (err) {
          const status = err instanceof ApiError ? err.status : 0;
          msg.textContent =
            status === 401 ? t('login.failed') : status === 429 ? t('login.tooMany') : t('login.unavailable');
          msg.hidden = false;
          pass.select();
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', t('login.title')),
    h('label', t('login.username'), user),
    h('label', t('login.password'), pass),
    msg,
    submit,
    h('p.muted.small', t('login.hint')),
  );
  return { el: h('div.login-wrap', form), mounted: () => user.focus() };
}
