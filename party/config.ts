// What an operator configures for the party's page: the rate limits of the public routes, the statement limits, and
// the legal texts shown with a record (a shipped JSON file, so a city puts its own regulations in without code).
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EVENT_TYPES } from '../contracts/index.js';
import { parseConfig, readJsonFile } from '../runtime/config.js';
import { NOTICE_STATUSES, OUTCOME_REASONS } from '../notices/types.js';

export const PartyLimitsSchema = z.strictObject({
  /** Requests per client (IP address) per window on every /public route (@fastify/rate-limit). */
  requestsPerWindow: z.number().int().min(1).default(60),
  windowMs: z.number().int().min(1000).default(60_000),
  /**
   * Failed look-ups per client (a malformed or unknown query code, a plate and day with no record, an image that is
   * not the record's): after `max` within `windowMs` every look-up of that client answers 429 until the oldest leaves
   * the window. Each failure is answered after a delay that doubles from `delayBaseMs` up to `delayMaxMs`.
   */
  failures: z
    .strictObject({
      max: z.number().int().min(1).default(10),
      windowMs: z
        .number()
        .int()
        .min(1000)
        .default(15 * 60_000),
      delayBaseMs: z.number().int().min(0).default(250),
      delayMaxMs: z.number().int().min(0).default(4000),
    })
    .default({ max: 10, windowMs: 15 * 60_000, delayBaseMs: 250, delayMaxMs: 4000 }),
  /**
   * Look-ups by plate, day and the mobile number the notice went to (`POST /public/lookup`). Off by default: a plate
   * is visible on the street, so a city turns this on only where its registry holds the keepers' numbers.
   */
  plateLookup: z.boolean().default(false),
  statement: z
    .strictObject({
      maxChars: z.number().int().min(1).max(20_000).default(2000),
      maxContactChars: z.number().int().min(1).max(1000).default(100),
      maxPhotos: z.number().int().min(0).max(20).default(3),
      maxPhotoBytes: z
        .number()
        .int()
        .min(1024)
        .default(5 * 1024 * 1024),
      /**
       * Statements one record may collect from anyone holding its code (the public pool): the form is not a way to
       * fill the reviewers' queue. Of those, at most `maxPerClient` from one client and `maxPerHour` in any hour, so
       * one stranger cannot fill the pool and many cannot fill it in a minute.
       */
      maxPerRecord: z.number().int().min(1).default(20),
      maxPerClient: z.number().int().min(1).default(3),
      maxPerHour: z.number().int().min(1).default(5),
      /**
       * Slots beyond the public pool for the party: a submission that gives the mobile number the notice went to.
       * A stranger holding the code cannot use them up, so the party can always be heard.
       */
      partySlots: z.number().int().min(0).default(5),
    })
    .default({
      maxChars: 2000,
      maxContactChars: 100,
      maxPhotos: 3,
      maxPhotoBytes: 5 * 1024 * 1024,
      maxPerRecord: 20,
      maxPerClient: 3,
      maxPerHour: 5,
      partySlots: 5,
    }),
});
export type PartyLimits = z.output<typeof PartyLimitsSchema>;
export type PartyLimitsInput = z.input<typeof PartyLimitsSchema>;

export function partyLimits(input: PartyLimitsInput = {}): PartyLimits {
  return parseConfig(PartyLimitsSchema, input, 'party limits');
}

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

/**
 * The environment variables of the party's page, for the platform's config (spread `.shape` into it, like
 * CaseEnvSchema). Defaults are the limits above.
 */
export const PartyEnvSchema = z.object({
  /** Requests per minute per client on /public. */
  PUBLIC_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(60),
  /** Failed look-ups per client before 429, and the window they are counted in. */
  PUBLIC_LOOKUP_FAILURES: z.coerce.number().int().min(1).max(1000).default(10),
  PUBLIC_LOOKUP_WINDOW_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  /** 1: the page also looks records up by plate, day and the mobile number the notice went to; 0 (default): code only. */
  PUBLIC_PLATE_LOOKUP: flag.default(false),
  /** The legal texts of the record page; the shipped config/legal-basis.json when absent. */
  LEGAL_BASIS_FILE: z.string().optional(),
});
export type PartyEnv = z.output<typeof PartyEnvSchema>;

export function partyLimitsFromEnv(env: PartyEnv): PartyLimits {
  return partyLimits({
    requestsPerWindow: env.PUBLIC_RATE_LIMIT,
    windowMs: 60_000,
    failures: {
      max: env.PUBLIC_LOOKUP_FAILURES,
      windowMs: env.PUBLIC_LOOKUP_WINDOW_MINUTES * 60_000,
      delayBaseMs: 250,
      delayMaxMs: 4000,
    },
    plateLookup: env.PUBLIC_PLATE_LOOKUP,
  });
}

// ---- legal texts ---------------------------------------------------------------------------------------------

const Bilingual = z.strictObject({ zh: z.string().min(1), en: z.string().min(1) });
export type Bilingual = z.output<typeof Bilingual>;

const Provision = z.strictObject({
  zh: z.string().min(1),
  en: z.string().min(1),
  /** Where the text comes from and how sure it is (firm, or open: check against the city's own rules). */
  source: z.string().min(1),
});
export type Provision = z.output<typeof Provision>;

export const LegalTextsSchema = z.strictObject({
  $comment: z.string().optional(),
  /** Shown with every record: the law on electronic-monitoring evidence and the party's rights. */
  general: z.array(Provision).min(1),
  /** The rule each event type breaks. */
  byType: z.strictObject(
    Object.fromEntries(EVENT_TYPES.map((t) => [t, z.array(Provision).min(1)])) as Record<
      (typeof EVENT_TYPES)[number],
      z.ZodArray<typeof Provision>
    >,
  ),
  /**
   * What happens next, per notice status; `byReason` wins where given (a case after a repeat offence reads
   * differently from one after an uncorrected notice). Placeholders: {recheckAt}, {caseId}, {enforcingFrom}.
   */
  whatNext: z.strictObject(
    Object.fromEntries(NOTICE_STATUSES.map((s) => [s, Bilingual])) as Record<
      (typeof NOTICE_STATUSES)[number],
      typeof Bilingual
    >,
  ),
  whatNextByReason: z.partialRecord(z.enum(OUTCOME_REASONS), Bilingual).default({}),
});
export type LegalTexts = z.output<typeof LegalTextsSchema>;

/** The shipped config/legal-basis.json, from source (party/) or compiled (dist/party/). */
export function defaultLegalTextsFile(): string {
  const candidates = [
    path.resolve(import.meta.dirname, '../config/legal-basis.json'),
    path.resolve(import.meta.dirname, '../../config/legal-basis.json'),
  ];
  return candidates.find((f) => fs.existsSync(f)) ?? candidates[0]!;
}

export function loadLegalTexts(file: string = defaultLegalTextsFile()): LegalTexts {
  return parseConfig(LegalTextsSchema, readJsonFile(file, 'legal texts file'), file);
}
