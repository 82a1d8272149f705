// KafkaBus against the real single-node Kafka of scripts/services (KAFKA_BROKERS): the shared contract, then what
// only a real broker can show: an outage, and a consumer process killed with SIGKILL mid-stream.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Kafka from 'node-rdkafka';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../runtime/log.js';
import { busContract, collector, messages, waitFor } from './bus.contract.js';
import { KafkaBus, type KafkaBusOptions } from './kafka.js';
import { partitionFor } from './memory.js';
import { BUS_TOPICS } from './types.js';

const root = path.resolve(import.meta.dirname, '..');
const kafkaSh = path.join(root, 'scripts/services.d/kafka.sh');
const brokers = process.env.KAFKA_BROKERS!;
// Kafka topics persist: one fresh prefix per run of this file (deleted again in afterAll).
const prefix = `t${Date.now().toString(36)}${randomUUID().slice(0, 4)}.`;

const start = (o: Partial<KafkaBusOptions> = {}) =>
  KafkaBus.start({ brokers, topicPrefix: prefix, partitions: 4, logger: silentLogger, sessionTimeoutMs: 6000, ...o });

const kafka = (cmd: 'stop' | 'start') => promisify(execFile)(kafkaSh, [cmd], { timeout: 120_000 });

afterAll(async () => {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'bus-test-cleanup' });
  await Promise.all(BUS_TOPICS.map((t) => new Promise<void>((r) => admin.deleteTopic(prefix + t, 10_000, () => r()))));
  admin.disconnect();
});

busContract('KafkaBus', () => start());

