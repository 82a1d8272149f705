// One act, one case in the reviewer's console, in real headless Chromium over the real review queue, review routes
// and case store: two events of one parked car (track 45 read "A78699", track 183 "苏A78699" 5 s later, the second
// linked to the first by the vision worker) are marked as possible duplicates in the queue and point to each other;
// confirming both with C files exactly one case, and the second confirmation says it joined the first one's case.
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseRoutes } from '../cases/routes.js';
import { eventRoutes, reviewRoutes } from '../review/routes.js';
import { CaseService } from '../cases/service.js';
import { consolePlugin } from '../console/plugin.js';
import type { EnforcementEvent } from '../contracts/index.js';
import { ReviewService } from '../review/decisions.js';
import { EventStore } from '../review/store.js';
import { silentLogger } from '../runtime/log.js';
import { authPlugin, startUsers } from '../users/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { launch, login, screenshot, type Browser } from './console-browser.js';
import { simulatedEvents } from './console-fixtures.js';
import { ROOT, tmpDir } from './helpers.js';

const PASSWORD = 'reviewer-password';
let app: FastifyInstance;
let url: string;
let events: EventStore;
let cases: CaseService;
let closeUsers: () => Promise<void>;
let browser: Browser;
let tab: Page;
let first: EnforcementEvent;
let second: EnforcementEvent;
const pageErrors: string[] = [];

beforeAll(async () => {
  const dir = tmpDir('console-duplicates');
  const evidence = new EvidenceStore(path.join(dir, 'evidence'));
  const vehicle = (await simulatedEvents(evidence, Date.now() - 3_600_000)).find((e) => e.type === 'illegal-parking')!;
  first = {
    ...vehicle,
    id: `${vehicle.camera.id}:${vehicle.zone.id}:45:${vehicle.start}`,
    trackId: 45,
    plate: { text: 'A78699', confidence: 0.7 },
  };
  const start = first.end + 5_000;
  second = {
    ...vehicle,
    id: `${vehicle.camera.id}:${vehicle.zone.id}:183:${start}`,
    trackId: 183,
    start,
    thresholdAt: start + (vehicle.thresholdAt - vehicle.start),
    end: start + (vehicle.end - vehicle.start),
    plate: { text: '苏A78699', confidence: 0.95 },
    possibleDuplicateOf: first.id,
  };
  events = await EventStore.open(path.join(dir, 'events.duckdb'));
  await events.add([first, second]);
  cases = await CaseService.open({
    config: {
      file: path.join(dir, 'cases.duckdb'),
      codesFile: path.join(ROOT, 'config/case-codes.json'),
      retryBaseMs: 10,
      retryMaxMs: 50,
    },
    logger: silentLogger,
  });
  const u = await startUsers({
    dataDir: dir,
    logger: silentLogger,
    adminPassword: 'duplicates-admin-password',
    kdf: { ln: 10, r: 8, p: 1 },
  });
  await u.users.create(
    { username: 'zhao.min', password: PASSWORD, role: 'reviewer', displayName: '赵敏' },
    'admin',
    '127.0.0.1',
  );
  closeUsers = () => u.close();
  app = Fastify();
  await app.register(authPlugin, { users: u.users });
  await app.register(consolePlugin);
  await app.register(eventRoutes, { events, evidence });
  await app.register(reviewRoutes, { review: new ReviewService({ events, cases, logger: silentLogger }) });
  await app.register(caseRoutes, { cases, events, evidence });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  browser = await launch();
  tab = await browser.page();
  tab.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await closeUsers?.();
  await cases?.close();
  await events?.close();
});

describe('console: possible duplicates in the review queue', () => {
  it('marks a linked pair, points each to the other, and confirming both files one case', async () => {
    await login(tab, url, 'zhao.min', PASSWORD);
    await tab.goto(`${url}/#/review`);
    await tab.locator('.qitem').first().waitFor();
    // Both queue items say "possible duplicate" (instead of "direct case": confirming the second files none).
    await expect.poll(() => tab.locator('.qitem [data-test=duplicate]').count()).toBe(2);
    expect(await tab.locator('.qitem .tag.case').count()).toBe(0);
    const box = tab.locator('[data-test=duplicate-box]');
    await expect.poll(() => box.textContent()).toContain('可能被重复上报');
    expect(await box.textContent()).toContain(second.id);
    // The link selects the other event, which says what confirming it does.
    await box.locator('[data-test=duplicate-link]').click();
    await expect.poll(() => tab.locator('section.detail .detail-head').textContent()).toContain(second.id);
    expect(await box.textContent()).toContain('可能与此事件重复');
    expect(await box.textContent()).toContain('只立一案');
    await screenshot(tab, 'review-duplicates', { onlyIfMissing: true });

    // Confirm the first (back with K), then the second.
    await tab.keyboard.press('k');
    await expect.poll(() => tab.locator('section.detail .detail-head').textContent()).toContain(first.id);
    await tab.keyboard.press('c');
    await expect.poll(() => tab.locator('.toast.ok').last().textContent()).toMatch(/^已确认/);
    await expect.poll(() => tab.locator('.qitem').count()).toBe(1);
    await tab.keyboard.press('c');
    await expect.poll(() => tab.locator('.toast.ok').last().textContent()).toContain('并入');
    const [a, b] = [await events.get(first.id), await events.get(second.id)];
    expect(a!.caseId).toBeDefined();
    expect(b!.caseId).toBe(a!.caseId);
    expect((await cases.list({ limit: 10 })).total).toBe(1);

    // Decided, the later one still points to the first.
    await tab.locator('button.tab[data-status=confirmed]').click();
    await tab.locator(`.qitem[data-id="${second.id}"]`).click();
    await expect.poll(() => box.textContent()).toContain(first.id);
    expect(pageErrors).toEqual([]);
  });
});
