// The HJ 212 server over real TCP sockets on loopback (port 0), with a recording sink in place of the agent.
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadingInput } from '../../../contracts/index.js';
import { parseConfig } from '../../../runtime/config.js';
import { silentLogger, type Logger } from '../../../runtime/log.js';
import { Hj212ConfigSchema, type Hj212ConfigInput } from './config.js';
import { decodeFrame, encodeFrame, FrameSplitter } from './frame.js';
import { parseSegment, type Hj212Packet } from './packet.js';
import { Hj212Server, type Hj212ServerOptions, type Hj212Sink, type Hj212Target } from './server.js';
import vectors from './testdata/vectors.json' with { type: 'json' };

const V = vectors as Record<'A' | 'B' | 'C' | 'D' | 'E' | 'invalid', string>;
const MN_B = '010000A8900016F000169DC0';

class RecordingSink implements Hj212Sink {
  readonly got: { target: Hj212Target; reading: ReadingInput }[] = [];
  readonly dead: { source: string; reason: string; raw: Buffer; mn?: string }[] = [];
  readonly status: { id: string; online: boolean; reason?: string }[] = [];
  readings(device: Hj212Target, readings: ReadingInput[]): void {
    for (const r of readings) this.got.push({ target: device, reading: r });
  }
  deadLetter(d: { source: string; reason: string; raw: Buffer; mn?: string }): void {
    this.dead.push(d);
  }
  online(device: Hj212Target, online: boolean, reason?: string): void {
    this.status.push(reason === undefined ? { id: device.id, online } : { id: device.id, online, reason });
  }
}

/** A test monitor: a socket that collects the answer frames it receives. */
class Client {
  readonly answers: Hj212Packet[] = [];
  private readonly splitter = new FrameSplitter();
  closed = false;
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (b) => {
      for (const e of this.splitter.push(b)) {
        if (e.kind !== 'frame') continue;
        const d = decodeFrame(e.raw);
        if (!d.ok) throw new Error(`server sent a bad frame: ${d.reason}`);
        const p = parseSegment(d.segment);
        if (p.ok) this.answers.push(p.packet);
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }
  /** From localAddress: any 127.x.y.z is a loopback address of its own, so tests can be "another host". */
  static connect(port: number, localAddress = '127.0.0.1'): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }
  send(b: Buffer | string): void {
    this.socket.write(b);
  }
  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** Resolves once cond() holds (checked on every event of this client or of the sink's server). */
  until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (cond() ? resolve() : this.waiters.push(check));
      check();
    });
  }
}

/** Polls a condition on the sink (the server side has no event of its own to wait on). */
async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const line = (k: keyof typeof V) => `${V[k]}\r\n`;
const seg = (k: keyof typeof V) => V[k].slice(6, -4);
/** A vector with another MN/PW/Flag, re-framed with a correct length and CRC. */
const reframe = (k: keyof typeof V, edit: (s: string) => string) => encodeFrame(edit(seg(k)));

let server: Hj212Server | null = null;
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await server?.close();
  server = null;
});

async function start(cfg: Hj212ConfigInput = {}, opts: Hj212ServerOptions & { logger?: Logger } = {}) {
  const sink = new RecordingSink();
  const config = parseConfig(
    Hj212ConfigSchema,
    {
      port: 0,
      host: '127.0.0.1',
      devices: [
        { mn: MN_B, id: 'ds-site-01', district: 'xinhua', kind: 'dust', password: '123456' },
        { mn: 'JLYP01_AIR01_0001', id: 'ds-air-01', district: 'jinghai', kind: 'dust' },
        { mn: '690000D5800028F889221AC0', id: 'ds-gw-02', district: 'xinhua', kind: 'dust' },
      ],
      ...cfg,
    },
    'test',
  );
  server = new Hj212Server(config, sink, opts.logger ?? silentLogger, opts);
  const { port } = await server.listen();
  const connect = async (from?: string) => {
    const c = await Client.connect(port, from);
    clients.push(c);
    return c;
  };
  return { sink, server, port, connect };
}

