// The notify/re-check loop on the real platform (the embedded default), with live simulated street scenes fed
// through the vision worker: a stall outside a shop raises an out-of-store-vending event, a reviewer confirms it, the
// shop gets an SMS (a local test gateway) with its query code, and after the grace period the camera looks again.
// - scene A: the shop takes the stall in before the re-check: the event closes as corrected after notice, no case;
// - scene B: the stall stays: a case with the event's evidence and the re-check's;
// - scene C: a camera published only today: the confirmation sends nothing and files no case.
// Then the party opens the record with the code from the SMS (no login), and states their case.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedLiveScene, type LiveFeed } from '../app/camera-feed.js';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { silentLogger } from '../runtime/log.js';
import { createLiveScene, type LiveScene } from '../simulators/camera/live.js';
import { ADMIN_PASSWORD, signIn, tmpDir, waitFor, type ApiCall } from './helpers.js';

interface Sms {
  to: string;
  text: string;
  code: string;
  eventId: string;
}
const sms: Sms[] = [];
const gateway = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.headers.authorization !== 'Bearer e2e-sms-token') {
      res.writeHead(401).end();
      return;
    }
    sms.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Sms);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});

const today = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
}).format(new Date());
const scenes: Record<'a' | 'b' | 'c', LiveScene> = {
  a: createLiveScene(7101, { dwellS: 3, fps: 2, startTs: Date.now() - 1000, publishedAt: '2020-01-01' }),
  b: createLiveScene(7102, { dwellS: 3, fps: 2, startTs: Date.now() - 1000, publishedAt: '2020-01-01' }),
  c: createLiveScene(7103, { dwellS: 3, fps: 2, startTs: Date.now() - 1000, publishedAt: today }),
};
const stalls: Partial<Record<'a' | 'b' | 'c', string>> = {};
const phones = { a: '13800001111', b: '13800002222', c: '13800003333' };

let p: Platform;
let admin: ApiCall;
const feeds: LiveFeed[] = [];
const dataDir = tmpDir('notices-e2e');

beforeAll(async () => {
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  const port = (gateway.address() as AddressInfo).port;
  fs.writeFileSync(
    path.join(dataDir, 'cameras.json'),
    JSON.stringify({ timeZone: 'Asia/Shanghai', cameras: Object.values(scenes).map((s) => s.camera) }),
  );
  fs.writeFileSync(
    path.join(dataDir, 'parties.json'),
    JSON.stringify({
      shops: (['a', 'b', 'c'] as const).map((k, i) => ({
        id: `shop-${k}`,
        name: `测试商户${i + 1}`,
        licenceNo: `91320500MA1TEST00${i}`,
        phone: phones[k],
        zones: [{ cameraId: scenes[k].camera.id, zoneId: scenes[k].storefrontZones[0]! }],
      })),
    }),
  );
  // The shipped notices config with test-sized periods: a short grace, and re-checks that give up on an attempt soon.
  const shipped = JSON.parse(fs.readFileSync('config/notices.json', 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(
    path.join(dataDir, 'notices.json'),
    JSON.stringify({
      ...shipped,
      graceS: { 'out-of-store-vending': 5, 'illegal-parking': 5 },
      recheck: { observeS: 4, answerTimeoutS: 20, attempts: 4 },
    }),
  );
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: 'off',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    SIMULATE: '0',
    PLATES: '0',
    ADMIN_PASSWORD,
    CAMERAS_FILE: path.join(dataDir, 'cameras.json'),
    PARTIES_FILE: path.join(dataDir, 'parties.json'),
    NOTICES_FILE: path.join(dataDir, 'notices.json'),
    SMS_GATEWAY_URL: `http://127.0.0.1:${port}/send`,
    SMS_GATEWAY_TOKEN: 'e2e-sms-token',
    PUBLIC_BASE_URL: 'https://cgj.example.gov.cn',
  });
  p = await startPlatform(cfg, silentLogger);
  admin = await signIn(p.apiUrl);
  for (const k of ['a', 'b', 'c'] as const) {
    stalls[k] = scenes[k].putStall({ zoneId: scenes[k].storefrontZones[0] });
    feeds.push(feedLiveScene({ scene: scenes[k], bus: p.bus, logger: silentLogger }));
  }
}, 120_000);

