// The in-process bus of the one-process default: Kafka's model (keyed partitions, consumer groups, committed
// offsets, at-least-once redelivery) kept in memory, so stages are written once against `Bus` and run unchanged on
// Kafka. Memory is bounded: a message stays only until every consumer group of its topic has committed it, and a
// per-topic cap refuses publishes (never silently drops) while a live group lags. See bus/README.md.
import { silentLogger, type Logger } from '../runtime/log.js';
import {
  BUS_TOPICS,
  type Bus,
  type BusMessage,
  type BusTopic,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
} from './types.js';

export interface MemoryBusOptions {
  /** Partitions per topic: the most members of one group that can work at once. Default 4. */
  partitions?: number;
  /** Per topic: at most this many messages retained (not yet committed by every group). Default 100,000. */
  maxRetainedMessages?: number;
  /** Per topic: at most this many bytes (keys + values) retained. Default 32 MiB. */
  maxRetainedBytes?: number;
  /** Handler calls after a failure wait this long, doubling per consecutive failure up to retryMaxMs. Default 100. */
  retryMinMs?: number;
  /** Default 5000. */
  retryMaxMs?: number;
  /** maxBatch when subscribe() gives none. Default 500. */
  maxBatch?: number;
  logger?: Logger;
}

/** publish() refused because a consumer group that is running has not caught up: nothing was stored. */
export class BusFullError extends Error {
  override readonly name = 'BusFullError';
}

/**
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), so a key lands on the same partition here, in
 * librdkafka's `murmur2_random` partitioner that KafkaBus uses, and in any Java client.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a key among `partitions`, as Kafka's default partitioner computes it. */
