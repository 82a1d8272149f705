// Who may connect to the embedded broker and what each may publish and subscribe to: the registry of MQTT
// credentials ($DATA_DIR/mqtt-credentials.json, scrypt hashes only) and the aedes hooks that enforce it.
//
// A device publishes only under its own topics: city/v1/{district}/{kind}/{deviceId}/readings and .../status
// (a camera: .../camera/{cameraId}/frames and .../status; it may read its own .../commands). A service account
// (ingest, an edge gateway, the frame relay, the NB-IoT receiver, the notice service) has explicit topic filters.
//
// What clients see (aedes 1.2 with mqtt.js 5, MQTT 3.1.1, measured in embedded-auth.test.ts):
// - wrong or missing credentials: CONNACK "bad user name or password" (4); mqtt.js emits an error with code 4 and
//   does not retry on its own;
// - a publish outside its topics: aedes closes the connection (MQTT 3.1.1 has no negative PUBACK; MQTT-3.3.5-2
//   allows closing); nothing is delivered. mqtt.js keeps the unacknowledged QoS 1 message and sends it again after
//   reconnecting, so a misconfigured device is refused again and again: the warning is logged once a minute per
//   device and topic, with the count of repeats;
// - a subscription outside its topics: SUBACK 0x80 (failure) for that filter, the connection stays; mqtt.js reports
//   "Subscribe error";
// - a client id held by another account: CONNACK "identifier rejected" (2), so no device can take over ingest's
//   session (and its queued messages).
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import { z } from 'zod';
import {
  cameraCommandsTopic,
  IdSchema,
  KINDS,
  SensorKindSchema,
  TOPIC_ROOT,
  type CameraRef,
} from '../contracts/index.js';
import { ConfigError, parseConfig, readJsonFile } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import { isHash, sha256, verifyPassword } from '../users/kdf.js';
import { FailureLimiter, type Attempt, type LimitRule } from '../users/limiter.js';
import { filterCovers, TopicFilterSchema, topicMatches, unshare } from './topics.js';

export const MqttUsernameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.@-]+$/, 'an MQTT username is letters, digits, "_", ".", "@" or "-"');

const HashSchema = z
  .string()
  .refine(
    isHash,
    'not a password hash of this platform ($scrypt$ln=..,r=..,p=..$salt$key); make one with broker/credentials-main.ts',
  );

export const DeviceAccountSchema = z.strictObject({
  type: z.literal('device'),
  username: MqttUsernameSchema,
  deviceId: IdSchema,
  district: IdSchema,
  /** A sensor kind, or "camera". */
  kind: z.union([SensorKindSchema, z.literal('camera')]),
  hash: HashSchema,
  /** Written by the platform at start (simulated devices, its own services) and replaced at every start. */
  managed: z.boolean().optional(),
});

export const ServiceAccountSchema = z.strictObject({
  type: z.literal('service'),
  username: MqttUsernameSchema,
  description: z.string().max(200).optional(),
  /** Topic filters it may publish to (a topic must match one). */
  publish: z.array(TopicFilterSchema).default([]),
  /** Topic filters it may subscribe to (a subscription must be covered by one; "$share/{group}/" is allowed in front). */
  subscribe: z.array(TopicFilterSchema).default([]),
  hash: HashSchema,
  managed: z.boolean().optional(),
});

export const MqttAccountSchema = z.discriminatedUnion('type', [DeviceAccountSchema, ServiceAccountSchema]);

export const MqttCredentialsFileSchema = z
  .strictObject({ version: z.literal(1), accounts: z.array(MqttAccountSchema) })
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.accounts.forEach((a, i) => {
      if (seen.has(a.username))
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', i, 'username'],
          message: `username "${a.username}" is used twice`,
        });
      seen.add(a.username);
    });
  });

export type DeviceAccount = z.output<typeof DeviceAccountSchema>;
export type ServiceAccount = z.output<typeof ServiceAccountSchema>;
export type MqttAccount = z.output<typeof MqttAccountSchema>;
export type MqttCredentialsFile = z.output<typeof MqttCredentialsFileSchema>;

