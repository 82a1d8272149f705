// A real web server asking for authentication as an IP camera does: Debian's lighttpd (scripts/services.d/lighttpd.sh)
// on a free loopback port, with a snapshot behind Digest (one path per algorithm), one behind Basic, and redirects
// to the same host and to another one. Each test starts its own.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../../..');

function lighttpdBin(): string {
  if (process.env.LIGHTTPD) return process.env.LIGHTTPD;
  const out = execFileSync(path.join(ROOT, 'scripts/services.d/lighttpd.sh'), ['up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return /^LIGHTTPD=(.*)$/m.exec(out)![1]!;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

export interface SnapshotServer {
  /** http://127.0.0.1:port */
  base: string;
  username: string;
  password: string;
  /** The image every protected path serves. */
  image: Buffer;
  /** lighttpd's access log: one line per request, with the status. */
  accessLog(): string;
  stop(): Promise<void>;
}

/**
 * Paths: /digest-md5/snap.jpg, /digest-sha256/snap.jpg (Digest with that algorithm), /basic/snap.jpg (Basic),
 * /same → /digest-sha256/snap.jpg (same host), /away → http://localhost:port/digest-sha256/snap.jpg (another host).
 */
export async function startSnapshotServer(dir: string, image: Buffer, password = 'Adm1n"pa:ss'): Promise<SnapshotServer> {
  const port = await freePort();
  const username = 'admin';
  const realm = 'IP Camera(C1234)';
  const www = path.join(dir, 'www');
  for (const d of ['digest-md5', 'digest-sha256', 'basic']) {
    fs.mkdirSync(path.join(www, d), { recursive: true });
    fs.writeFileSync(path.join(www, d, 'snap.jpg'), image);
  }
  // lighttpd's "plain" backend: user:password per line (it can then answer any Digest algorithm).
  fs.writeFileSync(path.join(dir, 'users'), `${username}:${password}\n`);
  const conf = path.join(dir, 'lighttpd.conf');
  const logFile = path.join(dir, 'access.log');
  const q = JSON.stringify;
  fs.writeFileSync(
    conf,
    [
      'server.modules = ("mod_auth", "mod_authn_file", "mod_redirect", "mod_accesslog")',
      `server.document-root = ${q(www)}`,
      `server.bind = "127.0.0.1"`,
      `server.port = ${port}`,
      `server.errorlog = ${q(path.join(dir, 'error.log'))}`,
      `accesslog.filename = ${q(logFile)}`,
      `server.pid-file = ${q(path.join(dir, 'lighttpd.pid'))}`,
      'mimetype.assign = (".jpg" => "image/jpeg")',
      'auth.backend = "plain"',
      `auth.backend.plain.userfile = ${q(path.join(dir, 'users'))}`,
      'auth.require = (',
      `  "/digest-md5/" => ("method" => "digest", "algorithm" => "MD5", "realm" => ${q(realm)}, "require" => "valid-user"),`,
      `  "/digest-sha256/" => ("method" => "digest", "algorithm" => "SHA-256", "realm" => ${q(realm)}, "require" => "valid-user"),`,
      `  "/basic/" => ("method" => "basic", "realm" => ${q(realm)}, "require" => "valid-user"),`,
      ')',
      'url.redirect = (',
      `  "^/same$" => "/digest-sha256/snap.jpg",`,
      `  "^/away$" => "http://localhost:${port}/digest-sha256/snap.jpg",`,
      ')',
      '',
    ].join('\n'),
  );
  // -D: stay in the foreground, so the test owns the process.
  const proc: ChildProcess = spawn(lighttpdBin(), ['-D', '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  for (let i = 0; ; i++) {
    const open = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (open) break;
    if (proc.exitCode !== null || i > 100) throw new Error(`lighttpd did not start: ${err}${fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base: `http://127.0.0.1:${port}`,
    username,
    password,
    image,
    accessLog: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    async stop() {
      if (proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    },
  };
}
