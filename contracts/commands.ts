// Commands to a camera's edge agent, on city/v1/{district}/camera/{cameraId}/commands (QoS 1, JSON). The notice
// service sends "play" after a reviewer confirmed a violation: the loudspeaker at the camera tells the party what to
// correct. Delivery is at least once: an agent plays a command id once. Only the notices service account may publish
// here; a camera (or the gateway acting for it) reads only its own topic.
import { z } from 'zod';
import { IdSchema, TOPIC_ROOT } from './readings.js';

/** The topic of one camera's commands: `city/v1/{district}/camera/{cameraId}/commands` (defined beside the frames'). */
export { cameraCommandsTopic } from './frames.js';

/** The subscription filter for every camera's commands. */
export const CAMERA_COMMANDS_FILTER = `${TOPIC_ROOT}/+/camera/+/commands`;

export const PlayCommandSchema = z.strictObject({
  type: z.literal('play'),
  /** Unique per command (e.g. the event id and the channel): a repeated delivery is played once. */
  id: z.string().min(1).max(240),
  /** What the loudspeaker says (zh-CN), spoken by the agent's text-to-speech. */
  text: z.string().trim().min(1).max(500),
  /** How many times in a row. */
  repeat: z.number().int().min(1).max(5).default(1),
  /** Epoch ms when the platform issued it: an agent does not play a command that waited too long. */
  issuedAt: z.number().int(),
});

/** One type for now; a discriminated union so that others (e.g. a snapshot) can be added without breaking it. */
export const CameraCommandSchema = z.discriminatedUnion('type', [PlayCommandSchema]);
export type CameraCommand = z.output<typeof CameraCommandSchema>;
export type CameraCommandInput = z.input<typeof CameraCommandSchema>;

export type CommandsTopicParse =
  { ok: true; camera: { district: string; cameraId: string } } | { ok: false; reason: string };

export function parseCommandsTopic(topic: string): CommandsTopicParse {
  const p = topic.split('/');
  if (p.length !== 6 || `${p[0]}/${p[1]}` !== TOPIC_ROOT || p[3] !== 'camera' || p[5] !== 'commands') {
    return { ok: false, reason: `topic must be ${TOPIC_ROOT}/{district}/camera/{cameraId}/commands` };
  }
  if (!IdSchema.safeParse(p[2]).success) return { ok: false, reason: `invalid district "${p[2]}" in topic` };
  if (!IdSchema.safeParse(p[4]).success) return { ok: false, reason: `invalid camera id "${p[4]}" in topic` };
  return { ok: true, camera: { district: p[2]!, cameraId: p[4]! } };
}
