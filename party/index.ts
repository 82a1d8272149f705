// The party's page: public look-up of a record by query code (or plate and day), statements, published monitoring
// locations; and the reviewers' objection routes. See README.md.
export {
  partyRoutes,
  prefersJson,
  sniffImage,
  PublicError,
  type PartyRoutesOptions,
  type PublicErrorCode,
} from './routes.js';
export {
  StatementStore,
  type NewStatement,
  type StatementQuery,
  type HandleResult,
  type StatementStatus,
} from './statements.js';
export {
  buildPublicRecord,
  publicLocations,
  recordImages,
  whatNext,
  RecordUnavailableError,
  type PublicRecordView,
  type PublicLocation,
  type RecordOptions,
} from './record.js';
export {
  loadLegalTexts,
  defaultLegalTextsFile,
  partyLimits,
  partyLimitsFromEnv,
  PartyEnvSchema,
  PartyLimitsSchema,
  LegalTextsSchema,
  type LegalTexts,
  type PartyLimits,
  type PartyLimitsInput,
  type PartyEnv,
} from './config.js';
export { normaliseQueryCode, formatQueryCode } from './code.js';
export { ProbeGuard, LogThrottle } from './probe-guard.js';
