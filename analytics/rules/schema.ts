// The rules file: thresholds, durations, hysteresis, aggregation windows and day/night profiles for every sensor
// kind, each rule naming the standard it follows. Shipped defaults are in config/rules.json; a city edits its copy
// (RULES_FILE) and the running detectors reload it.
import { z } from 'zod';
import { SensorKindSchema, SEVERITIES, SeveritySchema } from '../../contracts/index.js';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'time of day as HH:MM');

/** A level that may differ by day and night (local time, see `day`). */
export const LevelSchema = z.union([z.number(), z.strictObject({ day: z.number(), night: z.number() })]);
export type Level = z.infer<typeof LevelSchema>;

export const TierSchema = z.strictObject({
  severity: SeveritySchema,
  /** Name shown to staff, e.g. 黄色预警 / yellow. */
  label: z.string().optional(),
  /** The condition holds past this level (above it, or below it for direction "below"). */
  level: LevelSchema,
  /** Hysteresis: once raised, the tier clears only past this level (default: the level itself). */
  clear: LevelSchema.optional(),
});

export const RuleSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
    name: z.strictObject({ zh: z.string().min(1), en: z.string().min(1) }),
    /** The standard or practice the thresholds come from, e.g. "GB 3096-2008 class 2". */
    standard: z.string().min(1),
    kind: SensorKindSchema,
    /** Device group (see `groups`); absent = every device of the kind not claimed by the rule's `except` list. */
    group: z.string().optional(),
    metric: z.string().min(1),
    aggregate: z
      .strictObject({
        /** leq: energy average of dB levels, 10·log10(mean(10^(L/10))), never the arithmetic mean of dB. */
        fn: z.enum(['last', 'mean', 'leq', 'max', 'min']),
        windowS: z
          .number()
          .int()
          .min(1)
          .max(7 * 86_400),
      })
      .default({ fn: 'last', windowS: 1 }),
    direction: z.enum(['above', 'below']).default('above'),
    /** Only at these local times (e.g. night-only Lmax rules). */
    period: z.enum(['always', 'day', 'night']).default('always'),
    /** Only while another metric of the same reading is above or below a level (e.g. fan on while cooking). */
    when: z
      .strictObject({ metric: z.string().min(1), above: z.number().optional(), below: z.number().optional() })
      .optional(),
    tiers: z.array(TierSchema).min(1),
    /** The condition must hold this long before the alert fires (filters shocks and spikes)... */
    forS: z.number().min(0).default(0),
    /** ...and for at least this many consecutive readings. */
    forSamples: z.number().int().min(1).default(1),
    /** Alerts of this rule are handed to case dispatch (digital city-management case system). */
    caseWorthy: z.boolean().default(false),
    /** City classification code for a case, e.g. 0302 工地扬尘. */
    caseCode: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    for (let i = 1; i < r.tiers.length; i++) {
      if (SEVERITIES.indexOf(r.tiers[i]!.severity) <= SEVERITIES.indexOf(r.tiers[i - 1]!.severity)) {
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'severity'], message: 'tiers must be in rising severity' });
      }
    }
  });
export type Rule = z.output<typeof RuleSchema>;

export const GroupSchema = z.strictObject({
  description: z.string().optional(),
  /** Device ids, or patterns with * (e.g. "nz-xinhua-*"). */
  devices: z.array(z.string().min(1)).default([]),
  districts: z.array(z.string().min(1)).default([]),
});

export const HealthSchema = z.strictObject({
  /** Offline after this many missed report intervals (the device's own interval, learnt from its readings). */
  offlineAfterIntervals: z.number().min(1).default(3),
  /** Offline anyway after this long without data, for devices whose interval is not known yet. */
  offlineAfterS: z.number().int().min(10).default(3600),
  /** Stuck: the same value this many times in a row (metrics that legitimately hold still are listed in `stuckExempt`). */
  stuckSamples: z.number().int().min(3).default(30),
  stuckExempt: z.array(z.string()).default([]),
  /** A reading stamped further ahead of the receive time than this is clock skew. */
  futureS: z.number().int().min(1).default(300),
  /** A reading older than this when received (and not a replay of a buffered backlog) is clock skew. */
  pastS: z
    .number()
    .int()
    .min(60)
    .default(7 * 86_400),
  /** Physically possible ranges per metric; outside is a faulty sensor, not an exceedance. */
  ranges: z.record(z.string(), z.tuple([z.number(), z.number()])).default({}),
});

