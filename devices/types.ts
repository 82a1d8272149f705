// A registered device: what the city knows about a sensor or camera beyond what it publishes — where it is (grid
// cell, coordinates, address), whose site it watches, which rule group judges it, since when, and whether it is in
// service. The API's names (`id`, `kind`, `district`, `location`, `gridCell`, `address`, `site`, `status`) are fixed
// by issue 22 so that the city's other systems can rely on them.
import { z } from 'zod';
import { DeviceKindSchema, IdSchema, type DeviceKind } from '../contracts/index.js';

/** A sensor kind, or a camera: the same kinds the MQTT accounts know (broker/auth.ts). The contract's own. */
export { DeviceKindSchema, type DeviceKind };

/** Unit grid cell (单元网格): 6-digit county + 3-digit street + 3-digit community + 3-digit sequence. */
export const GridCellSchema = z
  .string()
  .regex(/^\d{15}$/, 'a grid cell code is 15 digits (county 6, street 3, community 3, sequence 3)');

export const LocationSchema = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
});
export type Location = z.infer<typeof LocationSchema>;

/** The site a device watches (a construction site's dust monitor, a restaurant's fume monitor) and who answers for it. */
export const SiteSchema = z.strictObject({
  name: z.string().min(1).max(200),
  /** The responsible party (施工单位, 餐饮单位), as the city's records name it. */
  party: z.string().max(200).optional(),
  contact: z.string().max(100).optional(),
});
export type Site = z.infer<typeof SiteSchema>;

/** `active` in service; `maintenance` known to be off on purpose; `retired` taken out (kept for history). */
export const DeviceStatusSchema = z.enum(['active', 'maintenance', 'retired']);
export type DeviceStatus = z.infer<typeof DeviceStatusSchema>;

const DateSchema = z.iso.date({ error: 'a date is YYYY-MM-DD' });

/** What an admin sends to register a device (`POST /api/devices`). */
export const DeviceInputSchema = z.strictObject({
  id: IdSchema,
  kind: DeviceKindSchema,
  district: IdSchema,
  location: LocationSchema,
  /** Found from the city's grid GeoJSON by the location when left out. */
  gridCell: GridCellSchema.optional(),
  address: z.string().max(200).default(''),
  site: SiteSchema.nullable().default(null),
  /** The rule group of config/rules.json that judges it (e.g. noise-class-1), when not the kind's default. */
  ruleGroup: z.string().max(64).nullable().default(null),
  installedAt: DateSchema.nullable().default(null),
  commissionedAt: DateSchema.nullable().default(null),
  status: DeviceStatusSchema.default('active'),
});
export type DeviceInput = z.input<typeof DeviceInputSchema>;

/** A change (`PUT /api/devices/{id}`): the whole record but its id, as for a form; kind and district included. */
export const DeviceUpdateSchema = DeviceInputSchema.omit({ id: true });

export const DeviceSchema = DeviceInputSchema.extend({
  gridCell: GridCellSchema,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  createdBy: z.string(),
  updatedBy: z.string(),
});
export type Device = z.infer<typeof DeviceSchema>;

/** Where a device is, as alerts and cases carry it. */
export interface DevicePlace {
  gridCell: string;
  location: Location;
  address: string;
  site: Site | null;
}

export function placeOf(d: Device): DevicePlace {
  return { gridCell: d.gridCell, location: d.location, address: d.address, site: d.site };
}
