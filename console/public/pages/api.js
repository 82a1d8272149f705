// @ts-check
// Every signed-in user: the API reference (#/api), read from /api/openapi.json, which the server builds from the
// routes' zod schemas (api/schemas.ts): each path with its methods, parameters, request body and answers. No
// third-party viewer: the document is drawn with the console's own elements.
import { t } from '../i18n.js';
import { api, errorText, h } from '../lib.js';

/** @typedef {{ name: string, in: string, required?: boolean, description?: string, schema?: Record<string, unknown> }} Param */
/** @typedef {{ summary?: string, tags?: string[], parameters?: Param[], requestBody?: { content?: Record<string, { schema?: unknown }> }, responses?: Record<string, { description?: string, content?: Record<string, { schema?: unknown }> }> }} Operation */

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** A parameter's type in a few words: `string`, `integer ≥ 1 ≤ 1000`, `pending | confirmed`. */
/** @returns {string} */
function typeText(/** @type {Record<string, any> | undefined} */ s) {
  if (!s) return '';
  if (Array.isArray(s.enum)) return s.enum.join(' | ');
  if (Array.isArray(s.anyOf)) return s.anyOf.map(typeText).join(' | ');
  // zod's integers carry the safe-integer bounds: not worth a reader's attention.
  const bounds = [
    s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER && `≥ ${s.minimum}`,
    s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER && `≤ ${s.maximum}`,
    s.default !== undefined && `= ${JSON.stringify(s.default)}`,
  ].filter(Boolean);
  return [s.type ?? s.format ?? '', ...bounds].join(' ').trim();
}

function schemaBlock(/** @type {string} */ label, /** @type {unknown} */ schema) {
  return h('details.schema', h('summary', label), h('pre.mono', JSON.stringify(schema, null, 2)));
}

function operation(/** @type {string} */ path, /** @type {string} */ method, /** @type {Operation} */ op) {
  const params = op.parameters ?? [];
  const body = op.requestBody?.content?.['application/json']?.schema;
  const responses = Object.entries(op.responses ?? {});
  return h(
    'section.card.api-op',
    { 'data-test': 'api-op', dataset: { method, path } },
    h(
      'h3',
      h('span.badge.mono', method.toUpperCase()),
      ' ',
      h('span.mono', path),
      op.summary ? h('span.small', ` · ${op.summary}`) : null,
    ),
    params.length
      ? h(
          'table.list',
          h(
            'thead',
            h(
              'tr',
              h('th', t('apiDoc.name')),
              h('th', t('apiDoc.in')),
              h('th', t('apiDoc.type')),
              h('th', t('apiDoc.required')),
            ),
          ),
          h(
            'tbody',
            params.map((p) =>
              h(
                'tr',
                h('td.mono', p.name),
                h('td', t(`apiDoc.in.${p.in}`)),
                h('td.mono', typeText(p.schema)),
                h('td', p.required ? t('apiDoc.yes') : ''),
              ),
            ),
          ),
        )
      : null,
    body ? schemaBlock(t('apiDoc.body'), body) : null,
    responses.map(([code, r]) => {
      const schema = r.content?.['application/json']?.schema;
      // A file or page (CSV, .xlsx, PDF, HTML) is described by the content types it is sent as.
      const types = Object.keys(r.content ?? {}).join(', ');
      return schema
        ? schemaBlock(`${t('apiDoc.response')} ${code}`, schema)
        : h('p.small', `${t('apiDoc.response')} ${code}${types ? ` · ${types}` : ''}`);
    }),
  );
}

export async function render() {
  const list = h('div.api-ops');
  const filter = h('input', { type: 'search', placeholder: t('apiDoc.filter'), 'data-test': 'api-filter' });
  const el = h(
    'div.page.api-doc',
    h(
      'div.page-head',
      h('h1', t('apiDoc.title')),
      h('a', { href: '/api/openapi.json', target: '_blank', rel: 'noopener' }, 'openapi.json'),
    ),
    h('p.small', t('apiDoc.intro')),
    filter,
    list,
  );
  try {
    /** @type {{ info?: { version?: string }, paths: Record<string, Record<string, Operation>> }} */
    const doc = await api('/api/openapi.json');
    const ops = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/'))
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([path, item]) =>
        METHODS.filter((m) => item[m]).map((m) => operation(path, m, /** @type {Operation} */ (item[m]))),
      );
    list.replaceChildren(...(ops.length ? ops : [h('p.empty', t('common.empty'))]));
    filter.addEventListener('input', () => {
      const q = /** @type {HTMLInputElement} */ (filter).value.trim().toLowerCase();
      for (const op of ops)
        op.hidden = !!q && !`${op.dataset.method} ${op.dataset.path} ${op.textContent}`.toLowerCase().includes(q);
    });
  } catch (e) {
    list.replaceChildren(h('p.error', errorText(e)));
  }
  return { el };
}
