// Configuration of the HJ 212 server of the edge agent: where it listens, its bounds, the monitors it knows (MN →
// device) and how factor codes become metrics of the wire contract. Validated here, so a mistake stops the agent
// with the field named.
import { z } from 'zod';
import { IdSchema, METRICS } from '../../../contracts/index.js';
import { MAX_POSSIBLE_FRAME } from './frame.js';
import { isValidTimeZone } from './time.js';

/** Kinds of monitor that speak HJ 212 to the platform. */
export const HJ212_KINDS = ['dust', 'noise', 'fume'] as const;
export type Hj212Kind = (typeof HJ212_KINDS)[number];
export const Hj212KindSchema = z.enum(HJ212_KINDS);

/** Metric name → the kind it belongs to, for the kinds above. */
export const METRIC_KIND: ReadonlyMap<string, Hj212Kind> = new Map(
  HJ212_KINDS.flatMap((k) => Object.keys(METRICS[k]).map((m) => [m, k] as const)),
);

/**
 * Factor codes mapped by default (HJ 212 codes as open-source parsers and real packets use them; PM in µg/m³).
 * Anything else is skipped until configured: vendors disagree, and a wrong mapping is worse than none.
 */
export const DEFAULT_FACTORS: Readonly<Record<string, string>> = {
  a34001: 'tsp_ugm3',
  a34002: 'pm10_ugm3',
  a34004: 'pm25_ugm3',
  a01001: 'temp_c',
  a01002: 'rh_pct',
  a01006: 'pressure_kpa',
  a01007: 'wind_ms',
  a01008: 'wind_dir_deg',
  LA: 'laeq_db',
  Leq: 'laeq_db',
  LMx: 'lmax_db',
  L10: 'l10_db',
  L50: 'l50_db',
  L90: 'l90_db',
};

// Characters that would break the frame syntax cannot be in an MN or PW we compare against.
const FieldValue = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^;,=&\r\n]+$/, 'must not contain ";", ",", "=", "&" or a line break')
  .refine((s) => s.trim() === s, 'must not start or end with spaces');

const MetricName = z.string().refine((m) => METRIC_KIND.has(m), {
  message: `must be a metric of ${HJ212_KINDS.join(', ')} (see contracts METRICS)`,
});

export const Hj212DeviceSchema = z.strictObject({
  /** The monitor's MN (设备唯一标识) as it sends it. */
  mn: FieldValue,
  id: IdSchema,
  district: IdSchema,
  kind: Hj212KindSchema,
  /** When set, frames must carry this PW; a frame with another PW is refused (dead letter, 9011 QnRtn=2 as for an unknown MN). */
  password: FieldValue.optional(),
  /**
   * Device ids for metrics of other kinds (a site monitor measuring dust and noise). Default `<id>-<kind>` in the
   * same district.
   */
  companions: z.partialRecord(Hj212KindSchema, IdSchema).optional(),
});

export const Hj212ConfigSchema = z
  .strictObject({
    port: z.number().int().min(0).max(65_535).default(9212),
    host: z.string().min(1).default('0.0.0.0'),
    /** DataTime and QN are the local time of the city. */
    timeZone: z
      .string()
      .refine(isValidTimeZone, 'unknown time zone (use an IANA name such as Asia/Shanghai)')
      .default('Asia/Shanghai'),
    /** No byte for this long: the connection is taken as half-open (a monitor that lost power or its link) and closed. */
    idleTimeoutS: z.number().positive().max(86_400).default(300),
    maxConnections: z.number().int().min(1).max(100_000).default(2000),
    /**
     * Connections from one address; further ones are refused. Without it idle connections from one host fill every
     * slot (slowloris). Raise it when many monitors share an address (a site router, a carrier's NAT).
     */
    maxConnectionsPerAddress: z.number().int().min(1).max(100_000).default(100),
    /** A connection that has sent no accepted frame (known MN, right PW) this long after it opened is closed. */
    firstFrameTimeoutS: z.number().positive().max(86_400).default(60),
    /** maxWrongPw wrong PWs for one MN within pwLockoutS lock that MN out for pwLockoutS (except from the address it last sent a right PW from). */
    maxWrongPw: z.number().int().min(1).default(5),
    pwLockoutS: z.number().positive().max(86_400).default(900),
    /** A frame (or a run of bytes without CRLF) longer than this closes the connection: the per-connection memory bound. */
    maxFrameBytes: z
      .number()
      .int()
      .min(64)
      .max(1 << 20)
      .default(MAX_POSSIBLE_FRAME),
    /** A connection that sends this many bad frames in a row is closed (protects the dead-letter store). */
    maxBadFrames: z.number().int().min(1).default(100),
    /** Commissioning mode: frames from an MN that is not in `devices` are stored as device `hj212-<MN>`. */
    acceptUnknown: z.boolean().default(false),
    /** District of the `hj212-<MN>` devices of commissioning mode. */
    unknownDistrict: IdSchema.default('unmapped'),
    /** At most this many monitors are registered by commissioning mode (a bound on memory and on new series). */
    maxUnknown: z.number().int().min(1).default(1000),
    devices: z.array(Hj212DeviceSchema).default([]),
    /** Factor code → metric, merged over DEFAULT_FACTORS; null removes a default. */
    factors: z
      .record(
        z
          .string()
          .min(1)
          .max(64)
          .regex(/^[^;,=&\s]+$/, 'not a factor code'),
        MetricName.nullable(),
      )
      .default({}),
  })
  .superRefine((c, ctx) => {
    const mns = new Map<string, number>();
    const ids = new Map<string, number>();
    c.devices.forEach((d, i) => {
      if (mns.has(d.mn))
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'mn'],
          message: `MN ${d.mn} is also devices.${mns.get(d.mn)}`,
        });
      else mns.set(d.mn, i);
      if (ids.has(d.id))
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'id'],
          message: `id ${d.id} is also devices.${ids.get(d.id)}`,
        });
      else ids.set(d.id, i);
      for (const k of HJ212_KINDS) {
        if (k === d.kind || d.companions?.[k]) continue;
        if (!IdSchema.safeParse(`${d.id}-${k}`).success) {
          ctx.addIssue({
            code: 'custom',
            path: ['devices', i, 'id'],
            message: `companion id ${d.id}-${k} is too long; shorten the id or set companions.${k}`,
          });
          break;
        }
      }
    });
  });

export type Hj212Config = z.output<typeof Hj212ConfigSchema>;
export type Hj212ConfigInput = z.input<typeof Hj212ConfigSchema>;
export type Hj212DeviceConfig = z.output<typeof Hj212DeviceSchema>;

/** The effective factor map: the defaults with the configured codes over them, null entries removed. */
export function factorMap(cfg: Pick<Hj212Config, 'factors'>): Map<string, string> {
  const m = new Map<string, string>(Object.entries(DEFAULT_FACTORS));
  for (const [code, metric] of Object.entries(cfg.factors)) {
    if (metric === null) m.delete(code);
    else m.set(code, metric);
  }
  return m;
}
