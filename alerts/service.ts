// The alert service: consumes detector signals from the bus topic `alerts` (one consumer group, one writer of alert
// state) and applies them to the alerts through the AlertManager.
import type { Bus, Subscription } from '../bus/types.js';
import type { Signal } from '../detectors/rules/engine.js';
import type { Logger } from '../runtime/log.js';
import type { AlertManager } from './manager.js';

export async function startAlertService(o: { bus: Bus; manager: AlertManager; logger: Logger; group?: string }): Promise<Subscription> {
  o.manager.on('change', (a) => {
    const last = a.history.at(-1);
    const msg = `alert ${last?.type ?? 'changed'}`;
    const fields = { alert: a.id, rule: a.ruleId, device: a.deviceId, severity: a.severity, state: a.state, value: a.value };
    if (last?.type === 'fired' || last?.type === 'escalated' || last?.type === 'reopened') o.logger.warn(fields, msg);
    else o.logger.info(fields, msg);
  });
  return o.bus.subscribe('alerts', o.group ?? 'alerts', async (batch) => {
    for (const m of batch) await o.manager.handle(JSON.parse(m.value.toString('utf8')) as Signal);
  });
}
