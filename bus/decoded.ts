// Consuming with a decoder: the one way a stage reads a topic. A handler that throws gets its batch again (that is how
// a store outage is ridden out), so a message the consumer can never use (not JSON, not its schema: a version skew
// between stages, a bug, a stranger with access to the bus) would come back for ever and stop its partition.
// subscribeDecoded decodes every message with the consumer's decoder first; one that fails goes to the dead-letter
// store with the topic and the reason, is committed with its batch, and the others reach the handler.
import { z } from 'zod';
import type { DeadLetter } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import type { Bus, BusMessage, BusTopic, SubscribeOptions, Subscription } from './types.js';

/** Turns a message into what the consumer works with; throws, with a reason a person can act on, when it cannot. */
export type Decoder<T> = (value: Buffer, message: BusMessage) => T;

export interface DecodedMessage<T> {
  message: BusMessage;
  value: T;
}

export interface DecodedSubscribeOptions<T> extends SubscribeOptions {
  decode: Decoder<T>;
  /** Where poison messages go: the platform's dead-letter store. */
  deadLetters: { add(items: readonly DeadLetter[]): Promise<void> };
  logger: Logger;
}

/** A decoder for JSON messages checked against `schema`; the reason names the fields that are wrong. */
export function jsonDecoder<T>(schema: z.ZodType<T>): Decoder<T> {
  return (value) => {
    let json: unknown;
    try {
      json = JSON.parse(value.toString('utf8'));
    } catch (e) {
      throw new Error(`not JSON: ${(e as Error).message}`);
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      throw new Error(
        `not the expected message: ${r.error.issues
          .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
          .join('; ')
          .slice(0, 1000)}`,
      );
    }
    return r.data;
  };
}

/** Dead-letter topic of a poison bus message: "bus:<topic>/<key>". */
export const busDeadLetterTopic = (m: Pick<BusMessage, 'topic' | 'key'>) => `bus:${m.topic}/${m.key}`;

/**
 * Bus.subscribe with decoding: the handler gets the messages that decoded, in order; those that did not are
 * dead-lettered (after the handler resolved, so a retried batch does not store them twice) and committed with the
 * batch. A handler that throws still gets the batch again. Poison messages are logged at most once a minute per
 * subscription, with a count.
 */
export async function subscribeDecoded<T>(
  bus: Bus,
  topic: BusTopic,
  group: string,
  handler: (batch: DecodedMessage<T>[]) => Promise<void>,
  o: DecodedSubscribeOptions<T>,
): Promise<Subscription> {
  const { decode, deadLetters, logger, ...subscribeOptions } = o;
  let loggedAt = 0;
  let unlogged = 0;
  return bus.subscribe(
    topic,
    group,
    async (batch) => {
      const good: DecodedMessage<T>[] = [];
      const poison: DeadLetter[] = [];
      for (const m of batch) {
        try {
          good.push({ message: m, value: decode(m.value, m) });
        } catch (e) {
          poison.push({
            topic: busDeadLetterTopic(m),
            reason: `${(e as Error).message} (consumer group ${group})`,
            receivedAt: Date.now(),
            payload: m.value,
          });
        }
      }
      if (good.length > 0) await handler(good);
      if (poison.length === 0) return;
      await deadLetters.add(poison);
      unlogged += poison.length;
      if (Date.now() - loggedAt >= 60_000) {
        logger.warn(
          { topic, group, count: unlogged, first: poison[0]!.reason.slice(0, 300) },
          'bus messages the consumer cannot use dead-lettered (see /api/dead-letters)',
        );
        loggedAt = Date.now();
        unlogged = 0;
      }
    },
    subscribeOptions,
  );
}
