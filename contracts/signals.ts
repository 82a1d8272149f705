// Detector signals: what the threshold rules, the sensor-health checks and the anomaly detector publish on bus topic
// `alerts` (keyed by device), and the alert service turns into alerts. Defined here because three stages speak it:
// analytics/ produce it, alerts/ consume it, cases/ and duty/ read its severity.
import { z } from 'zod';
import { DeviceKindSchema, type DeviceKind } from './readings.js';

export const SEVERITIES = ['info', 'warning', 'major', 'critical'] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

export type SignalType = 'fire' | 'escalate' | 'deescalate' | 'clear';

export interface Signal {
  type: SignalType;
  ruleId: string;
  /** threshold rules; health checks and the anomaly detector emit signals of their own category. */
  category: 'threshold' | 'health' | 'anomaly';
  name: { zh: string; en: string };
  deviceId: string;
  district: string;
  /** A camera's only signal is health.offline, from its status. */
  kind: DeviceKind;
  metric: string;
  /** Severity after the change; for 'clear' the severity that was cleared. */
  severity: Severity;
  tierLabel?: string;
  /** The aggregated value that decided it, and the level it was compared with. */
  value: number;
  level: number;
  ts: number;
  standard: string;
  caseWorthy: boolean;
  caseCode?: string;
  /**
   * A clear sent for the first reading of a series that is normal: detector state lives in memory, so after a
   * restart this is how an alert whose condition ended meanwhile gets resolved. The alert service ignores it when
   * nothing is open.
   */
  initial?: boolean;
  /** Anomaly alerts: the model that found the value unusual and the band it expected (absent while it learns). */
  expected?: { model: string; low?: number; high?: number };
}

/** What the alert service accepts on `alerts`: a Signal; anything else is dead-lettered. */
export const SignalSchema = z.looseObject({
  type: z.enum(['fire', 'escalate', 'deescalate', 'clear']),
  ruleId: z.string().min(1),
  category: z.enum(['threshold', 'health', 'anomaly']),
  name: z.object({ zh: z.string(), en: z.string() }),
  deviceId: z.string().min(1),
  district: z.string().min(1),
  kind: DeviceKindSchema,
  metric: z.string(),
  severity: SeveritySchema,
  tierLabel: z.string().optional(),
  value: z.number(),
  level: z.number(),
  ts: z.number(),
  standard: z.string(),
  caseWorthy: z.boolean(),
  caseCode: z.string().optional(),
  initial: z.boolean().optional(),
  expected: z.object({ model: z.string(), low: z.number().optional(), high: z.number().optional() }).optional(),
}) satisfies z.ZodType<Signal>;
