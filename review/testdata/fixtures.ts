// Test fixtures shared by the review and cases tests: an enforcement event with real evidence images in an
// evidence store, and a signed-in user on requests (what the auth plugin's guard does in the platform).
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import type { EnforcementEvent, EvidenceImage } from '../../contracts/index.js';
import type { Role } from '../../users/types.js';
import type { EvidenceStore } from '../../vision/evidence/store.js';

const T0 = Date.parse('2026-11-27T02:00:00Z'); // 10:00 in Shanghai

/** A frame-sized grey JPEG (unique per `shade`, so each image has its own SHA-256). */
export function jpeg(width: number, height: number, shade = 90): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: shade, g: shade, b: shade + 5 } } }).jpeg().toBuffer();
}

/** An illegal-parking event whose evidence images (three drawn frames and a crop) are in `evidence`. */
export async function makeEvent(evidence: EvidenceStore, o: { n?: number; type?: EnforcementEvent['type'] } = {}): Promise<EnforcementEvent> {
  const n = o.n ?? 1;
  const type = o.type ?? 'illegal-parking';
  const box: [number, number, number, number] = [400, 300, 600, 420];
  const images: EvidenceImage[] = [];
  const roles = ['first-seen', 'threshold', 'last'] as const;
  for (let i = 0; i < roles.length; i++) {
    const data = await jpeg(1280, 720, 40 + n * 7 + i);
    const s = await evidence.put(data);
    images.push({ role: roles[i]!, sha256: s.sha256, url: `/api/evidence/${s.sha256}`, capturedAt: T0 + n * 60_000 + i * 150_000, width: 1280, height: 720, bytes: s.bytes });
  }
  // The crop as vision/evidence/compose.ts cuts it: box + 15 % margin (260 x 156), scaled to 320 wide.
  const crop = await jpeg(320, 192, 200 - n);
  const c = await evidence.put(crop);
  images.push({ role: 'crop', sha256: c.sha256, url: `/api/evidence/${c.sha256}`, capturedAt: T0 + n * 60_000 + 150_000, width: 320, height: 192, bytes: c.bytes });
  const start = T0 + n * 60_000;
  return {
    id: `cam-xinhua-01:np-1:${n}:${start}`,
    type,
    camera: { id: 'cam-xinhua-01', district: 'xinhua', gridCell: '320582001002003', location: { lat: 31.86, lon: 120.55 }, postedLocation: '新华路与人民路口东侧' },
    zone: { id: 'np-1', name: '新华路禁停区' },
    start,
    thresholdAt: start + 150_000,
    end: start + 300_000,
    dwellS: 300,
    trackId: n,
    role: type === 'illegal-parking' ? 'vehicle' : type === 'illegal-non-motor-parking' ? 'two-wheeler' : 'stall',
    className: type === 'illegal-parking' ? 'vehicle' : type === 'illegal-non-motor-parking' ? 'bicycle' : 'stall',
    confidence: 0.82,
    box,
    // One vehicle per n (苏E12345 for n = 1): events of one plate whose stays overlap are one act, one case.
    ...(type === 'illegal-parking' ? { plate: { text: `苏E${String(12344 + n).padStart(5, '0').slice(-5)}`, confidence: 0.93 } } : {}),
    evidence: images,
    detector: { model: 'city', sha256: 'ab'.repeat(32) },
    detectedAt: start + 151_000,
  };
}

/** Test stand-in for the auth guard: header `x-test-user: name:role` becomes `req.user`. */
export function fakeSession(app: FastifyInstance): void {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req) => {
    const h = req.headers['x-test-user'];
    if (typeof h === 'string') {
      const [username = '', role = ''] = h.split(':');
      // Any role the test names, also one the platform does not know, to see it refused.
      req.user = { id: username, username, role: role as Role, displayName: username };
    }
  });
}

/** Polls until `f` returns a truthy value (or throws after `ms`). */
export async function until<T>(f: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
