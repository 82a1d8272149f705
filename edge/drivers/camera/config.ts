// A camera at the edge: where its frames come from and how they are encoded before they go upstream.
import { z } from 'zod';
import { IdSchema } from '../../../contracts/index.js';

export const CameraSourceSchema = z.discriminatedUnion('type', [
  /** An IP camera's snapshot URL (most have one: ONVIF GetSnapshotUri, or the vendor's /snapshot.jpg), polled. */
  z.strictObject({
    type: z.literal('snapshot'),
    url: z.url(),
    /** Time between frames. */
    intervalMs: z.number().int().min(100).default(1000),
    timeoutMs: z.number().int().min(100).default(5000),
    /** A longer answer is not read (the connection is closed): a 4K JPEG is 1–3 MB. */
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(16 * 1024 * 1024),
    /** The camera's account, kept out of the URL so that it can be stored apart (it may also be in the URL). */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /**
     * How to authenticate: absent, answer the camera's challenge (Digest when it offers it, Basic when it asks);
     * "digest": never Basic (the password is not sent in the clear); "basic": Basic with every request.
     */
    auth: z.enum(['basic', 'digest']).optional(),
  }),
  /**
   * An RTSP stream (what most IP cameras serve: Hikvision rtsp://host:554/Streaming/Channels/101, Dahua
   * rtsp://host:554/cam/realmonitor?channel=1&subtype=0), read and decoded by ffmpeg, one frame kept per interval.
   */
  z.strictObject({
    type: z.literal('rtsp'),
    url: z.url().refine((u) => /^rtsps?:\/\//i.test(u), 'an rtsp:// or rtsps:// URL'),
    /** The camera's account; kept out of the URL so that it can be stored apart (it may also be in the URL). */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /** RTP over the RTSP connection (tcp: passes NAT and firewalls, no loss) or over UDP (less latency on a LAN). */
    transport: z.enum(['tcp', 'udp']).default('tcp'),
    /** One frame per interval is decoded and sent: the configured rate. */
    intervalMs: z.number().int().min(40).default(1000),
    /** No frame for this long: ffmpeg is restarted and the camera reported offline (its status topic). */
    stallS: z.number().int().min(2).max(600).default(10),
    /** Reconnect backoff after ffmpeg exits: doubles from min to max, back to min after a frame. */
    reconnectMinMs: z.number().int().min(100).default(1000),
    reconnectMaxMs: z.number().int().min(100).default(30_000),
    /** One image of ffmpeg's output longer than this is dropped (a 4K JPEG is 1–3 MB). */
    maxFrameBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(64 * 1024 * 1024)
      .default(8 * 1024 * 1024),
    /** ffmpeg's JPEG quality scale for the frames it hands over (2 best – 31 worst); the link re-encodes them. */
    jpegQ: z.number().int().min(2).max(31).default(3),
    /** The ffmpeg program. */
    ffmpeg: z.string().min(1).default('ffmpeg'),
  }),
  /** JPEG or PNG files of a folder, in name order, looped: a recorded scene replayed, or stills for a test. */
  z.strictObject({
    type: z.literal('files'),
    dir: z.string().min(1),
    intervalMs: z.number().int().min(10).default(1000),
    loop: z.boolean().default(true),
  }),
  /** The camera simulator (simulators/camera): a seeded street scene with ground truth. */
  z.strictObject({
    type: z.literal('simulator'),
    seed: z.number().int().default(1),
    /** Virtual seconds of scene per frame sent; frames go out every intervalMs of wall time. */
    intervalMs: z.number().int().min(1).default(1000),
    /** Stop after the scenario's end (tests); otherwise loop with the next seed. */
    once: z.boolean().default(false),
    /** Write the scenario's ground truth here (JSON). */
    groundTruth: z.string().optional(),
  }),
]);
export type CameraSource = z.output<typeof CameraSourceSchema>;

/**
 * The loudspeaker at a camera: a text-to-speech program the agent runs for each "play" command on the camera's
 * commands topic, e.g. ["espeak-ng", "-v", "cmn"]; the text is appended as the last argument. Run without a shell.
 */
export const SpeakerSchema = z.strictObject({
  command: z
    .array(z.string().min(1, 'an empty argument'))
    .min(1, 'give the program and its arguments, e.g. ["espeak-ng", "-v", "cmn"]'),
  /** One playback taking longer than this is stopped (killed) and counted as failed. */
  timeoutMs: z.number().int().min(100).max(600_000).default(60_000),
  /** A command issued longer ago than this (it waited at the broker or behind others) is not played, only logged. */
  maxAgeS: z.number().int().min(1).max(86_400).default(600),
});
export type Speaker = z.output<typeof SpeakerSchema>;

export const EdgeCameraSchema = z.strictObject({
  id: IdSchema,
  district: IdSchema,
  /** The camera's own MQTT credentials; it may publish only under its own topics. */
  username: z.string().optional(),
  password: z.string().optional(),
  source: CameraSourceSchema,
  /** Resize to this width before sending (height follows the aspect ratio); the original size when absent. */
  width: z.number().int().min(64).max(7680).optional(),
  /** JPEG quality 1–100. */
  quality: z.number().int().min(1).max(100).default(80),
  /**
   * A frame larger than this after encoding is not sent (logged): the platform refuses frames over 900 KiB, since
   * brokers and Kafka take about 1 MB per message. Lower width or quality if it happens.
   */
  maxFrameBytes: z
    .number()
    .int()
    .min(10_000)
    .max(900 * 1024)
    .default(900 * 1024),
  /**
   * Frames waiting while the broker is away. Frames are perishable (a reviewer wants what is there now), so the
   * oldest are dropped beyond this, counted and logged; it still bridges a short outage without a gap.
   */
  maxQueuedFrames: z.number().int().min(1).max(10_000).default(60),
  /** The loudspeaker; without one a "play" command's text is only logged. */
  speaker: SpeakerSchema.optional(),
});
export type EdgeCamera = z.output<typeof EdgeCameraSchema>;
