// Simulated HJ 212 monitors for a person trying the edge agent:
//   npx tsx simulators/hj212/main.ts --host 127.0.0.1 --port 9212 --monitors 5 --interval-ms 10000
// Prints the device entries to paste into the agent's HJ 212 config, then a line of counts every 10 s.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, parseConfig, runMain, untilSignal } from '../../runtime/config.js';
import { Hj212Fleet } from './monitor.js';

const ArgsSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(1).max(65_535).default(9212),
  monitors: z.coerce.number().int().min(1).max(10_000).default(5),
  'interval-ms': z.coerce.number().int().min(1000).default(10_000),
  seed: z.coerce.number().int().default(1),
  flag: z.enum(['4', '5']).default('5'),
  district: z.string().min(1).default('unmapped'),
});

const USAGE =
  'usage: simulators/hj212/main.ts [--host H] [--port P] [--monitors N] [--interval-ms MS] [--seed S] [--flag 4|5] [--district D]';

runMain('hj212-sim', async () => {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        monitors: { type: 'string' },
        'interval-ms': { type: 'string' },
        seed: { type: 'string' },
        flag: { type: 'string' },
        district: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n${USAGE}`);
  }
  const a = parseConfig(ArgsSchema, values, 'the command line');
  const fleet = new Hj212Fleet({
    host: a.host,
    port: a.port,
    monitors: a.monitors,
    intervalMs: a['interval-ms'],
    seed: a.seed,
    flag: a.flag === '5' ? 5 : 4,
  });
  process.stdout.write(
    `${a.monitors} HJ 212 monitors → ${a.host}:${a.port}, one real-time frame each every ${a['interval-ms']} ms.\n` +
      `Device entries for the agent's HJ 212 config (or run it with HJ212_ACCEPT_UNKNOWN=1):\n` +
      `${JSON.stringify(fleet.deviceConfigs(a.district), null, 0).replace(/},{/g, '},\n {')}\n`,
  );
  fleet.start();
  const timer = setInterval(() => {
    const t = fleet.totals();
    process.stdout.write(
      `delivered ${t.frames} frames (${t.values} values), written ${t.writes}, resent ${t.resent}, refused ${t.refused}, connections ${t.connects}\n`,
    );
  }, 10_000);
  await untilSignal();
  clearInterval(timer);
  await fleet.stop();
  const t = fleet.totals();
  process.stdout.write(`stopped: delivered ${t.frames} frames (${t.values} values)\n`);
});
