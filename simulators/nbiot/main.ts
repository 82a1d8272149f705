// The simulated carrier platform from the command line:
//   npx tsx simulators/nbiot/main.ts --covers 50 --token change-me-to-a-long-random-token --token-query token
// Pushes the fleet to the receiver (--url) and prints what it delivered. --receiver-config FILE writes a receiver
// config for the fleet (devices, auth, broker from MQTT_URL) and exits.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig, runMain, untilSignal } from '../../runtime/config.js';
import { createLogger } from '../../runtime/log.js';
import { CarrierPlatform, PlatformOptionsSchema, coverFleet, receiverDevices } from './platform.js';

runMain('nbiot-platform', async () => {
  const { values: v } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8081/api/ingest/nbiot' },
      covers: { type: 'string' },
      districts: { type: 'string' },
      seed: { type: 'string' },
      'heartbeat-s': { type: 'string' },
      rounds: { type: 'string' },
      'round-every-ms': { type: 'string' },
      'alarm-p': { type: 'string' },
      'duplicate-p': { type: 'string' },
      concurrency: { type: 'string' },
      token: { type: 'string' },
      'token-header': { type: 'string' },
      'token-query': { type: 'string' },
      'hmac-secret': { type: 'string' },
      'hmac-header': { type: 'string' },
      'receiver-config': { type: 'string' },
    },
  });
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  let auth: unknown;
  if (v['hmac-secret']) auth = { mode: 'hmac', secret: v['hmac-secret'], header: v['hmac-header'] };
  else if (v.token) auth = { mode: 'token', token: v.token, header: v['token-header'], query: v['token-query'] };
  else
    throw new ConfigError(
      'give --token (with --token-header or --token-query) or --hmac-secret, as the receiver expects',
    );
  const opts = parseConfig(
    PlatformOptionsSchema,
    {
      url: v.url,
      covers: num(v.covers),
      districts: v.districts?.split(',').map((d) => d.trim()),
      seed: num(v.seed),
      heartbeatS: num(v['heartbeat-s']),
      rounds: num(v.rounds),
      roundEveryMs: num(v['round-every-ms']),
      alarmProbability: num(v['alarm-p']),
      duplicateProbability: num(v['duplicate-p']),
      concurrency: num(v.concurrency),
      auth: JSON.parse(JSON.stringify(auth)), // drops the options not given
    },
    'the command line',
  );

  if (v['receiver-config']) {
    const cfg = {
      format: 'ctwing',
      auth: opts.auth,
      devices: receiverDevices(coverFleet(opts)),
      idempotency: { dir: './data/nbiot' },
      mqtt: { url: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883' },
      http: { port: Number(new URL(opts.url).port || 80) },
    };
    fs.writeFileSync(v['receiver-config'], JSON.stringify(cfg, null, 2) + '\n');
    process.stdout.write(`wrote ${v['receiver-config']} (${cfg.devices.length} covers)\n`);
    return;
  }

  const log = createLogger('nbiot-platform');
  const platform = new CarrierPlatform(opts);
  void untilSignal().then(() => platform.stop());
  log.info({ url: opts.url, covers: opts.covers, rounds: opts.rounds }, 'pushing');
  const stats = await platform.run((round) => log.info({ round }, 'round'));
  const { messageIds: _ids, perDevice, ...totals } = stats;
  const alarms = Object.values(perDevice).reduce((s, d) => s + d.alarms, 0);
  const points = Object.values(perDevice).reduce((s, d) => s + d.points, 0);
  process.stdout.write(JSON.stringify({ ...totals, alarms, points }, null, 2) + '\n');
  if (stats.failed > 0) process.exitCode = 1;
});
