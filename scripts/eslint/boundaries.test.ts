// The import boundaries as `npm run lint` applies them (eslint.config.js's table), on made-up files: each layer rule
// refuses what it should and lets the tests and the composition root through.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

async function boundaryErrors(file: string, imports: string[]): Promise<string[]> {
  const code = imports.map((spec, i) => `import * as m${i} from '${spec}';\nexport { m${i} };\n`).join('');
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'boundaries/layers').map((m) => m.message);
}

describe('import boundaries', () => {
  it('keeps contracts/, runtime/ and bus/ free of the parts', async () => {
    const errors = await boundaryErrors('contracts/x.ts', ['../alerts/manager.js', '../runtime/log.js']);
    expect(errors).toEqual([expect.stringMatching(/contracts\/x\.ts imports alerts\/manager\.ts: .*import no part/)]);
  });

  it('keeps tests, fixtures and benchmarks out of product code', async () => {
    const errors = await boundaryErrors('cases/x.ts', [
      '../test/helpers.js',
      '../review/testdata/fixtures.js',
      './x.test.js',
    ]);
    expect(errors).toHaveLength(3);
  });

  it('lets only the composition root and the tools import app/', async () => {
    expect(await boundaryErrors('cases/x.ts', ['../app/config.js'])).toHaveLength(1);
    expect(await boundaryErrors('operations/x.ts', ['../app/config.js'])).toEqual([]);
  });

  it("reaches another folder only through its index.ts and listed entries, vision's internals included", async () => {
    const errors = await boundaryErrors('cases/x.ts', [
      '../vision/track/tracker.js',
      '../alerts/store.js',
      '../vision/evidence/store.js',
      '../users/index.js',
      '../runtime/time.js',
    ]);
    expect(errors).toEqual([
      expect.stringMatching(/vision\/track\/tracker\.ts: not a public entry of vision\//),
      expect.stringMatching(/alerts\/store\.ts: not a public entry of alerts\//),
    ]);
  });

  it('lets tests and the composition root drive any internals', async () => {
    expect(await boundaryErrors('cases/x.test.ts', ['../vision/track/tracker.js', '../test/helpers.js'])).toEqual([]);
    expect(await boundaryErrors('app/x.ts', ['../vision/track/tracker.js'])).toEqual([]);
  });
});
