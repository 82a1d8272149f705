// Takes enforcement events off the bus topic "events" into the review queue (one consumer group, one writer).
import { jsonDecoder, subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import { EnforcementEventSchema, type EnforcementEvent } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import type { EventStore } from './store.js';

export async function startReviewIntake(o: {
  bus: Bus;
  store: EventStore;
  logger: Logger;
  deadLetters: Pick<DeadLetterStore, 'add'>;
  group?: string;
}): Promise<Subscription> {
  // The vision stage validates before publishing; a malformed event here is a version skew between stages: dead-lettered.
  const decode = jsonDecoder(EnforcementEventSchema);
  return subscribeDecoded<EnforcementEvent>(
    o.bus,
    'events',
    o.group ?? 'review',
    async (batch) => {
      const { added, updated } = await o.store.add(batch.map((m) => m.value));
      for (const e of added) {
        o.logger.info(
          {
            event: e.id,
            type: e.type,
            camera: e.camera.id,
            zone: e.zone.id,
            dwellS: Math.round(e.dwellS),
            plate: e.plate?.text,
          },
          'enforcement event awaiting review',
        );
      }
      for (const e of updated) o.logger.debug({ event: e.id, dwellS: Math.round(e.dwellS) }, 'pending event completed');
    },
    { decode, deadLetters: o.deadLetters, logger: o.logger },
  );
}
