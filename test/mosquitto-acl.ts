// A Mosquitto configured as production ships it (deploy/mosquitto: mosquitto.conf, acl, passwords hashed by
// make-passwords.sh), on a free loopback port, one per test file: app-level MQTT tests run with each process's own
// account and the shipped ACL, so a process that publishes or reads where its account may not is caught here, not
// in a city's deployment. The anonymous test broker of scripts/services stays for tests of MQTT itself.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import { exited, freePort, ROOT, sleep, tmpDir } from './helpers.js';

const DEPLOY = path.join(ROOT, 'deploy/mosquitto');

export interface AclBroker {
  /** mqtt://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The password of an account (a shipped service account from passwords.example, or one added by the test). */
  password(user: string): string;
  /** Username and password of an account, for mqtt.js options. */
  login(user: string): { username: string; password: string };
  /**
   * Adds accounts (a device's or camera's username is its id) and, optionally, ACL lines appended to the shipped
   * file, as an operator adds a gateway's block; the broker reloads both (SIGHUP) before this resolves.
   */
  add(users: string[], aclLines?: string[]): Promise<void>;
  /** Stops the broker (SIGTERM writes its persistence file; SIGKILL does not), keeping its state. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and state. */
  start(): Promise<void>;
  /** Stops it and deletes its state. */
  close(): Promise<void>;
}

function answering(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The shipped mosquitto.conf with its listener on 127.0.0.1:<port> and its paths in `dir`, as check.sh adjusts it. */
export function aclBrokerConfig(port: number, dir: string): string {
  const shipped = fs.readFileSync(path.join(DEPLOY, 'mosquitto.conf'), 'utf8');
  if (!/^listener 1883$/m.test(shipped))
    throw new Error("deploy/mosquitto/mosquitto.conf: expected a 'listener 1883' line");
  // Other listeners (TLS on 8883) and their certificate settings are left out: this broker proves accounts and
  // ACL, on one plain loopback listener.
  const tlsOption =
    /^\s*(listener\s+(?!1883$)\S+.*|cafile|capath|certfile|keyfile|crlfile|dhparamfile|require_certificate|use_identity_as_username|use_subject_as_username|tls_version|ciphers|ciphers_tls1\.3|tls_engine|tls_keyform)(\s|$)/;
  const conf = shipped
    .split('\n')
    .filter((l) => !tlsOption.test(l))
    .join('\n')
    .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
    .replaceAll('/mosquitto/auth/', `${dir}/`)
    .replaceAll('/mosquitto/data/', `${dir}/data/`);
  const unmapped = conf.split('\n').filter((l) => !l.trim().startsWith('#') && l.includes('/mosquitto/'));
  if (unmapped.length)
    throw new Error(`deploy/mosquitto/mosquitto.conf has paths the test broker does not map: ${unmapped.join('; ')}`);
  return conf;
}

/** Starts a broker with the shipped configuration, the shipped accounts (passwords.example) and `users`. */
export async function startAclBroker(users: string[] = [], aclLines: string[] = []): Promise<AclBroker> {
  const dir = tmpDir('mosquitto-acl');
  fs.mkdirSync(path.join(dir, 'data'));
  const port = await freePort();
  const passwords = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(DEPLOY, 'passwords.example'), 'utf8').split('\n')) {
    const m = /^([^#:\s][^:]*):(.+)$/.exec(line.trim());
    if (m) passwords.set(m[1]!, m[2]!);
  }
  const extraAcl: string[] = [...aclLines];
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, aclBrokerConfig(port, dir));

  // Mosquitto started as root drops to the user `mosquitto` before it reads its files (as in the container).
  const own = () => {
    if (process.getuid?.() !== 0) return;
    execFileSync('chown', ['-R', hasUser('mosquitto') ? 'mosquitto:' : 'nobody:', dir]);
  };
  const writeAuth = (fresh: string[]) => {
    for (const u of fresh) if (!passwords.has(u)) passwords.set(u, crypto.randomBytes(12).toString('base64url'));
    const plain = path.join(dir, 'passwords.txt');
    fs.writeFileSync(plain, [...passwords].map(([u, p]) => `${u}:${p}`).join('\n') + '\n', { mode: 0o600 });
    // The shipped hashing script, as an operator runs it.
    execFileSync(path.join(DEPLOY, 'make-passwords.sh'), [plain, path.join(dir, 'passwords')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    fs.rmSync(plain);
    const acl = fs.readFileSync(path.join(DEPLOY, 'acl'), 'utf8');
    fs.writeFileSync(
      path.join(dir, 'acl'),
      extraAcl.length ? `${acl}\n# --- added by the test, as an operator adds a block\n${extraAcl.join('\n')}\n` : acl,
      { mode: 0o600 },
    );
    own();
  };
  writeAuth(users);

  let child: ChildProcess | null = null;
  const start = async () => {
    if (child) return;
    const out = fs.openSync(path.join(dir, 'mosquitto.log'), 'a');
    const c = spawn(fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto', ['-c', conf], {
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    child = c;
    for (let i = 0; i < 100; i++) {
      if (await answering(port)) return;
      if (c.exitCode !== null) break;
      await sleep(100);
    }
    c.kill('SIGKILL');
    child = null;
    throw new Error(
      `the ACL test broker did not start:\n${fs.readFileSync(path.join(dir, 'mosquitto.log'), 'utf8').slice(-2000)}`,
    );
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const c = child;
    if (!c) return;
    child = null;
    c.kill(signal);
    await exited(c);
  };
  await start();

  const broker: AclBroker = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    password(user) {
      const p = passwords.get(user);
      if (!p) throw new Error(`no account ${user} on the ACL test broker`);
      return p;
    },
    login(user) {
      return { username: user, password: broker.password(user) };
    },
    async add(fresh, lines = []) {
      extraAcl.push(...lines);
      writeAuth(fresh);
      child?.kill('SIGHUP');
      // The reload is asynchronous: wait until the last new account can log in.
      const last = fresh.at(-1);
      if (last && child) {
        for (let i = 0; ; i++) {
          if (await canLogIn(broker.url, last, broker.password(last))) break;
          if (i >= 50) throw new Error(`the ACL test broker did not take the new account ${last}`);
          await sleep(100);
        }
      }
    },
    stop,
    start,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return broker;
}

function hasUser(name: string): boolean {
  try {
    execFileSync('id', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function canLogIn(url: string, username: string, password: string): Promise<boolean> {
  const c = mqtt.connect(url, {
    username,
    password,
    clientId: `acl-probe-${crypto.randomBytes(4).toString('hex')}`,
    reconnectPeriod: 0,
    connectTimeout: 2000,
  });
  const ok = await new Promise<boolean>((resolve) => {
    c.once('connect', () => resolve(true));
    c.once('error', () => resolve(false));
    c.once('close', () => resolve(false));
  });
  await c.endAsync(true);
  return ok;
}
