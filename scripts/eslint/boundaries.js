// @ts-check
// The import boundaries of the tree as one ESLint rule, read from a table in eslint.config.js. It resolves relative
// specifiers by path alone (the tree imports its own files only by relative paths, `.js` standing for the `.ts`
// source), so it needs no module resolver and costs next to nothing per file.
import path from 'node:path';

/**
 * @typedef {object} Boundaries
 * @property {string} root absolute path of the repository
 * @property {string[]} testCode regular expressions for the tests, their fixtures and the benchmarks (ESLint clones
 *   rule options, so no functions): they may import anything, product code imports none of them
 * @property {string[]} foundation folders that import only each other (and packages)
 * @property {string[]} mayImportApp folders besides app/ that may import the composition root
 * @property {string[]} anyInternals folders whose product code may import any file of another folder
 * @property {string[]} open folders every file of which is public (a toolbox of one-job helpers)
 * @property {Record<string, Record<string, string>>} publicEntries per folder, beyond its index.ts: file or
 *   directory prefix (relative to the folder; a prefix ends with '/') → why other folders may import it
 */

/** @param {string} rel @param {Record<string, string> | undefined} entries */
function isPublic(rel, entries) {
  const [, ...rest] = rel.split('/');
  const inner = rest.join('/');
  if (inner === 'index.ts') return true;
  for (const key of Object.keys(entries ?? {})) {
    if (key.endsWith('/') ? inner.startsWith(key) : inner === key) return true;
  }
  return false;
}

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'keeps the layering: what each folder may import from the others' },
    schema: [{ type: 'object', additionalProperties: true }],
  },
  create(context) {
    const b = /** @type {Boundaries} */ (context.options[0]);
    const testCode = b.testCode.map((re) => new RegExp(re));
    const isTestCode = (/** @type {string} */ f) => testCode.some((re) => re.test(f));
    const file = path.relative(b.root, context.filename).split(path.sep).join('/');
    if (!file.includes('/') || isTestCode(file)) return {};
    const from = file.split('/')[0] ?? '';

    /** @param {import('estree').Node} node @param {unknown} source */
    function check(node, source) {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), source)).replace(/\.js$/, '.ts');
      const to = target.split('/')[0] ?? '';
      const report = (/** @type {string} */ why) =>
        context.report({ node, message: `${file} imports ${target}: ${why}` });
      if (isTestCode(target)) return report('product code imports no test, fixture or benchmark code');
      if (to === from) return;
      if (b.foundation.includes(from) && !b.foundation.includes(to)) {
        return report(`${b.foundation.join('/, ')}/ are the base every part stands on and import no part`);
      }
      if (to === 'app' && !b.mayImportApp.includes(from)) {
        return report('app/ is the composition root: it imports the parts, not the other way round');
      }
      if (b.anyInternals.includes(from) || b.open.includes(to)) return;
      if (!isPublic(target, b.publicEntries[to])) {
        return report(`not a public entry of ${to}/ (its index.ts or publicEntries in eslint.config.js)`);
      }
    }

    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

export default { rules: { layers: rule } };