describe('Hj212Server', () => {
  it('serves two monitors at once and answers 9014 when Flag asks (B has Flag=7), not when it does not (C, Flag=4)', async () => {
    const { sink, connect, server: srv } = await start();
    const [b, c] = [await connect(), await connect()];
    // B split across two writes, C and D merged in one.
    const lb = line('B');
    b.send(lb.slice(0, 100));
    c.send(line('C') + line('D'));
    b.send(lb.slice(100));
    await b.until(() => b.answers.length === 1);
    await eventually(() => sink.got.length === 5, 'readings of B, C and D');

    expect(b.answers[0]).toMatchObject({
      qn: '20200814151600001',
      st: '91',
      cn: '9014',
      pw: '123456',
      mn: MN_B,
      flag: 4,
    });
    expect(c.answers).toEqual([]);
    const ids = sink.got.map((g) => g.target.id).sort();
    expect(ids).toEqual(['ds-air-01', 'ds-gw-02', 'ds-gw-02-noise', 'ds-site-01', 'ds-site-01-noise']);
    expect(sink.got.find((g) => g.target.id === 'ds-site-01-noise')!.reading).toEqual({
      ts: Date.parse('2020-08-14T15:16:00+08:00'),
      metrics: { laeq_db: 50.1 },
    });
    expect(
      sink.status
        .filter((s) => s.online)
        .map((s) => s.id)
        .sort(),
    ).toEqual(ids);
    expect(srv.stats()).toMatchObject({ connections: 2, frames: 3, readings: 5, deadLetters: 0, answers: 1 });
  });

  it('answers a non-data command with 9011 QnRtn=1, and never answers an answer', async () => {
    const { sink, connect } = await start();
    const a = await connect();
    a.send(reframe('A', (s) => s.replace('PW=100000', 'PW=123456')));
    await a.until(() => a.answers.length === 1);
    expect(a.answers[0]).toMatchObject({ cn: '9011', qn: '20160801085857223', params: { QnRtn: '1' } });
    a.send(encodeFrame(`QN=1;ST=91;CN=9014;PW=123456;MN=${MN_B};Flag=5;CP=&&&&`));
    a.send(reframe('B', (s) => s));
    await a.until(() => a.answers.length === 2);
    expect(a.answers.map((x) => x.cn)).toEqual(['9011', '9014']);
    expect(sink.dead).toEqual([]);
  });

  it('dead-letters a wrong PW and an unknown MN (answering both 9011 QnRtn=2) while another monitor keeps working', async () => {
    const { sink, connect } = await start();
    const [bad, good] = [await connect(), await connect()];
    bad.send(reframe('B', (s) => s.replace('PW=123456', 'PW=654321')));
    bad.send(reframe('B', (s) => s.replace(MN_B, 'STRANGER01')));
    good.send(line('C'));
    await bad.until(() => bad.answers.length === 2);
    await eventually(() => sink.got.length === 1, 'reading of C');

    expect(bad.answers.map((a) => [a.cn, a.mn, a.params.QnRtn])).toEqual([
      ['9011', MN_B, '2'],
      ['9011', 'STRANGER01', '2'],
    ]);
    expect(sink.dead.map((d) => [d.reason, d.mn])).toEqual([
      [`wrong PW for MN ${MN_B} (device ds-site-01)`, MN_B],
      ['unknown MN STRANGER01: not in the configured devices (commissioning mode is off)', 'STRANGER01'],
    ]);
    expect(sink.dead[0]!.raw.toString('latin1')).toBe(
      reframe('B', (s) => s.replace('PW=123456', 'PW=654321')).toString('latin1'),
    );
    expect(sink.dead[0]!.source).toMatch(/^hj212:\/\/127\.0\.0\.1:\d+$/);
    expect(sink.got.map((g) => g.target.id)).toEqual(['ds-air-01']);
    // The wrong-PW connection is kept: a correct frame on it is accepted.
    bad.send(line('B'));
    await bad.until(() => bad.answers.length === 3);
    expect(bad.answers[2]!.cn).toBe('9014');
  });

  it('a bad CRC and a bad length cost one frame each; the connection goes on (9011 QnRtn=9 for the CRC)', async () => {
    const { sink, connect } = await start();
    const c = await connect();
    c.send(`${V.B.slice(0, -4)}0000\r\n`);
    c.send(line('invalid'));
    c.send(`AT+CSQ\r\n${V.C.slice(0, -4)}${V.C.slice(-4).toLowerCase()}\r\n`);
    c.send(line('B'));
    await c.until(() => c.answers.length === 2);
    await eventually(() => sink.got.length === 3, 'readings of C and B');
    expect(c.answers.map((a) => [a.cn, a.params.QnRtn])).toEqual([
      ['9011', '9'],
      ['9014', undefined],
    ]);
    expect(sink.dead.map((d) => d.reason)).toEqual([
      'CRC mismatch: frame says 0000, computed 5CC0',
      'length field says 112 but the data segment is 92 bytes; CRC "1C80" does not match either (computed A781)',
      '8 bytes of garbage before a frame start "##"',
    ]);
    expect(sink.dead[0]!.mn).toBe(MN_B);
    expect(c.closed).toBe(false);
  });

  it('closes a silent (half-open) connection after idleTimeoutS and reports its monitor offline', async () => {
    const { sink, connect, server: srv } = await start({ idleTimeoutS: 0.5 });
    const c = await connect();
    c.send(line('C') + V.D.slice(0, 30));
    await eventually(() => sink.got.length === 1, 'reading of C');
    await c.until(() => c.closed);
    await eventually(() => sink.status.length === 2, 'offline status');
    // The half-sent frame is kept.
    expect(sink.dead.map((d) => [d.reason, d.raw.toString()])).toEqual([
      ['connection closed inside a frame (30 bytes, no CRLF) (idle timeout)', V.D.slice(0, 30)],
    ]);
    expect(sink.status).toEqual([
      { id: 'ds-air-01', online: true },
      { id: 'ds-air-01', online: false, reason: 'idle timeout' },
    ]);
    expect(srv.stats().idleClosed).toBe(1);
  });

  it('refuses connections beyond maxConnections; the open ones keep working', async () => {
    const { sink, connect, server: srv } = await start({ maxConnections: 2 });
    const [a, b] = [await connect(), await connect()];
    const extra = await connect();
    await extra.until(() => extra.closed);
    expect(srv.stats().refused).toBe(1);
    a.send(line('C'));
    b.send(line('D'));
    await eventually(() => sink.got.length === 3, 'readings of C and D');
    // A slot freed is a slot to use.
    a.socket.end();
    await a.until(() => a.closed);
    await eventually(() => srv.stats().connections === 1, 'the closed connection to be gone');
    const again = await connect();
    again.send(line('B'));
    await again.until(() => again.answers.length === 1);
  });

  it('dead-letters a 1 MB line without CRLF (first 4 KB kept) and closes only that connection', async () => {
    const { sink, connect } = await start();
    const [flood, good] = [await connect(), await connect()];
    flood.send(Buffer.concat([Buffer.from('##0300QN=1;'), Buffer.alloc(1 << 20, 0x41)]));
    await flood.until(() => flood.closed);
    expect(sink.dead).toHaveLength(1);
    // How many bytes were held when the bound was hit depends on how TCP cut the stream.
    expect(sink.dead[0]!.reason).toMatch(
      /^no CRLF within 10011 bytes \(maxFrameBytes\): line too long \(first 4096 of \d+ bytes kept\)$/,
    );
    expect(sink.dead[0]!.raw.length).toBe(4096);
    good.send(line('B'));
    await good.until(() => good.answers.length === 1);
  });

  it('closes a connection that sends only bad frames (maxBadFrames)', async () => {
    const { sink, connect } = await start({ maxBadFrames: 5 });
    const c = await connect();
    for (let i = 0; i < 10; i++) c.send(`##0004abcd0000\r\n`);
    await c.until(() => c.closed);
    expect(sink.dead).toHaveLength(5);
  });

  it('commissioning mode registers unknown monitors as hj212-<MN> (ST 23 → noise, otherwise dust)', async () => {
    const { sink, connect, server: srv } = await start({ acceptUnknown: true, unknownDistrict: 'new-sites' });
    const c = await connect();
    c.send(line('E'));
    c.send(reframe('E', (s) => s.replace('ST=31', 'ST=23').replace('010AQMS01000GD0201804060', 'NOISE0001')));
    await eventually(() => sink.got.length === 4, 'readings of both monitors');
    expect(sink.got.map((g) => [g.target.id, g.target.kind, g.target.district])).toEqual([
      ['hj212-010AQMS01000GD0201804060', 'dust', 'new-sites'],
      ['hj212-010AQMS01000GD0201804060-noise', 'noise', 'new-sites'],
      ['hj212-NOISE0001', 'noise', 'new-sites'],
      ['hj212-NOISE0001-dust', 'dust', 'new-sites'],
    ]);
    expect(srv.commissionedDevices().map((d) => d.mn)).toEqual(['010AQMS01000GD0201804060', 'NOISE0001']);
    expect(sink.dead).toEqual([]);
  });

  it('keeps flags other than N on the stored reading', async () => {
    const { sink, connect } = await start();
    const c = await connect();
    c.send(reframe('C', (s) => s.replace('a34004-Avg=14,a34004-Flag=N', 'a34004-Avg=14,a34004-Flag=C')));
    await eventually(() => sink.got.length === 1, 'reading');
    expect(sink.got[0]!.reading.flags).toEqual({ pm25_ugm3: 'C' });
  });

  it('close() reports every online monitor offline', async () => {
    const { sink, connect, server: srv } = await start();
    const c = await connect();
    c.send(line('C'));
    await eventually(() => sink.got.length === 1, 'reading');
    await srv.close();
    server = null;
    await c.until(() => c.closed);
    expect(sink.status.at(-1)).toEqual({ id: 'ds-air-01', online: false, reason: 'agent stopped' });
  });

  it('a monitor that reconnects is not reported offline when its old half-open connection times out', async () => {
    const { sink, connect } = await start({ idleTimeoutS: 1 });
    const old = await connect();
    old.send(line('C'));
    await eventually(() => sink.got.length === 1, 'first reading');
    const fresh = await connect();
    fresh.send(reframe('C', (s) => s.replace('DataTime=20220513162600', 'DataTime=20220513162700')));
    await eventually(() => sink.got.length === 2, 'second reading');
    await old.until(() => old.closed);
    // Only the fresh connection's own timeout may say offline.
    await fresh.until(() => fresh.closed);
    await eventually(() => sink.status.length === 3, 'offline');
    expect(sink.status).toEqual([
      { id: 'ds-air-01', online: true },
      { id: 'ds-air-01', online: true },
      { id: 'ds-air-01', online: false, reason: 'idle timeout' },
    ]);
  });

  describe('against a stranger on the network', () => {
    it('answers a wrong PW exactly as an unknown MN, so MNs cannot be enumerated', async () => {
      const { connect } = await start();
      const c = await connect();
      // The same frame twice, once with a configured MN and a wrong PW, once with an MN that does not exist.
      const probe = (mn: string) => reframe('B', (s) => s.replace('PW=123456', 'PW=000000').replace(MN_B, mn));
      c.send(probe(MN_B));
      c.send(probe('ZZ0000A8900016F000169DC0'));
      await c.until(() => c.answers.length === 2);
      const [wrongPw, unknownMn] = c.answers.map((a) => ({ ...a, mn: '(MN)' }));
      expect(wrongPw).toEqual(unknownMn);
    });

    it('locks an MN out after maxWrongPw wrong PWs, for pwLockoutS, but not from the address it works from', async () => {
      let now = Date.parse('2026-12-01T00:00:00Z');
      const { sink, connect, server: srv } = await start({ maxWrongPw: 3, pwLockoutS: 60 }, { now: () => now });
      // The real monitor, at 127.0.0.2, sends a frame with its PW.
      const monitor = await connect('127.0.0.2');
      monitor.send(line('B'));
      await monitor.until(() => monitor.answers.length === 1);
      // A guesser at 127.0.0.1 tries three PWs, then the right one.
      const guesser = await connect('127.0.0.1');
      for (const pw of ['111111', '222222', '333333', '123456'])
        guesser.send(reframe('B', (s) => s.replace('PW=123456', `PW=${pw}`)));
      await guesser.until(() => guesser.answers.length === 4);
      expect(guesser.answers.map((a) => [a.cn, a.params.QnRtn])).toEqual(Array(4).fill(['9011', '2']));
      expect(sink.dead.at(-1)!.reason).toBe(
        `MN ${MN_B} (device ds-site-01) is locked out after 3 wrong PWs until 2026-12-01T00:01:00.000Z`,
      );
      expect(srv.stats().lockouts).toBe(1);
      // The monitor goes on from its own address, also on a new connection.
      const again = await connect('127.0.0.2');
      again.send(line('B'));
      await again.until(() => again.answers.length === 1);
      expect(again.answers[0]!.cn).toBe('9014');
      // After pwLockoutS the right PW works from anywhere again.
      now += 61_000;
      guesser.send(line('B'));
      await guesser.until(() => guesser.answers.length === 5);
      expect(guesser.answers[4]!.cn).toBe('9014');
    });

    it('serves a real monitor while 2,100 idle connections from one other address are open (maxConnectionsPerAddress)', async () => {
      const { sink, connect, port, server: srv } = await start();
      const idle: net.Socket[] = [];
      try {
        let closedByServer = 0;
        for (let i = 0; i < 2100; i += 300) {
          await Promise.all(
            Array.from(
              { length: Math.min(300, 2100 - i) },
              () =>
                new Promise<void>((resolve) => {
                  const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
                  idle.push(s);
                  s.on('error', () => {});
                  s.on('close', () => closedByServer++);
                  s.once('connect', () => resolve());
                  s.once('error', () => resolve());
                }),
            ),
          );
        }
        await eventually(
          () => srv.stats().connections + srv.stats().refused >= 2100,
          'every idle connection to be taken or refused',
        );
        expect(srv.stats().connections).toBe(100);
        const monitor = await connect('127.0.0.2');
        monitor.send(line('B'));
        await monitor.until(() => monitor.answers.length === 1 || monitor.closed);
        expect(monitor.answers.map((a) => a.cn)).toEqual(['9014']);
        expect(sink.got.map((g) => g.target.id)).toEqual(['ds-site-01', 'ds-site-01-noise']);
        expect(closedByServer).toBeGreaterThanOrEqual(1900);
      } finally {
        for (const s of idle) s.destroy();
      }
    });

    it('closes a connection that sends no accepted frame within firstFrameTimeoutS; a monitor stays', async () => {
      const { sink, connect, server: srv } = await start({ firstFrameTimeoutS: 0.3 });
      const [silent, stranger, monitor] = [await connect(), await connect(), await connect()];
      // Frames with a valid CRC but an MN nobody configured do not count as a monitor's first frame.
      stranger.send(reframe('B', (s) => s.replace(MN_B, 'STRANGER01')));
      monitor.send(line('C'));
      await silent.until(() => silent.closed);
      await stranger.until(() => stranger.closed);
      expect(srv.stats().firstFrameClosed).toBe(2);
      expect(monitor.closed).toBe(false);
      monitor.send(line('D'));
      await eventually(() => sink.got.length === 3, 'readings of C and D');
      expect(monitor.closed).toBe(false);
    });

    it('logs at most 10 dead letters a minute per address, and keeps every one', async () => {
      const lines: { msg: string; from?: string; source?: string }[] = [];
      const logger: Logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
      const { sink, connect } = await start({ maxBadFrames: 1000 }, { logger });
      const [flood, other] = [await connect('127.0.0.1'), await connect('127.0.0.3')];
      for (let i = 0; i < 50; i++) flood.send(`##0004abcd0000\r\n`);
      await eventually(() => sink.dead.length === 50, '50 dead letters');
      other.send(`##0004abcd0000\r\n`);
      await eventually(() => sink.dead.length === 51, 'the other address dead letter');
      const logged = lines.filter((l) => l.msg === 'HJ 212 dead letter');
      expect(logged.filter((l) => l.source!.startsWith('hj212://127.0.0.1:'))).toHaveLength(10);
      expect(logged.filter((l) => l.source!.startsWith('hj212://127.0.0.3:'))).toHaveLength(1);
    });
  });
});
