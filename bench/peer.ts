// bench:peer — production ingest (ROLE=ingest, compiled, InfluxDB store) next to Telegraf (mqtt_consumer ->
// influxdb_v2), the tool a city would run instead, on one Mosquitto and one InfluxDB 2: readings/s and peak RSS.
//
//   npm run bench:peer [-- --readings 1000000 --batch 100 --modes influx,kafka,single]
//
// Modes:
//   influx  ../shared/peer-bench/run.sh in both orders (project first, then Telegraf first): the comparison.
//   single  the same with one reading a message (raw broker, project, Telegraf).
//   kafka   the project as production runs it, with KAFKA_BROKERS set (readings go to the store and to Kafka before
//           the broker hears an acknowledgement), measured the same way (peer-bench's publisher and stopwatch), beside
//           the Telegraf figure of the influx mode.
// The peer-bench folder (PEER_BENCH_DIR, default ../shared/peer-bench) holds the publisher, the Mosquitto and Telegraf
// configurations and Telegraf's build script; Telegraf is built once into ~/.cache/peer-bench.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '100' },
    modes: { type: 'string', default: 'influx,kafka' },
  },
});
const N = Number(args.readings);
const BATCH = Number(args.batch);
const modes = new Set(args.modes!.split(','));
const peer = path.resolve(root, process.env.PEER_BENCH_DIR ?? '../shared/peer-bench');
const cache = process.env.PEER_BENCH_CACHE ?? path.join(os.homedir(), '.cache/peer-bench');
const telegraf = process.env.TELEGRAF ?? path.join(cache, 'telegraf');
if (!existsSync(path.join(peer, 'run.sh'))) {
  console.error(`bench:peer needs the peer-bench folder at ${peer} (set PEER_BENCH_DIR)`);
  process.exit(2);
}
const log = (msg: string) => console.error(`bench:peer: ${msg}`);
// The production settings of an ingest process (docker-compose.yml, deploy/k8s/base/ingest.yaml; docs/deploy.md, Memory).
const INGEST_NODE_OPTIONS = '--max-old-space-size=128 --max-semi-space-size=2';
const lines: string[] = [];

if (!existsSync(telegraf)) {
  log('building Telegraf (once, into ~/.cache/peer-bench)');
  execFileSync('bash', [path.join(peer, 'build-telegraf.sh')], { stdio: 'inherit' });
}

interface Row {
  contender: string;
  rate: number;
  rssMb: number;
}

