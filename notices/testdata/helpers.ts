// Test fixtures of the notice service: a camera registry with a published and an unpublished camera, confirmed
// events of both types, a manual clock, a case filer that records what it was given, and a stand-in vision worker
// that answers re-check requests on the bus.
import type { Bus } from '../../bus/types.js';
import type { EnforcementEvent, EventType } from '../../contracts/index.js';
import { RecheckRequestSchema, type RecheckRequest, type RecheckResult } from '../../contracts/rechecks.js';
import type { StoredEvent } from '../../review/store.js';
import { silentLogger } from '../../runtime/log.js';
import { CameraRegistrySchema, type CameraRegistry } from '../../vision/cameras/config.js';
import { noticesConfig, type NoticesConfig, type NoticesConfigInput } from '../config.js';
import { PartiesConfigSchema, PartyRegistry, type PartiesConfigInput } from '../parties.js';
import type { Notice, NoticeDeps } from '../types.js';

/** 2026-11-27 10:00 in Shanghai. */
export const T0 = Date.parse('2026-11-27T02:00:00Z');

export const cameras: CameraRegistry = CameraRegistrySchema.parse({
  timeZone: 'Asia/Shanghai',
  cameras: [
    {
      id: 'cam-xinhua-01',
      district: 'xinhua',
      gridCell: '320582001002003',
      location: { lat: 31.86, lon: 120.55 },
      postedLocation: '新华路与人民路口东侧',
      width: 1280,
      height: 720,
      publishedAt: '2026-01-15',
      zones: [
        { type: 'no-parking', id: 'np-1', name: '新华路禁停区', polygon: [[0, 300], [1280, 300], [1280, 720]] },
        { type: 'storefront', id: 'sf-1', name: '新华路12号门前', storeLine: [[0, 200], [600, 200]], sidewalk: [[0, 200], [600, 200], [600, 400]] },
        { type: 'storefront', id: 'sf-2', name: '新华路14号门前', shopId: 'shop-14', storeLine: [[600, 200], [1200, 200]], sidewalk: [[600, 200], [1200, 200], [1200, 400]] },
        { type: 'storefront', id: 'sf-3', name: '新华路16号门前', storeLine: [[600, 200], [1200, 200]], sidewalk: [[600, 200], [1200, 200], [1200, 400]] },
      ],
    },
    {
      id: 'cam-new',
      district: 'jinghai',
      gridCell: '320582002001001',
      location: { lat: 31.8, lon: 120.5 },
      postedLocation: '靖海路口',
      width: 1280,
      height: 720,
      publishedAt: '2026-11-10',
      zones: [{ type: 'storefront', id: 'sf-9', name: '靖海路1号门前', storeLine: [[0, 200], [600, 200]], sidewalk: [[0, 200], [600, 200], [600, 400]] }],
    },
  ],
});

export const partiesInput: PartiesConfigInput = {
  shops: [
    { id: 'shop-12', name: '老王水果店', licenceNo: '91320582MA1XYZ1234', phone: '13800001234', zones: [{ cameraId: 'cam-xinhua-01', zoneId: 'sf-1' }] },
    { id: 'shop-14', name: '小李便利店', phone: '138 0000 1400' },
    { id: 'shop-16', name: '无电话商户', zones: [{ cameraId: 'cam-xinhua-01', zoneId: 'sf-3' }] },
    { id: 'shop-new', name: '靖海商户', phone: '13800009999', zones: [{ cameraId: 'cam-new', zoneId: 'sf-9' }] },
  ],
  vehicles: [{ plate: '苏E·12345', phone: '13900001111' }],
};

export function parties(extra: Partial<PartiesConfigInput> = {}): PartyRegistry {
  return new PartyRegistry(PartiesConfigSchema.parse({ ...partiesInput, ...extra }), { cameras, logger: silentLogger });
}

export function config(over: Partial<NoticesConfigInput> = {}): NoticesConfig {
  const base = {
    publicationDays: 30,
    graceS: { 'out-of-store-vending': 600, 'illegal-parking': 300, 'illegal-non-motor-parking': 300 },
    leniency: { enabled: false, windowDays: 365 },
    publicBaseUrl: 'https://cg.example.gov.cn/',
    texts: {
      'out-of-store-vending': { name: '出店经营', what: '将物品收回店内' },
      'illegal-parking': { name: '违法停放', what: '将车辆驶离' },
      'illegal-non-motor-parking': { name: '非机动车乱停放', what: '将非机动车移至停放点' },
    },
    sms: {
      templates: {
        'out-of-store-vending': '{name}：{time}，{place}发现{type}，请于{deadline}前{what}。{link} 查询码 {code}',
        'illegal-parking': '车辆{plate}：{time}，{place}发现{type}，请于{deadline}前{what}。{link} 查询码 {code}',
        'illegal-non-motor-parking': '{name}：{time}，{place}发现{type}，请于{deadline}前{what}。{link} 查询码 {code}',
      },
    },
    loudspeaker: {
      enabled: true,
      repeat: 2,
      templates: { 'out-of-store-vending': '{place}的商户请注意：请{what}', 'illegal-parking': '车牌{plate}的车主请注意：请{what}', 'illegal-non-motor-parking': '此处禁止停放非机动车，请{what}' },
    },
    recheck: { observeS: 0, answerTimeoutS: 60, attempts: 3 },
    delivery: { attempts: 3, retryBaseMs: 1000, retryMaxMs: 8000, timeoutMs: 2000 },
  };
  return noticesConfig({ ...base, ...over });
}

