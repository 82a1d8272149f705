import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { loadNoticesConfig, noticesConfig, renderTemplate } from './config.js';
import { localDay } from '../runtime/time.js';
import { enforcingFrom, isEnforcing } from './local.js';
import { loudspeakerText, noticeVars, smsText } from './texts.js';
import {
  demoParties,
  loadPartiesConfig,
  maskPhone,
  mergeParties,
  PartiesConfigSchema,
  PartyRegistry,
} from './parties.js';
import { cameras, confirmed, parties, T0 } from './testdata/helpers.js';

const shipped = () => JSON.parse(JSON.stringify(loadNoticesConfig('config/notices.json'))) as Record<string, unknown>;

function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('notices configuration', () => {
  it('ships the defaults', () => {
    const c = loadNoticesConfig('config/notices.json');
    expect(c.graceS).toEqual({ 'out-of-store-vending': 600, 'illegal-parking': 300, 'illegal-non-motor-parking': 300 });
    expect(c.publicationDays).toBe(30);
    expect(c.leniency).toEqual({ enabled: false, windowDays: 365 });
    expect(c.recheck).toEqual({ observeS: 10, answerTimeoutS: 60, attempts: 3 });
    expect(c.sms.templates['out-of-store-vending']).toContain('{code}');
    expect(c.smsGateway).toBeUndefined();
  });

  it('ships the texts of non-motor parking (非机动车乱停放), and gives it the parking grace in a file written before it', () => {
    const c = loadNoticesConfig('config/notices.json');
    const e = confirmed({ type: 'illegal-non-motor-parking', plate: null }).event;
    const vars = noticeVars({
      event: e,
      notice: { code: '12345678', party: null },
      deadline: T0,
      config: c,
      timeZone: 'Asia/Shanghai',
    });
    expect(vars.type).toBe('非机动车乱停放');
    expect(loudspeakerText(c, e, vars)).toContain('禁止停放非机动车');
    expect(smsText(c, e, vars)).toContain('非机动车乱停放');
    const older = { ...shipped(), graceS: { 'out-of-store-vending': 600, 'illegal-parking': 240 } };
    expect(noticesConfig(older).graceS['illegal-non-motor-parking']).toBe(240);
  });

  it('stops on a bad file with the field named', () => {
    const bad = { ...shipped(), graceS: { 'out-of-store-vending': 600, 'illegal-parking': -5 } };
    expect(configError(() => noticesConfig(bad, {}, 'notices.json'))).toMatch(
      /notices\.json[\s\S]*graceS\.illegal-parking/,
    );
    const missing = { ...shipped(), graceS: { 'out-of-store-vending': 600 } };
    expect(configError(() => noticesConfig(missing))).toMatch(/graceS\.illegal-parking/);
    const sms = shipped() as { sms: { templates: Record<string, string> } };
    sms.sms.templates['illegal-parking'] = '请于{deadlin}前驶离';
    expect(configError(() => noticesConfig(sms))).toMatch(
      /sms\.templates\.illegal-parking: unknown placeholder \{deadlin\}/,
    );
    const speaker = shipped() as { loudspeaker: { templates: Record<string, string> } };
    speaker.loudspeaker.templates['out-of-store-vending'] = '查询码 {code}';
    expect(configError(() => noticesConfig(speaker))).toMatch(
      /loudspeaker\.templates\.out-of-store-vending: \{code\} must not be played/,
    );
    const recheck = { ...shipped(), recheck: { observeS: 30, answerTimeoutS: 20, attempts: 3 } };
    expect(configError(() => noticesConfig(recheck))).toMatch(/recheck\.answerTimeoutS/);
    expect(configError(() => noticesConfig({ ...shipped(), extra: 1 }))).toMatch(/extra|Unrecognized/);
    expect(configError(() => loadNoticesConfig('/nonexistent/notices.json'))).toMatch(/does not exist/);
  });

  it('takes the gateway and the public address from the environment', () => {
    const c = loadNoticesConfig('config/notices.json', {
      SMS_GATEWAY_URL: 'http://127.0.0.1:9/send',
      SMS_GATEWAY_TOKEN: 't0ken',
      PUBLIC_BASE_URL: 'https://cg.example.gov.cn/',
    });
    expect(c.smsGateway).toEqual({ url: 'http://127.0.0.1:9/send', token: 't0ken' });
    expect(c.publicBaseUrl).toBe('https://cg.example.gov.cn');
    expect(configError(() => loadNoticesConfig('config/notices.json', { SMS_GATEWAY_URL: 'http://x/send' }))).toMatch(
      /SMS_GATEWAY_TOKEN: required/,
    );
    expect(
      configError(() =>
        loadNoticesConfig('config/notices.json', { SMS_GATEWAY_URL: 'ftp://x', SMS_GATEWAY_TOKEN: 't' }),
      ),
    ).toMatch(/SMS_GATEWAY_URL/);
    expect(configError(() => loadNoticesConfig('config/notices.json', { PUBLIC_BASE_URL: 'cg.example' }))).toMatch(
      /PUBLIC_BASE_URL/,
    );
    // Empty means unset.
    expect(
      loadNoticesConfig('config/notices.json', { SMS_GATEWAY_URL: ' ', SMS_GATEWAY_TOKEN: '' }).smsGateway,
    ).toBeUndefined();
  });

  it('renders templates', () => {
    expect(renderTemplate('{place}，{time}，{unknown}', { place: '新华路', time: '10:00' })).toBe(
      '新华路，10:00，{unknown}',
    );
  });
});

