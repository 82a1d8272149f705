// Test data for the console: enforcement events with real evidence images (simulated street scenes rendered by the
// camera simulator, marked the way the vision worker marks them), readings for a device chart, and alerts.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import {
  EnforcementEventSchema,
  type EnforcementEvent,
  type EvidenceImage,
  type Signal,
  type StoredReading,
} from '../contracts/index.js';
import { createScenario } from '../simulators/camera/index.js';
import { cropEvidence, drawEvidence, localTime } from '../vision/evidence/compose.js';
import type { EvidenceStore } from '../vision/evidence/store.js';

/** Violations of the simulated scenes used as review examples: (scene seed, object id). */
const EXAMPLES: [number, string][] = [
  [43, 'veh-1'],
  [42, 'stall-76'],
];

/**
 * Events with evidence like the vision worker's: first-seen, threshold and last frames with the zone and the box
 * drawn and a caption burnt in, and a close-up crop. `startTs` places the scenes in time (the oldest first).
 */
export async function simulatedEvents(evidence: EvidenceStore, startTs: number): Promise<EnforcementEvent[]> {
  const out: EnforcementEvent[] = [];
  for (const [i, [seed, objectId]] of EXAMPLES.entries()) {
    const sc = createScenario(seed, { startTs: startTs + i * 3_600_000 });
    const v = sc.truth.violations.find((x) => x.objectId === objectId);
    if (!v) throw new Error(`scene ${seed} has no violation of ${objectId}`);
    const cam = sc.camera;
    const zone = cam.zones.find((z) => z.id === v.zoneId)!;
    const polygons = zone.type === 'no-parking' ? [zone.polygon] : [zone.sidewalk];
    const polylines = zone.type === 'storefront' ? [zone.storeLine] : [];
    const frameMs = 1000 / sc.fps;
    const seqAt = (ts: number) => Math.min(sc.frameCount - 1, Math.max(0, Math.round((ts - sc.startTs) / frameMs)));
    const images: EvidenceImage[] = [];
    const boxes: [number, number, number, number][] = [];
    let thresholdFrame: { jpeg: Buffer; box: [number, number, number, number]; ts: number } | null = null;
    const role = v.type === 'illegal-parking' ? 'vehicle' : 'stall';
    const className = v.type === 'illegal-parking' ? 'vehicle' : 'stall';
    for (const [r, ts] of [
      ['first-seen', v.from],
      ['threshold', v.thresholdAt],
      ['last', v.to],
    ] as const) {
      const f = await sc.frame(seqAt(ts));
      const box = f.boxes.find((b) => b.objectId === objectId)?.box ?? [0, 0, 10, 10];
      boxes.push(box);
      const jpeg = await drawEvidence(f.jpeg, cam.width, cam.height, {
        box,
        polygons,
        polylines,
        caption: `${cam.id}  ${localTime(f.ts, 'Asia/Shanghai')}  ${zone.id}  ${v.type.replaceAll('-', ' ')}  ${r}`,
        label: `${className} #${i + 1}`,
      });
      const stored = await evidence.put(jpeg);
      images.push({
        role: r,
        sha256: stored.sha256,
        url: `/api/evidence/${stored.sha256}`,
        capturedAt: f.ts,
        width: cam.width,
        height: cam.height,
        bytes: stored.bytes,
      });
      if (r === 'threshold') thresholdFrame = { jpeg: f.jpeg, box, ts: f.ts };
    }
    // The threshold frame as the camera sent it, without marks (the unaltered record).
    const raw = await evidence.put(thresholdFrame!.jpeg);
    images.push({
      role: 'frame',
      sha256: raw.sha256,
      url: `/api/evidence/${raw.sha256}`,
      capturedAt: thresholdFrame!.ts,
      width: cam.width,
      height: cam.height,
      bytes: raw.bytes,
      box: thresholdFrame!.box,
    });
    const crop = await cropEvidence(thresholdFrame!.jpeg, cam.width, cam.height, thresholdFrame!.box);
    const meta = await sharp(crop).metadata();
    const stored = await evidence.put(crop);
    images.push({
      role: 'crop',
      sha256: stored.sha256,
      url: `/api/evidence/${stored.sha256}`,
      capturedAt: thresholdFrame!.ts,
      width: meta.width ?? 1,
      height: meta.height ?? 1,
      bytes: stored.bytes,
    });
    out.push(
      EnforcementEventSchema.parse({
        id: `${cam.id}:${zone.id}:${i + 1}:${v.from}`,
        type: v.type,
        camera: {
          id: cam.id,
          district: cam.district,
          gridCell: cam.gridCell,
          location: cam.location,
          postedLocation: cam.postedLocation,
        },
        zone: { id: zone.id, name: zone.name },
        start: v.from,
        thresholdAt: v.thresholdAt,
        end: v.to,
        dwellS: (v.to - v.from) / 1000,
        trackId: i + 1,
        role,
        className,
        confidence: 0.87,
        box: boxes[1]!,
        ...(v.plate ? { plate: { text: v.plate, confidence: 0.93 } } : {}),
        evidence: images,
        detector: { model: 'sim-yolo-n', sha256: 'a'.repeat(64) },
        detectedAt: v.thresholdAt + 500,
      }),
    );
  }
  return out;
}

