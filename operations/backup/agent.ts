// The backup agent: a Unix socket in the data directory through which `npm run backup` asks a running platform
// process for consistent copies of the DuckDB files it holds. DuckDB lets one process hold a file, so only that
// process can copy it while it writes (store/duckdb/snapshot.ts); the socket is the platform's user's alone (0600),
// like the files it copies. One socket per process: backup-agent-<pid>.sock.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { heldFiles, snapshotHeld } from '../../store/duckdb/snapshot.js';
import type { Logger } from '../../runtime/log.js';

export const AGENT_SOCKET = /^backup-agent-(\d+)\.sock$/;

/** A request on the socket: one JSON line. */
export interface AgentRequest {
  /** Write a copy of every DuckDB file this process holds into this directory (absolute). */
  snapshotTo: string;
}

/** The answer: one JSON line per file copied, then a last line with `done` or `error`. */
export type AgentLine = { file: string; bytes: number; ms: number } | { done: true; pid: number } | { error: string };

export interface BackupAgent {
  socket: string;
  stop(): Promise<void>;
}

export async function startBackupAgent(o: { dataDir: string; logger: Logger }): Promise<BackupAgent> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const socket = path.join(o.dataDir, `backup-agent-${process.pid}.sock`);
  fs.rmSync(socket, { force: true }); // left by a process of the same pid that was killed
  const server = net.createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('error', () => undefined);
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      void serve(line, conn, o.logger);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  fs.chmodSync(socket, 0o600);
  return {
    socket,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(socket, { force: true });
      }),
  };
}

async function serve(line: string, conn: net.Socket, log: Logger): Promise<void> {
  const send = (l: AgentLine) => conn.write(`${JSON.stringify(l)}\n`);
  try {
    const req = JSON.parse(line) as Partial<AgentRequest>;
    if (typeof req.snapshotTo !== 'string' || !path.isAbsolute(req.snapshotTo))
      throw new Error('snapshotTo: an absolute directory is required');
    fs.mkdirSync(req.snapshotTo, { recursive: true });
    for (const file of heldFiles()) {
      const t0 = performance.now();
      const dest = path.join(req.snapshotTo, path.basename(file));
      // A store closed since heldFiles() was read is simply not copied here: the backup copies it itself.
      if (!(await snapshotHeld(file, dest))) continue;
      const ms = Math.round(performance.now() - t0);
      log.info({ file: path.basename(file), ms }, 'backup: consistent copy of an open store written');
      send({ file: path.basename(file), bytes: fs.statSync(dest).size, ms });
    }
    send({ done: true, pid: process.pid });
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'backup: a copy failed');
    send({ error: (e as Error).message });
  } finally {
    conn.end();
  }
}

/** Asks one agent for copies; resolves with the files it wrote, null when nobody listens on the socket (stale). */
export function requestSnapshots(socket: string, dir: string): Promise<{ files: string[]; pid: number } | null> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    const files: string[] = [];
    let buf = '';
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      conn.destroy();
      f();
    };
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify({ snapshotTo: dir } satisfies AgentRequest)}\n`));
    conn.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') finish(() => resolve(null));
      else finish(() => reject(e));
    });
    conn.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const l = JSON.parse(buf.slice(0, nl)) as AgentLine;
        buf = buf.slice(nl + 1);
        if ('error' in l) finish(() => reject(new Error(`the platform process behind ${socket}: ${l.error}`)));
        else if ('done' in l) finish(() => resolve({ files, pid: l.pid }));
        else files.push(l.file);
      }
    });
    conn.on('end', () =>
      finish(() => reject(new Error(`the platform process behind ${socket} hung up before it finished`))),
    );
  });
}

/** The agent sockets in a data directory. */
export function agentSockets(dataDir: string): string[] {
  if (!fs.existsSync(dataDir)) return [];
  return fs
    .readdirSync(dataDir)
    .filter((f) => AGENT_SOCKET.test(f))
    .map((f) => path.join(dataDir, f));
}

/** Whether a process answers on the socket (a platform is running on this data directory). */
export function agentAlive(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.on('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}
