// The notice service's configuration: grace periods, publication rule, leniency, the texts of the SMS and the
// loudspeaker, re-check and delivery bounds. Shipped as config/notices.json (NOTICES_FILE); the SMS gateway's
// address and token and the public address of the party page come from the environment, never from the file.
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../contracts/index.js';
import { ConfigError, parseConfig, readJsonFile } from '../runtime/config.js';

/** Placeholders a template may use; anything else in braces is a mistake in the file. */
export const TEMPLATE_PLACEHOLDERS = [
  'place',
  'time',
  'what',
  'deadline',
  'code',
  'link',
  'type',
  'name',
  'plate',
] as const;
export type TemplateVars = Record<(typeof TEMPLATE_PLACEHOLDERS)[number], string>;
/** Said over a public loudspeaker, the query code would hand bystanders the party's record: not allowed there. */
const PRIVATE_PLACEHOLDERS = new Set(['code', 'link']);

function template(kind: 'sms' | 'loudspeaker') {
  return z
    .string()
    .min(1)
    .max(500)
    .superRefine((t, ctx) => {
      for (const m of t.matchAll(/\{([^{}]*)\}/g)) {
        const name = m[1]!;
        if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown placeholder {${name}} (known: ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`,
          });
        } else if (kind === 'loudspeaker' && PRIVATE_PLACEHOLDERS.has(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `{${name}} must not be played over a public loudspeaker: the query code is the party's key to the record`,
          });
        }
      }
    });
}

/** One value per event type, every type present. */
function perType<T extends z.ZodType>(v: T) {
  return z.strictObject(Object.fromEntries(EVENT_TYPES.map((t) => [t, v])) as Record<EventType, T>);
}

const DeliverySchema = z
  .strictObject({
    /** Attempts per delivery before it is marked failed (a down gateway is retried this many times). */
    attempts: z.number().int().min(1).max(100).default(10),
    /** First retry after this long, doubling per failed attempt... */
    retryBaseMs: z.number().int().min(1).max(600_000).default(2000),
    /** ...up to this interval. */
    retryMaxMs: z.number().int().min(1).max(3_600_000).default(300_000),
    /** Bound on one attempt (HTTP request, MQTT acknowledgement). */
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  })
  .superRefine((d, ctx) => {
    if (d.retryBaseMs > d.retryMaxMs)
      ctx.addIssue({ code: 'custom', path: ['retryBaseMs'], message: 'must not exceed retryMaxMs' });
  });

export const NoticesConfigSchema = z
  .strictObject({
    /** A camera enforces nothing until its location has been published for this many days (Art. 41; 30 in Guangdong). */
    publicationDays: z.number().int().min(0).max(3650).default(30),
    /** Seconds the party has to correct the violation after the notice, per event type. */
    graceS: perType(
      z
        .number()
        .int()
        .min(0)
        .max(7 * 86_400),
    )
      .partial({ 'illegal-non-motor-parking': true })
      // Non-motor parking came later: a file written before it gives it the grace of parking.
      .transform((g): Record<EventType, number> => ({
        ...g,
        'illegal-non-motor-parking': g['illegal-non-motor-parking'] ?? g['illegal-parking'],
      })),
    leniency: z
      .strictObject({
        /** A party's first violation of a type within the window ends at the notice; repeats become cases at once. */
        enabled: z.boolean().default(false),
        windowDays: z.number().int().min(1).max(3650).default(365),
      })
      .default({ enabled: false, windowDays: 365 }),
    /** Where the public party page is reached from outside, for the link in the SMS (PUBLIC_BASE_URL overrides). */
    publicBaseUrl: z
      .url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://cg.example.gov.cn' })
      .transform((u) => u.replace(/\/+$/, '')),
    /** Words of the texts: the type's name and what the party must do, per event type (zh-CN). */
    texts: perType(z.strictObject({ name: z.string().min(1).max(40), what: z.string().min(1).max(200) })),
    sms: z.strictObject({
      /** SMS text per event type, zh-CN; placeholders {place} {time} {what} {deadline} {code} {link} {type} {name} {plate}. */
      templates: perType(template('sms')),
    }),
    loudspeaker: z.strictObject({
      enabled: z.boolean().default(true),
      /** Only these cameras have a loudspeaker; every camera when absent. */
      cameras: z.array(z.string().min(1)).optional(),
      /** Times the edge agent plays the text. */
      repeat: z.number().int().min(1).max(5).default(2),
      templates: perType(template('loudspeaker')),
    }),
    recheck: z
      .strictObject({
        /** How long the vision worker watches the zone before answering (seconds). */
        observeS: z.number().min(0).max(300).default(10),
        /** An attempt that has no answer this long after it was asked is asked again (seconds, includes observeS). */
        answerTimeoutS: z.number().int().min(1).max(3600).default(60),
        /** Attempts before the notice is left to a reviewer as recheck-unavailable. */
        attempts: z.number().int().min(1).max(20).default(3),
      })
      .default({ observeS: 10, answerTimeoutS: 60, attempts: 3 }),
    delivery: DeliverySchema.default({ attempts: 10, retryBaseMs: 2000, retryMaxMs: 300_000, timeoutMs: 10_000 }),
  })
  .superRefine((c, ctx) => {
    if (c.recheck.answerTimeoutS <= c.recheck.observeS) {
      ctx.addIssue({
        code: 'custom',
        path: ['recheck', 'answerTimeoutS'],
        message: `must be longer than observeS (${c.recheck.observeS} s): the worker watches that long before it answers`,
      });
    }
  });

