import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../runtime/config.js';
import { hashPassword } from '../users/kdf.js';
import { DeviceRegistry, SERVICE_TOPICS } from './auth.js';
import { silentLogger } from '../runtime/log.js';
import { provisionMqttCredentials, writeCredentialsFile } from './credentials.js';
import { filterCovers, topicMatches, unshare } from './topics.js';

describe('topic filters', () => {
  it('matches topics', () => {
    expect(topicMatches('city/v1/+/noise/+/readings', 'city/v1/xinhua/noise/nz-1/readings')).toBe(true);
    expect(topicMatches('city/v1/+/noise/+/readings', 'city/v1/xinhua/dust/nz-1/readings')).toBe(false);
    expect(topicMatches('city/v1/+/noise/+/readings', 'city/v1/xinhua/noise/nz-1/readings/x')).toBe(false);
    expect(topicMatches('city/v1/#', 'city/v1')).toBe(true);
    expect(topicMatches('city/v1/#', 'city/v1/a/b/c')).toBe(true);
    expect(topicMatches('#', '$SYS/broker/clients')).toBe(false);
    expect(topicMatches('+/broker/clients', '$SYS/broker/clients')).toBe(false);
  });

  it('decides whether an allowed filter covers a requested subscription', () => {
    expect(filterCovers('city/v1/#', 'city/v1/+/+/+/readings')).toBe(true);
    expect(filterCovers('city/v1/#', 'city/v1/#')).toBe(true);
    expect(filterCovers('city/v1/#', '#')).toBe(false);
    expect(filterCovers('city/v1/+/camera/+/frames', 'city/v1/xinhua/camera/c1/frames')).toBe(true);
    expect(filterCovers('city/v1/+/camera/+/frames', 'city/v1/+/+/+/frames')).toBe(false);
    expect(filterCovers('city/v1/+/camera/+/frames', 'city/v1/+/camera/#')).toBe(false);
    expect(filterCovers('#', '$SYS/#')).toBe(false);
    expect(unshare('$share/ingest/city/v1/#')).toBe('city/v1/#');
  });
});

