// The city's map layers: district boundaries and unit grid cells (单元网格) as GeoJSON the city supplies (the demo
// ships its own under config/geo/). The registry finds a device's grid cell from its location with them; the map
// page draws them. Only what the platform reads is checked: Polygon and MultiPolygon features with a code property.
import { z } from 'zod';
import { ConfigError, readJsonFile } from '../runtime/config.js';
import { pointInPolygon } from '../vision/rules/geometry.js';
import type { Location } from './types.js';

type Ring = [number, number][];
const Position = z.tuple([z.number(), z.number()]).rest(z.number());
const Geometry = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('Polygon'), coordinates: z.array(z.array(Position).min(4)) }),
  z.looseObject({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(z.array(Position).min(4))) }),
]);
const Feature = z.looseObject({
  type: z.literal('Feature'),
  properties: z.looseObject({}).nullable(),
  geometry: Geometry,
});
export const FeatureCollectionSchema = z.looseObject({
  type: z.literal('FeatureCollection'),
  features: z.array(Feature),
});
export type FeatureCollection = z.infer<typeof FeatureCollectionSchema>;

/** Reads a GeoJSON file; a missing or broken one is a ConfigError naming the file. */
export function loadGeoJson(file: string, what: string): FeatureCollection {
  const r = FeatureCollectionSchema.safeParse(readJsonFile(file, what));
  if (!r.success)
    throw new ConfigError(
      `${what} ${file} is not a GeoJSON FeatureCollection of polygons: ${r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  return r.data;
}

/** Looks a location up among the grid cells; each feature's `properties.code` is its 15-digit code. */
export class GridIndex {
  private readonly cells: { code: string; polys: Ring[][]; bbox: [number, number, number, number] }[] = [];

  constructor(fc: FeatureCollection, source = 'grid GeoJSON') {
    fc.features.forEach((f, i) => {
      const code = f.properties?.['code'];
      if (typeof code !== 'string' || !/^\d{15}$/.test(code))
        throw new ConfigError(`${source}: feature ${i} has no 15-digit properties.code`);
      const polys = (f.geometry.type === 'Polygon'
        ? [f.geometry.coordinates]
        : f.geometry.coordinates) as unknown as Ring[][];
      let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const p of polys)
        for (const [x, y] of p[0]!) [w, s, e, n] = [Math.min(w, x), Math.min(s, y), Math.max(e, x), Math.max(n, y)];
      this.cells.push({ code, polys, bbox: [w, s, e, n] });
    });
  }

  /** The code of the first cell containing the location (GeoJSON is [lon, lat]), or null. */
  cellAt(l: Location): string | null {
    for (const c of this.cells) {
      const [w, s, e, n] = c.bbox;
      if (l.lon < w || l.lon > e || l.lat < s || l.lat > n) continue;
      // Inside the outer ring and outside every hole.
      if (c.polys.some((p) => inRing(l, p[0]!) && !p.slice(1).some((h) => inRing(l, h)))) return c.code;
    }
    return null;
  }
}

// Degrees as a plane: grid cells are a few hundred metres across, where that is exact enough.
function inRing(l: Location, ring: Ring): boolean {
  return pointInPolygon([l.lon, l.lat], ring);
}
