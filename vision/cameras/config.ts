// The camera registry: every enforcing camera, where it is, and the zones drawn on its image. Validated at start so
// that a zone with two points or a window of "25:00" stops the process with the field named.
import { z } from 'zod';
import { IdSchema, type EventType } from '../../contracts/index.js';
import { parseConfig, readJsonFile } from '../../runtime/config.js';
import { isTimeZone } from '../../runtime/time.js';
import { MotionGatingSchema } from '../motion/config.js';
import { StationarySchema } from '../stationary/config.js';
import { selfIntersection } from '../rules/geometry.js';

/** A camera's motion gate settings, for the console's camera form (cameras/schema.ts). */
export { MotionGatingSchema };

/** A point in image pixels of the camera's full-size frame. */
const PointSchema = z.tuple([z.number().nonnegative(), z.number().nonnegative()]);
const PolygonSchema = z.array(PointSchema).min(3, 'a polygon needs at least three points');

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'times are "HH:MM", 00:00 to 24:00');

/**
 * A time window in the city's time zone. `to` earlier than `from` runs past midnight (22:00 to 06:00).
 * `days` are ISO weekdays, 1 = Monday .. 7 = Sunday; all days when absent.
 */
export const TimeWindowSchema = z.strictObject({
  from: HHMM,
  to: HHMM,
  days: z.array(z.number().int().min(1).max(7)).min(1).optional(),
});
export type TimeWindow = z.infer<typeof TimeWindowSchema>;

const ALWAYS: TimeWindow[] = [{ from: '00:00', to: '24:00' }];

/**
 * What the parking rule of a no-parking zone applies to: `vehicle` (motor vehicles: illegal-parking, 机动车乱停放) and
 * `two-wheeler` (bicycles, e-bikes, scooters, motorcycles: illegal-non-motor-parking, 非机动车乱停放). Each role
 * raises its own event type, with its own case code and notice texts.
 */
export const PARKING_ROLES = ['vehicle', 'two-wheeler'] as const;
export type ParkingRole = (typeof PARKING_ROLES)[number];

export const NoParkingZoneSchema = z.strictObject({
  type: z.literal('no-parking'),
  id: IdSchema,
  name: z.string().min(1),
  polygon: PolygonSchema,
  /** When parking here is forbidden; always when absent. */
  windows: z.array(TimeWindowSchema).min(1).default(ALWAYS),
  /** How long a vehicle may stand still in the zone before it is an event, seconds. */
  dwellS: z.number().positive().default(300),
  /** The roles the parking rule applies to here; motor vehicles when absent. */
  roles: z
    .array(z.enum(PARKING_ROLES))
    .min(1)
    .default(['vehicle'])
    .refine((r) => new Set(r).size === r.length, 'a role is listed twice'),
});

export const StorefrontZoneSchema = z.strictObject({
  type: z.literal('storefront'),
  id: IdSchema,
  name: z.string().min(1),
  /** The shop this frontage belongs to (registry of shops, notify issue). */
  shopId: z.string().optional(),
  /** The store line: the polyline of the shop front; goods belong behind it. */
  storeLine: z.array(PointSchema).min(2, 'a store line needs at least two points'),
  /** The public sidewalk in front of the store line, where goods must not be put out. */
  sidewalk: PolygonSchema,
  /** Business hours, when out-of-store trading is enforced; always when absent. */
  businessHours: z.array(TimeWindowSchema).min(1).default(ALWAYS),
  dwellS: z.number().positive().default(600),
});

export const ZoneSchema = z.discriminatedUnion('type', [NoParkingZoneSchema, StorefrontZoneSchema]);
export type Zone = z.output<typeof ZoneSchema>;

/** The event type a no-parking zone raises for each role it is marked for. */
export const PARKING_EVENT_TYPES: Readonly<Record<ParkingRole, EventType>> = {
  vehicle: 'illegal-parking',
  'two-wheeler': 'illegal-non-motor-parking',
};

/** The event types a zone can raise. */
export function zoneEventTypes(zone: Zone): EventType[] {
  return zone.type === 'no-parking' ? zone.roles.map((r) => PARKING_EVENT_TYPES[r]) : ['out-of-store-vending'];
}
export type NoParkingZone = z.output<typeof NoParkingZoneSchema>;
export type StorefrontZone = z.output<typeof StorefrontZoneSchema>;

/**
 * A motion mask: a part of the picture where nothing detected counts (a tree in the wind, a clock burnt into the
 * image, a billboard with cars on it). A detection whose ground point (bottom centre) lies in a mask is dropped before
 * the tracker, and the motion gate ignores what changes inside it.
 */
