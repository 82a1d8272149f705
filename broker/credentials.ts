// The MQTT credentials file ($DATA_DIR/mqtt-credentials.json): hashes only, written atomically, readable by its owner
// only. At every start the platform gives its simulated devices and its own services (ingest, the embedded gateway,
// ...) fresh random passwords, kept in memory and handed to those clients; their entries are "managed" and replaced
// each time. Entries an operator added (real devices, with broker/credentials-main.ts) are kept as they are.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../runtime/config.js';
import { hashPassword, MACHINE_SECRET_KDF, randomSecret, type ScryptParams } from '../users/kdf.js';
import {
  DeviceRegistry,
  MqttCredentialsFileSchema,
  readCredentialsFile,
  type DeviceAccount,
  type MqttAccount,
  type MqttCredentialsFile,
  type ServiceAccount,
} from './auth.js';

export interface ManagedDevice {
  deviceId: string;
  district: string;
  kind: DeviceAccount['kind'];
  /** Default: the device id. */
  username?: string;
}

export interface ManagedService {
  username: string;
  publish: readonly string[];
  subscribe: readonly string[];
  description?: string;
}

export interface Provisioned {
  registry: DeviceRegistry;
  /** The plain passwords of the managed accounts, by username: give them to the clients, never write them down. */
  passwords: Map<string, string>;
}

export function emptyCredentials(): MqttCredentialsFile {
  return { version: 1, accounts: [] };
}

/** The file's accounts, or none when it does not exist yet. */
export function loadOrEmpty(file: string): MqttCredentialsFile {
  return fs.existsSync(file) ? readCredentialsFile(file) : emptyCredentials();
}

/** Writes the file atomically (temporary file, then rename) with mode 0600. */
export function writeCredentialsFile(file: string, creds: MqttCredentialsFile): void {
  const checked = MqttCredentialsFileSchema.parse(creds);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * Gives the platform's own MQTT clients fresh credentials: replaces every managed entry of the file with the ones
 * asked for now (random 256-bit passwords, hashed with the cheap machine-secret scrypt cost), keeps the operator's
 * entries, writes the file and returns the registry for the broker and the plain passwords for the clients.
 */
export async function provisionMqttCredentials(
  file: string,
  want: { devices?: readonly ManagedDevice[]; services?: readonly ManagedService[] },
  o: { kdf?: ScryptParams } = {},
): Promise<Provisioned> {
  const current = loadOrEmpty(file);
  const kept = current.accounts.filter((a) => !a.managed);
  const keptNames = new Set(kept.map((a) => a.username));
  const passwords = new Map<string, string>();
  const requests: { username: string; make: (hash: string) => MqttAccount }[] = [
    ...(want.devices ?? []).map((d) => {
      const username = d.username ?? d.deviceId;
      return {
        username,
        make: (hash: string): DeviceAccount => ({
          type: 'device',
          username,
          deviceId: d.deviceId,
          district: d.district,
          kind: d.kind,
          hash,
          managed: true,
        }),
      };
    }),
    ...(want.services ?? []).map((s) => ({
      username: s.username,
      make: (hash: string): ServiceAccount => ({
        type: 'service',
        username: s.username,
        ...(s.description ? { description: s.description } : {}),
        publish: [...s.publish],
        subscribe: [...s.subscribe],
        hash,
        managed: true,
      }),
    })),
  ];
  for (const r of requests) {
    if (keptNames.has(r.username)) {
      throw new ConfigError(
        `${file}: the platform needs the MQTT username "${r.username}" for itself, but the file has an entry of that name: remove or rename it`,
      );
    }
    if (passwords.has(r.username)) throw new ConfigError(`MQTT username "${r.username}" is asked for twice`);
    passwords.set(r.username, randomSecret(32));
  }
  // scrypt runs on libuv's thread pool: hashing in parallel uses every core.
  const made = await Promise.all(
    requests.map(async (r) => r.make(await hashPassword(passwords.get(r.username)!, o.kdf ?? MACHINE_SECRET_KDF))),
  );
  const next: MqttCredentialsFile = { version: 1, accounts: [...kept, ...made] };
  writeCredentialsFile(file, next);
  return { registry: new DeviceRegistry(next.accounts), passwords };
}
