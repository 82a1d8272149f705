// The alert service: consumes detector signals from the bus topic `alerts` (one consumer group, one writer of alert
// state) and applies them to the alerts through the AlertManager. A message that is not a signal is dead-lettered
// (bus/decoded.ts) instead of being retried for ever, which stopped every alert behind it on its partition.
import { z } from 'zod';
import { jsonDecoder, subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import { DeviceKindSchema } from '../contracts/index.js';
import type { Signal } from '../detectors/rules/engine.js';
import { SeveritySchema } from '../detectors/rules/schema.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import type { AlertManager } from './manager.js';

/** What the alert service accepts on `alerts`: the detectors' Signal. */
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

export async function startAlertService(o: {
  bus: Bus;
  manager: AlertManager;
  logger: Logger;
  deadLetters: Pick<DeadLetterStore, 'add'>;
  group?: string;
}): Promise<Subscription> {
  o.manager.on('change', (a) => {
    const last = a.history.at(-1);
    const msg = `alert ${last?.type ?? 'changed'}`;
    const fields = { alert: a.id, rule: a.ruleId, device: a.deviceId, severity: a.severity, state: a.state, value: a.value };
    if (last?.type === 'fired' || last?.type === 'escalated' || last?.type === 'reopened') o.logger.warn(fields, msg);
    else o.logger.info(fields, msg);
  });
  return subscribeDecoded<Signal>(
    o.bus,
    'alerts',
    o.group ?? 'alerts',
    async (batch) => {
      for (const m of batch) await o.manager.handle(m.value);
    },
    { decode: jsonDecoder(SignalSchema), deadLetters: o.deadLetters, logger: o.logger },
  );
}
