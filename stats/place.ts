// Where a device is, for grouping statistics. One function so that grouping switches to the device registry (district,
// grid cell, site per device; issue 22) in one place once it lands: until then a device is its own site, its district
// is the one its messages carry, and its grid cell is unknown.
export interface Place {
  district: string;
  /** 单元网格 code (15 digits); null while the device has no registered cell. */
  grid: string | null;
  /** The site the device watches (a construction site, a restaurant); the device id while there is no registry. */
  site: string;
}

/** What a record knows of its device: the id, and the district its messages carried. */
export interface DeviceRef {
  deviceId: string;
  district: string;
  /** A grid cell the record carries itself (a case's gridCell), preferred over the lookup. */
  grid?: string | null;
}

export type PlaceOf = (d: DeviceRef) => Place;

/** The place as far as the records themselves say it (no device registry yet). */
export const placeFromRecord: PlaceOf = (d) => ({ district: d.district, grid: d.grid ?? null, site: d.deviceId });

/** What the device registry (devices/) knows of a device, as far as the statistics need it. */
export interface RegisteredPlace {
  district: string;
  gridCell: string;
  site: { name: string } | null;
}

/**
 * The place from the device registry: a registered device's district, grid cell and site (devices of one site, a
 * construction site's dust and noise monitors, count together under the site's name; a device without a site is its
 * own); an unregistered one as its records say it.
 */
export function placeFromRegistry(get: (deviceId: string) => RegisteredPlace | undefined): PlaceOf {
  return (d) => {
    const r = get(d.deviceId);
    if (!r) return placeFromRecord(d);
    return { district: r.district, grid: r.gridCell, site: r.site?.name ?? d.deviceId };
  };
}
