// The party's page in real headless Chromium (Debian's chromium driven by playwright-core, as the console's tests),
// on a phone-sized screen: open /public/, enter the query code, see the record with its evidence image loaded, submit
// a statement with a photo (and see a refused file explained), and find the statement in the reviewers' objections
// (signed in as a reviewer), with its photo served to them. The routes are mounted as the platform mounts them:
// beside the /api guard of users/, the console and the review routes, over a real EventStore and EvidenceStore.
// UPDATE_SCREENSHOTS=1 saves the phone screenshots of docs/party.md into docs/party/.
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventRoutes } from '../review/routes.js';
import { consolePlugin } from '../console/plugin.js';
import type { Notice, RecordSource } from '../notices/types.js';
import { EventStore } from '../review/store.js';
import { silentLogger } from '../runtime/log.js';
import { launch, type Browser } from '../test/console-browser.js';
import { simulatedEvents } from '../test/console-fixtures.js';
import { tmpDir } from '../test/helpers.js';
import { authPlugin, ROUTE_ROLES, Users, UserStore } from '../users/index.js';
import { CameraRegistrySchema } from '../vision/cameras/config.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { normalisePlateText } from '../vision/ocr/plate-text.js';
import { formatQueryCode } from './code.js';
import { localDay } from '../runtime/time.js';
import { partyRoutes } from './routes.js';
import { StatementStore } from './statements.js';
import { noticeFor } from './test-support.js';

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.resolve(import.meta.dirname, '../docs/party') : null;
const dataDir = tmpDir('party-e2e');
const evidence = new EvidenceStore(path.join(dataDir, 'evidence'));
let events: EventStore;
let statements: StatementStore;
let userStore: UserStore;
let app: ReturnType<typeof Fastify>;
let base = '';
let browser: Browser | null = null;
let notice: Notice;
let reviewerCookie = '';

