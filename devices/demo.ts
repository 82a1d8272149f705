// The demo registers its simulated fleet and cameras with their places, from shipped configuration
// (config/demo-devices.json for the sensors; each camera's own registry entry for the cameras), so the map, the
// alerts and the cases of `npm start` show where things are. Only devices the registry does not have yet are added:
// what an admin changed in the console stays changed across restarts.
import { z } from 'zod';
import { parseConfig, readJsonFile } from '../runtime/config.js';
import type { Camera } from '../vision/cameras/config.js';
import type { DeviceRegistry } from './registry.js';
import { DeviceInputSchema, type DeviceInput } from './types.js';

const DemoDevicesSchema = z.strictObject({ $comment: z.string().optional(), devices: z.array(DeviceInputSchema) });

/** The registry entry of a camera, from the place its camera registry entry gives. */
export function cameraDevice(c: Camera): DeviceInput {
  return {
    id: c.id,
    kind: 'camera',
    district: c.district,
    location: c.location,
    gridCell: c.gridCell,
    address: c.postedLocation ?? '',
  };
}

/** Registers the demo's devices that are not registered yet; returns how many were added. */
export async function registerDemoDevices(
  registry: DeviceRegistry,
  o: { file: string; cameras: readonly Camera[] },
): Promise<number> {
  const sensors = parseConfig(DemoDevicesSchema, readJsonFile(o.file, 'demo devices file'), o.file).devices;
  const missing = [...sensors, ...o.cameras.map(cameraDevice)].filter((d) => !registry.get(d.id));
  if (missing.length === 0) return 0;
  await registry.upsertMany(
    missing.map((input, i) => ({ line: i + 1, input })),
    'system',
  );
  return missing.length;
}
