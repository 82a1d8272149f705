// npm run backup -- --to DIR
// npm run restore -- --from DIR [--snapshot NAME] [--influx-full]
// Reads the platform's environment to know what to copy: DATA_DIR and EVIDENCE_DIR (with app/config.ts's defaults;
// the rest of the platform's settings is not checked, so it runs beside any role), INFLUX_* and KAFKA_*
// (external.ts).
// Progress and a summary go to the log; a mistake (a damaged backup, a running platform, a missing tool) is a message
// and exit 2.
import { parseArgs } from 'node:util';
import { loadAppConfig } from '../../app/config.js';
import { ConfigError, runMain } from '../../runtime/config.js';
import { createLogger } from '../../runtime/log.js';
import { backup } from './backup.js';
import { externalStoresFromEnv } from './external.js';
import { restore } from './restore.js';

const [command, ...rest] = process.argv.slice(2);

runMain(`${command ?? 'backup'}`, async () => {
  const cfg = loadAppConfig({ DATA_DIR: process.env.DATA_DIR, EVIDENCE_DIR: process.env.EVIDENCE_DIR });
  const log = createLogger('operations');
  if (command === 'backup') {
    const { values } = parseArgs({ args: rest, options: { to: { type: 'string' } }, strict: true });
    if (!values.to) throw new ConfigError('usage: npm run backup -- --to DIR');
    await backup({
      dataDir: cfg.dataDir,
      evidenceDir: cfg.EVIDENCE_DIR,
      to: values.to,
      logger: log,
      external: externalStoresFromEnv(process.env),
    });
  } else if (command === 'restore') {
    const { values } = parseArgs({
      args: rest,
      options: { from: { type: 'string' }, snapshot: { type: 'string' }, 'influx-full': { type: 'boolean' } },
      strict: true,
    });
    if (!values.from) throw new ConfigError('usage: npm run restore -- --from DIR [--snapshot NAME] [--influx-full]');
    await restore({
      from: values.from,
      snapshot: values.snapshot,
      dataDir: cfg.dataDir,
      evidenceDir: cfg.EVIDENCE_DIR,
      logger: log,
      external: externalStoresFromEnv(process.env, { influxFull: values['influx-full'] }),
    });
  } else {
    throw new ConfigError('usage: operations/backup/main.ts backup --to DIR | restore --from DIR [--snapshot NAME]');
  }
});