beforeAll(async () => {
  events = await EventStore.open(':memory:');
  statements = await StatementStore.open(path.join(dataDir, 'statements.duckdb'));
  userStore = await UserStore.open(':memory:');
  const users = new Users({ store: userStore, logger: silentLogger, kdf: { ln: 10, r: 8, p: 1 } });
  await users.ensureAdmin({ adminPassword: 'party-e2e-admin-1' });
  await users.create({ username: 'li.reviewer', password: 'reviewer-pass-1', role: 'reviewer' }, 'admin', '127.0.0.1');

  // A parking event of the simulated street, confirmed by a reviewer an hour ago, and its notice.
  const [parking] = await simulatedEvents(evidence, Date.now() - 2 * 3600_000);
  await events.add([parking!]);
  await events.decide(parking!.id, {
    decision: 'confirm',
    by: { username: 'li.reviewer', role: 'reviewer' },
    at: Date.now() - 3600_000,
  });
  const stored = (await events.get(parking!.id))!;
  notice = noticeFor(stored, { recheckAt: Date.now() + 240_000, createdAt: Date.now() - 60_000 });
  const records: RecordSource = {
    noticeByCode: async (code) => (code === notice.code ? notice : null),
    noticesByPlateDay: async (plate, day) => {
      const e = (await events.get(notice.eventId))!.event;
      return e.plate && normalisePlateText(e.plate.text) === plate && localDay(e.start, 'Asia/Shanghai') === day
        ? [notice]
        : [];
    },
    event: (id) => events.get(id),
  };
  const frame = parking!.evidence[0]!;
  const cameras = CameraRegistrySchema.parse({
    timeZone: 'Asia/Shanghai',
    cameras: [{ ...parking!.camera, width: frame.width, height: frame.height, publishedAt: '2026-01-05', zones: [] }],
  });

  app = Fastify();
  await app.register(authPlugin, {
    users,
    rules: [...ROUTE_ROLES, { prefix: '/api/objections', roles: ['reviewer', 'admin'] }],
  });
  await app.register(eventRoutes, { events, evidence });
  await app.register(consolePlugin);
  // The city turned the look-up by plate on (PUBLIC_PLATE_LOOKUP=1): plate, day and the phone the notice went to.
  await app.register(partyRoutes, {
    records,
    statements,
    evidence,
    cameras,
    publicationDays: 30,
    timeZone: 'Asia/Shanghai',
    logger: silentLogger,
    limits: { plateLookup: true },
  });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  const login = await fetch(`${base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'li.reviewer', password: 'reviewer-pass-1' }),
  });
  reviewerCookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await statements?.close();
  await events?.close();
  await userStore?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function phonePage() {
  const page = await browser!.page();
  // A small phone: 360 CSS pixels wide.
  await page.setViewportSize({ width: 360, height: 740 });
  return page;
}

/** No horizontal scrolling on the phone. */
async function fitsWidth(page: Awaited<ReturnType<typeof phonePage>>): Promise<boolean> {
  return (await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')) === true;
}

describe('the party page in Chromium', () => {
  it("query code → record with evidence → statement with a photo → in the reviewers' objections", async () => {
    const page = await phonePage();
    await page.goto(`${base}/public/`);
    await page.locator('input#code').waitFor();
    expect(await page.locator('h1').textContent()).toBe('查询执法记录');
    expect(await fitsWidth(page)).toBe(true);

    // A typo first: explained on the page, without asking the server.
    await page.locator('input#code').fill('1234');
    await page.locator('form.query button[type=submit]').click();
    await expect.poll(() => page.locator('[data-test=code-error]').textContent()).toContain('16 位');
    if (SHOTS) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.locator('input#code').fill('');
      await page.locator('[data-test=code-error]').evaluate((e) => e.replaceChildren());
      await page.screenshot({ path: path.join(SHOTS, 'query.png') });
    }

    // The code as someone might type it from the SMS: lower case, with dashes.
    await page.locator('input#code').fill(formatQueryCode(notice.code).toLowerCase());
    await page.locator('form.query button[type=submit]').click();
    await page.locator('[data-test=record]').waitFor();
    expect(new URL(page.url()).pathname).toBe(`/public/records/${notice.code}`);
    expect(await page.locator('[data-test=place]').textContent()).toBe(
      (await events.get(notice.eventId))!.event.camera.postedLocation,
    );
    expect(await page.locator('[data-test=decision]').textContent()).toContain('审核员');
    expect(await page.locator('[data-test=decision]').textContent()).not.toContain('li.reviewer');
    expect(await page.locator('[data-test=status]').textContent()).toBe('已告知，等待复查');
    expect(await page.locator('[data-test=legal]').textContent()).toContain('第四十一条');
    const img = page.locator('img[data-role=threshold]');
    await img.scrollIntoViewIfNeeded();
    await expect
      .poll(
        () =>
          img.evaluate((i) =>
            (i as unknown as { complete: boolean }).complete
              ? (i as unknown as { naturalWidth: number }).naturalWidth
              : 0,
          ),
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0);
    expect(await fitsWidth(page)).toBe(true);
    if (SHOTS) {
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: path.join(SHOTS, 'record.png') });
    }

    // A file that only pretends to be a photo: the server refuses it, and the page says why.
    await page.locator('#st-text').fill('当时在装卸货物，五分钟内已驶离。');
    await page
      .locator('#st-photos')
      .setInputFiles({ name: 'scan.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not really a jpeg') });
    await page.locator('form.statement button[type=submit]').click();
    await expect
      .poll(() => page.locator('[data-test=statement-message] .error').textContent())
      .toContain('JPEG、PNG 或 WebP');
    if (SHOTS) {
      await page.locator('[data-test=statement-message]').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, 'statement-error.png') });
    }

    // Now with a real photo.
    const photo = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#6a8caf' } })
      .jpeg()
      .toBuffer();
    await page.locator('#st-photos').setInputFiles({ name: 'receipt.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.locator('#st-contact').fill('13900002222');
    // The party gives the number the notice went to: its own slots, which strangers with the code cannot use up.
    await page.locator('#st-phone').fill(notice.party!.phone!);
    if (SHOTS) {
      await page.locator('form.statement').scrollIntoViewIfNeeded();
      await page.locator('[data-test=statement-message]').evaluate((e) => e.replaceChildren());
      await page.screenshot({ path: path.join(SHOTS, 'statement.png') });
    }
    await page.locator('form.statement button[type=submit]').click();
    await expect.poll(() => page.locator('[data-test=statement-message] .ok').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('[data-test=statements] li').count()).toBe(1);

    // The reviewer's queue has it, with the photo served to them.
    const res = await fetch(`${base}/api/objections?status=open`, { headers: { cookie: reviewerCookie } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      items: {
        text: string;
        contact?: string;
        photos: { sha256: string; type: string }[];
        event: { id: string } | null;
      }[];
    };
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      text: '当时在装卸货物，五分钟内已驶离。',
      contact: '13900002222',
      photos: [{ sha256: EvidenceStore.sha256(photo), type: 'image/jpeg' }],
      event: { id: notice.eventId },
    });
    const served = await fetch(`${base}/api/evidence/${EvidenceStore.sha256(photo)}`, {
      headers: { cookie: reviewerCookie },
    });
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(photo)).toBe(true);
    // ...and nobody else's.
    expect((await fetch(`${base}/api/objections`)).status).toBe(401);
    // Every image of the record, as the party's page serves it over HTTP, is the one its SHA-256 names.
    for (const img of (await events.get(notice.eventId))!.event.evidence) {
      const r = await fetch(`${base}/public/records/${notice.code}/evidence/${img.sha256}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toMatch(/^private\b/);
      expect(EvidenceStore.sha256(Buffer.from(await r.arrayBuffer()))).toBe(img.sha256);
    }

    // The same record in English.
    await page.locator('#lang').click();
    await expect.poll(() => page.locator('[data-test=status]').textContent()).toBe('told, waiting for the re-check');
    await page.locator('#lang').click();
    expect(browser!.problems.filter((p) => p.startsWith('page error'))).toEqual([]);
    await page.close();
  });

  it('opens a record from the SMS link and by plate and day, says so for an unknown code, and lists the published locations', async () => {
    const page = await phonePage();
    await page.goto(`${base}/public/records/${formatQueryCode(notice.code)}`);
    await page.locator('[data-test=record]').waitFor();

    // By plate and day, as a vehicle's keeper who lost the SMS would: with the number the notice went to. A
    // passer-by who read the plate and tries a number gets nothing.
    const e = (await events.get(notice.eventId))!.event;
    expect(e.plate).toBeDefined();
    await page.goto(`${base}/public/`);
    await page.locator('input#plate').fill(e.plate!.text.replace('·', ''));
    await page.locator('input#date').fill(localDay(e.start, 'Asia/Shanghai'));
    await page.locator('input#phone').fill('139 0000 9999');
    await page.locator('form.plate button[type=submit]').click();
    await expect.poll(() => page.locator('form.plate .error').textContent()).toContain('未找到');
    expect(new URL(page.url()).pathname).toBe('/public/');
    await page.locator('input#phone').fill(notice.party!.phone!);
    await page.locator('form.plate button[type=submit]').click();
    await page.locator('[data-test=record]').waitFor();
    expect(new URL(page.url()).pathname).toBe(`/public/records/${notice.code}`);

    await page.goto(`${base}/public/records/0000-0000-0000-0000`);
    await expect.poll(() => page.locator('[data-test=code-error]').textContent()).toContain('未找到');

    await page.goto(`${base}/public/locations`);
    const item = page.locator('li.loc');
    await item.first().waitFor();
    expect(await item.count()).toBe(1);
    expect(await item.first().textContent()).toContain('2026-02-04');
    expect(await fitsWidth(page)).toBe(true);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'locations.png') });
    expect(browser!.problems.filter((p) => p.startsWith('page error'))).toEqual([]);
    await page.close();
  });
});
