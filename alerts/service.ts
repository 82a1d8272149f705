// The alert service: consumes detector signals from the bus topic `alerts` (one consumer group, one writer of alert
// state) and applies them to the alerts through the AlertManager. A message that is not a signal is dead-lettered
// (bus/decoded.ts) instead of being retried for ever, which stopped every alert behind it on its partition.
import { jsonDecoder, subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import { SignalSchema, type Signal } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import type { AlertManager } from './manager.js';

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
    const fields = {
      alert: a.id,
      rule: a.ruleId,
      device: a.deviceId,
      severity: a.severity,
      state: a.state,
      value: a.value,
    };
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
