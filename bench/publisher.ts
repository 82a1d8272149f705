// Benchmark publisher, its own process: publishes noise readings with QoS 1 as fast as the broker acknowledges
// (a window of messages in flight) or at a fixed rate. Reports through IPC.
import mqtt from 'mqtt';

interface Job {
  url: string;
  district: string;
  devices: number;
  messages: number;
  perMessage: number;
  inflight: number;
  /** Readings per second; 0 = as fast as possible. */
  rate: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
const client = await mqtt.connectAsync(job.url, { clientId: `bench-pub-${process.pid}`, clean: true });
const topics = Array.from({ length: job.devices }, (_, i) => `city/v1/${job.district}/noise/b${i}/readings`);
let sent = 0;
let acked = 0;
let inflight = 0;
const t0 = performance.now();
// Timestamps must be unique per device (the store is idempotent on device, metric, ts): each message gets its
// own millisecond slot per device, starting now, so ts is also the publish time for latency.
const base = Date.now();
let seqTs = base;

function payload(): string {
  const now = Date.now();
  if (seqTs < now) seqTs = now;
  if (job.perMessage === 1) {
    const ts = seqTs;
    if ((sent + 1) % job.devices === 0) seqTs++;
    return `{"ts":${ts},"metrics":{"laeq_db":${(50 + (sent % 17)).toFixed(1)},"lmax_db":71.5}}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < job.perMessage; i++)
    parts.push(`{"ts":${seqTs + i},"metrics":{"laeq_db":${50 + (i % 17)},"lmax_db":71.5}}`);
  if ((sent + 1) % job.devices === 0) seqTs += job.perMessage;
  return `{"batch":[${parts.join(',')}]}`;
}

await new Promise<void>((resolve) => {
  const pump = () => {
    while (inflight < job.inflight && sent < job.messages) {
      if (job.rate > 0) {
        const due = ((performance.now() - t0) / 1000) * job.rate;
        if (sent * job.perMessage >= due) {
          setTimeout(pump, 1);
          return;
        }
      }
      const topic = topics[sent % job.devices]!;
      const p = payload();
      sent++;
      inflight++;
      client.publish(topic, p, { qos: 1 }, () => {
        inflight--;
        acked++;
        if (acked === job.messages) resolve();
        else pump();
      });
    }
  };
  pump();
});
const seconds = (performance.now() - t0) / 1000;
await client.endAsync();
process.send!({ type: 'done', messages: acked, seconds });
