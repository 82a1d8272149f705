// The behaviour every Bus implementation owes its users, run against MemoryBus and KafkaBus alike. Each test marks
// its messages with a fresh run id and ignores others: Kafka topics persist between tests and runs, and a new
// consumer group starts at the oldest retained message.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { DeadLetter } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import { jsonDecoder, subscribeDecoded } from './decoded.js';
import type { Bus, BusMessage, BusTopic, OutgoingMessage, Subscription } from './types.js';

export interface ContractOptions {
  /** How long to wait for deliveries (a Kafka group join takes seconds). Default 30 s. */
  waitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The index a message of this run carries, or null for someone else's message. */
export function indexOf(m: BusMessage, run: string): number | null {
  try {
    const v = JSON.parse(m.value.toString('utf8')) as { run?: string; i?: number };
    return v.run === run && typeof v.i === 'number' ? v.i : null;
  } catch {
    return null;
  }
}

export function messages(run: string, from: number, to: number, keys: number): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  for (let i = from; i < to; i++) out.push({ key: `${run}-dev-${i % keys}`, value: JSON.stringify({ run, i }) });
  return out;
}

/** A handler that records this run's messages, and every batch it was called with. */
export function collector(run: string) {
  const seen: { i: number; m: BusMessage }[] = [];
  const batches: number[] = [];
  return {
    seen,
    batches,
    ids: () => seen.map((s) => s.i),
    handler: async (batch: BusMessage[]) => {
      batches.push(batch.length);
      for (const m of batch) {
        const i = indexOf(m, run);
        if (i !== null) seen.push({ i, m });
      }
    },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
const counts = (ids: number[]) => ids.reduce((m, i) => m.set(i, (m.get(i) ?? 0) + 1), new Map<number, number>());

export function busContract(name: string, makeBus: () => Promise<Bus>, opts: ContractOptions = {}): void {
  const waitMs = opts.waitMs ?? 30_000;
  describe(`${name}: Bus contract`, () => {
    const buses: Bus[] = [];
    const subs: Subscription[] = [];
    let run = '';
    const open = async () => {
      const b = await makeBus();
      buses.push(b);
      return b;
    };
    const join = async (
      bus: Bus,
      topic: BusTopic,
      group: string,
      handler: (b: BusMessage[]) => Promise<void>,
      maxBatch?: number,
    ) => {
      const s = await bus.subscribe(topic, group, handler, maxBatch ? { maxBatch } : {});
      subs.push(s);
      return s;
    };
    const group = (what: string) => `${what}-${run}`;

    afterEach(async () => {
      for (const s of subs.splice(0)) await s.close();
      for (const b of buses.splice(0)) await b.close();
    });

    it('publish → subscribe round trip: key, value, partition, offset, timestamp', async () => {
      run = randomUUID().slice(0, 8);
      const bus = await open();
      expect(bus.healthy()).toBe(true);
      const c = collector(run);
      await join(bus, 'events', group('rt'), c.handler);
      const before = Date.now();
      await bus.publish('events', []);
      await bus.publish('events', [
        { key: `${run}-cam-1`, value: JSON.stringify({ run, i: 0, text: '噪声 58.2 dB' }) },
        { key: `${run}-cam-2`, value: Buffer.from(JSON.stringify({ run, i: 1 })) },
      ]);
      await waitFor(() => c.seen.length >= 2, 'two messages', waitMs);
      const byI = new Map(c.seen.map((s) => [s.i, s.m]));
      const m0 = byI.get(0)!;
      expect(m0.topic).toBe('events');
      expect(m0.key).toBe(`${run}-cam-1`);
      expect(Buffer.isBuffer(m0.value)).toBe(true);
      expect(JSON.parse(m0.value.toString('utf8')).text).toBe('噪声 58.2 dB');
      expect(byI.get(1)!.key).toBe(`${run}-cam-2`);
      for (const { m } of c.seen) {
        expect(Number.isInteger(m.partition) && m.partition >= 0).toBe(true);
        expect(Number.isInteger(m.offset) && m.offset >= 0).toBe(true);
        expect(m.timestamp).toBeGreaterThanOrEqual(before - 5000);
        expect(m.timestamp).toBeLessThanOrEqual(Date.now() + 5000);
      }
      await expect(bus.publish('nope' as BusTopic, [{ key: 'k', value: 'v' }])).rejects.toThrow(/unknown topic/);
    });

    it('messages of one key arrive in publish order, on one partition, in batches of at most maxBatch', async () => {
      run = randomUUID().slice(0, 8);
      const bus = await open();
      const c = collector(run);
      await join(bus, 'readings', group('order'), c.handler, 7);
      const total = 300;
      for (let from = 0; from < total; from += 50) await bus.publish('readings', messages(run, from, from + 50, 6));
      await waitFor(() => c.seen.length >= total, `${total} messages`, waitMs);
      expect(c.seen.length).toBe(total);
      expect(Math.max(...c.batches)).toBeLessThanOrEqual(7);
      const byKey = new Map<string, { i: number; m: BusMessage }[]>();
      for (const s of c.seen) byKey.set(s.m.key, [...(byKey.get(s.m.key) ?? []), s]);
      expect(byKey.size).toBe(6);
      for (const [key, list] of byKey) {
        const k = Number(key.slice(key.lastIndexOf('-') + 1));
        expect(list.map((s) => s.i)).toEqual(range(0, total).filter((i) => i % 6 === k));
        expect(new Set(list.map((s) => s.m.partition)).size).toBe(1);
        const offsets = list.map((s) => s.m.offset);
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      }
    });

    it('two groups each receive every message', async () => {
      run = randomUUID().slice(0, 8);
      const bus = await open();
      const a = collector(run);
      const b = collector(run);
      await join(bus, 'alerts', group('ga'), a.handler);
      await join(bus, 'alerts', group('gb'), b.handler);
      await bus.publish('alerts', messages(run, 0, 100, 10));
      await waitFor(
        () => new Set(a.ids()).size >= 100 && new Set(b.ids()).size >= 100,
        'both groups to see 100',
        waitMs,
      );
      expect([...new Set(a.ids())].sort((x, y) => x - y)).toEqual(range(0, 100));
      expect([...new Set(b.ids())].sort((x, y) => x - y)).toEqual(range(0, 100));
    });

    it('two members of one group split the partitions and together see every message exactly once', async () => {
      run = randomUUID().slice(0, 8);
      const bus = await open();
      const m1 = collector(run);
      const m2 = collector(run);
      const g = group('split');
      await join(bus, 'cases', g, m1.handler, 10);
      await join(bus, 'cases', g, m2.handler, 10);
      // Publish in rounds while the group settles, until both members have work, then a few rounds more.
      let n = 0;
      let extra = 3;
      const end = Date.now() + waitMs;
      while (extra > 0) {
        await bus.publish('cases', messages(run, n, n + 40, 16));
        n += 40;
        if (m1.seen.length > 0 && m2.seen.length > 0) extra--;
        if (Date.now() > end) throw new Error('the second member never received messages');
        await sleep(100);
      }
      await waitFor(() => new Set([...m1.ids(), ...m2.ids()]).size >= n, `all ${n} messages`, waitMs);
      await sleep(300); // a late duplicate would show now
      const all = counts([...m1.ids(), ...m2.ids()]);
      expect([...all.keys()].sort((a, b) => a - b)).toEqual(range(0, n));
      expect([...all.entries()].filter(([, c]) => c > 1)).toEqual([]);
      expect(m1.seen.length).toBeGreaterThan(0);
      expect(m2.seen.length).toBeGreaterThan(0);
      // At the end each partition has one owner: the members' last messages come from disjoint partitions.
      const last = (c: typeof m1) => new Set(c.seen.slice(-10).map((s) => s.m.partition));
      const overlap = [...last(m1)].filter((p) => last(m2).has(p));
      expect(overlap).toEqual([]);
    });

    it('a throwing handler gets the same messages again and nothing is committed past them', async () => {
      run = randomUUID().slice(0, 8);
      const bus = await open();
      const g = group('throw');
      const key = `${run}-one-device`;
      const one = (from: number, to: number) =>
        range(from, to).map((i) => ({ key, value: JSON.stringify({ run, i }) }));
      const accepted: number[] = [];
      const attempts: { at: number; ids: number[] }[] = [];
      const sub = await join(bus, 'frames', g, async (batch) => {
        const ids = batch.map((m) => indexOf(m, run)).filter((i): i is number => i !== null);
        if (ids.some((i) => i >= 5)) {
          attempts.push({ at: Date.now(), ids });
          throw new Error('simulated handler failure');
        }
        accepted.push(...ids);
      });
      await bus.publish('frames', one(0, 5));
      await waitFor(() => accepted.length >= 5, 'the first five', waitMs);
      await bus.publish('frames', one(5, 10));
      await waitFor(() => attempts.length >= 3, 'three failed attempts', waitMs);
      expect(accepted).toEqual([0, 1, 2, 3, 4]);
      for (const a of attempts) {
        // Every attempt starts again at the first message that was not processed, in order.
        expect(a.ids[0]).toBe(5);
        expect(a.ids).toEqual(range(5, 5 + a.ids.length));
      }
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(50); // after a delay, not in a hot loop
      await sub.close();

      // The same group again: it resumes at 5 (not committed), and 0..4 (committed) do not come back.
      const c = collector(run);
      await join(bus, 'frames', g, c.handler);
      await waitFor(() => c.seen.length >= 5, 'the five failed messages', waitMs);
      await sleep(300);
      expect(c.ids()).toEqual([5, 6, 7, 8, 9]);
    });

    it('after close, the same group resumes after the last committed offset: no repeats, no gaps', async () => {
      run = randomUUID().slice(0, 8);
      const bus = await open();
      const g = group('resume');
      const first = collector(run);
      const s1 = await join(bus, 'events', g, first.handler, 9);
      await bus.publish('events', messages(run, 0, 40, 8));
      await waitFor(() => first.seen.length >= 40, 'the first 40', waitMs);
      await s1.close(); // at once after the last handler call: close must commit it
      await bus.publish('events', messages(run, 40, 80, 8));
      const second = collector(run);
      await join(bus, 'events', g, second.handler, 9);
      await waitFor(() => second.seen.length >= 40, 'the next 40', waitMs);
      await sleep(300);
      expect([...counts(first.ids()).values()].every((c) => c === 1)).toBe(true);
      expect(second.ids().sort((a, b) => a - b)).toEqual(range(40, 80));
    });

    it('subscribeDecoded: a poison message is dead-lettered with topic and reason, committed, and the messages after it are processed', async () => {
      run = randomUUID().slice(0, 8);
      const bus = await open();
      const g = group('poison');
      const key = `${run}-one-device`;
      const dead: DeadLetter[] = [];
      const deadLetters = {
        add: async (d: readonly DeadLetter[]) => void dead.push(...d.filter((x) => x.topic.includes(run))),
      };
      const decode = jsonDecoder(z.object({ run: z.string(), i: z.number().int() }));
      const seen: number[] = [];
      const consume = () =>
        subscribeDecoded(
          bus,
          'alerts',
          g,
          async (batch) => void seen.push(...batch.filter((d) => d.value.run === run).map((d) => d.value.i)),
          { decode, deadLetters, logger: silentLogger },
        );
      const s1 = await consume();
      subs.push(s1);
      // One key, so one partition: without the decoder the bad ones would stop everything after them.
      await bus.publish('alerts', [
        { key, value: JSON.stringify({ run, i: 0 }) },
        { key, value: '{"run":' },
        { key, value: JSON.stringify({ run, i: 'one' }) },
        { key, value: JSON.stringify({ run, i: 1 }) },
      ]);
      await waitFor(
        () => seen.includes(1) && dead.length >= 2,
        'the message after the poison ones, and two dead letters',
        waitMs,
      );
      expect(seen).toEqual([0, 1]);
      expect(dead.map((d) => d.topic)).toEqual([`bus:alerts/${key}`, `bus:alerts/${key}`]);
      expect(dead[0]!.reason).toMatch(new RegExp(`^not JSON: .*\\(consumer group ${g}\\)$`));
      expect(dead[1]!.reason).toMatch(/^not the expected message: i: /);
      expect(dead[0]!.payload.toString()).toBe('{"run":');
      await s1.close();
      // Committed: the same group again gets only what came after, and the poison does not come back.
      await bus.publish('alerts', [{ key, value: JSON.stringify({ run, i: 2 }) }]);
      subs.push(await consume());
      await waitFor(() => seen.includes(2), 'the next message', waitMs);
      await sleep(300);
      expect(seen).toEqual([0, 1, 2]);
      expect(dead).toHaveLength(2);
    });

    it('an ephemeral group starts at the newest message and keeps no offsets: joined again, it sees only what came after', async () => {
      run = randomUUID().slice(0, 8);
      const bus = await open();
      const g = group('ephemeral');
      // Probes (index ≥ 1000) until one arrives: only then does the group surely have its starting position.
      const ready = async (c: ReturnType<typeof collector>) => {
        for (let k = 1000; !c.seen.some((x) => x.i >= 1000); k++) {
          await bus.publish('rechecks', messages(run, k, k + 1, 1));
          await sleep(200);
        }
      };
      const real = (c: ReturnType<typeof collector>) =>
        c
          .ids()
          .filter((i) => i < 1000)
          .sort((a, b) => a - b);
      await bus.publish('rechecks', messages(run, 0, 10, 4)); // before anyone listened
      const first = collector(run);
      const s1 = await bus.subscribe('rechecks', g, first.handler, { ephemeral: true });
      subs.push(s1);
      await ready(first);
      await bus.publish('rechecks', messages(run, 10, 20, 4));
      await waitFor(() => real(first).length >= 10, 'the 10 published after joining', waitMs);
      await s1.close();
      await bus.publish('rechecks', messages(run, 20, 30, 4)); // while the group was gone
      const second = collector(run);
      subs.push(await bus.subscribe('rechecks', g, second.handler, { ephemeral: true }));
      await ready(second);
      await bus.publish('rechecks', messages(run, 30, 40, 4));
      await waitFor(() => real(second).length >= 10, 'the 10 published after joining again', waitMs);
      await sleep(300);
      expect(real(first)).toEqual(range(10, 20));
      // Nothing was committed, so nothing resumed: 20..29 passed while no member listened.
      expect(real(second)).toEqual(range(30, 40));
    });
  });
}
