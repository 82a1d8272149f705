// Test data for the party's page: confirmed events with real (small) evidence images in an evidence store, their
// notices with query codes, an in-memory RecordSource over them, and a camera registry with published and
// unpublished cameras. The browser test uses the same pieces with scenes rendered by the camera simulator.
import crypto from 'node:crypto';
import sharp from 'sharp';
import {
  EnforcementEventSchema,
  type EnforcementEvent,
  type EvidenceImage,
  type EventType,
} from '../contracts/index.js';
import type { Notice, RecordSource } from '../notices/types.js';
import type { StoredEvent } from '../review/store.js';
import { CameraRegistrySchema, type CameraRegistry } from '../vision/cameras/config.js';
import type { EvidenceStore } from '../vision/evidence/store.js';
import { normalisePlateText } from '../vision/ocr/plate-text.js';
import { localDay } from '../runtime/time.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A random 16-character query code, as notices/codes.ts makes them. */
export function randomCode(): string {
  const b = crypto.randomBytes(16);
  return [...b].map((x) => CROCKFORD[x % 32]).join('');
}

export const TIME_ZONE = 'Asia/Shanghai';

export function registry(): CameraRegistry {
  return CameraRegistrySchema.parse({
    timeZone: TIME_ZONE,
    cameras: [
      {
        id: 'cam-xinhua-01',
        district: 'xinhua',
        gridCell: '320582001001001',
        location: { lat: 31.87, lon: 120.55 },
        postedLocation: '新华路与人民路交叉口东北角',
        width: 640,
        height: 360,
        publishedAt: '2026-01-05',
        zones: [
          {
            type: 'no-parking',
            id: 'np-1',
            name: '人行道禁停区',
            polygon: [
              [0, 200],
              [640, 200],
              [640, 360],
            ],
          },
          {
            type: 'storefront',
            id: 'sf-1',
            name: '便利店门前',
            shopId: 'shop-1',
            storeLine: [
              [0, 150],
              [640, 150],
            ],
            sidewalk: [
              [0, 150],
              [640, 150],
              [640, 200],
              [0, 200],
            ],
          },
        ],
      },
      {
        // Not published: never listed.
        id: 'cam-xinhua-02',
        district: 'xinhua',
        gridCell: '320582001001002',
        location: { lat: 31.88, lon: 120.56 },
        postedLocation: '新华路 88 号',
        width: 640,
        height: 360,
        zones: [
          {
            type: 'no-parking',
            id: 'np-2',
            name: '消防通道',
            polygon: [
              [0, 0],
              [100, 0],
              [100, 100],
            ],
          },
        ],
      },
      {
        id: 'cam-jinghai-01',
        district: 'jinghai',
        gridCell: '320582002001001',
        location: { lat: 31.9, lon: 120.6 },
        postedLocation: '靖海大道 12 号商铺前',
        width: 640,
        height: 360,
        publishedAt: '2026-05-20',
        zones: [
          {
            type: 'storefront',
            id: 'sf-9',
            name: '水果店门前',
            storeLine: [
              [0, 150],
              [640, 150],
            ],
            sidewalk: [
              [0, 150],
              [640, 150],
              [640, 200],
              [0, 200],
            ],
          },
        ],
      },
      {
        // Published in the future (a planned location): not listed yet.
        id: 'cam-jinghai-02',
        district: 'jinghai',
        gridCell: '320582002001002',
        location: { lat: 31.91, lon: 120.61 },
        postedLocation: '靖海大道 40 号',
        width: 640,
        height: 360,
        publishedAt: '2099-01-01',
        zones: [],
      },
    ],
  });
}

/** A small JPEG of one colour with a caption-like stripe, distinct per seed. */
export async function jpeg(seed: number, width = 160, height = 90): Promise<Buffer> {
  const r = (seed * 67) % 256;
  const g = (seed * 131) % 256;
  const b = (seed * 29) % 256;
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .composite([
      {
        input: { create: { width, height: 10, channels: 3, background: { r: 255 - r, g: 255 - g, b: 255 - b } } },
        top: 0,
        left: 0,
      },
    ])
    .jpeg({ quality: 80 })
    .toBuffer();
}

let seq = 0;

