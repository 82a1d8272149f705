// config/retention.json (RETENTION_FILE): how long each kind of record is kept. Validated at start: a mistake stops
// the process with the field named and what to put there.
import { z } from 'zod';
import { parseConfig, readJsonFile } from '../../runtime/config.js';

const days = (max: number) =>
  z.number({ message: 'must be a number of days' }).int('must be a whole number of days').min(1).max(max);

export const RetentionConfigSchema = z.strictObject({
  $comment: z.string().optional(),
  job: z.strictObject({
    /** How often the job runs (aggregates are at most this much behind, plus lateMinutes). */
    everyMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
  }),
  readings: z
    .strictObject({
      $comment: z.string().optional(),
      /** Raw readings older than this are deleted, after their aggregates are written. */
      rawDays: days(36_500),
      /** 15-minute aggregates older than this are deleted. */
      aggregateYears: z.number().int().min(1).max(100),
      /** A query spanning more days than this is answered from the aggregates. */
      rawQueryMaxDays: days(36_500),
      /** The newest buckets are recomputed for this long: readings that arrive late (edge buffers) get in. */
      lateMinutes: z
        .number()
        .int()
        .min(15)
        .max(7 * 24 * 60),
    })
    .refine((r) => r.aggregateYears * 365 >= r.rawDays, {
      message:
        'aggregateYears must cover at least rawDays: aggregates would be deleted before the raw readings they summarize',
    }),
  deadLetters: z.strictObject({
    $comment: z.string().optional(),
    maxAgeDays: days(3650),
    maxMB: z.number().int().min(1).max(1_000_000),
  }),
  enforcement: z.strictObject({
    $comment: z.string().optional(),
    /** Confirmed events, their evidence and their cases: the legal retention period, counted from the event. */
    years: z.number().int().min(1).max(100),
    /** Where the period comes from, shown in the deletion log. */
    basis: z.string().min(1),
    /** Rejected events (never a case) and their evidence. */
    rejectedEventDays: days(36_500),
  }),
});
export type RetentionConfig = z.output<typeof RetentionConfigSchema>;

export function loadRetentionConfig(file: string): RetentionConfig {
  return parseConfig(RetentionConfigSchema, readJsonFile(file, 'retention file (RETENTION_FILE)'), file);
}

/**
 * The retention file, with the dead letters' limits of DEAD_LETTER_MAX_AGE_DAYS and DEAD_LETTER_MAX_MB when they are
 * set: those variables came first, and an installation that set them keeps its limits.
 */
export function loadRetention(file: string, env: NodeJS.ProcessEnv = process.env): RetentionConfig {
  const c = loadRetentionConfig(file);
  const age = env.DEAD_LETTER_MAX_AGE_DAYS ? Number(env.DEAD_LETTER_MAX_AGE_DAYS) : undefined;
  const mb = env.DEAD_LETTER_MAX_MB ? Number(env.DEAD_LETTER_MAX_MB) : undefined;
  return { ...c, deadLetters: { ...c.deadLetters, ...(age ? { maxAgeDays: age } : {}), ...(mb ? { maxMB: mb } : {}) } };
}