export const AnomalySchema = z.strictObject({
  /** The streaming anomaly detector watches every metric that no threshold rule covers for the device. */
  enabled: z.boolean().default(true),
  /** Score (0..1) at which an anomaly alert fires; 0.5 is what the NAB optimiser chose. */
  threshold: z.number().min(0).max(1).default(0.5),
  /** Readings a series must have seen before it may alert (the detector learns the series first). */
  probationReadings: z.number().int().min(0).default(5000),
  /** The alert clears after this many readings in a row below the threshold... */
  clearAfterReadings: z.number().int().min(1).default(30),
  /**
   * ...and no earlier than this many seconds after the last reading at the threshold: one episode (a missing rush
   * hour scored slot after slot) stays one alert for staff instead of a new one every half hour.
   */
  clearAfterS: z.number().min(0).default(0),
  /**
   * Persistence: a reading at the threshold raises an alert only when at least `outside` of the `readings` readings
   * from it on lie outside the band the detector expected at it. A lone new record of a noisy series falls back
   * into the band; a step, a drift or a broken cycle stays out. 1 of 1 alerts at once.
   */
  confirm: z
    .strictObject({
      readings: z.number().int().min(1).default(1),
      outside: z.number().int().min(1).default(1),
    })
    .refine((c) => c.outside <= c.readings, 'confirm.outside cannot exceed confirm.readings')
    .prefault({}),
  /** Metrics never watched (on/off states, signal strength). */
  exclude: z.array(z.string()).default([]),
  /**
   * The detector's members, beyond the defaults chosen on NAB (analytics/nab/README.md). `daily`: a time-of-day profile
   * from the second day on (a new sensor's daily cycle is known before the weekly profile has seen a week): more steps
   * found that a daily cycle hides (shipped on in config/rules.json with `confirm` 10 of 30; measured on nine simulator
   * seeds in the README).
   * `hold`: a reading the detector finds anomalous is scored but not learnt, for at most three hours of an anomaly
   * (last week's incident is not expected again this week, and does not widen the band that should catch the next one;
   * shipped on, measured on the simulator's seeds in analytics/nab/README.md).
   * `rangeTolerance`: how far beyond the range seen so far a value must be to alert on its own (fraction of the range).
   * Changing any of them makes every series learn again.
   */
  detector: z
    .strictObject({
      daily: z.boolean().default(false),
      hold: z.boolean().default(false),
      rangeTolerance: z.number().min(0).max(1).default(0.02),
    })
    .prefault({}),
});

export const RulesFileSchema = z
  .strictObject({
    $comment: z.string().optional(),
    /** IANA time zone of the city: day and night are local. */
    timezone: z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'unknown time zone (use an IANA name such as Asia/Shanghai)'),
    /** Day is [start, end) local time; the rest is night. GB 3096-2008: 06:00–22:00, a city may redefine it. */
    day: z.strictObject({ start: HHMM, end: HHMM }),
    groups: z.record(z.string(), GroupSchema).default({}),
    health: HealthSchema.prefault({}),
    anomaly: AnomalySchema.prefault({}),
    rules: z.array(RuleSchema),
  })
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.rules.forEach((r, i) => {
      if (seen.has(r.id))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${r.id}` });
      seen.add(r.id);
      if (r.group && !(r.group in f.groups)) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'group'], message: `unknown group "${r.group}"` });
      }
    });
  });
export type RulesFile = z.output<typeof RulesFileSchema>;
