export { Tracker, TrackerOptionsSchema, ROLES } from './tracker.js';
export type { Track, TrackState, TrackerDetection, TrackerOptions, TrackerOptionsInput, Role } from './tracker.js';
export { assign } from './hungarian.js';
