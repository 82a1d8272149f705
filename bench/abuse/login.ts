// Password guessing against the real platform server (embedded default, SIMULATE=0, the real scrypt cost): 1,000
// wrong-password logins for `admin` sent at once from 127.0.0.1. How many reached the password check (401) and how
// many were refused before it (429); how long the real admin's login from another address (127.0.0.2) takes during
// the burst, against the same login on a quiet server; how busy the KDF got; and how long file reads (what evidence
// reads share libuv's thread pool with) took during the burst. The attacker is a process of its own (this file run
// with --attacker), so that sending the burst does not slow the server's event loop it measures.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { loadAppConfig } from '../../app/config.js';
import { startPlatform } from '../../app/platform.js';
import { silentLogger } from '../../runtime/log.js';
import { kdfLoad } from '../../users/kdf.js';

const BURST = 1000;
const ADMIN_PASSWORD = 'abuse-bench-admin-pw';

interface Answer {
  status: number;
  ms: number;
}

function login(
  port: number,
  agent: http.Agent,
  username: string,
  password: string,
  localAddress = '127.0.0.1',
): Promise<Answer> {
  const body = JSON.stringify({ username, password });
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/session',
        method: 'POST',
        agent,
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on('error', () => resolve({ status: -1, ms: performance.now() - t0 }));
    req.end(body);
  });
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

export async function run(): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-abuse-login-'));
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: 'off',
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    SIMULATE: '0',
    ADMIN_PASSWORD,
  });
  const p = await startPlatform(cfg, silentLogger);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    const port = Number(new URL(p.apiUrl).port);
    // A file as large as an evidence image, read through libuv's pool like evidence is.
    const file = path.join(dir, 'evidence-like.jpg');
    fs.writeFileSync(file, Buffer.alloc(200_000, 7));
    const readMs = async () => {
      const t0 = performance.now();
      await fs.promises.readFile(file);
      return performance.now() - t0;
    };

    // Quiet: the admin's login from another address, and file reads, with nothing else going on.
    const quiet: number[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await login(port, agent, 'admin', ADMIN_PASSWORD, '127.0.0.2');
      if (a.status !== 200) throw new Error(`the admin's quiet login answered ${a.status}`);
      quiet.push(a.ms);
    }
    const quietReads: number[] = [];
    for (let i = 0; i < 20; i++) quietReads.push(await readMs());

    // The burst, and during it the admin's login from 127.0.0.3 (an address it has not signed in from) and file reads.
    let peakRunning = 0;
    let peakWaiting = 0;
    const sample = setInterval(() => {
      const k = kdfLoad();
      peakRunning = Math.max(peakRunning, k.running);
      peakWaiting = Math.max(peakWaiting, k.waiting);
    }, 2);
    const attacker = spawn(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--attacker', String(port), String(BURST)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = readline.createInterface({ input: attacker.stdout! })[Symbol.asyncIterator]();
    if ((await lines.next()).value !== 'sent') throw new Error('the attacker process did not start its burst');
    const reads = (async () => {
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push(await readMs());
      return out;
    })();
    const admin = await login(port, agent, 'admin', ADMIN_PASSWORD, '127.0.0.3');
    const result = JSON.parse(String((await lines.next()).value)) as { answers: Answer[]; ms: number };
    const answers = result.answers;
    const burstMs = result.ms;
    const burstReads = await reads;
    clearInterval(sample);

    const count = (s: number) => answers.filter((a) => a.status === s).length;
    const other = answers.filter((a) => a.status !== 401 && a.status !== 429);
    return [
      `${BURST} wrong-password logins for admin sent at once from 127.0.0.1 by another process (scrypt N=2^15, r=8, p=1; KDF threads ${kdfLoad().threads} of libuv's ${process.env.UV_THREADPOOL_SIZE ?? 4}):`,
      `  reached the password check (401): ${count(401)}; refused before it (429): ${count(429)}${other.length ? `; other: ${other.map((a) => a.status).join(',')}` : ''}`,
      `  all answered in ${ms(burstMs)}; answer time p50 ${ms(
        q(
          answers.map((a) => a.ms),
          0.5,
        ),
      )}, p99 ${ms(
        q(
          answers.map((a) => a.ms),
          0.99,
        ),
      )}`,
      `  KDF at most ${peakRunning} running and ${peakWaiting} waiting at once`,
      `the real admin's login from another address: ${admin.status} in ${ms(admin.ms)} during the burst; quiet server ${ms(q(quiet, 0.5))} (median of ${quiet.length})`,
      `a 200 kB file read (libuv's pool, as evidence): p50 ${q(burstReads, 0.5).toFixed(1)} ms, max ${Math.max(...burstReads).toFixed(1)} ms during the burst; quiet p50 ${q(quietReads, 0.5).toFixed(1)} ms`,
    ];
  } finally {
    agent.destroy();
    await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The attacker: sends the burst, says "sent" once every request is on its way, then prints the answers as JSON.
async function attack(port: number, n: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const t0 = performance.now();
  const burst = Array.from({ length: n }, (_, i) => login(port, agent, 'admin', `wrong-guess-${i}`));
  process.stdout.write('sent\n');
  const answers = await Promise.all(burst);
  process.stdout.write(`${JSON.stringify({ answers, ms: performance.now() - t0 })}\n`);
  agent.destroy();
}

if (process.argv[2] === '--attacker' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await attack(Number(process.argv[3]), Number(process.argv[4]));
}
