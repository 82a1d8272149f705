// Edge agent process: `npm run edge -- --config edge/edge.sample.json` (or EDGE_CONFIG=...).
import { parseArgs } from 'node:util';
import { ConfigError, runMain, untilSignal } from '../runtime/config.js';
import { createLogger } from '../runtime/log.js';
import { EdgeAgent } from './agent.js';
import { loadEdgeConfig } from './config.js';
import { simulatedCameraSource } from './drivers/camera/simulated.js';

runMain('edge', async () => {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, 'exit-when-done': { type: 'boolean', default: false } },
  });
  const file = values.config ?? process.env.EDGE_CONFIG;
  if (!file) throw new ConfigError('no config file: pass --config FILE or set EDGE_CONFIG (see edge/edge.sample.json)');
  const cfg = loadEdgeConfig(file);
  const log = createLogger('edge');
  const agent = new EdgeAgent(cfg, log, { simulatedCamera: simulatedCameraSource });
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await agent.start(done).catch(async (e: NodeJS.ErrnoException) => {
    await agent.stop(0);
    throw e.code === 'EADDRINUSE'
      ? new ConfigError(`port ${cfg.hj212?.port} is in use: stop the other server or change hj212.port`)
      : e;
  });
  const why = await Promise.race([
    untilSignal(),
    values['exit-when-done']
      ? finished.then(() => agent.drained()).then(() => 'done' as const)
      : new Promise<never>(() => {}),
  ]);
  log.info({ why }, 'stopping');
  await agent.stop();
});