export function partitionFor(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

interface Entry {
  key: string;
  value: Buffer;
  timestamp: number;
  /** Publish order across partitions: which message is oldest when the cap makes room. */
  seq: number;
}

/** One partition's retained messages: offsets base..end-1, trimmed from the front as groups commit. */
class PartitionLog {
  base = 0;
  private entries: Entry[] = [];
  private start = 0;

  get end(): number {
    return this.base + this.entries.length - this.start;
  }
  get size(): number {
    return this.entries.length - this.start;
  }
  at(offset: number): Entry | undefined {
    return offset < this.base ? undefined : this.entries[this.start + offset - this.base];
  }
  append(e: Entry): number {
    this.entries.push(e);
    return this.end - 1;
  }
  /** Drops every message below `offset`; returns the bytes freed. */
  trimTo(offset: number): number {
    let freed = 0;
    while (this.base < offset && this.start < this.entries.length) {
      const e = this.entries[this.start]!;
      freed += entryBytes(e);
      this.entries[this.start] = undefined as unknown as Entry; // let the buffer go now
      this.start++;
      this.base++;
    }
    if (this.start > 1024 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
    return freed;
  }
}

const entryBytes = (e: Entry) => e.value.length + Buffer.byteLength(e.key);

interface Member {
  id: number;
  group: Group;
  handler: (batch: BusMessage[]) => Promise<void>;
  maxBatch: number;
  closed: boolean;
  running: boolean;
  scheduled: boolean;
  failures: number;
  retryTimer: NodeJS.Timeout | null;
  /** Resolves when the member is not inside a handler call. */
  idle: Promise<void>;
  cursor: number;
}

interface Group {
  name: string;
  topic: TopicState;
  /** Next offset to deliver = committed offset, per partition. */
  committed: number[];
  /** Members in join order; partition p belongs to members[p % members.length]. */
  members: Member[];
  owner: (Member | null)[];
  /** A batch holding this partition is in a handler: nobody else may take it until it resolves or throws. */
  busy: boolean[];
  /** SubscribeOptions.ephemeral: started at the end, forgotten when its last member leaves. */
  ephemeral: boolean;
}

interface TopicState {
  name: BusTopic;
  logs: PartitionLog[];
  groups: Map<string, Group>;
  count: number;
  bytes: number;
  /** Rate limits for the cap's log lines. */
  lastFullLog: number;
  lastDiscardLog: number;
  discardedUnlogged: number;
}

export class MemoryBus implements Bus {
  readonly name = 'memory';
  private readonly topics = new Map<BusTopic, TopicState>();
  private readonly partitions: number;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly log: Logger;
  private nextMemberId = 1;
  private seq = 0;
  private closed = false;

  constructor(private readonly o: MemoryBusOptions = {}) {
    this.partitions = o.partitions ?? 4;
    this.maxMessages = o.maxRetainedMessages ?? 100_000;
    this.maxBytes = o.maxRetainedBytes ?? 32 * 1024 * 1024;
    this.log = o.logger ?? silentLogger;
    if (!Number.isInteger(this.partitions) || this.partitions < 1)
      throw new Error(`memory bus: partitions must be a positive integer, got ${this.partitions}`);
    for (const t of BUS_TOPICS) {
      this.topics.set(t, {
        name: t,
        logs: Array.from({ length: this.partitions }, () => new PartitionLog()),
        groups: new Map(),
        count: 0,
        bytes: 0,
        lastFullLog: 0,
        lastDiscardLog: 0,
        discardedUnlogged: 0,
      });
    }
  }

  async publish(topic: BusTopic, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new Error('memory bus is closed');
    const t = this.topic(topic);
    if (messages.length === 0) return;
    const now = Date.now();
    const entries = messages.map((m) => ({
      partition: partitionFor(m.key, this.partitions),
      e: { key: m.key, value: Buffer.from(m.value), timestamp: now, seq: this.seq++ } satisfies Entry,
    }));
    const bytes = entries.reduce((s, x) => s + entryBytes(x.e), 0);
    this.makeRoom(t, entries.length, bytes);
    for (const { partition, e } of entries) t.logs[partition]!.append(e);
    t.count += entries.length;
    t.bytes += bytes;
    for (const g of t.groups.values()) for (const m of g.members) this.schedule(m);
  }

  async subscribe(
    topic: BusTopic,
    group: string,
    handler: (batch: BusMessage[]) => Promise<void>,
    opts: SubscribeOptions = {},
  ): Promise<Subscription> {
    if (this.closed) throw new Error('memory bus is closed');
    const t = this.topic(topic);
    if (!group) throw new Error('memory bus: group must not be empty');
    let g = t.groups.get(group);
    if (!g) {
      // A new group starts at the oldest retained message (Kafka: auto.offset.reset=earliest), an ephemeral one at the
      // newest (latest).
      const ephemeral = opts.ephemeral ?? false;
      g = {
        name: group,
        topic: t,
        committed: t.logs.map((l) => (ephemeral ? l.end : l.base)),
        members: [],
        owner: t.logs.map(() => null),
        busy: t.logs.map(() => false),
        ephemeral,
      };
      t.groups.set(group, g);
    }
    const member: Member = {
      id: this.nextMemberId++,
      group: g,
      handler,
      maxBatch: Math.max(1, opts.maxBatch ?? this.o.maxBatch ?? 500),
      closed: false,
      running: false,
      scheduled: false,
      failures: 0,
      retryTimer: null,
      idle: Promise.resolve(),
      cursor: 0,
    };
    g.members.push(member);
    this.rebalance(g);
    this.log.debug({ topic, group, member: member.id, partitions: this.owned(member) }, 'memory bus: member joined');
    let closing: Promise<void> | null = null;
    return { close: () => (closing ??= this.leave(member)) };
  }

  healthy(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const members = [...this.topics.values()].flatMap((t) => [...t.groups.values()].flatMap((g) => g.members));
    await Promise.all(members.map((m) => this.leave(m)));
  }

  /** Retained (not yet committed by every group) messages and bytes of a topic: for metrics and tests. */
  retained(topic: BusTopic): { messages: number; bytes: number } {
    const t = this.topic(topic);
    return { messages: t.count, bytes: t.bytes };
  }

  /** Messages of `topic` that `group` has not committed yet, or null if the group does not exist. */
  lag(topic: BusTopic, group: string): number | null {
    const t = this.topic(topic);
    const g = t.groups.get(group);
    return g ? t.logs.reduce((s, l, p) => s + (l.end - g.committed[p]!), 0) : null;
  }

  private topic(topic: BusTopic): TopicState {
    const t = this.topics.get(topic);
    if (!t) throw new Error(`memory bus: unknown topic "${String(topic)}" (expected one of ${BUS_TOPICS.join(', ')})`);
    return t;
  }

  private owned(m: Member): number[] {
    return m.group.owner.flatMap((o, p) => (o === m ? [p] : []));
  }

  /** Assigns partitions round-robin over the members in join order. A partition in a handler moves only when it returns. */
  private rebalance(g: Group): void {
    const n = g.members.length;
    for (let p = 0; p < g.owner.length; p++) g.owner[p] = n === 0 ? null : g.members[p % n]!;
    for (const m of g.members) this.schedule(m);
  }

  private async leave(m: Member): Promise<void> {
    if (!m.closed) {
      m.closed = true;
      if (m.retryTimer) clearTimeout(m.retryTimer);
      m.retryTimer = null;
    }
    // Let a batch in the handler finish: its offsets are committed if it succeeds (close commits what was processed).
    await m.idle;
    const g = m.group;
    const i = g.members.indexOf(m);
    if (i >= 0) {
      g.members.splice(i, 1);
      this.rebalance(g);
      this.log.debug({ topic: g.topic.name, group: g.name, member: m.id }, 'memory bus: member left');
    }
    // Nothing committed is kept for an ephemeral group: gone with its last member (it no longer holds messages back).
    if (g.ephemeral && g.members.length === 0 && g.topic.groups.get(g.name) === g) g.topic.groups.delete(g.name);
  }

  private schedule(m: Member): void {
    if (m.scheduled || m.running || m.closed || m.retryTimer || this.closed) return;
    m.scheduled = true;
    setImmediate(() => {
      m.scheduled = false;
      void this.pump(m);
    });
  }

  /** Takes up to maxBatch messages from the member's free partitions, in partition order; marks them busy. */
  private take(m: Member): { messages: BusMessage[]; next: Map<number, number> } | null {
    const g = m.group;
    const t = g.topic;
    const messages: BusMessage[] = [];
    const next = new Map<number, number>();
    const n = t.logs.length;
    for (let i = 0; i < n && messages.length < m.maxBatch; i++) {
      const p = (m.cursor + i) % n;
      if (g.owner[p] !== m || g.busy[p]) continue;
      const log = t.logs[p]!;
      let off = Math.max(g.committed[p]!, log.base);
      if (off >= log.end) continue;
      for (; off < log.end && messages.length < m.maxBatch; off++) {
        const e = log.at(off)!;
        messages.push({ topic: t.name, key: e.key, value: e.value, partition: p, offset: off, timestamp: e.timestamp });
      }
      next.set(p, off);
      g.busy[p] = true;
    }
    m.cursor = (m.cursor + 1) % n;
    return messages.length ? { messages, next } : null;
  }

  private async pump(m: Member): Promise<void> {
    if (m.running || m.closed) return;
    m.running = true;
    let done!: () => void;
    m.idle = new Promise((r) => (done = r));
    const g = m.group;
    try {
      while (!m.closed && !m.retryTimer && !this.closed) {
        const batch = this.take(m);
        if (!batch) break;
        let failed: unknown = null;
        try {
          await m.handler(batch.messages);
        } catch (e) {
          failed = e;
        }
        for (const p of batch.next.keys()) g.busy[p] = false;
        if (failed === null) {
          for (const [p, off] of batch.next) if (off > g.committed[p]!) g.committed[p] = off;
          m.failures = 0;
          this.collect(g.topic);
        } else {
          // Nothing is committed: the same messages come again (to this member, or to the next owner).
          m.failures++;
          const delay = Math.min(this.o.retryMaxMs ?? 5000, (this.o.retryMinMs ?? 100) * 2 ** (m.failures - 1));
          this.log.warn(
            {
              topic: g.topic.name,
              group: g.name,
              messages: batch.messages.length,
              attempt: m.failures,
              retryInMs: delay,
              err: (failed as Error)?.message ?? String(failed),
            },
            'bus handler failed; its messages will be delivered again',
          );
          if (!m.closed) {
            m.retryTimer = setTimeout(() => {
              m.retryTimer = null;
              this.schedule(m);
            }, delay);
          }
        }
        // Partitions released by this batch may belong to another member since a rebalance.
        for (const other of g.members) if (other !== m) this.schedule(other);
        // Yield to I/O between batches even when the handler resolves at once.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      m.running = false;
      done();
    }
  }

  /** Drops messages every group of the topic has committed. With no group at all, messages stay (up to the cap). */
  private collect(t: TopicState): void {
    if (t.groups.size === 0) return;
    for (let p = 0; p < t.logs.length; p++) {
      let min = Infinity;
      for (const g of t.groups.values()) min = Math.min(min, g.committed[p]!);
      const log = t.logs[p]!;
      const before = log.size;
      t.bytes -= log.trimTo(min);
      t.count -= before - log.size;
    }
  }

  /**
   * Frees room for a publish, oldest message first. A message a live group (one with members) still needs is never
   * dropped: the publish is refused instead, so the producer (ingest) retries, exactly as when Kafka is down. A
   * message only memberless groups (or no group at all) still need is dropped, and that is logged loudly.
   */
  private makeRoom(t: TopicState, count: number, bytes: number): void {
    if (count > this.maxMessages || bytes > this.maxBytes) {
      throw new BusFullError(
        `memory bus: one publish of ${count} messages (${bytes} bytes) exceeds the cap of topic "${t.name}" ` +
          `(${this.maxMessages} messages, ${this.maxBytes} bytes); publish smaller batches or raise the cap`,
      );
    }
    const discarded = new Map<string, number>();
    while (t.count + count > this.maxMessages || t.bytes + bytes > this.maxBytes) {
      // The partition whose head is oldest.
      let p = -1;
      let oldest = Infinity;
      for (let i = 0; i < t.logs.length; i++) {
        const head = t.logs[i]!.at(t.logs[i]!.base);
        if (head && head.seq < oldest) {
          oldest = head.seq;
          p = i;
        }
      }
      if (p < 0) break; // empty: cannot happen with the checks above
      const log = t.logs[p]!;
      const head = log.base;
      const needing = [...t.groups.values()].filter((g) => g.members.length > 0 && g.committed[p]! <= head);
      if (needing.length > 0) {
        const lags = needing.map((g) => `"${g.name}" (${this.lag(t.name, g.name)} behind)`).join(', ');
        const err = new BusFullError(
          `memory bus: topic "${t.name}" is full (${t.count} messages, ${t.bytes} bytes retained; cap ${this.maxMessages} ` +
            `messages / ${this.maxBytes} bytes) because consumer group ${lags} has not processed them; the publish ` +
            `is refused so nothing is lost, and succeeds once the group catches up`,
        );
        const now = Date.now();
        if (now - t.lastFullLog > 10_000) {
          t.lastFullLog = now;
          this.log.warn(
            { topic: t.name, retained: t.count, bytes: t.bytes, groups: needing.map((g) => g.name) },
            err.message,
          );
        }
        this.logDiscards(t, discarded);
        throw err;
      }
      for (const g of t.groups.values()) {
        if (g.committed[p]! <= head) {
          g.committed[p] = head + 1;
          discarded.set(g.name, (discarded.get(g.name) ?? 0) + 1);
        }
      }
      if (t.groups.size === 0) discarded.set('', (discarded.get('') ?? 0) + 1);
      const before = log.size;
      t.bytes -= log.trimTo(head + 1);
      t.count -= before - log.size;
    }
    this.logDiscards(t, discarded);
  }

  private logDiscards(t: TopicState, discarded: Map<string, number>): void {
    if (discarded.size === 0) return;
    const now = Date.now();
    const total = [...discarded.values()].reduce((a, b) => a + b, 0);
    t.discardedUnlogged += total;
    if (now - t.lastDiscardLog < 10_000) return;
    t.lastDiscardLog = now;
    const groups = [...discarded.keys()].filter(Boolean);
    if (groups.length > 0) {
      this.log.error(
        { topic: t.name, groups, discarded: t.discardedUnlogged, cap: this.maxMessages, capBytes: this.maxBytes },
        'memory bus: topic reached its cap; discarded the oldest messages that only consumer groups without members had not processed',
      );
    } else {
      this.log.warn(
        { topic: t.name, discarded: t.discardedUnlogged, cap: this.maxMessages, capBytes: this.maxBytes },
        'memory bus: topic has no consumer group and reached its cap; discarded the oldest messages',
      );
    }
    t.discardedUnlogged = 0;
  }
}
