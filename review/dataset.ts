// Reviewed events as a labelled dataset for retraining the detector: YOLO-format images and labels, confirmed and
// rejected kept apart (rejected by reason: a "false detection" is a detector error, a "permitted" or "duplicate"
// event shows a real object), streamed as a tar archive.
//
// Images: the clean camera frame when the event carries one (evidence role "frame": the frame as received, without
// the zone, box and caption drawn on the other evidence images, with the object's box in that frame); otherwise
// the crop (role "crop", a close-up cut from the threshold frame without marks), labelled with the object's box
// mapped into the crop. Drawn-on images are never exported: a model would learn the red boxes.
import crypto from 'node:crypto';
import type { Box, EnforcementEvent, EvidenceImage } from '../contracts/index.js';
import type { EvidenceStore } from '../vision/evidence/store.js';
import type { EventStore, StoredEvent } from './store.js';
import { tarEnd, tarEntry } from './tar.js';

/** Class ids of the labels, by the event's object role; the platform's own detector's class order. */
export const DATASET_CLASSES = ['vehicle', 'stall', 'person'] as const;

export interface DatasetQuery {
  /** Decided at or after (epoch ms). */
  from?: number;
  /** Decided before (epoch ms); default now, so the export is a fixed set. */
  to?: number;
}

export interface ManifestLine {
  image?: string;
  label?: string;
  event: string;
  type: EnforcementEvent['type'];
  decision: 'confirm' | 'reject';
  reason?: string;
  by: string;
  decidedAt: string;
  cameraId: string;
  className: string;
  classId: number;
  confidence: number;
  /** Which evidence image it came from, its SHA-256 and capture time. */
  source?: { role: string; sha256: string; capturedAt: string };
  /** Label box in the exported image, pixels x1 y1 x2 y2. */
  box?: Box;
  width?: number;
  height?: number;
  /** Why nothing was exported for this event (evidence missing or altered). */
  skipped?: string;
}

type FrameImage = EvidenceImage & { box?: Box };