/** Copies of `base` with new ids and times: a queue of hundreds without rendering hundreds of scenes. */
export function moreEvents(base: EnforcementEvent[], n: number, startTs: number): EnforcementEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const b = base[i % base.length]!;
    const shift = startTs + i * 60_000 - b.start;
    return {
      ...b,
      id: `${b.camera.id}:${b.zone.id}:${1000 + i}:${b.start + shift}`,
      trackId: 1000 + i,
      start: b.start + shift,
      thresholdAt: b.thresholdAt + shift,
      end: b.end + shift,
      detectedAt: b.detectedAt + shift,
    };
  });
}

/** A noise meter's readings over the last `hours`, every minute: a daily pattern with a loud evening. */
export function noiseReadings(deviceId: string, district: string, now: number, hours = 24): StoredReading[] {
  const out: StoredReading[] = [];
  for (let ts = now - hours * 3_600_000; ts <= now; ts += 60_000) {
    const hour = new Date(ts).getUTCHours() + 8;
    const minute = ts / 60_000;
    const base =
      52 +
      8 * Math.sin((((hour % 24) - 6) / 24) * 2 * Math.PI) +
      1.5 * Math.sin(minute * 0.7) * Math.sin(minute * 0.13);
    const loud = hour % 24 >= 19 && hour % 24 < 21 ? 12 : 0;
    out.push({
      deviceId,
      district,
      kind: 'noise',
      ts,
      metrics: { laeq_db: Math.round((base + loud) * 10) / 10, lmax_db: Math.round((base + loud + 9) * 10) / 10 },
    });
  }
  return out;
}

/** A detector signal, as the rules or health checks send it. */
export function signal(o: Partial<Signal> & Pick<Signal, 'deviceId' | 'district' | 'kind' | 'ruleId'>): Signal {
  return {
    type: 'fire',
    category: 'threshold',
    name: { zh: '测试告警', en: 'Test alert' },
    metric: 'laeq_db',
    severity: 'warning',
    value: 72,
    level: 70,
    ts: Date.now(),
    standard: 'GB 3096-2008',
    caseWorthy: false,
    ...o,
  };
}

/**
 * A camera registry file with the cameras of the review examples, published long ago: confirming one of their
 * events goes through the notify loop (no party registered: a case at once) instead of ending as "camera not
 * published". Returns the file's path.
 */
export function publishedCamerasFile(dir: string, publishedAt = '2025-01-01'): string {
  const cameras = EXAMPLES.map(([seed]) => ({ ...createScenario(seed, { startTs: 0 }).camera, publishedAt }));
  const file = path.join(dir, 'cameras.json');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ timeZone: 'Asia/Shanghai', cameras }, null, 1));
  return file;
}
