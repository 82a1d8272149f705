export { ZoneRules, ZoneRulesOptionsSchema } from './zone-rules.js';
export type {
  CandidateView,
  EndReason,
  Presence,
  RuleEvent,
  RuleEventEnd,
  RuleOutput,
  Sighting,
  ZoneRulesOptions,
  ZoneRulesOptionsInput,
} from './zone-rules.js';
export * from './geometry.js';
export { inWindows, isTimeZone, localTime, utcOffsetMs } from './time.js';
export { DuplicateLinks, DuplicateLinkOptionsSchema, type DuplicateLinkOptionsInput } from './duplicates.js';
