// A consumer process for bus/kafka.test.ts: joins GROUP on the readings topic and appends every message it
// processed ("<value>\t<partition>\t<offset>") to OUT before the handler resolves. Logs (JSON) go to stdout, where
// the test reads the partitions it was assigned. SIGTERM closes it cleanly; the test also kill -9s it.
import fs from 'node:fs';
import { pino } from 'pino';
import { KafkaBus } from '../kafka.js';

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const logger = pino({ level: 'info' });
const bus = await KafkaBus.start({
  brokers: env('KAFKA_BROKERS'),
  topicPrefix: env('PREFIX'),
  partitions: 4,
  sessionTimeoutMs: 6000,
  clientId: `fixture-${process.pid}`,
  logger,
});
const fd = fs.openSync(env('OUT'), 'a');
const perBatchMs = Number(process.env.BATCH_MS ?? '10');
const sub = await bus.subscribe(
  'readings',
  env('GROUP'),
  async (batch) => {
    await new Promise((r) => setTimeout(r, perBatchMs)); // some work, so a kill lands mid-stream
    fs.writeSync(fd, batch.map((m) => `${m.value.toString('utf8')}\t${m.partition}\t${m.offset}\n`).join(''));
  },
  { maxBatch: 20 },
);
process.on('SIGTERM', () => {
  void sub
    .close()
    .then(() => bus.close())
    .then(() => process.exit(0));
});
