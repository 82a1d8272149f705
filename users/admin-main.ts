// The way back in when the admin password is lost: gives `admin` a new random password (enabled, role admin, every
// session ended) and prints it once. ADMIN_PASSWORD no longer does this: it applies on the first start only.
// Run it with the platform stopped (users.duckdb is opened by one process at a time).
//
//   npx tsx users/admin-main.ts reset-admin [--data-dir ./data]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, runMain } from '../runtime/config.js';
import { createLogger } from '../runtime/log.js';
import { Users } from './service.js';
import { UserStore } from './store.js';

const USAGE = `usage: admin-main.ts reset-admin [--data-dir <dir>]   (default $DATA_DIR, else ./data; stop the platform first)`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals[0] !== 'reset-admin') {
    if (!values.help) throw new ConfigError(USAGE);
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const dataDir = values['data-dir'] ?? process.env.DATA_DIR ?? './data';
  const store = await UserStore.open(path.join(dataDir, 'users.duckdb')).catch((e: Error) => {
    throw new ConfigError(
      `cannot open ${path.join(dataDir, 'users.duckdb')} (is the platform still running?): ${e.message}`,
    );
  });
  try {
    const password = await new Users({ store, logger: createLogger('users') }).resetAdmin();
    process.stdout.write(
      `管理员 admin 的新密码 ${password} （只显示这一次）| New password of "admin": ${password} (shown only this once)\n`,
    );
  } finally {
    await store.close();
  }
}

runMain('admin', main);
