// The statistics feature: sums over a period (stats.ts), read from the stores (sources.ts), served by routes.ts.
export { computeStats, STATS_GROUPS, type Stats, type StatsGroup, type StatsRow, type StatsSources } from './stats.js';
export { storeSources, type StoreHandles } from './sources.js';
export { statsRoutes, STATS_ROLES } from './routes.js';
export { placeFromRecord, placeFromRegistry, type Place, type PlaceOf, type RegisteredPlace } from './place.js';