export const MotionMaskSchema = z.strictObject({
  id: IdSchema,
  name: z.string().min(1).optional(),
  polygon: PolygonSchema,
});
export type MotionMask = z.output<typeof MotionMaskSchema>;

export const CameraSchema = z.strictObject({
  id: IdSchema,
  district: IdSchema,
  /** The city's grid cell code (数字城管 单元网格) the camera looks at. */
  gridCell: z.string().min(1),
  location: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }),
  /** The location as published to the public (监控设置地点公示). */
  postedLocation: z.string().min(1),
  /** Frames per second the camera sends. */
  fps: z.number().positive().max(30).default(1),
  /** Full frame size; frames of another size are refused, because the zones are drawn in these pixels. */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** The detector model for this camera, by name in the models config; the default model when absent. */
  model: z.string().optional(),
  /**
   * The day the camera's location was published (YYYY-MM-DD, in the registry's time zone). The law lets a record
   * be used only from a published location; a camera enforces nothing (no notices, no cases) until it has been
   * published for the configured number of days (notices config, default 30). Absent: not published.
   */
  publishedAt: z.iso.date('a date such as 2026-01-15').optional(),
  zones: z.array(ZoneSchema).default([]),
  masks: z.array(MotionMaskSchema).default([]),
  /**
   * The motion gate (vision/motion): whether and how the detector is spared on frames where nothing moved. On by
   * default; its masks are `masks`.
   */
  motion: MotionGatingSchema.prefault({}),
  /**
   * The class-agnostic stall stage (vision/stationary): a new object that appears on a storefront sidewalk beyond the
   * store line and stays is an out-of-store-vending candidate, whatever it is. On for a camera with a storefront zone.
   */
  stationary: StationarySchema.prefault({}),
});
export type Camera = z.output<typeof CameraSchema>;

export interface CameraIssue {
  /** Path inside the camera entry, e.g. ['zones', 2, 'polygon']. */
  path: (string | number)[];
  message: string;
}

/**
 * What is wrong with the zones and masks of one camera: ids used twice, points outside the frame, polygons whose
 * edges cross. The registry file and the console's API (cameras/) judge a camera by the same list.
 */
export function cameraIssues(c: Pick<Camera, 'width' | 'height' | 'zones' | 'masks'>): CameraIssue[] {
  const issues: CameraIssue[] = [];
  const ids = new Set<string>();
  const shapes = (
    field: 'zones' | 'masks',
    i: number,
    id: string,
    parts: [string, readonly (readonly [number, number])[], boolean][],
  ) => {
    if (ids.has(id))
      issues.push({
        path: [field, i, 'id'],
        message: `${field === 'zones' ? 'zone' : 'mask'} id "${id}" is used twice`,
      });
    ids.add(id);
    for (const [key, pts, closed] of parts) {
      const out = pts.find(([x, y]) => x > c.width || y > c.height);
      if (out)
        issues.push({
          path: [field, i, key],
          message: `point ${out[0]},${out[1]} lies outside the ${c.width}x${c.height} frame`,
        });
      const cross = closed ? selfIntersection(pts) : null;
      if (cross)
        issues.push({
          path: [field, i, key],
          message: `the polygon's edges ${cross[0] + 1} and ${cross[1] + 1} cross each other: draw its points in order around the area`,
        });
    }
  };
  c.zones.forEach((z, j) =>
    shapes(
      'zones',
      j,
      z.id,
      z.type === 'no-parking'
        ? [['polygon', z.polygon, true]]
        : [
            ['storeLine', z.storeLine, false],
            ['sidewalk', z.sidewalk, true],
          ],
    ),
  );
  c.masks.forEach((m, j) => shapes('masks', j, m.id, [['polygon', m.polygon, true]]));
  return issues;
}

export const CameraRegistrySchema = z
  .strictObject({
    /** IANA time zone of the city, for zone windows and business hours. */
    timeZone: z.string().default('Asia/Shanghai'),
    cameras: z.array(CameraSchema),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.cameras.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `camera id "${c.id}" is used twice` });
      seen.add(c.id);
      for (const issue of cameraIssues(c))
        ctx.addIssue({ code: 'custom', path: ['cameras', i, ...issue.path], message: issue.message });
    });
    if (!isTimeZone(r.timeZone)) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeZone'],
        message: `unknown time zone "${r.timeZone}" (use an IANA name such as Asia/Shanghai)`,
      });
    }
  });
export type CameraRegistry = z.output<typeof CameraRegistrySchema>;

export function loadCameraRegistry(file: string): CameraRegistry {
  const raw = readJsonFile(file, 'camera registry');
  return parseConfig(CameraRegistrySchema, raw, file);
}
