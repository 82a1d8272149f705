// The snapshot source against a real web server asking for authentication as IP cameras do (Debian's lighttpd,
// started per test by testdata/snapshot-server.ts): Digest with MD5 and SHA-256, Basic, a wrong password, a camera
// that asks for Basic when only Digest is allowed, redirects on the same host followed and to another host refused,
// an answer over maxBytes; the password never in the log.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScenario } from '../../../simulators/camera/index.js';
import { captureLogger, tmpDir, waitFor } from '../../../test/helpers.js';
import { CameraSourceSchema } from './config.js';
import { SnapshotClient, snapshotSource, type SnapshotSourceConfig } from './snapshot.js';
import { startSnapshotServer, type SnapshotServer } from './testdata/snapshot-server.js';

let server: SnapshotServer;
beforeAll(async () => {
  const image = (await createScenario(2).frame(0)).jpeg;
  server = await startSnapshotServer(path.join(tmpDir('snapshot'), 'srv'), image);
});
afterAll(async () => {
  await server?.stop();
});

const source = (p: string, extra: Record<string, unknown> = {}) =>
  CameraSourceSchema.parse({
    type: 'snapshot',
    url: server.base + p,
    username: server.username,
    password: server.password,
    ...extra,
  }) as SnapshotSourceConfig;

describe('snapshot source with authentication', () => {
  it('answers a Digest challenge with MD5 and with SHA-256, and keeps the session for the next frames', async () => {
    for (const p of ['/digest-md5/snap.jpg', '/digest-sha256/snap.jpg']) {
      const client = new SnapshotClient(source(p));
      for (let i = 0; i < 3; i++) expect((await client.fetch()).equals(server.image), p).toBe(true);
      // One 401 for the first frame, none after: the camera accepted the nonce again with a higher count.
      // (lighttpd writes its access log about once a second)
      const lines = () =>
        server
          .accessLog()
          .split('\n')
          .filter((l) => l.includes(`"GET ${p} `));
      expect(await waitFor(() => lines().filter((l) => / 200 /.test(l)).length === 3, 5000), p).toBe(true);
      expect(lines().filter((l) => / 401 /.test(l))).toHaveLength(1);
    }
  });

  it('answers Basic when the camera asks for it, and refuses to when only Digest is allowed', async () => {
    expect((await new SnapshotClient(source('/basic/snap.jpg')).fetch()).equals(server.image)).toBe(true);
    await expect(new SnapshotClient(source('/basic/snap.jpg', { auth: 'digest' })).fetch()).rejects.toThrow(
      /asks for Basic authentication.*not sent in the clear/,
    );
  });

  it('reports a wrong password as such, without the password in the log', async () => {
    const cap = captureLogger();
    const src = snapshotSource(
      source('/digest-sha256/snap.jpg', { password: 'wrong-Secret-42', intervalMs: 100 }),
      cap.logger,
      'cam-1',
    );
    const next = src.next();
    while (!cap.lines.some((l) => l.msg === 'camera snapshot failed; retrying every interval'))
      await new Promise((r) => setTimeout(r, 20));
    src.stop();
    expect(await next).toBeNull();
    expect(cap.lines.find((l) => l.msg === 'camera snapshot failed; retrying every interval')).toMatchObject({
      err: 'HTTP 401 (wrong username or password)',
      url: `${server.base}/digest-sha256/snap.jpg`,
    });
    expect(JSON.stringify(cap.lines)).not.toContain('wrong-Secret-42');
  });

  it('follows a redirect on the same host and refuses one to another host', async () => {
    expect((await new SnapshotClient(source('/same')).fetch()).equals(server.image)).toBe(true);
    await expect(new SnapshotClient(source('/away')).fetch()).rejects.toThrow(
      /redirect to another host refused \(http:\/\/localhost:\d+\/digest-sha256\/snap.jpg\)/,
    );
    // The redirect was asked for, and nothing at the other host (lighttpd logs the Host it was asked on).
    expect(await waitFor(() => server.accessLog().includes('"GET /away '), 5000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(server.accessLog()).not.toMatch(/localhost:\d+ \S+ \[/);
  });

  it('does not read an answer over maxBytes', async () => {
    await expect(new SnapshotClient(source('/digest-sha256/snap.jpg', { maxBytes: 1024 })).fetch()).rejects.toThrow(
      /larger than 1024 bytes/,
    );
  });

  it('hands frames to the camera link through snapshotSource, with credentials in the URL as vendors document them', async () => {
    const u = new URL(server.base + '/digest-md5/snap.jpg');
    u.username = server.username;
    u.password = encodeURIComponent(server.password);
    const src = snapshotSource(
      CameraSourceSchema.parse({ type: 'snapshot', url: u.toString(), intervalMs: 100 }) as SnapshotSourceConfig,
      captureLogger().logger,
      'cam-2',
    );
    const f = await src.next();
    src.stop();
    expect(f!.image.equals(server.image)).toBe(true);
  });
});