/** The topic filters a device account may publish and subscribe to. */
export function deviceTopics(a: Pick<DeviceAccount, 'district' | 'kind' | 'deviceId'>): {
  publish: string[];
  subscribe: string[];
} {
  const base = `${TOPIC_ROOT}/${a.district}/${a.kind}/${a.deviceId}`;
  return a.kind === 'camera'
    ? { publish: [`${base}/frames`, `${base}/status`], subscribe: [`${base}/commands`] }
    : { publish: [`${base}/readings`, `${base}/status`], subscribe: [] };
}

/** Topic filters of the platform's own services, for service accounts. */
export const SERVICE_TOPICS = {
  /** Ingest reads everything under city/v1 (it ignores what other stages consume). */
  ingest: { publish: [], subscribe: [`${TOPIC_ROOT}/#`] },
  /** The frame relay reads camera frames. */
  frameRelay: { publish: [], subscribe: [`${TOPIC_ROOT}/+/camera/+/frames`] },
  /** The NB-IoT push receiver publishes manhole readings and its dead letters. */
  nbiot: {
    publish: [`${TOPIC_ROOT}/+/manhole/+/readings`, `${TOPIC_ROOT}/_gateway/nbiot/dead-letters`],
    subscribe: [],
  },
  /** The notice service sends loudspeaker commands to any camera's edge agent; it reads nothing. */
  notices: { publish: [`${TOPIC_ROOT}/+/camera/+/commands`], subscribe: [] },
  /**
   * An edge gateway's own connection (HJ 212 monitors behind it): readings and status of any sensor (not camera
   * frames) and its dead letters. Acting for cameras behind it, it may read those cameras' commands topics (and no
   * other camera's).
   */
  gateway: (gatewayId: string, cameras: readonly CameraRef[] = []) => ({
    publish: [
      ...KINDS.flatMap((k) => [`${TOPIC_ROOT}/+/${k}/+/readings`, `${TOPIC_ROOT}/+/${k}/+/status`]),
      `${TOPIC_ROOT}/_gateway/${gatewayId}/dead-letters`,
    ],
    subscribe: cameras.map((c) => cameraCommandsTopic(c)),
  }),
} as const;

interface Compiled {
  account: MqttAccount;
  publish: readonly string[];
  subscribe: readonly string[];
}

/**
 * The MQTT accounts and their topics. Verifying a password runs scrypt at the cost stored with its hash; a
 * (username, hash) pair verified once is remembered for the process lifetime (as the SHA-256 of the password), so a
 * device that reconnects costs a hash lookup, not a KDF run. Failures are never remembered.
 */
export class DeviceRegistry {
  private byName = new Map<string, Compiled>();
  private readonly verified = new Map<string, { hash: string; digest: Buffer }>();
  /** How often scrypt ran and how often the cache answered (for tests and metrics). */
  readonly stats = { kdfRuns: 0, cacheHits: 0 };

  constructor(accounts: readonly MqttAccount[]) {
    this.replace(accounts);
  }

  /**
   * Swaps in a new set of accounts (the file changed). Remembered passwords stay valid only while their account's
   * hash is unchanged; connected clients are judged by the new topics from their next packet on.
   */
  replace(accounts: readonly MqttAccount[]): void {
    const next = new Map<string, Compiled>();
    for (const a of accounts) {
      if (next.has(a.username)) throw new ConfigError(`MQTT username "${a.username}" is used twice`);
      const t = a.type === 'device' ? deviceTopics(a) : { publish: a.publish, subscribe: a.subscribe };
      next.set(a.username, { account: a, publish: t.publish, subscribe: t.subscribe });
    }
    this.byName = next;
  }