let seq = 0;

/** A confirmed event: vending at a zone (default sf-1), or parking with a plate. */
export function confirmed(o: { type?: EventType; cameraId?: string; zoneId?: string; plate?: string | null; start?: number; reviewAt?: number; id?: string } = {}): StoredEvent {
  const type = o.type ?? 'out-of-store-vending';
  const start = o.start ?? T0 - 15 * 60_000;
  const cameraId = o.cameraId ?? 'cam-xinhua-01';
  const cam = cameras.cameras.find((c) => c.id === cameraId);
  const zoneId = o.zoneId ?? (type === 'illegal-parking' ? 'np-1' : 'sf-1');
  const zone = cam?.zones.find((z) => z.id === zoneId);
  const plate = o.plate === undefined ? '苏E12345' : o.plate;
  const event: EnforcementEvent = {
    id: o.id ?? `${cameraId}:${zoneId}:${++seq}:${start}`,
    type,
    camera: { id: cameraId, district: cam?.district ?? 'xinhua', gridCell: cam?.gridCell ?? '1', location: { lat: 31.86, lon: 120.55 }, postedLocation: cam?.postedLocation ?? '某处' },
    zone: { id: zoneId, name: zone?.name ?? zoneId },
    start,
    thresholdAt: start + 60_000,
    end: start + 600_000,
    dwellS: 600,
    trackId: seq,
    role: type === 'illegal-parking' ? 'vehicle' : type === 'illegal-non-motor-parking' ? 'two-wheeler' : 'stall',
    className: type === 'illegal-parking' ? 'car' : type === 'illegal-non-motor-parking' ? 'bicycle' : 'umbrella',
    confidence: 0.8,
    box: [400, 300, 600, 420],
    ...(type === 'illegal-parking' && plate ? { plate: { text: plate, confidence: 0.95 } } : {}),
    evidence: [{ role: 'threshold', sha256: 'a'.repeat(64), url: `/api/evidence/${'a'.repeat(64)}`, capturedAt: start + 60_000, width: 1280, height: 720, bytes: 1000 }],
    detector: { model: 'city' },
    detectedAt: start + 61_000,
  };
  return { event, status: 'confirmed', receivedAt: start + 62_000, review: { decision: 'confirm', by: { username: 'rev', role: 'reviewer' }, at: o.reviewAt ?? T0 } };
}

/** A case filer that records its calls; `fail` failures first. */
export function caseFiler(fail = 0): NoticeDeps & { calls: { eventId: string; notice: Notice }[] } {
  const calls: { eventId: string; notice: Notice }[] = [];
  let failures = fail;
  return {
    calls,
    async fileCase(eventId, extra) {
      if (failures > 0) {
        failures--;
        throw new Error('case store unavailable');
      }
      calls.push({ eventId, notice: extra.notice });
      return { id: `C-${eventId.split(':').slice(-2).join('-')}` };
    },
  };
}

export class Clock {
  constructor(public t = T0) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * A stand-in vision worker on the bus: answers each re-check request with `answer(request)` (null: no answer).
 * Records the requests it saw.
 */
export async function fakeWorker(bus: Bus, answer: (r: RecheckRequest) => RecheckResult['result'] | null): Promise<{ requests: RecheckRequest[]; close(): Promise<void> }> {
  const requests: RecheckRequest[] = [];
  const sub = await bus.subscribe('rechecks', 'fake-vision', async (batch) => {
    for (const m of batch) {
      const req = RecheckRequestSchema.parse(JSON.parse(m.value.toString()));
      requests.push(req);
      const result = answer(req);
      if (!result) continue;
      const sha = result === 'unavailable' ? [] : [{ role: 'recheck' as const, sha256: 'b'.repeat(64), url: `/api/evidence/${'b'.repeat(64)}`, capturedAt: req.requestedAt + 1000, width: 1280, height: 720, bytes: 900 }];
      const res: RecheckResult = { id: req.id, eventId: req.eventId, cameraId: req.camera.id, result, checkedAt: req.requestedAt + 1000, evidence: sha, worker: 'test-worker', ...(result === 'unavailable' ? { detail: 'no frames' } : {}) };
      await bus.publish('recheck-results', [{ key: req.camera.id, value: JSON.stringify(res) }]);
    }
  });
  return { requests, close: () => sub.close() };
}

/** Polls until `f` returns a truthy value (or throws after `ms`). */
export async function until<T>(f: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