describe('KafkaBus', () => {
  it('puts a key on the partition Java clients and MemoryBus choose (murmur2)', async () => {
    const bus = await start();
    const run = randomUUID().slice(0, 8);
    const c = collector(run);
    const sub = await bus.subscribe('alerts', `murmur-${run}`, c.handler);
    await bus.publish('alerts', messages(run, 0, 64, 64));
    await waitFor(() => c.seen.length >= 64, '64 messages');
    for (const { m } of c.seen) expect(m.partition).toBe(partitionFor(m.key, 4));
    await sub.close();
    await bus.close();
  });

  it('waits out a full producer queue (ERR__QUEUE_FULL) instead of failing the publish', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const bus = await start({ producerConfig: { 'queue.buffering.max.messages': 10 }, logger });
    const run = randomUUID().slice(0, 8);
    const c = collector(run);
    const sub = await bus.subscribe('events', `qfull-${run}`, c.handler);
    await bus.publish('events', messages(run, 0, 500, 7));
    await waitFor(() => c.seen.length >= 500, '500 messages');
    expect(new Set(c.ids()).size).toBe(500);
    expect(lines.some((l) => l.includes('queue is full'))).toBe(true);
    await sub.close();
    await bus.close();
  });

  it('a broker outage: a publish waits for the broker or fails after the delivery timeout; nothing acknowledged is lost', async () => {
    const run = randomUUID().slice(0, 8);
    const patient = await start({ deliveryTimeoutMs: 60_000, healthCheckMs: 1000 });
    const hasty = await start({ deliveryTimeoutMs: 3000 });
    const c = collector(run);
    const sub = await patient.subscribe('readings', `outage-${run}`, c.handler);
    try {
      await patient.publish('readings', messages(run, 0, 20, 5));
      await waitFor(() => c.seen.length >= 20, 'the messages before the outage');

      await kafka('stop');
      const stoppedAt = Date.now();
      let waitedOutcome: string | null = null;
      const waited = patient.publish('readings', messages(run, 20, 40, 5)).then(
        () => (waitedOutcome = 'resolved'),
        (e: Error) => (waitedOutcome = `rejected: ${e.message}`),
      );
      // The short delivery timeout: a clear rejection while the broker is away.
      const t0 = Date.now();
      await expect(hasty.publish('readings', messages(run, 1000, 1005, 5))).rejects.toThrow(
        /Kafka did not acknowledge 5 of 5 messages to .*readings: .*timed out/i,
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);
      expect(Date.now() - t0).toBeLessThan(10_000);
      await waitFor(() => !patient.healthy(), 'healthy() to turn false', 10_000);
      expect(waitedOutcome).toBeNull(); // still waiting for the broker

      await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
      await kafka('start');
      await waited;
      expect(waitedOutcome).toBe('resolved');
      await waitFor(() => patient.healthy(), 'healthy() to turn true again', 15_000);
      await patient.publish('readings', messages(run, 40, 60, 5));
      await waitFor(() => new Set(c.ids()).size >= 60, 'every acknowledged message', 45_000);
      const ids = new Set(c.ids());
      for (let i = 0; i < 60; i++) expect(ids.has(i)).toBe(true);
    } finally {
      await kafka('start'); // whatever happened above, later tests need the broker
      await sub.close();
      await patient.close();
      await hasty.close();
    }
  });

  it('kill -9 of one of two consumer processes: the other takes over and every message is processed', async () => {
    const run = randomUUID().slice(0, 8);
    const group = `kill-${run}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bus-kill-'));
    const children: { proc: ChildProcess; out: string; owned: number[] }[] = [];
    const spawnConsumer = (name: string) => {
      const out = path.join(dir, `${name}.txt`);
      const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bus/testdata/consumer.ts')], {
        cwd: root,
        env: { ...process.env, KAFKA_BROKERS: brokers, PREFIX: prefix, GROUP: group, OUT: out, LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const child = { proc, out, owned: [] as number[] };
      let buf = '';
      proc.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            const j = JSON.parse(line) as { msg?: string; owned?: number[] };
            if (j.owned) child.owned = j.owned;
          } catch {
            /* not a log line */
          }
        }
      });
      proc.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${name}] ${d.toString()}`));
      children.push(child);
      return child;
    };
    const processed = (out: string) =>
      fs.existsSync(out)
        ? fs
            .readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => {
              const [value, partition] = l.split('\t');
              return { i: (JSON.parse(value!) as { i: number }).i, partition: Number(partition) };
            })
        : [];
    const bus = await start();
    try {
      const a = spawnConsumer('a');
      const b = spawnConsumer('b');
      await waitFor(
        () => a.owned.length > 0 && b.owned.length > 0 && a.owned.length + b.owned.length === 4,
        'both consumers to own partitions',
        45_000,
      );

      const total = 3000;
      let published = 0;
      const publishing = (async () => {
        for (; published < total; published += 50) {
          await bus.publish('readings', messages(run, published, published + 50, 40));
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await waitFor(() => processed(a.out).length >= 100, 'consumer a to be mid-stream', 30_000);
      const aOwned = [...a.owned];
      const exited = new Promise((r) => a.proc.once('exit', r));
      a.proc.kill('SIGKILL');
      await exited;
      const killedAfter = processed(a.out).length;
      await publishing;

      await waitFor(
        () => new Set([...processed(a.out), ...processed(b.out)].map((x) => x.i)).size >= total,
        `all ${total} processed`,
        45_000,
      );
      const union = new Set([...processed(a.out), ...processed(b.out)].map((x) => x.i));
      for (let i = 0; i < total; i++) expect(union.has(i)).toBe(true);
      expect(processed(a.out).length).toBe(killedAfter); // a really stopped
      // b processed messages from the partitions a had owned: the takeover happened.
      const bParts = new Set(processed(b.out).map((x) => x.partition));
      for (const p of aOwned) expect(bParts.has(p)).toBe(true);
      expect(b.owned.length).toBe(4);
    } finally {
      for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((r) => {
              if (c.proc.exitCode !== null || c.proc.signalCode !== null) return r();
              const t = setTimeout(() => {
                c.proc.kill('SIGKILL');
                r();
              }, 15_000);
              c.proc.on('exit', () => {
                clearTimeout(t);
                r();
              });
            }),
        ),
      );
      await bus.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