/** The crop window `cropEvidence` (vision/evidence/compose.ts) cuts around a box: 15 % margin, clipped. */
export function cropWindow(
  box: Box,
  width: number,
  height: number,
): { left: number; top: number; w: number; h: number } {
  const [x1, y1, x2, y2] = box;
  const mx = (x2 - x1) * 0.15;
  const my = (y2 - y1) * 0.15;
  const left = Math.max(0, Math.floor(x1 - mx));
  const top = Math.max(0, Math.floor(y1 - my));
  const right = Math.min(width, Math.ceil(x2 + mx));
  const bottom = Math.min(height, Math.ceil(y2 + my));
  return { left, top, w: Math.max(1, right - left), h: Math.max(1, bottom - top) };
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** A YOLO label line: class cx cy w h, normalised to the image. */
export function yoloLine(classId: number, box: Box, width: number, height: number): string {
  const x1 = clamp01(box[0] / width);
  const y1 = clamp01(box[1] / height);
  const x2 = clamp01(box[2] / width);
  const y2 = clamp01(box[3] / height);
  const f = (v: number) => v.toFixed(6);
  return `${classId} ${f((x1 + x2) / 2)} ${f((y1 + y2) / 2)} ${f(x2 - x1)} ${f(y2 - y1)}\n`;
}

/** The images to export for an event, each with the object's box in that image's pixels. */
export function trainingImages(e: EnforcementEvent): { ev: EvidenceImage; box: Box; kind: 'frame' | 'crop' }[] {
  const frames = (e.evidence as FrameImage[]).filter((x) => (x.role as string) === 'frame');
  if (frames.length > 0) return frames.map((f) => ({ ev: f, box: f.box ?? e.box, kind: 'frame' as const }));
  const crop = e.evidence.find((x) => x.role === 'crop');
  // The crop is cut around the threshold frame's box; the event's box is the object's at the time the event was
  // raised. For an object that stood still (the rule's condition) the two agree within the tracker's tolerance.
  const full = e.evidence.find((x) => x.role === 'threshold') ?? e.evidence.find((x) => x.role !== 'crop');
  if (!crop || !full) return [];
  const win = cropWindow(e.box, full.width, full.height);
  const sx = crop.width / win.w;
  const sy = crop.height / win.h;
  const box: Box = [
    (e.box[0] - win.left) * sx,
    (e.box[1] - win.top) * sy,
    (e.box[2] - win.left) * sx,
    (e.box[3] - win.top) * sy,
  ];
  return [{ ev: crop, box, kind: 'crop' }];
}

function folderOf(s: StoredEvent): string {
  if (s.review?.decision === 'confirm') return 'confirmed';
  return `rejected/${s.review?.reason ?? 'other'}`;
}

function baseName(e: EnforcementEvent): string {
  const safe = (x: string) => x.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
  const h = crypto.createHash('sha256').update(e.id).digest('hex').slice(0, 8);
  return `${safe(e.camera.id)}_${e.start}_${e.trackId}_${h}`;
}

const README = `Reviewed enforcement events as a YOLO-format dataset (城市感知平台 / city sensing platform).

  confirmed/images, confirmed/labels              events a reviewer confirmed: real objects of the labelled class
  rejected/<reason>/images, rejected/<reason>/labels
      false-detection  the detector was wrong: the label is the box it claimed. Use as hard negatives (train these
                       images with an empty label file) or to audit the detector; NOT as positives.
      permitted, duplicate  the object is real; the event was rejected for another reason (a permit, reported
                       twice): the labels are as good as confirmed ones for a detector.
      other            unknown: read the note in manifest.jsonl before using.
  manifest.jsonl   one line per image: event, decision, reason, reviewer, time, source evidence SHA-256, box
  data.yaml        class names (ids as in the labels)

Labels are "class cx cy w h" normalised to the image. Only the event's object is labelled: other objects in a full
frame are not, so mix these images with a fully labelled set rather than training on them alone. Images are the
clean camera frame (evidence role "frame") when the event has one, else the close-up crop (role "crop"); images with
boxes drawn on them are never exported. Each image's SHA-256 was checked against the evidence record.
`;

/** The archive as a stream of chunks. */
export async function* datasetTar(o: {
  events: EventStore;
  evidence: EvidenceStore;
  query: DatasetQuery;
  now?: number;
}): AsyncGenerator<Buffer> {
  const now = o.now ?? Date.now();
  const to = o.query.to ?? now;
  const root = `city-dataset-${new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
  yield* tarEntry(`${root}/README.txt`, README, now);
  yield* tarEntry(
    `${root}/data.yaml`,
    `# Reviewed events exported ${new Date(now).toISOString()}; decided from ${o.query.from !== undefined ? new Date(o.query.from).toISOString() : 'the start'} to ${new Date(to).toISOString()}.\n` +
      `# Add confirmed/images (and rejected/permitted, rejected/duplicate) to a training set's train split; see README.txt.\n` +
      `path: .\nconfirmed: confirmed/images\nrejected: rejected\nnames:\n${DATASET_CLASSES.map((n, i) => `  ${i}: ${n}`).join('\n')}\n`,
    now,
  );
  const manifest: string[] = [];
  const pageSize = 200;
  for (let offset = 0; ; offset += pageSize) {
    const { items } = await o.events.list({ decidedFrom: o.query.from, decidedTo: to, limit: pageSize, offset });
    for (const s of items) {
      const e = s.event;
      const d = s.review!;
      // The platform's detector has one vehicle class: a two-wheeler is labelled as a vehicle.
      const classId = DATASET_CLASSES.indexOf(e.role === 'two-wheeler' ? 'vehicle' : e.role);
      const base: ManifestLine = {
        event: e.id,
        type: e.type,
        decision: d.decision,
        ...(d.reason ? { reason: d.reason } : {}),
        by: d.by.username,
        decidedAt: new Date(d.at).toISOString(),
        cameraId: e.camera.id,
        className: e.className,
        classId,
        confidence: e.confidence,
      };
      const images = trainingImages(e);
      if (images.length === 0) {
        manifest.push(JSON.stringify({ ...base, skipped: 'no clean frame or crop in the evidence' }));
        continue;
      }
      for (const img of images) {
        const data = await o.evidence.get(img.ev.sha256);
        const source = {
          role: img.ev.role,
          sha256: img.ev.sha256,
          capturedAt: new Date(img.ev.capturedAt).toISOString(),
        };
        if (!data) {
          manifest.push(JSON.stringify({ ...base, source, skipped: 'evidence image missing from the evidence store' }));
          continue;
        }
        if (crypto.createHash('sha256').update(data).digest('hex') !== img.ev.sha256) {
          manifest.push(
            JSON.stringify({ ...base, source, skipped: 'evidence image does not match its SHA-256 (altered)' }),
          );
          continue;
        }
        const name = `${baseName(e)}_${img.ev.role}`;
        const folder = folderOf(s);
        const image = `${folder}/images/${name}.jpg`;
        const label = `${folder}/labels/${name}.txt`;
        yield* tarEntry(`${root}/${image}`, data, now);
        yield* tarEntry(`${root}/${label}`, yoloLine(classId, img.box, img.ev.width, img.ev.height), now);
        const box = img.box.map((v) => Math.round(v * 10) / 10) as Box;
        manifest.push(
          JSON.stringify({ ...base, image, label, source, box, width: img.ev.width, height: img.ev.height }),
        );
      }
    }
    if (items.length < pageSize) break;
  }
  yield* tarEntry(`${root}/manifest.jsonl`, manifest.length ? `${manifest.join('\n')}\n` : '', now);
  yield tarEnd();
}