  /**
   * Re-reads `file` when it changes (polled every `intervalMs`: the file is replaced by rename, which inode-based
   * watching would miss). A broken file is logged and the accounts in use are kept. Returns the stop function.
   */
  watch(file: string, logger: Logger, intervalMs = 2000): () => void {
    const stamp = (st: fs.Stats | null) => (st ? `${st.ino}:${st.mtimeMs}:${st.size}` : 'missing');
    const reload = (announce: boolean) => {
      try {
        this.replace(readCredentialsFile(file).accounts);
        if (announce) logger.info({ file, accounts: this.size }, 'MQTT credentials reloaded');
      } catch (e) {
        logger.error(
          { file, err: (e as Error).message },
          'MQTT credentials file is invalid; keeping the accounts in use',
        );
      }
    };
    // The file's state first, then the accounts read after it: a change made since the registry was loaded is taken
    // here, and any later one differs from `seen` at a poll. (fs.watchFile took its first look asynchronously, so a
    // change landing before that look became its starting point and was never loaded.)
    let seen = stamp(statOrNull(file));
    reload(false);
    let polling = false;
    const timer = setInterval(async () => {
      if (polling) return;
      polling = true;
      try {
        const now = stamp(await fs.promises.stat(file).catch(() => null));
        if (now !== seen) {
          seen = now;
          reload(true);
        }
      } finally {
        polling = false;
      }
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Reads a credentials file (JSON, hashes only); a missing or invalid file is a ConfigError naming it. */
  static fromFile(file: string): DeviceRegistry {
    return new DeviceRegistry(readCredentialsFile(file).accounts);
  }

  get size(): number {
    return this.byName.size;
  }

  get accounts(): MqttAccount[] {
    return [...this.byName.values()].map((c) => c.account);
  }

  account(username: string): MqttAccount | undefined {
    return this.byName.get(username)?.account;
  }

  /** Was this password verified before for this account (and its hash unchanged)? No KDF run. */
  knownGood(username: string, password: Buffer | string): boolean {
    const c = this.byName.get(username);
    const v = this.verified.get(username);
    return !!c && !!v && v.hash === c.account.hash && crypto.timingSafeEqual(v.digest, sha256(password));
  }

  /** The account when the password is right, else null. */
  async verify(username: string, password: Buffer | string): Promise<MqttAccount | null> {
    const c = this.byName.get(username);
    if (!c) return null;
    if (this.knownGood(username, password)) {
      this.stats.cacheHits++;
      return c.account;
    }
    this.stats.kdfRuns++;
    if (!(await verifyPassword(password, c.account.hash))) return null;
    this.verified.set(username, { hash: c.account.hash, digest: sha256(password) });
    return c.account;
  }

  mayPublish(username: string, topic: string): boolean {
    const c = this.byName.get(username);
    return !!c && !topic.startsWith('$') && c.publish.some((f) => topicMatches(f, topic));
  }

  maySubscribe(username: string, filter: string): boolean {
    const c = this.byName.get(username);
    const f = unshare(filter);
    return !!c && f !== '' && c.subscribe.some((a) => filterCovers(a, f));
  }

  /** May a message on `topic` be delivered to this account (retained messages, queued messages, live ones)? */
  mayReceive(username: string, topic: string): boolean {
    const c = this.byName.get(username);
    return !!c && c.subscribe.some((f) => topicMatches(f, topic));
  }
}

export function readCredentialsFile(file: string): MqttCredentialsFile {
  const raw = readJsonFile(file, 'MQTT credentials file');
  return parseConfig(MqttCredentialsFileSchema, raw, file);
}

/** Logs a repeated warning once per key and interval, with how often it was suppressed in between. */
class WarnThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly log: Logger,
    private readonly everyMs = 60_000,
  ) {}

  warn(key: string, obj: Record<string, unknown>, msg: string): void {
    const t = Date.now();
    const e = this.last.get(key);
    if (e && t - e.at < this.everyMs) {
      e.suppressed++;
      return;
    }
    if (this.last.size > 10_000) this.last.clear();
    this.last.set(key, { at: t, suppressed: 0 });
    this.log.warn(e && e.suppressed > 0 ? { ...obj, repeatedSinceLastWarning: e.suppressed } : obj, msg);
  }
}

export interface BrokerAuthOptions {
  /** Failed and running logins per IP address before only passwords verified earlier are checked. Default 30 a minute. */
  failuresPerIp?: LimitRule;
  /** How often the same refusal is logged at most. Default once a minute. */
  warnEveryMs?: number;
}

function refusal(returnCode: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as unknown as AuthenticateError;
}

function ipOf(client: Client | null): string {
  const a = (client?.conn as { remoteAddress?: string } | undefined)?.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * Installs authentication and authorisation on an aedes instance: `authenticate`, `authorizePublish` (the client's
 * publishes and its last will), `authorizeSubscribe`, and `authorizeForward` (nothing reaches an account that it
 * could not subscribe to, retained or queued messages included).
 */
export function installBrokerAuth(
  aedes: Aedes,
  registry: DeviceRegistry,
  logger: Logger,
  o: BrokerAuthOptions = {},
): void {
  const log = logger.child({ part: 'mqtt-auth' });
  const warn = new WarnThrottle(log, o.warnEveryMs);
  const failures = new FailureLimiter(o.failuresPerIp ?? { max: 30, windowMs: 60_000 });
  const accountOf = new WeakMap<Client, string>();
  // Which account holds a client id: a session (and its queued messages) belongs to the account that made it.
  const owners = new Map<string, { username: string; client: Client }>();

  aedes.authenticate = (client, username, password, done) => {
    const ip = ipOf(client);
    const clientId = client.id;
    if (!username || !password) {
      warn.warn(`nocreds:${ip}`, { clientId, ip }, 'mqtt connection refused: no username or password');
      return done(refusal(4, 'bad user name or password'), null);
    }
    const limited = () => {
      warn.warn(
        `limited:${ip}`,
        { clientId, username, ip },
        'mqtt connection refused: too many failed logins from this address',
      );
      done(refusal(4, 'bad user name or password'), null);
    };
    void (async () => {
      // Checks are counted from their start, so a burst from one address runs scrypt at most `max` times a window.
      // A connection beyond the checks running waits for them instead of being refused: devices behind one NAT that
      // reconnect together after a restart get in as fast as the KDF takes them (mqtt.js does not retry a refused
      // CONNACK). A password verified earlier needs no KDF run and passes however busy the address is.
      let attempt: Attempt | null = null;
      if (!registry.knownGood(username, password)) {
        while (failures.blockedFor(ip) > 0) {
          if (failures.failedFor(ip) > 0 || client.closed) return limited();
          await failures.settled(ip);
        }
        attempt = failures.begin(ip);
      }
      let account: MqttAccount | null;
      try {
        account = await registry.verify(username, password);
      } catch (e) {
        attempt?.fail();
        throw e;
      }
      if (!account) {
        attempt?.fail();
        warn.warn(
          `badpw:${username}:${ip}`,
          { clientId, username, ip },
          'mqtt connection refused: wrong username or password',
        );
        return done(refusal(4, 'bad user name or password'), null);
      }
      attempt?.end();
      const owner = owners.get(clientId);
      if (owner && owner.username !== username) {
        warn.warn(
          `clientid:${clientId}:${username}`,
          { clientId, username, owner: owner.username, ip },
          'mqtt connection refused: client id belongs to another account',
        );
        return done(refusal(2, 'identifier rejected'), null);
      }
      owners.set(clientId, { username, client });
      accountOf.set(client, username);
      log.debug({ clientId, username, ip }, 'mqtt client authenticated');
      done(null, true);
    })().catch((e: Error) => {
      log.error({ clientId, username, err: e.message }, 'mqtt authentication failed');
      done(refusal(5, 'not authorized'), null);
    });
  };

  aedes.authorizePublish = (client, packet, done) => {
    const username = client ? accountOf.get(client) : undefined;
    if (!client || !username) {
      // A will left by a client of an earlier broker instance: nobody vouches for it.
      log.warn({ topic: packet.topic }, 'mqtt publish refused: no authenticated client');
      return done(new Error('not authorised'));
    }
    if (!registry.mayPublish(username, packet.topic)) {
      warn.warn(
        `pub:${username}:${packet.topic}`,
        { clientId: client.id, username, ip: ipOf(client), topic: packet.topic },
        "mqtt publish refused: outside the account's topics; connection closed",
      );
      return done(new Error(`not authorised to publish to ${packet.topic}`));
    }
    done(null);
  };

  aedes.authorizeSubscribe = (client, sub, done) => {
    const username = accountOf.get(client);
    if (!username || !registry.maySubscribe(username, sub.topic)) {
      warn.warn(
        `sub:${username}:${sub.topic}`,
        { clientId: client.id, username, ip: ipOf(client), topic: sub.topic },
        "mqtt subscription refused: outside the account's topics",
      );
      return done(null, null);
    }
    done(null, sub);
  };

  aedes.authorizeForward = (client, packet) => {
    const username = accountOf.get(client);
    return username && registry.mayReceive(username, packet.topic) ? packet : null;
  };

  // A clean session ends with its connection, and so does its claim on the client id.
  aedes.on('clientDisconnect', (client) => {
    const owner = owners.get(client.id);
    if (owner && owner.client === client && client.clean) owners.delete(client.id);
  });
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}
