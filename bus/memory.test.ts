import { describe, expect, it } from 'vitest';
import { silentLogger } from '../runtime/log.js';
import { busContract, collector, messages, waitFor } from './bus.contract.js';
import { BusFullError, MemoryBus, murmur2, partitionFor } from './memory.js';
import type { BusMessage } from './types.js';

busContract('MemoryBus', async () => new MemoryBus({ partitions: 4, logger: silentLogger }), { waitMs: 5000 });

describe('MemoryBus', () => {
  it("hashes keys with Kafka's murmur2 (the Java client's test vectors)", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of vectors) expect(murmur2(Buffer.from(s))).toBe(h);
    for (let i = 0; i < 100; i++)
      expect(partitionFor(`dev-${i}`, 4)).toBe((murmur2(Buffer.from(`dev-${i}`)) & 0x7fffffff) % 4);
  });

  it('rebalances partitions when members join and leave', async () => {
    const bus = new MemoryBus({ partitions: 6 });
    const seenBy = [new Set<number>(), new Set<number>(), new Set<number>()];
    const handler = (k: number) => async (b: BusMessage[]) => {
      for (const m of b) seenBy[k]!.add(m.partition);
    };
    const subs = [
      await bus.subscribe('readings', 'g', handler(0)),
      await bus.subscribe('readings', 'g', handler(1)),
      await bus.subscribe('readings', 'g', handler(2)),
    ];
    const all = Array.from({ length: 600 }, (_, i) => ({ key: `dev-${i}`, value: 'x' }));
    await bus.publish('readings', all);
    await waitFor(() => bus.lag('readings', 'g') === 0, 'the group to catch up', 5000);
    // Three members, six partitions: two each, disjoint.
    expect(seenBy.map((s) => s.size)).toEqual([2, 2, 2]);
    expect(new Set(seenBy.flatMap((s) => [...s])).size).toBe(6);
    // One leaves: the other two take over all six.
    await subs[2]!.close();
    for (const s of seenBy) s.clear();
    await bus.publish('readings', all);
    await waitFor(() => bus.lag('readings', 'g') === 0, 'the group to catch up', 5000);
    expect(seenBy[0]!.size + seenBy[1]!.size).toBe(6);
    expect(seenBy[2]!.size).toBe(0);
    await bus.close();
  });

  it('retains a message only until every group has committed it', async () => {
    const bus = new MemoryBus({ partitions: 4 });
    const fast = collector('r');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = collector('r');
    await bus.subscribe('readings', 'fast', fast.handler);
    await bus.subscribe('readings', 'slow', async (b) => {
      await gate;
      await slow.handler(b);
    });
    await bus.publish('readings', messages('r', 0, 100, 10));
    await waitFor(() => fast.seen.length === 100, 'the fast group', 5000);
    expect(bus.retained('readings').messages).toBe(100); // the slow group still needs them
    release();
    await waitFor(() => slow.seen.length === 100, 'the slow group', 5000);
    await waitFor(() => bus.retained('readings').messages === 0, 'retention to drop to zero', 5000);
    expect(bus.retained('readings').bytes).toBe(0);
    await bus.close();
  });

  it('refuses a publish, losing nothing, while a live group lags past the cap; accepts again once it catches up', async () => {
    const bus = new MemoryBus({ partitions: 2, maxRetainedMessages: 50 });
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const c = collector('cap');
    await bus.subscribe(
      'readings',
      'detectors',
      async (b) => {
        await gate;
        await c.handler(b);
      },
      { maxBatch: 10 },
    );
    await bus.publish('readings', messages('cap', 0, 50, 5));
    await expect(bus.publish('readings', messages('cap', 50, 51, 5))).rejects.toThrow(BusFullError);
    await expect(bus.publish('readings', messages('cap', 50, 51, 5))).rejects.toThrow(
      /group "detectors" .* has not processed them/,
    );
    await expect(bus.publish('readings', messages('cap', 0, 51, 5))).rejects.toThrow(/exceeds the cap/);
    release();
    gate = Promise.resolve();
    await waitFor(() => c.seen.length === 50, 'the group to catch up', 5000);
    await bus.publish('readings', messages('cap', 50, 100, 5));
    await waitFor(() => c.seen.length === 100, 'the rest', 5000);
    expect(c.ids().sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await bus.close();
  });

  it('caps bytes as well as messages', async () => {
    const bus = new MemoryBus({ partitions: 1, maxRetainedBytes: 10_000 });
    await bus.subscribe('frames', 'vision', () => new Promise(() => {})); // never finishes
    await bus.publish('frames', [{ key: 'cam-1', value: Buffer.alloc(6000) }]);
    await expect(bus.publish('frames', [{ key: 'cam-1', value: Buffer.alloc(6000) }])).rejects.toThrow(BusFullError);
    expect(bus.retained('frames').bytes).toBe(6005);
  });

  it('with no group, or only groups without members, discards the oldest messages beyond the cap', async () => {
    const bus = new MemoryBus({ partitions: 2, maxRetainedMessages: 30 });
    for (let i = 0; i < 10; i++) await bus.publish('events', messages('nog', i * 10, i * 10 + 10, 4));
    expect(bus.retained('events').messages).toBe(30);
    // A group joining now starts at the oldest retained message: the last 30.
    const c = collector('nog');
    const s = await bus.subscribe('events', 'late', c.handler);
    await waitFor(() => c.seen.length === 30, 'the retained 30', 5000);
    expect(c.ids().sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 70 + i));
    await s.close();
    // The group has no members now: it no longer holds producers back, it loses the oldest instead.
    for (let i = 0; i < 5; i++) await bus.publish('events', messages('nog', 100 + i * 10, 110 + i * 10, 4));
    expect(bus.retained('events').messages).toBe(30);
    expect(bus.lag('events', 'late')).toBe(30);
    const again = collector('nog');
    await bus.subscribe('events', 'late', again.handler);
    await waitFor(() => again.seen.length === 30, 'the newest 30', 5000);
    expect(again.ids().sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 120 + i));
    await bus.close();
  });

  it('close waits for the batch in the handler and commits it', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    let finished = false;
    const s = await bus.subscribe('alerts', 'g', async () => {
      inside();
      await new Promise((r) => setTimeout(r, 200));
      finished = true;
    });
    await bus.publish('alerts', messages('close', 0, 3, 1));
    await entered;
    await s.close();
    expect(finished).toBe(true);
    expect(bus.lag('alerts', 'g')).toBe(0);
    await bus.close();
    expect(bus.healthy()).toBe(false);
    await expect(bus.publish('alerts', messages('close', 3, 4, 1))).rejects.toThrow(/closed/);
  });
});
