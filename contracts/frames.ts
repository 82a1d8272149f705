// Camera frames on the wire: one JPEG per MQTT message, QoS 1, on city/v1/{district}/camera/{cameraId}/frames.
// The payload is the JPEG itself (no base64, no JSON envelope); what describes it travels in MQTT 5 user
// properties, so a consumer can route and drop a frame without decoding it.
import { IdSchema, TOPIC_ROOT } from './readings.js';

export interface CameraRef {
  district: string;
  cameraId: string;
}

export function framesTopic(c: CameraRef): string {
  return `${TOPIC_ROOT}/${c.district}/camera/${c.cameraId}/frames`;
}

/** The subscription filter for every camera's frames. */
export const FRAMES_FILTER = `${TOPIC_ROOT}/+/camera/+/frames`;

/** Commands to a camera's edge agent (loudspeaker playback, re-check requests). */
export function cameraCommandsTopic(c: CameraRef): string {
  return `${TOPIC_ROOT}/${c.district}/camera/${c.cameraId}/commands`;
}

export type FrameTopicParse = { ok: true; camera: CameraRef } | { ok: false; reason: string };

export function parseFramesTopic(topic: string): FrameTopicParse {
  const p = topic.split('/');
  if (p.length !== 6 || `${p[0]}/${p[1]}` !== TOPIC_ROOT || p[3] !== 'camera' || p[5] !== 'frames') {
    return { ok: false, reason: `topic must be ${TOPIC_ROOT}/{district}/camera/{cameraId}/frames` };
  }
  if (!IdSchema.safeParse(p[2]).success) return { ok: false, reason: `invalid district "${p[2]}" in topic` };
  if (!IdSchema.safeParse(p[4]).success) return { ok: false, reason: `invalid camera id "${p[4]}" in topic` };
  return { ok: true, camera: { district: p[2]!, cameraId: p[4]! } };
}

/** MQTT 5 user properties of a frame message. */
export const FRAME_PROPS = {
  /** Capture time, epoch milliseconds, decimal string. */
  capturedAt: 'ts',
  /** Per-camera frame counter, decimal string; restarts at 0 when the agent restarts. */
  seq: 'seq',
} as const;
// The MQTT 5 Content Type property (not a user property) says image/jpeg.

/** A frame as the vision stage receives it, off MQTT or the bus. */
export interface Frame extends CameraRef {
  ts: number;
  seq: number;
  jpeg: Buffer;
}

/**
 * A frame on the bus (topic "frames", keyed by camera id so that one worker sees all of one camera's frames in
 * order): a 4-byte big-endian header length, the header as JSON ({district, cameraId, ts, seq}), then the JPEG.
 * Binary rather than base64-in-JSON: frames are the bulk of the bus's bytes.
 */
export function encodeBusFrame(f: Frame): Buffer {
  const header = Buffer.from(
    JSON.stringify({ district: f.district, cameraId: f.cameraId, ts: f.ts, seq: f.seq }),
    'utf8',
  );
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(header.length, 0);
  return Buffer.concat([len, header, f.jpeg]);
}

export function decodeBusFrame(b: Buffer): Frame {
  if (b.length < 4) throw new Error('frame message shorter than its header length');
  const n = b.readUInt32BE(0);
  if (n > 4096 || 4 + n > b.length) throw new Error(`frame header length ${n} does not fit the message`);
  const h = JSON.parse(b.subarray(4, 4 + n).toString('utf8')) as Partial<Frame>;
  if (
    typeof h.district !== 'string' ||
    typeof h.cameraId !== 'string' ||
    typeof h.ts !== 'number' ||
    typeof h.seq !== 'number'
  ) {
    throw new Error('frame header needs district, cameraId, ts and seq');
  }
  return { district: h.district, cameraId: h.cameraId, ts: h.ts, seq: h.seq, jpeg: b.subarray(4 + n) };
}
