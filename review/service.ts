// Takes enforcement events off the bus topic "events" into the review queue (one consumer group, one writer).
import type { Bus, Subscription } from '../bus/types.js';
import { EnforcementEventSchema } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import type { EventStore } from './store.js';

export async function startReviewIntake(o: { bus: Bus; store: EventStore; logger: Logger; group?: string }): Promise<Subscription> {
  return o.bus.subscribe('events', o.group ?? 'review', async (batch) => {
    const events = [];
    for (const m of batch) {
      let json: unknown;
      try {
        json = JSON.parse(m.value.toString('utf8'));
      } catch {
        o.logger.error({ key: m.key, offset: m.offset }, 'bus message on "events" is not JSON; skipped');
        continue;
      }
      const parsed = EnforcementEventSchema.safeParse(json);
      // The vision stage validates before publishing; a malformed event here is a version skew between stages.
      if (!parsed.success) {
        o.logger.error({ key: m.key, err: parsed.error.message.slice(0, 300) }, 'enforcement event rejected by the contract');
        continue;
      }
      events.push(parsed.data);
    }
    const { added, updated } = await o.store.add(events);
    for (const e of added) {
      o.logger.info({ event: e.id, type: e.type, camera: e.camera.id, zone: e.zone.id, dwellS: Math.round(e.dwellS), plate: e.plate?.text }, 'enforcement event awaiting review');
    }
    for (const e of updated) o.logger.debug({ event: e.id, dwellS: Math.round(e.dwellS) }, 'pending event completed');
  });
}
