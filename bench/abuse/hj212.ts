// Slowloris on the HJ 212 port: 2,000 idle TCP connections from 127.0.0.1 (as many as the server's maxConnections),
// then a real monitor connects from 127.0.0.2 and sends a data frame. Is it answered, and how fast (20 monitor
// connections one after another)? Once with the shipped defaults (maxConnectionsPerAddress 100, firstFrameTimeoutS
// 60) and once with the per-address cap off, which is how the server behaved before it had one.
import net from 'node:net';
import { parseConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/log.js';
import {
  decodeFrame,
  FrameSplitter,
  Hj212ConfigSchema,
  Hj212Server,
  parseSegment,
  type Hj212ConfigInput,
  type Hj212Sink,
} from '../../edge/drivers/hj212/index.js';
import vectors from '../../edge/drivers/hj212/testdata/vectors.json' with { type: 'json' };

const IDLE = 2000;
const MONITOR_TRIES = 20;
/** Vector B: a real minute-data frame with Flag=7 (answer wanted), MN 010000A8900016F000169DC0, PW 123456. */
const FRAME_B = `${(vectors as Record<string, string>).B}\r\n`;
const MN_B = '010000A8900016F000169DC0';

const sink: Hj212Sink = { readings() {}, deadLetter() {}, online() {} };

interface Outcome {
  held: number;
  refused: number;
  openMs: number;
  /** Time from connect to the 9014 answer, per try; null: closed or not answered within 5 s. */
  answers: (number | null)[];
  rssMb: number;
}

async function attack(cfg: Hj212ConfigInput): Promise<Outcome> {
  const config = parseConfig(
    Hj212ConfigSchema,
    {
      port: 0,
      host: '127.0.0.1',
      devices: [{ mn: MN_B, id: 'ds-bench-01', district: 'bench', kind: 'dust', password: '123456' }],
      ...cfg,
    },
    'bench',
  );
  const server = new Hj212Server(config, sink, silentLogger);
  const { port } = await server.listen();
  const idle: net.Socket[] = [];
  try {
    const t0 = performance.now();
    // In steps of 200, so that the listen backlog never overflows (a refusal we did not mean to measure).
    for (let i = 0; i < IDLE; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, IDLE - i) }, () => {
          const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
          idle.push(s);
          s.on('error', () => {});
          return new Promise<void>((resolve) => {
            s.once('connect', () => resolve());
            s.once('close', () => resolve());
          });
        }),
      );
    }
    // Every connection is taken or refused by now, give or take the server's last accept callbacks.
    for (let i = 0; i < 100 && server.stats().connections + server.stats().refused < IDLE; i++)
      await new Promise((r) => setTimeout(r, 10));
    const openMs = performance.now() - t0;
    const { connections: held, refused } = server.stats();
    const answers: (number | null)[] = [];
    for (let i = 0; i < MONITOR_TRIES; i++) answers.push(await monitorAnswer(port));
    return { held, refused, openMs, answers, rssMb: process.memoryUsage().rss / 2 ** 20 };
  } finally {
    for (const s of idle) s.destroy();
    await server.close();
  }
}

/** A monitor at 127.0.0.2: connect, send frame B, wait for its 9014. Milliseconds, or null if refused. */
function monitorAnswer(port: number): Promise<number | null> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => s.write(FRAME_B));
    const splitter = new FrameSplitter();
    const done = (v: number | null) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), 5000);
    s.on('data', (b) => {
      for (const e of splitter.push(b)) {
        if (e.kind !== 'frame') continue;
        const d = decodeFrame(e.raw);
        const p = d.ok ? parseSegment(d.segment) : undefined;
        if (p?.ok && p.packet.cn === '9014') done(performance.now() - t0);
      }
    });
    s.on('error', () => {});
    s.on('close', () => done(null));
  });
}

function describe(name: string, o: Outcome): string[] {
  const ok = o.answers.filter((a): a is number => a !== null).sort((a, b) => a - b);
  const served =
    ok.length === 0
      ? `the monitor at 127.0.0.2 was refused ${o.answers.length} times out of ${o.answers.length} (closed without an answer)`
      : `the monitor at 127.0.0.2 was answered (9014) ${ok.length} times out of ${o.answers.length}: median ${ok[ok.length >> 1]!.toFixed(1)} ms, max ${ok.at(-1)!.toFixed(1)} ms from connect to answer`;
  return [
    `${name}: ${IDLE.toLocaleString('en')} idle connections from 127.0.0.1 opened in ${(o.openMs / 1000).toFixed(1)} s: ${o.held.toLocaleString('en')} held, ${o.refused.toLocaleString('en')} refused at once`,
    `  ${served}; process RSS ${Math.round(o.rssMb)} MB`,
  ];
}

export async function run(): Promise<string[]> {
  const shipped = await attack({});
  const capOff = await attack({ maxConnectionsPerAddress: 100_000 });
  return [
    ...describe('shipped defaults (maxConnections 2000, maxConnectionsPerAddress 100, firstFrameTimeoutS 60)', shipped),
    ...describe('per-address cap off (as before it existed)', capOff),
    `the idle ones would also be closed after firstFrameTimeoutS (60 s) without an accepted frame; not waited for here`,
  ];
}