/** A confirmed event of the camera cam-xinhua-01 with first-seen, threshold and last images in the store. */
export async function confirmedEvent(
  evidence: EvidenceStore,
  o: { type?: EventType; start: number; plate?: string; reviewer?: string; status?: StoredEvent['status'] },
): Promise<StoredEvent> {
  const n = ++seq;
  const type = o.type ?? 'illegal-parking';
  const images: EvidenceImage[] = [];
  for (const [i, role] of (['first-seen', 'threshold', 'last'] as const).entries()) {
    const data = await jpeg(n * 10 + i);
    const s = await evidence.put(data);
    images.push({
      role,
      sha256: s.sha256,
      url: `/api/evidence/${s.sha256}`,
      capturedAt: o.start + i * 150_000,
      width: 160,
      height: 90,
      bytes: s.bytes,
    });
  }
  const event: EnforcementEvent = EnforcementEventSchema.parse({
    id: `cam-xinhua-01:${type === 'illegal-parking' ? 'np-1' : 'sf-1'}:${n}:${o.start}`,
    type,
    camera: {
      id: 'cam-xinhua-01',
      district: 'xinhua',
      gridCell: '320582001001001',
      location: { lat: 31.87, lon: 120.55 },
      postedLocation: '新华路与人民路交叉口东北角',
    },
    zone: type === 'illegal-parking' ? { id: 'np-1', name: '人行道禁停区' } : { id: 'sf-1', name: '便利店门前' },
    start: o.start,
    thresholdAt: o.start + 150_000,
    end: o.start + 300_000,
    dwellS: 300,
    trackId: n,
    role: type === 'illegal-parking' ? 'vehicle' : 'stall',
    className: type === 'illegal-parking' ? 'car' : 'stall',
    confidence: 0.9,
    box: [10, 10, 60, 60],
    ...(o.plate ? { plate: { text: o.plate, confidence: 0.95 } } : {}),
    evidence: images,
    detector: { model: 'test', sha256: 'a'.repeat(64) },
    detectedAt: o.start + 150_000,
  });
  const status = o.status ?? 'confirmed';
  return {
    event,
    status,
    receivedAt: o.start + 160_000,
    ...(status === 'pending'
      ? {}
      : {
          review: {
            decision: status === 'confirmed' ? ('confirm' as const) : ('reject' as const),
            ...(status === 'rejected' ? { reason: 'false-detection' as const } : {}),
            by: { username: o.reviewer ?? 'wang.fang', role: 'reviewer', displayName: '王芳' },
            at: o.start + 400_000,
          },
        }),
  };
}

/** The notice of a confirmed event: told by SMS, waiting for the re-check, with a party that has a phone. */
export function noticeFor(stored: StoredEvent, o: Partial<Notice> = {}): Notice {
  const e = stored.event;
  return {
    eventId: e.id,
    eventType: e.type,
    cameraId: e.camera.id,
    district: e.camera.district,
    zoneId: e.zone.id,
    code: randomCode(),
    party: {
      id: 'shop:shop-1',
      kind: 'shop',
      name: '好邻居便利店',
      licenceNo: '91320582MA1XXXXX0X',
      phone: '13800001234',
    },
    status: 'awaiting-recheck',
    reason: 'notified',
    priorOffences: 0,
    deliveries: [
      {
        channel: 'sms',
        status: 'sent',
        attempts: 1,
        at: e.start + 410_000,
        text: '【城管】您好…查询码…',
        to: '138****1234',
      },
      { channel: 'console', status: 'sent', attempts: 1, at: e.start + 410_000, text: '…' },
    ],
    recheckAt: e.start + 400_000 + 300_000,
    createdAt: e.start + 400_000,
    ...o,
  };
}

/** RecordSource over arrays, as the notices and review stores answer. */
export class MemoryRecords implements RecordSource {
  readonly notices: Notice[] = [];
  readonly events = new Map<string, StoredEvent>();

  constructor(private readonly timeZone = TIME_ZONE) {}

  add(stored: StoredEvent, notice: Notice): Notice {
    this.events.set(stored.event.id, stored);
    this.notices.push(notice);
    return notice;
  }

  async noticeByCode(code: string): Promise<Notice | null> {
    return this.notices.find((n) => n.code === code) ?? null;
  }

  /** By the normalised plate (vision/ocr/plate-text.ts), as the notices store keeps it. */
  async noticesByPlateDay(plate: string, day: string): Promise<Notice[]> {
    return this.notices.filter((n) => {
      const e = this.events.get(n.eventId)?.event;
      return !!e?.plate && normalisePlateText(e.plate.text) === plate && localDay(e.start, this.timeZone) === day;
    });
  }

  async event(eventId: string): Promise<StoredEvent | null> {
    return this.events.get(eventId) ?? null;
  }
}

/** A multipart body as a browser's FormData sends it, for fastify's inject. */
export async function multipartBody(
  fields: Record<string, string>,
  files: { name: string; data: Buffer; type?: string; field?: string }[] = [],
) {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  for (const f of files)
    fd.append(
      f.field ?? 'photos',
      new Blob([new Uint8Array(f.data)], { type: f.type ?? 'application/octet-stream' }),
      f.name,
    );
  const req = new Request('http://localhost/', { method: 'POST', body: fd });
  return {
    payload: Buffer.from(await req.arrayBuffer()),
    headers: { 'content-type': req.headers.get('content-type')! },
  };
}