/** run.sh's table: "contender readings/s seconds peakRSS note". */
function runPeer(n: number, batch: number, contenders: string): Row[] {
  log(`run.sh ${n} ${batch} (${contenders})`);
  const out = execFileSync('bash', [path.join(peer, 'run.sh'), String(n), String(batch)], {
    cwd: root,
    env: { INGEST_NODE_OPTIONS, ...process.env, CONTENDERS: contenders, PROJECT_DIR: root },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const rows: Row[] = [];
  for (const l of out.split('\n')) {
    const m = /^(raw|project|telegraf)\s+(\d+|-)\s+\S+\s+([\d.]+|-)/.exec(l);
    if (m) rows.push({ contender: m[1]!, rate: Number(m[2]), rssMb: Number(m[3]) });
  }
  return rows;
}

const get = (rows: Row[], c: string) => rows.find((r) => r.contender === c);
const fmt = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US');

let telegrafRate: number | undefined;
if (modes.has('influx')) {
  for (const order of ['project telegraf', 'telegraf project']) {
    const rows = runPeer(N, BATCH, order);
    const p = get(rows, 'project');
    const t = get(rows, 'telegraf');
    telegrafRate = Math.max(telegrafRate ?? 0, t?.rate ?? 0);
    lines.push(
      `influx ${N} readings, ${BATCH} a message, ${order.replace(' ', ' then ')}: project ${fmt(p?.rate)}/s (peak RSS ${p?.rssMb} MB), ` +
        `Telegraf ${fmt(t?.rate)}/s (${t?.rssMb} MB): ${p && t ? (p.rate / t.rate).toFixed(2) : '-'}x`,
    );
  }
}
if (modes.has('single')) {
  const n = Math.min(N, 200_000);
  const rows = runPeer(n, 1, 'raw project telegraf');
  const [r, p, t] = ['raw', 'project', 'telegraf'].map((c) => get(rows, c));
  lines.push(
    `single ${n} readings, 1 a message: raw broker ${fmt(r?.rate)}/s, project ${fmt(p?.rate)}/s (${p?.rssMb} MB), Telegraf ${fmt(t?.rate)}/s ` +
      `(${t?.rssMb} MB): project/raw ${p && r ? (p.rate / r.rate).toFixed(2) : '-'}x, project/Telegraf ${p && t ? (p.rate / t.rate).toFixed(2) : '-'}x`,
  );
}
if (modes.has('kafka')) {
  const p = await kafkaRun();
  lines.push(
    `kafka ${N} readings, ${BATCH} a message, KAFKA_BROKERS set: project ${fmt(p.rate)}/s (peak RSS ${p.rssMb} MB)` +
      (telegrafRate ? `, ${(p.rate / telegrafRate).toFixed(2)}x Telegraf's InfluxDB-only ${fmt(telegrafRate)}/s` : ''),
  );
}
console.log(`\nbench:peer on ${os.cpus().length} cores, ${new Date().toISOString()}`);
for (const l of lines) console.log(l);

// ------------------------------------------------------------------------------------------------ kafka mode

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function until(
  what: string,
  child: ChildProcess,
  check: () => Promise<boolean> | boolean,
  secs: number,
): Promise<void> {
  const end = Date.now() + secs * 1000;
  while (
    !(await Promise.resolve()
      .then(check)
      .catch(() => false))
  ) {
    if (child.exitCode !== null) throw new Error(`${what} exited (code ${child.exitCode})`);
    if (Date.now() > end) throw new Error(`${what} not ready after ${secs} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function peakRssMb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** The compiled project (ROLE=ingest, KAFKA_BROKERS) on its own Mosquitto and InfluxDB, with the services' Kafka. */
async function kafkaRun(): Promise<Row> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-peer-'));
  const children: ChildProcess[] = [];
  try {
    log('compiling the project (tsc -p tsconfig.build.json)');
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    const services = execFileSync(path.join(root, 'scripts/services'), ['up', 'kafka'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const kafka = /^KAFKA_BROKERS=(.+)$/m.exec(services)?.[1];
    if (!kafka) throw new Error('scripts/services up kafka printed no KAFKA_BROKERS');
    const influxd = execFileSync(
      'bash',
      ['-c', 'ls -d "$HOME"/.cache/city-sensing/influxdb/*/influxd | sort -V | tail -n 1'],
      { encoding: 'utf8' },
    ).trim();

    const mqPort = await freePort();
    const conf = readFileSync(path.join(peer, 'mosquitto.conf'), 'utf8')
      .split('\n')
      .filter((l) => !/^(listener|persistence|log_)/.test(l))
      .concat([`listener ${mqPort} 127.0.0.1`, 'persistence false'])
      .join('\n');
    writeFileSync(path.join(work, 'mosquitto.conf'), conf);
    const mq = spawn('/usr/sbin/mosquitto', ['-c', path.join(work, 'mosquitto.conf')], { stdio: 'ignore' });
    children.push(mq);
    const mqttUrl = `mqtt://127.0.0.1:${mqPort}`;

    const inPort = await freePort();
    const influxUrl = `http://127.0.0.1:${inPort}`;
    const ix = spawn(
      influxd,
      [
        '--http-bind-address',
        `127.0.0.1:${inPort}`,
        '--bolt-path',
        `${work}/influxd.bolt`,
        '--engine-path',
        `${work}/engine`,
        '--sqlite-path',
        `${work}/influxd.sqlite`,
        '--reporting-disabled',
        '--ui-disabled',
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore', env: { ...process.env, INFLUXD_CONFIG_PATH: work } },
    );
    children.push(ix);
    await until('influxd', ix, async () => (await fetch(`${influxUrl}/health`)).ok, 60);
    const token = randomBytes(24).toString('hex');
    const setup = await fetch(`${influxUrl}/api/v2/setup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        username: 'bench',
        password: `pw-${token.slice(0, 12)}`,
        org: 'bench',
        bucket: 'bench_kafka',
        token,
      }),
    });
    if (!setup.ok) throw new Error(`InfluxDB setup: HTTP ${setup.status}`);

    const port = await freePort();
    const prefix = `benchpeer${process.pid}.`;
    const project = spawn('node', ['dist/app/main.js'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'warn',
        NODE_OPTIONS: process.env.INGEST_NODE_OPTIONS ?? INGEST_NODE_OPTIONS,
        ROLE: 'ingest',
        HOST: '127.0.0.1',
        PORT: String(port),
        SIMULATE: '0',
        DATA_DIR: path.join(work, 'data'),
        MQTT_URL: mqttUrl,
        INGEST_CLIENT_ID: 'bench-peer-kafka',
        KAFKA_BROKERS: kafka,
        KAFKA_TOPIC_PREFIX: prefix,
        INFLUX_URL: influxUrl,
        INFLUX_TOKEN: token,
        INFLUX_ORG: 'bench',
        INFLUX_BUCKET: 'bench_kafka',
      },
    });
    children.push(project);
    await until('project', project, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 90);
    log(
      `project ready (pid ${project.pid}) with Kafka ${kafka} (topics ${prefix}*); publishing ${N} readings, ${BATCH} a message`,
    );
    const out = execFileSync('node', [path.join(peer, 'publish.mjs')], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PROJECT_DIR: root,
        MQTT_URL: mqttUrl,
        N: String(N),
        BATCH: String(BATCH),
        WAIT: 'influx',
        INFLUX_URL: influxUrl,
        INFLUX_TOKEN: token,
        INFLUX_BUCKET: 'bench_kafka',
        TIMEOUT_S: String(120 + N / 1000),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const rssMb = peakRssMb(project.pid!);
    const r = JSON.parse(out.trim().split('\n').pop()!) as { complete: boolean; readingsPerS: number; points: number };
    log(`kafka: ${out.trim()}`);
    if (!r.complete) throw new Error(`incomplete: ${r.points} of ${N} points`);
    return { contender: 'project+kafka', rate: r.readingsPerS, rssMb };
  } finally {
    for (const c of children.reverse()) await stop(c);
    rmSync(work, { recursive: true, force: true });
  }
}