afterAll(async () => {
  for (const f of feeds) await f.stop();
  await p?.stop();
  await new Promise((r) => gateway.close(r));
});

type EventItem = {
  id: string;
  type: string;
  camera: { id: string };
  status: string;
  party?: { known: boolean; name?: string; contact: boolean; enforcing?: boolean };
  notice?: { status: string; reason: string; caseId?: string };
};

async function eventOf(cameraId: string): Promise<EventItem | undefined> {
  const r = await admin('/api/events?limit=100');
  return (r.body.items as EventItem[]).find((e) => e.camera.id === cameraId && e.type === 'out-of-store-vending');
}

async function noticeOf(eventId: string): Promise<Record<string, unknown> | null> {
  const r = await admin(`/api/notices/${encodeURIComponent(eventId)}`);
  return r.status === 200 ? r.body : null;
}

describe('notify, re-check, then case', () => {
  const ids: Partial<Record<'a' | 'b' | 'c', string>> = {};

  it('raises a vending event per scene, each showing its registered shop, and a confirmation tells the party', async () => {
    for (const k of ['a', 'b', 'c'] as const) {
      expect(
        await waitFor(async () => !!(await eventOf(scenes[k].camera.id)), 120_000, 1000),
        `event of scene ${k}`,
      ).toBe(true);
      const e = (await eventOf(scenes[k].camera.id))!;
      expect(e.status).toBe('pending');
      // The queue says before the decision whether confirming will tell anyone: not on a camera still in its
      // publication period.
      expect(e.party).toMatchObject({
        known: true,
        name: expect.stringMatching(/^测试商户/),
        contact: true,
        enforcing: k !== 'c',
      });
      ids[k] = e.id;
    }
    for (const k of ['a', 'b', 'c'] as const) {
      const r = await admin(`/api/events/${encodeURIComponent(ids[k]!)}/review`, { decision: 'confirm' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    // The shop takes scene A's stall in at once, well before the grace period ends.
    scenes.a.remove(stalls.a!);

    // A and B are told by SMS, with the place, the code and the link to the party page; C, not published long
    // enough, is told nothing.
    expect(await waitFor(() => sms.length >= 2, 30_000)).toBe(true);
    for (const k of ['a', 'b'] as const) {
      const m = sms.find((x) => x.eventId === ids[k]);
      expect(m, `SMS of scene ${k}`).toBeDefined();
      expect(m!.to).toBe(phones[k]);
      expect(m!.text).toContain(scenes[k].camera.postedLocation);
      expect(m!.text).toContain(`https://cgj.example.gov.cn/public/records/`);
      expect(m!.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
    }
    const c = await noticeOf(ids.c!);
    expect(c).toMatchObject({ status: 'not-enforcing', reason: 'camera-not-published' });
    expect(sms.find((x) => x.eventId === ids.c)).toBeUndefined();
  }, 240_000);

  it('closes the corrected one without a case, and files the uncorrected one with both sets of evidence', async () => {
    const final = async (id: string) => {
      const n = await noticeOf(id);
      return n && !['awaiting-recheck'].includes(n.status as string) ? n : null;
    };
    expect(await waitFor(async () => !!(await final(ids.a!)) && !!(await final(ids.b!)), 180_000, 1000)).toBe(true);
    const a = (await final(ids.a!))!;
    const b = (await final(ids.b!))!;
    expect(a).toMatchObject({ status: 'corrected', reason: 'corrected-after-notice', recheck: { result: 'absent' } });
    expect(a.caseId).toBeUndefined();
    expect(b).toMatchObject({ status: 'case', reason: 'uncorrected-after-notice', recheck: { result: 'present' } });
    expect((b.recheck as { evidence: unknown[] }).evidence.length).toBeGreaterThan(0);

    const cases = (await admin('/api/cases?limit=100')).body.items as {
      id: string;
      source: { id: string };
      evidence: { role: string; sha256: string }[];
      notice?: { reason: string };
    }[];
    expect(cases.map((x) => x.source.id).sort()).toEqual([ids.b!]);
    const kase = cases[0]!;
    expect(kase.id).toBe(b.caseId);
    expect(kase.notice).toMatchObject({
      reason: 'uncorrected-after-notice',
      channels: expect.arrayContaining(['sms']),
    });
    const roles = new Set(kase.evidence.map((x) => x.role));
    expect(roles.has('threshold') && roles.has('recheck')).toBe(true);
    // The re-check images are real evidence files.
    const recheck = kase.evidence.find((x) => x.role === 'recheck')!;
    const img = await fetch(`${p.apiUrl}/api/evidence/${recheck.sha256}`, { headers: { cookie: admin.cookie } });
    expect(img.status).toBe(200);
    expect((await sharp(Buffer.from(await img.arrayBuffer())).metadata()).format).toBe('jpeg');

    // The console's view of the events says how each ended; the parties page counts each shop once.
    expect((await eventOf(scenes.a.camera.id))!.notice).toMatchObject({ status: 'corrected' });
    expect((await eventOf(scenes.b.camera.id))!.notice).toMatchObject({ status: 'case', caseId: kase.id });
    const parties = (await admin('/api/parties')).body.items as { id: string; counts: Record<string, number> }[];
    expect(parties.find((x) => x.id === 'shop:shop-a')?.counts['out-of-store-vending']).toBe(1);
    // The notice list says where each notice is, from its event.
    const listed = (await admin('/api/notices?limit=10')).body.items as {
      eventId: string;
      place?: { postedLocation: string };
    }[];
    expect(listed.find((n) => n.eventId === ids.a)?.place?.postedLocation).toBe(scenes.a.camera.postedLocation);
  }, 240_000);

  it('shows the party its record without a login, and takes a statement that reaches the reviewers', async () => {
    const m = sms.find((x) => x.eventId === ids.a)!;
    const rec = await fetch(`${p.apiUrl}/public/records/${m.code}`, { headers: { accept: 'application/json' } });
    expect(rec.status).toBe(200);
    const body = (await rec.json()) as {
      notice: { status: string };
      evidence: { publicUrl: string }[];
      review: { byRole: string };
    };
    expect(body.notice.status).toBe('corrected');
    expect(body.review.byRole).toBe('admin');
    expect(JSON.stringify(body)).not.toContain(phones.a);
    const image = await fetch(`${p.apiUrl}${body.evidence[0]!.publicUrl}`);
    expect(image.status).toBe(200);
    // Somebody else's guess is a 404, not a hint.
    // (Another last character than the real one: a code ending in Z would otherwise be its own 'guess', 1 run in 32.)
    expect(
      (await fetch(`${p.apiUrl}/public/records/${m.code.slice(0, 15)}${m.code.endsWith('Z') ? 'Y' : 'Z'}`)).status,
    ).toBe(404);

    const form = new FormData();
    form.set('text', '已于收到短信后立即收回。');
    form.append(
      'photos',
      new Blob(
        [
          await sharp({ create: { width: 64, height: 48, channels: 3, background: '#888' } })
            .jpeg()
            .toBuffer(),
        ],
        { type: 'image/jpeg' },
      ),
      'shop.jpg',
    );
    const st = await fetch(`${p.apiUrl}/public/records/${m.code}/statements`, { method: 'POST', body: form });
    expect(st.status, await st.clone().text()).toBe(201);
    const objections = (await admin('/api/objections?status=open')).body.items as {
      text: string;
      event: { id: string } | null;
    }[];
    expect(objections).toEqual([
      expect.objectContaining({ text: '已于收到短信后立即收回。', event: expect.objectContaining({ id: ids.a }) }),
    ]);
  }, 60_000);
});
