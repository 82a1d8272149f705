// Real headless Chromium for the console tests: Debian's chromium (scripts/services.d/chromium.sh installs it; the
// global setup exports CHROMIUM) driven by playwright-core, which brings no browser of its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Where the browser tests save their screenshots: docs/console/ (tracked, the pictures of docs/console.md) when
 * UPDATE_SCREENSHOTS=1, else .tmp/screenshots/, so that a test run leaves the working tree as it was.
 */
export const SCREENSHOT_DIR = path.resolve(
  import.meta.dirname,
  process.env.UPDATE_SCREENSHOTS === '1' ? '../docs/console' : '../.tmp/screenshots',
);

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (x): x is string => !!x,
  );
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error('Chromium is not installed: run scripts/services up chromium (the test setup does)');
  return found;
}

export interface Browser {
  context: BrowserContext;
  /** A new tab, with console errors and failed requests collected into `problems`. */
  page(): Promise<Page>;
  problems: string[];
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    // A laptop screen.
    viewport: { width: 1440, height: 900 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const problems: string[] = [];
  return {
    context,
    problems,
    async page() {
      const p = await context.newPage();
      p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      p.on('console', (m) => {
        // A 401 before login is how the console learns it must show the login page: not a problem.
        if (m.type() === 'error' && !/401|Unauthorized/.test(m.text())) problems.push(`console: ${m.text()}`);
      });
      return p;
    },
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Saves a screenshot (SCREENSHOT_DIR/NAME.png). */
export async function screenshot(
  page: Page,
  name: string,
  o: { onlyIfMissing?: boolean; toasts?: boolean } = {},
): Promise<void> {
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  if (o.onlyIfMissing && fs.existsSync(file)) return;
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Messages of earlier steps would clutter the picture.
  if (!o.toasts) await page.locator('.toasts').evaluateAll((els) => els.forEach((e) => e.remove()));
  await page.screenshot({ path: file });
}

/** Logs in through the login page; resolves when the app has navigated away from it. */
export async function login(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  // Signed out, in a fresh document (the console keeps who is logged in in memory).
  await page.context().clearCookies();
  await page.goto('about:blank');
  await page.goto(`${baseUrl}/#/login`);
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.locator('form.login button[type=submit]').click();
  // (No waitForFunction: the console's Content-Security-Policy forbids the eval it uses.)
  await page.waitForURL((u) => !u.hash.startsWith('#/login'));
}
