// Adds, changes, removes and lists the MQTT accounts of the embedded broker ($DATA_DIR/mqtt-credentials.json).
// A generated password is printed once and never stored; a running embedded broker re-reads the file within seconds.
//
//   npx tsx broker/credentials-main.ts add-device nz-xinhua-101 --district xinhua --kind noise
//   npx tsx broker/credentials-main.ts add-service my-dashboard --subscribe 'city/v1/+/noise/+/readings'
//   npx tsx broker/credentials-main.ts passwd nz-xinhua-101 [--password '...']
//   npx tsx broker/credentials-main.ts remove nz-xinhua-101
//   npx tsx broker/credentials-main.ts list
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { IdSchema, SensorKindSchema } from '../contracts/index.js';
import { ConfigError, parseConfig, runMain } from '../runtime/config.js';
import { hashPassword, MACHINE_SECRET_KDF, PASSWORD_KDF, randomSecret } from '../users/kdf.js';
import { deviceTopics, MqttUsernameSchema, type MqttAccount } from './auth.js';
import { loadOrEmpty, writeCredentialsFile } from './credentials.js';
import { TopicFilterSchema } from './topics.js';

const USAGE = `usage: credentials-main.ts <command> [options]
  add-device <deviceId> --district <d> --kind <noise|dust|fume|drainage|manhole|camera> [--username <u>] [--password <p>]
  add-service <username> [--publish <filter,...>] [--subscribe <filter,...>] [--description <text>] [--password <p>]
  passwd <username> [--password <p>]
  remove <username>
  list
options: --file <path> (default $DATA_DIR/mqtt-credentials.json, DATA_DIR default ./data)
Without --password a random password is generated and printed once. A running embedded broker re-reads the file.`;

async function secret(given: string | undefined): Promise<{ plain: string | null; hash: string }> {
  // A password somebody chose may be guessable: it gets the full scrypt cost; a generated one the cheap one.
  if (given !== undefined) return { plain: null, hash: await hashPassword(given, PASSWORD_KDF) };
  const plain = randomSecret(32);
  return { plain, hash: await hashPassword(plain, MACHINE_SECRET_KDF) };
}

const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      district: { type: 'string' },
      kind: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      publish: { type: 'string' },
      subscribe: { type: 'string' },
      description: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, name] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const file = values.file ?? path.join(process.env.DATA_DIR ?? './data', 'mqtt-credentials.json');
  const creds = loadOrEmpty(file);
  const find = (u: string) => creds.accounts.findIndex((a) => a.username === u);
  const need = (what: string, v: string | undefined): string => {
    if (!v) throw new ConfigError(`${command} needs ${what}\n${USAGE}`);
    return v;
  };

  if (command === 'list') {
    for (const a of creds.accounts) {
      const t = a.type === 'device' ? deviceTopics(a) : a;
      process.stdout.write(
        `${a.username}\t${a.type}${a.managed ? ' (managed by the platform)' : ''}\tpublish: ${t.publish.join(' ') || '-'}\tsubscribe: ${t.subscribe.join(' ') || '-'}\n`,
      );
    }
    return;
  }

  let plain: string | null = null;
  let username: string;
  if (command === 'add-device') {
    const a = parseConfig(
      z.strictObject({
        deviceId: IdSchema,
        district: IdSchema,
        kind: z.union([SensorKindSchema, z.literal('camera')]),
        username: MqttUsernameSchema,
      }),
      {
        deviceId: need('a device id', name),
        district: need('--district', values.district),
        kind: need('--kind', values.kind),
        username: values.username ?? name,
      },
      'the command line',
    );
    username = a.username;
    if (find(username) >= 0) throw new ConfigError(`${file} already has "${username}": use passwd, or remove it first`);
    const s = await secret(values.password);
    plain = s.plain;
    creds.accounts.push({ type: 'device', ...a, hash: s.hash });
  } else if (command === 'add-service') {
    const a = parseConfig(
      z.strictObject({
        username: MqttUsernameSchema,
        publish: z.array(TopicFilterSchema),
        subscribe: z.array(TopicFilterSchema),
        description: z.string().max(200).optional(),
      }),
      {
        username: need('a username', name),
        publish: list(values.publish),
        subscribe: list(values.subscribe),
        description: values.description,
      },
      'the command line',
    );
    username = a.username;
    if (find(username) >= 0) throw new ConfigError(`${file} already has "${username}": use passwd, or remove it first`);
    const s = await secret(values.password);
    plain = s.plain;
    const acct: MqttAccount = { type: 'service', username, publish: a.publish, subscribe: a.subscribe, hash: s.hash };
    if (a.description) acct.description = a.description;
    creds.accounts.push(acct);
  } else if (command === 'passwd') {
    username = need('a username', name);
    const i = find(username);
    if (i < 0) throw new ConfigError(`${file} has no account "${username}"`);
    if (creds.accounts[i]!.managed)
      throw new ConfigError(`"${username}" is managed by the platform: it gets a new password at every start`);
    const s = await secret(values.password);
    plain = s.plain;
    creds.accounts[i] = { ...creds.accounts[i]!, hash: s.hash };
  } else if (command === 'remove') {
    username = need('a username', name);
    const i = find(username);
    if (i < 0) throw new ConfigError(`${file} has no account "${username}"`);
    creds.accounts.splice(i, 1);
  } else {
    throw new ConfigError(`unknown command "${command}"\n${USAGE}`);
  }
  writeCredentialsFile(file, creds);
  process.stdout.write(
    `${command} ${username}: written to ${file} (a running embedded broker applies it within seconds)\n`,
  );
  if (plain) process.stdout.write(`password (shown only this once / 仅显示这一次): ${plain}\n`);
}

runMain('mqtt-credentials', main);