describe('DeviceRegistry', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-creds-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives a device its own readings and status topics, a camera its frames and commands', async () => {
    const hash = await hashPassword('pw', { ln: 4, r: 8, p: 1 });
    const r = new DeviceRegistry([
      { type: 'device', username: 'nz-1', deviceId: 'nz-1', district: 'xinhua', kind: 'noise', hash },
      { type: 'device', username: 'cam-1', deviceId: 'cam-1', district: 'jinghai', kind: 'camera', hash },
      { type: 'service', username: 'gw', ...SERVICE_TOPICS.gateway('gw'), hash },
    ]);
    expect(r.mayPublish('nz-1', 'city/v1/xinhua/noise/nz-1/readings')).toBe(true);
    expect(r.mayPublish('nz-1', 'city/v1/xinhua/noise/nz-1/status')).toBe(true);
    expect(r.mayPublish('nz-1', 'city/v1/xinhua/noise/nz-2/readings')).toBe(false);
    expect(r.mayPublish('nz-1', 'city/v1/jinghai/noise/nz-1/readings')).toBe(false);
    expect(r.mayPublish('nz-1', 'city/v1/xinhua/dust/nz-1/readings')).toBe(false);
    expect(r.maySubscribe('nz-1', 'city/v1/#')).toBe(false);
    expect(r.mayPublish('cam-1', 'city/v1/jinghai/camera/cam-1/frames')).toBe(true);
    expect(r.mayPublish('cam-1', 'city/v1/jinghai/camera/cam-1/readings')).toBe(false);
    expect(r.maySubscribe('cam-1', 'city/v1/jinghai/camera/cam-1/commands')).toBe(true);
    expect(r.mayPublish('gw', 'city/v1/unmapped/dust/hj212-X/readings')).toBe(true);
    expect(r.mayPublish('gw', 'city/v1/x/camera/c/status')).toBe(false);
    expect(r.mayPublish('gw', 'city/v1/_gateway/gw/dead-letters')).toBe(true);
    expect(r.mayPublish('gw', 'city/v1/_gateway/other/dead-letters')).toBe(false);
    expect(r.mayPublish('nobody', 'city/v1/xinhua/noise/nz-1/readings')).toBe(false);
  });

  it("lets the notice service publish any camera's commands and nothing else; a gateway reads its cameras' commands", async () => {
    const hash = await hashPassword('pw', { ln: 4, r: 8, p: 1 });
    const r = new DeviceRegistry([
      {
        type: 'service',
        username: 'notices',
        publish: [...SERVICE_TOPICS.notices.publish],
        subscribe: [...SERVICE_TOPICS.notices.subscribe],
        hash,
      },
      { type: 'device', username: 'cam-1', deviceId: 'cam-1', district: 'jinghai', kind: 'camera', hash },
      {
        type: 'service',
        username: 'gw',
        ...SERVICE_TOPICS.gateway('gw', [{ district: 'jinghai', cameraId: 'cam-1' }]),
        hash,
      },
    ]);
    expect(r.mayPublish('notices', 'city/v1/jinghai/camera/cam-1/commands')).toBe(true);
    expect(r.mayPublish('notices', 'city/v1/xinhua/camera/any-cam/commands')).toBe(true);
    expect(r.mayPublish('notices', 'city/v1/jinghai/camera/cam-1/frames')).toBe(false);
    expect(r.mayPublish('notices', 'city/v1/jinghai/noise/nz-1/commands')).toBe(false);
    expect(r.maySubscribe('notices', 'city/v1/+/camera/+/commands')).toBe(false);
    // A camera reads its own commands only, and cannot publish them.
    expect(r.maySubscribe('cam-1', 'city/v1/jinghai/camera/cam-1/commands')).toBe(true);
    expect(r.maySubscribe('cam-1', 'city/v1/jinghai/camera/+/commands')).toBe(false);
    expect(r.mayReceive('cam-1', 'city/v1/jinghai/camera/cam-2/commands')).toBe(false);
    expect(r.mayPublish('cam-1', 'city/v1/jinghai/camera/cam-1/commands')).toBe(false);
    // The gateway acting for cam-1: its commands, no other camera's; without cameras it reads nothing.
    expect(r.maySubscribe('gw', 'city/v1/jinghai/camera/cam-1/commands')).toBe(true);
    expect(r.maySubscribe('gw', 'city/v1/jinghai/camera/cam-2/commands')).toBe(false);
    expect(r.mayPublish('gw', 'city/v1/jinghai/camera/cam-1/commands')).toBe(false);
    expect(SERVICE_TOPICS.gateway('gw2').subscribe).toEqual([]);
  });

  it('verifies a password once with scrypt, then from memory', async () => {
    const r = new DeviceRegistry([
      {
        type: 'device',
        username: 'nz-1',
        deviceId: 'nz-1',
        district: 'x',
        kind: 'noise',
        hash: await hashPassword('secret', { ln: 4, r: 8, p: 1 }),
      },
    ]);
    expect(await r.verify('nz-1', 'wrong')).toBeNull();
    expect(await r.verify('nz-1', 'wrong')).toBeNull();
    expect(r.stats.kdfRuns).toBe(2);
    expect((await r.verify('nz-1', Buffer.from('secret')))?.username).toBe('nz-1');
    for (let i = 0; i < 5; i++) expect(await r.verify('nz-1', 'secret')).not.toBeNull();
    expect(r.stats).toEqual({ kdfRuns: 3, cacheHits: 5 });
    expect(await r.verify('nz-1', 'wrong')).toBeNull();
    expect(await r.verify('nobody', 'secret')).toBeNull();
  });

  it('reads a credentials file; a bad one is a ConfigError naming the file and field', () => {
    const file = path.join(dir, 'c.json');
    expect(() => DeviceRegistry.fromFile(file)).toThrow(/does not exist/);
    fs.writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        accounts: [{ type: 'device', username: 'a', deviceId: 'a', district: 'x', kind: 'noise', hash: 'plaintext' }],
      }),
    );
    expect(() => DeviceRegistry.fromFile(file)).toThrow(ConfigError);
    expect(() => DeviceRegistry.fromFile(file)).toThrow(/accounts\.0\.hash: not a password hash/);
    fs.writeFileSync(file, '{');
    expect(() => DeviceRegistry.fromFile(file)).toThrow(/not valid JSON/);
  });

  it('picks up a changed file while running, and keeps the accounts in use when the new file is broken', async () => {
    const file = path.join(dir, 'mqtt-credentials.json');
    const hash = await hashPassword('pw', { ln: 4, r: 8, p: 1 });
    writeCredentialsFile(file, {
      version: 1,
      accounts: [{ type: 'device', username: 'a', deviceId: 'a', district: 'x', kind: 'noise', hash }],
    });
    const r = DeviceRegistry.fromFile(file);
    const stop = r.watch(file, silentLogger, 20);
    try {
      writeCredentialsFile(file, {
        version: 1,
        accounts: [
          { type: 'device', username: 'a', deviceId: 'a', district: 'x', kind: 'noise', hash },
          { type: 'device', username: 'b', deviceId: 'b', district: 'x', kind: 'dust', hash },
        ],
      });
      await new Promise<void>((resolve) => {
        const t = setInterval(() => r.account('b') && (clearInterval(t), resolve()), 10);
      });
      expect(r.mayPublish('b', 'city/v1/x/dust/b/readings')).toBe(true);
      fs.writeFileSync(file, '{"version": 1, "accounts": [{"type": "device"}]}');
      await new Promise((res) => setTimeout(res, 200));
      expect(r.size).toBe(2);
    } finally {
      stop();
    }
  });

  it('takes a change made between loading the file and watching it', async () => {
    const file = path.join(dir, 'mqtt-credentials-early.json');
    const hash = await hashPassword('pw', { ln: 4, r: 8, p: 1 });
    writeCredentialsFile(file, {
      version: 1,
      accounts: [{ type: 'device', username: 'a', deviceId: 'a', district: 'x', kind: 'noise', hash }],
    });
    const r = DeviceRegistry.fromFile(file);
    writeCredentialsFile(file, {
      version: 1,
      accounts: [
        { type: 'device', username: 'a', deviceId: 'a', district: 'x', kind: 'noise', hash },
        { type: 'device', username: 'c', deviceId: 'c', district: 'x', kind: 'dust', hash },
      ],
    });
    const stop = r.watch(file, silentLogger, 60_000);
    try {
      expect(r.account('c')).toBeDefined();
    } finally {
      stop();
    }
  });

  it("provisions the platform's own accounts at every start and keeps the operator's", async () => {
    const file = path.join(dir, 'mqtt-credentials.json');
    const operatorHash = await hashPassword('operator-chosen', { ln: 4, r: 8, p: 1 });
    fs.writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        accounts: [
          { type: 'device', username: 'real-1', deviceId: 'real-1', district: 'x', kind: 'dust', hash: operatorHash },
        ],
      }),
    );
    const want = {
      devices: [{ deviceId: 'nz-1', district: 'x', kind: 'noise' as const }],
      services: [{ username: 'ingest', ...SERVICE_TOPICS.ingest }],
    };
    const a = await provisionMqttCredentials(file, want, { kdf: { ln: 4, r: 8, p: 1 } });
    expect([...a.passwords.keys()].sort()).toEqual(['ingest', 'nz-1']);
    expect(a.registry.accounts.map((x) => x.username).sort()).toEqual(['ingest', 'nz-1', 'real-1']);
    expect(await a.registry.verify('nz-1', a.passwords.get('nz-1')!)).not.toBeNull();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(a.passwords.get('nz-1')!);
    expect(text).not.toContain(a.passwords.get('ingest')!);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // The next start: new passwords for the managed accounts, the old ones stop working; fewer simulated devices.
    const b = await provisionMqttCredentials(file, { services: want.services }, { kdf: { ln: 4, r: 8, p: 1 } });
    expect(b.passwords.get('ingest')).not.toBe(a.passwords.get('ingest'));
    expect(await b.registry.verify('ingest', a.passwords.get('ingest')!)).toBeNull();
    expect(b.registry.accounts.map((x) => x.username).sort()).toEqual(['ingest', 'real-1']);
    const fromFile = DeviceRegistry.fromFile(file);
    expect(await fromFile.verify('real-1', 'operator-chosen')).not.toBeNull();
    // The platform's names may not be taken by the operator's entries.
    await expect(
      provisionMqttCredentials(file, { devices: [{ deviceId: 'real-1', district: 'x', kind: 'dust' }] }),
    ).rejects.toThrow(/remove or rename it/);
  });
});