export type NoticesFileConfig = z.output<typeof NoticesConfigSchema>;
export type NoticesConfigInput = z.input<typeof NoticesConfigSchema>;

/** The file's configuration plus the secrets from the environment. */
export type NoticesConfig = NoticesFileConfig & {
  /** The SMS gateway (SMS_GATEWAY_URL, SMS_GATEWAY_TOKEN); absent: no SMS is sent, the console log still records the text. */
  smsGateway?: { url: string; token: string };
};

export interface NoticesEnv {
  SMS_GATEWAY_URL?: string;
  SMS_GATEWAY_TOKEN?: string;
  PUBLIC_BASE_URL?: string;
}

const blank = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : s.trim());

/**
 * Reads and validates the notices file, then applies the environment. A mistake is a ConfigError naming the field
 * of the file or the variable.
 */
export function loadNoticesConfig(file: string, env: NoticesEnv = {}): NoticesConfig {
  return noticesConfig(readJsonFile(file, 'notices file'), env, file);
}

/** As loadNoticesConfig, from an object (tests, tools). */
export function noticesConfig(raw: unknown, env: NoticesEnv = {}, source = 'the notices configuration'): NoticesConfig {
  const base = parseConfig(NoticesConfigSchema, raw, source);
  const cfg: NoticesConfig = { ...base };
  const publicBase = blank(env.PUBLIC_BASE_URL);
  if (publicBase) {
    const r = z.url({ protocol: /^https?$/ }).safeParse(publicBase);
    if (!r.success)
      throw new ConfigError(
        `invalid configuration in the environment:\n  - PUBLIC_BASE_URL: must be an http(s) URL such as https://cg.example.gov.cn (got "${publicBase}")`,
      );
    cfg.publicBaseUrl = publicBase.replace(/\/+$/, '');
  }
  const url = blank(env.SMS_GATEWAY_URL);
  const token = blank(env.SMS_GATEWAY_TOKEN);
  if (url) {
    if (!z.url({ protocol: /^https?$/ }).safeParse(url).success) {
      throw new ConfigError(
        `invalid configuration in the environment:\n  - SMS_GATEWAY_URL: must be an http(s) URL such as https://sms.example.gov.cn/send`,
      );
    }
    if (!token) {
      throw new ConfigError(
        `invalid configuration in the environment:\n  - SMS_GATEWAY_TOKEN: required with SMS_GATEWAY_URL (sent as "Authorization: Bearer <token>")`,
      );
    }
    cfg.smsGateway = { url, token };
  } else if (token) {
    throw new ConfigError(
      `invalid configuration in the environment:\n  - SMS_GATEWAY_URL: SMS_GATEWAY_TOKEN is set but SMS_GATEWAY_URL is not`,
    );
  }
  return cfg;
}

/** Fills a template's placeholders. */
export function renderTemplate(t: string, vars: Partial<TemplateVars>): string {
  return t.replace(/\{([a-z]+)\}/g, (m, name: string) => (name in vars ? (vars[name as keyof TemplateVars] ?? '') : m));
}