describe('publication rule', () => {
  it('enforces from publishedAt + N days, in local days', () => {
    expect(enforcingFrom('2026-01-15', 30)).toBe('2026-02-14');
    expect(enforcingFrom('2026-12-20', 30)).toBe('2027-01-19');
    const tz = 'Asia/Shanghai';
    // 2026-02-13 23:30 local is still a day early; 2026-02-14 00:10 local is on the day (16:10 UTC the day before).
    expect(isEnforcing({ publishedAt: '2026-01-15' }, Date.parse('2026-02-13T15:30:00Z'), 30, tz)).toBe(false);
    expect(isEnforcing({ publishedAt: '2026-01-15' }, Date.parse('2026-02-13T16:10:00Z'), 30, tz)).toBe(true);
    expect(isEnforcing({}, T0, 30, tz)).toBe(false);
    expect(isEnforcing(undefined, T0, 0, tz)).toBe(false);
    expect(localDay(Date.parse('2026-02-13T16:10:00Z'), tz)).toBe('2026-02-14');
  });
});

describe('party registry', () => {
  it('finds shops by camera zone, from the registry and from zone.shopId', async () => {
    const p = parties();
    expect(await p.lookup(confirmed({ zoneId: 'sf-1' }).event)).toEqual({
      id: 'shop:shop-12',
      kind: 'shop',
      name: '老王水果店',
      licenceNo: '91320582MA1XYZ1234',
      phone: '13800001234',
    });
    expect(await p.lookup(confirmed({ zoneId: 'sf-2' }).event)).toMatchObject({
      id: 'shop:shop-14',
      phone: '13800001400',
    });
    expect(await p.lookup(confirmed({ zoneId: 'sf-3' }).event)).toEqual({
      id: 'shop:shop-16',
      kind: 'shop',
      name: '无电话商户',
    });
    expect(await p.lookup(confirmed({ cameraId: 'cam-other', zoneId: 'sf-1' }).event)).toBeNull();
  });

  it('finds vehicles by plate (normalised), not from a doubtful reading', async () => {
    const p = parties();
    expect(await p.lookup(confirmed({ type: 'illegal-parking', plate: '苏e 12345' }).event)).toEqual({
      id: 'vehicle:苏E12345',
      kind: 'vehicle',
      name: '苏E12345',
      phone: '13900001111',
    });
    expect(await p.lookup(confirmed({ type: 'illegal-parking', plate: '苏E99999' }).event)).toBeNull();
    expect(await p.lookup(confirmed({ type: 'illegal-parking', plate: null }).event)).toBeNull();
    const doubtful = confirmed({ type: 'illegal-parking' }).event;
    doubtful.plate = { text: '苏E12345', confidence: 0.5 };
    expect(await p.lookup(doubtful)).toBeNull();
  });

  it('checks the parties file', () => {
    expect(loadPartiesConfig('config/parties.json')).toMatchObject({ shops: [], vehicles: [] });
    expect(loadPartiesConfig('notices/parties.sample.json').shops).toHaveLength(2);
    const twice = {
      shops: [
        { id: 'a', name: 'A', zones: [{ cameraId: 'c', zoneId: 'z' }] },
        { id: 'b', name: 'B', zones: [{ cameraId: 'c', zoneId: 'z' }] },
      ],
    };
    expect(PartiesConfigSchema.safeParse(twice).error?.issues[0]?.message).toMatch(/already the frontage of shop "a"/);
    expect(
      PartiesConfigSchema.safeParse({ shops: [{ id: 'a', name: 'A', phone: '12345' }] }).error?.issues[0]?.path,
    ).toEqual(['shops', 0, 'phone']);
    expect(
      PartiesConfigSchema.parse({ shops: [{ id: 'a', name: 'A', phone: '+86 138-0000-1234' }] }).shops[0]!.phone,
    ).toBe('13800001234');
    expect(maskPhone('13800001234')).toBe('138****1234');
  });

  it('makes demo shops for the simulated storefront zones', async () => {
    const demo = demoParties(cameras.cameras);
    expect(demo.shops).toHaveLength(4);
    expect(demo.vehicles).toEqual([]);
    for (const s of demo.shops) expect(s.phone).toMatch(/^1380000\d{4}$/);
    expect(new Set(demo.shops.map((s) => s.phone)).size).toBe(4);
    const merged = mergeParties(PartiesConfigSchema.parse({}), demo);
    const reg = new PartyRegistry(merged, { cameras, logger: silentLogger });
    expect(await reg.lookup(confirmed({ zoneId: 'sf-3' }).event)).toMatchObject({ kind: 'shop', phone: '13800000003' });
  });

  describe('the vehicle lookup hook', () => {
    let server: http.Server;
    let url = '';
    const asked: string[] = [];
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        const plate = new URL(req.url!, 'http://x').searchParams.get('plate')!;
        asked.push(plate);
        if (plate === '苏E00001')
          return void res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ phone: '13700000001' }));
        if (plate === '苏E00002') return void res.writeHead(500).end('boom');
        if (plate === '苏E00003') return; // never answers
        if (plate === '苏E00004')
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"phone":"not-a-phone"}');
        res.writeHead(404).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keeper`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('asks the city service after the static list, caches, and treats failures as unknown', async () => {
      const reg = parties({ vehicleLookup: { url, timeoutMs: 1000, cacheS: 300 } });
      const ev = (plate: string) => confirmed({ type: 'illegal-parking', plate }).event;
      expect(await reg.lookup(ev('苏E12345'))).toMatchObject({ phone: '13900001111' }); // static list, no request
      expect(asked).toEqual([]);
      expect(await reg.lookup(ev('苏E00001'))).toEqual({
        id: 'vehicle:苏E00001',
        kind: 'vehicle',
        name: '苏E00001',
        phone: '13700000001',
      });
      expect(await reg.lookup(ev('苏E00001'))).toMatchObject({ phone: '13700000001' });
      expect(asked).toEqual(['苏E00001']); // cached
      expect(await reg.lookup(ev('苏E00002'))).toBeNull();
      expect(await reg.lookup(ev('苏E00003'))).toBeNull(); // timeout
      expect(await reg.lookup(ev('苏E00004'))).toEqual({ id: 'vehicle:苏E00004', kind: 'vehicle', name: '苏E00004' }); // known, no contact
      expect(await reg.lookup(ev('苏E00009'))).toBeNull(); // 404
      // Two previews at once ask once.
      await Promise.all([reg.vehicle('苏E00005'), reg.vehicle('苏E00005')]);
      expect(asked.filter((p) => p === '苏E00005')).toHaveLength(1);
    });
  });
});
