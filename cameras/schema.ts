// What the console's camera API accepts: a camera's settings, its source and credentials, and its zones and masks.
// The camera itself is the vision registry's entry (vision/cameras/config.ts), so a camera added here and one shipped
// in config/cameras.json are judged by the same rules (cameraIssues: ids, points inside the frame, no crossing edges).
import { z } from 'zod';
import { IdSchema } from '../contracts/index.js';
import { CameraSourceSchema } from '../edge/drivers/camera/config.js';
import {
  cameraIssues,
  CameraSchema,
  MotionGatingSchema,
  MotionMaskSchema,
  ZoneSchema,
  type Camera,
} from '../vision/cameras/config.js';

/** 单元网格 code: 6-digit county + 3-digit street + 3-digit community + 3-digit sequence (GB/T 30428). */
export const GridCellSchema = z.string().regex(/^\d{15}$/, 'a grid cell (单元网格) code is 15 digits');

/**
 * Where frames come from: the edge agent's sources (edge/drivers/camera/config.ts) that a server reads by itself, a
 * snapshot URL or an RTSP stream. Credentials never travel inside the URL: they are given apart and stored apart
 * (cameras/store.ts), and put into the source only when it is opened (cameras/feed.ts).
 */
export const CONSOLE_SOURCE_TYPES = ['snapshot', 'rtsp'] as const;
export const ConsoleSourceSchema = CameraSourceSchema.superRefine((s, ctx) => {
  if (!(CONSOLE_SOURCE_TYPES as readonly string[]).includes(s.type)) {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `a camera registered in the console reads ${CONSOLE_SOURCE_TYPES.join(' or ')}; a ${s.type} source belongs in an edge agent's config`,
    });
    return;
  }
  const o = s as { url?: string; username?: string; password?: string };
  if (o.username !== undefined || o.password !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['username'],
      message: 'put the user name and password in the credentials fields',
    });
  if (o.url) {
    const u = new URL(o.url);
    if (u.username || u.password)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'put the user name and password in the credentials fields, not in the URL',
      });
  }
});
export type ConsoleSource = z.output<typeof ConsoleSourceSchema>;

export const CredentialsSchema = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(256),
});
export type Credentials = z.output<typeof CredentialsSchema>;

/** The settings an admin gives (everything but the zones and masks, which the zone editor sets). */
export const CameraSettingsSchema = z.strictObject({
  id: IdSchema,
  district: IdSchema,
  /** The place as published to the public (监控设置地点公示). */
  place: z.string().min(1).max(200),
  gridCell: GridCellSchema,
  location: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }),
  width: z.number().int().positive().max(7680),
  height: z.number().int().positive().max(4320),
  fps: z.number().positive().max(30).default(1),
  model: z.string().min(1).optional(),
  publishedAt: z.iso.date('a date such as 2026-01-15').optional(),
  source: ConsoleSourceSchema,
  /** Set or replace the credentials; null removes them; absent keeps them (they are never shown back). */
  credentials: CredentialsSchema.nullable().optional(),
  /**
   * The motion gate (vision/motion/config.ts): a whole new setting, whose missing fields take the defaults. Absent:
   * a new camera gets the defaults and a changed one keeps its own.
   */
  motion: MotionGatingSchema.optional(),
});
export type CameraSettingsInput = z.input<typeof CameraSettingsSchema>;
export type CameraSettings = z.output<typeof CameraSettingsSchema>;

/** The zone editor's save: every zone and mask of the camera at once. */
export const ZonesBodySchema = z.strictObject({
  zones: z.array(ZoneSchema).max(64),
  masks: z.array(MotionMaskSchema).max(64).default([]),
});
export type ZonesBody = z.output<typeof ZonesBodySchema>;

/** A camera as the API stores and serves it: the registry entry and where its frames come from. */
export interface StoredCamera {
  camera: Camera;
  source: ConsoleSource;
  hasCredentials: boolean;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
}

export interface Issue {
  path: (string | number)[];
  message: string;
}

/** The registry entry of a camera from its settings and its zones; issues name what is wrong (empty when fine). */
export function buildCamera(
  s: CameraSettings,
  kept: Pick<Camera, 'zones' | 'masks'> & Partial<Pick<Camera, 'motion'>>,
): { camera: Camera; issues: Issue[] } {
  const motion = s.motion ?? kept.motion;
  const camera = CameraSchema.parse({
    id: s.id,
    district: s.district,
    gridCell: s.gridCell,
    location: s.location,
    postedLocation: s.place,
    fps: s.fps,
    width: s.width,
    height: s.height,
    ...(s.model ? { model: s.model } : {}),
    ...(s.publishedAt ? { publishedAt: s.publishedAt } : {}),
    zones: kept.zones,
    masks: kept.masks,
    ...(motion ? { motion } : {}),
  });
  return { camera, issues: cameraIssues(camera) };
}

/** The settings of a stored camera, as the form shows them (without credentials). */
export function settingsOf(c: StoredCamera): Omit<CameraSettings, 'credentials'> {
  const { camera } = c;
  return {
    id: camera.id,
    district: camera.district,
    place: camera.postedLocation,
    gridCell: camera.gridCell,
    location: camera.location,
    width: camera.width,
    height: camera.height,
    fps: camera.fps,
    ...(camera.model ? { model: camera.model } : {}),
    ...(camera.publishedAt ? { publishedAt: camera.publishedAt } : {}),
    source: c.source,
    motion: camera.motion,
  };
}
