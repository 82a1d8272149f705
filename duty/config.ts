// Who is on duty and how they are told (DUTY_FILE, duty.sample.json): rosters per district and team in the order
// they are called, the robot webhooks (钉钉 / 企业微信 style) that carry the messages, which alerts go to which team,
// when an unacknowledged alert goes to the next person, and quiet hours per severity.
import { z } from 'zod';
import { DeviceKindSchema, SEVERITIES, SeveritySchema } from '../contracts/index.js';
import { parseConfig, readJsonFile } from '../runtime/config.js';
import { isTimeZone } from '../runtime/time.js';

export const TEAMS = ['drainage', 'environment', 'enforcement'] as const;
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'time of day as HH:MM');

const PersonSchema = z.strictObject({
  name: z.string().min(1),
  /** Mainland mobile number: the robot message @-mentions it, so the phone rings in the group. */
  phone: z.string().regex(/^1\d{10}$/, 'a mainland mobile number of 11 digits'),
  /** The robot that reaches this person; the roster's when absent. */
  robot: z.string().min(1).optional(),
  /** How this person is told: the robot, a text message to the phone (with SMS_GATEWAY_URL), or both (the default). */
  channels: z
    .array(z.enum(['robot', 'sms']))
    .min(1)
    .default(['robot', 'sms']),
});

export const DutyConfigSchema = z
  .strictObject({
    timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
    /** Where people's phones reach the platform: the acknowledge link in each message. */
    publicBaseUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
    robots: z.record(
      z.string().min(1),
      z.strictObject({
        /** The robot's webhook, e.g. https://oapi.dingtalk.com/robot/send?access_token=... */
        url: z.url({ protocol: /^https?$/ }),
        /** The robot's signing secret (加签): timestamp and HMAC-SHA256 signature go with every POST. */
        secret: z.string().min(1).optional(),
      }),
    ),
    rosters: z.array(
      z.strictObject({
        district: z.string().min(1),
        team: z.enum(TEAMS),
        robot: z.string().min(1).optional(),
        /** In calling order: the first is on duty, the next gets an alert nobody acknowledged in time. */
        people: z.array(PersonSchema).min(1),
      }),
    ),
    /** Which alerts go to which team: sensor kinds and the severities that page someone. */
    rules: z.array(
      z.strictObject({
        team: z.enum(TEAMS),
        kinds: z.array(DeviceKindSchema).min(1),
        severities: z.array(SeveritySchema).min(1),
      }),
    ),
    /** Minutes an alert waits for an acknowledgement before the next person is called, per severity. */
    escalateAfterMinutes: z
      .partialRecord(SeveritySchema, z.number().positive())
      .default({ critical: 5, major: 15, warning: 30, info: 60 }),
    /** Local hours in which alerts of a severity wait (told at the end of the window); none for a severity = always. */
    quietHours: z.partialRecord(SeveritySchema, z.strictObject({ from: HHMM, to: HHMM })).default({}),
    delivery: z
      .strictObject({
        attempts: z.number().int().min(1).default(20),
        retryBaseMs: z.number().int().min(1).default(2000),
        retryMaxMs: z.number().int().min(1).default(60_000),
        timeoutMs: z.number().int().min(1).default(10_000),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    c.rosters.forEach((r, i) => {
      for (const [j, p] of r.people.entries()) {
        const robot = p.robot ?? r.robot;
        if (!robot)
          ctx.addIssue({
            code: 'custom',
            path: ['rosters', i, 'people', j, 'robot'],
            message: "no robot for this person (neither theirs nor the roster's)",
          });
        else if (!c.robots[robot])
          ctx.addIssue({
            code: 'custom',
            path: ['rosters', i, 'people', j, 'robot'],
            message: `no robot "${robot}" in robots`,
          });
      }
    });
  });

export type DutyConfig = z.output<typeof DutyConfigSchema>;
export type DutyConfigInput = z.input<typeof DutyConfigSchema>;
export type Team = (typeof TEAMS)[number];
export { SEVERITIES };

export function dutyConfig(raw: unknown, source = 'duty config'): DutyConfig {
  return parseConfig(DutyConfigSchema, raw, source);
}

export function loadDutyConfig(file: string): DutyConfig {
  return dutyConfig(readJsonFile(file, 'DUTY_FILE'), file);
}
