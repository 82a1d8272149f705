// The API reference page (#/api) in real headless Chromium against the real API and guard: a reviewer and a staff
// member reach it from their account page, it lists the feature routes read from /api/openapi.json with their
// parameters, in Chinese first and in English; signed out, the document is refused like any /api route.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleApi, type ConsoleApi } from './console-api.js';
import { launch, login, screenshot, type Browser } from './console-browser.js';
import { tmpDir } from './helpers.js';

describe('API reference page in Chromium', () => {
  let p: ConsoleApi;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    p = await startConsoleApi(tmpDir('console-api-doc'));
    browser = await launch();
    page = await browser.page();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('is refused without a session', async () => {
    expect((await fetch(`${p.url}/api/openapi.json`)).status).toBe(401);
  });

  for (const role of ['reviewer', 'staff'] as const) {
    it(`lists the routes with their methods and parameters for a ${role}`, async () => {
      const password = await p.addUser(`doc.${role}`, role, role);
      await login(page, p.url, `doc.${role}`, password);
      await page.goto(`${p.url}/#/account`);
      await page.locator('[data-test=api-doc-link]').click();
      await page.waitForURL((u) => u.hash === '#/api');
      const ops = page.locator('[data-test=api-op]');
      await ops.first().waitFor();
      await expect.poll(() => page.locator('h1').textContent()).toBe('API 参考');
      const listed = await ops.evaluateAll((els) =>
        els.map((e) => `${e.getAttribute('data-method')} ${e.getAttribute('data-path')}`),
      );
      for (const r of [
        'get /api/alerts',
        'get /api/alerts/{id}',
        'post /api/alerts/{id}/ack',
        'get /api/events',
        'post /api/events/{id}/review',
        'get /api/cases',
        'post /api/cases/{id}/retry',
      ]) {
        expect(listed).toContain(r);
      }
      const alerts = page.locator('[data-test=api-op][data-method=get][data-path="/api/alerts"]');
      expect(await alerts.locator('tbody td.mono').allTextContents()).toEqual(
        expect.arrayContaining(['state', 'limit']),
      );
      await page.locator('[data-test=api-filter]').fill('/api/cases');
      expect(await page.locator('[data-test=api-op]:visible').count()).toBeLessThan(listed.length);
      if (role === 'reviewer') await screenshot(page, 'api-doc', { onlyIfMissing: true });
    });
  }

  it('reads in English after the language switch', async () => {
    await page.locator('[data-test=lang]').click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('API reference');
    await page.locator('[data-test=lang]').click();
    expect(pageErrors).toEqual([]);
  });
});
