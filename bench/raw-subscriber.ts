// The broker's own ceiling: a QoS 1 subscriber that only counts. Reports through IPC.
import mqtt from 'mqtt';

const { url, district, expect } = JSON.parse(process.argv[2]!) as { url: string; district: string; expect: number };
const client = await mqtt.connectAsync(url, { clientId: `bench-raw-${process.pid}`, clean: true });
let n = 0;
let first = 0;
client.on('message', () => {
  if (n === 0) first = performance.now();
  n++;
  if (n === expect) {
    const seconds = (performance.now() - first) / 1000;
    process.send!({ type: 'done', messages: n, seconds });
    void client.endAsync().then(() => process.exit(0));
  }
});
await client.subscribeAsync(`city/v1/${district}/#`, { qos: 1 });
process.send!({ type: 'ready' });
