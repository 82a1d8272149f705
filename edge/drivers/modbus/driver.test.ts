// The Modbus driver against modbus-serial's own ServerTCP, started by the test on a free loopback port.
import net from 'node:net';
import modbusSerial from 'modbus-serial';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadingInput } from '../../../contracts/index.js';
import { ConfigError } from '../../../runtime/config.js';
import { silentLogger } from '../../../runtime/log.js';
import { loadEdgeConfig, type DeviceConfig } from '../../config.js';
import type { DriverContext } from '../types.js';
import { checkModbusMetrics, ModbusDriverSchema, type ModbusDriverConfig } from './config.js';
import { modbusDriver, type ModbusDriver } from './driver.js';
import { planReads, rawValue } from './registers.js';

type Cb<T> = (err: Error | { modbusErrorCode: number } | null, v: T) => void;

/** A gauge: holding and input registers, a switch that makes it stop answering, and a count of requests. */
class Gauge {
  holding = new Array<number>(200).fill(0);
  input = new Array<number>(200).fill(0);
  silent = false;
  requests: { table: string; addr: number; len: number }[] = [];
  server!: InstanceType<typeof modbusSerial.ServerTCP>;

  private read(table: 'holding' | 'input', addr: number, len: number, cb: Cb<number[]>) {
    this.requests.push({ table, addr, len });
    if (this.silent) return; // never answers: the client times out
    if (addr + len > 150) return cb({ modbusErrorCode: 2 }, []); // illegal data address
    cb(null, this[table].slice(addr, addr + len));
  }

  async start(port: number): Promise<void> {
    const vector = {
      getHoldingRegister: (a: number, _u: number, cb: Cb<number>) =>
        this.read('holding', a, 1, (e, v) => cb(e, v[0] ?? 0)),
      getInputRegister: (a: number, _u: number, cb: Cb<number>) => this.read('input', a, 1, (e, v) => cb(e, v[0] ?? 0)),
      getMultipleHoldingRegisters: (a: number, n: number, _u: number, cb: Cb<number[]>) =>
        this.read('holding', a, n, cb),
      getMultipleInputRegisters: (a: number, n: number, _u: number, cb: Cb<number[]>) => this.read('input', a, n, cb),
    };
    this.server = new modbusSerial.ServerTCP(vector as never, { host: '127.0.0.1', port });
    this.server.on('socketError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      this.server.on('initialized', () => resolve());
      this.server.on('serverError', reject);
    });
  }

  connections(): number {
    return this.server.socks.size;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function float32Words(v: number): [number, number] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v, 0);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}

interface Harness {
  readings: ReadingInput[];
  statuses: { online: boolean; reason?: string }[];
  ctx: DriverContext;
}

function harness(cfg: ModbusDriverConfig, kind: DeviceConfig['kind'] = 'drainage'): Harness {
  const readings: ReadingInput[] = [];
  const statuses: { online: boolean; reason?: string }[] = [];
  const device = { id: 'pump-xh-01', kind, district: 'xinhua', driver: cfg } as DeviceConfig;
  return {
    readings,
    statuses,
    ctx: {
      device,
      logger: silentLogger,
      emit: (r) => readings.push(r),
      lastReading: () => null,
      status: (online, reason) => statuses.push({ online, reason }),
    },
  };
}

const config = (port: number, extra: Record<string, unknown> = {}) =>
  ModbusDriverSchema.parse({
    type: 'modbus',
    transport: { kind: 'tcp', host: '127.0.0.1', port },
    pollMs: 150,
    timeoutMs: 150,
    retries: 1,
    reconnectMaxMs: 300,
    registers: [
      { metric: 'level_cm', address: 0, type: 'uint16', scale: 0.1 },
      { metric: 'rain_mmh', address: 2, type: 'float32' },
      { metric: 'flow_ls', address: 10, table: 'input', type: 'int16', scale: 2, offset: 100 },
    ],
    ...extra,
  });

describe('modbus registers', () => {
  it('plans contiguous reads per table and honours maxGapWords', () => {
    const regs = config(502, {
      registers: [
        { metric: 'a', address: 0 },
        { metric: 'b', address: 1, type: 'float32' },
        { metric: 'c', address: 5 },
        { metric: 'd', address: 3, table: 'input' },
      ],
    }).registers;
    expect(planReads(regs, 0).map((b) => [b.table, b.start, b.length])).toEqual([
      ['holding', 0, 3],
      ['holding', 5, 1],
      ['input', 3, 1],
    ]);
    expect(planReads(regs, 2).map((b) => [b.table, b.start, b.length])).toEqual([
      ['holding', 0, 6],
      ['input', 3, 1],
    ]);
  });

  it('decodes 32-bit values in both word orders', () => {
    const r = (type: string, wordOrder: string) =>
      config(502, { registers: [{ metric: 'x', address: 0, type, wordOrder }] }).registers[0]!;
    expect(rawValue([0xffff, 0xfffe], 0, r('int32', 'big'))).toBe(-2);
    expect(rawValue([0xfffe, 0xffff], 0, r('int32', 'little'))).toBe(-2);
    expect(rawValue([0x0001, 0x0000], 0, r('uint32', 'big'))).toBe(65536);
    expect(rawValue([0x0000, 0x0001], 0, r('uint32', 'little'))).toBe(65536);
    const [hi, lo] = float32Words(-12.75);
    expect(rawValue([lo, hi], 0, r('float32', 'little'))).toBe(-12.75);
    expect(rawValue([0x8000], 0, r('int16', 'big'))).toBe(-32768);
    expect(rawValue([0x8000], 0, r('uint16', 'big'))).toBe(32768);
  });

  it('refuses a metric the device kind does not have, naming it', async () => {
    const h = harness(config(502, { registers: [{ metric: 'level_m', address: 0 }] }));
    expect(() => modbusDriver(h.ctx.device.driver as ModbusDriverConfig, h.ctx)).toThrow(ConfigError);
    expect(() => modbusDriver(h.ctx.device.driver as ModbusDriverConfig, h.ctx)).toThrow(/"level_m"/);
  });

  it('refuses a metric mapped twice', () => {
    const r = ModbusDriverSchema.safeParse({
      type: 'modbus',
      transport: { kind: 'tcp', host: 'h' },
      registers: [
        { metric: 'level_cm', address: 0 },
        { metric: 'level_cm', address: 1 },
      ],
    });
    expect(r.success).toBe(false);
  });
});

describe('modbus driver against a Modbus TCP server', () => {
  let gauge: Gauge | null = null;
  let driver: ModbusDriver | null = null;
  afterEach(async () => {
    driver?.stop();
    await driver?.closed;
    await gauge?.stop();
    gauge = null;
    driver = null;
  });

  it('decodes uint16/int16/float32 with scale and offset into exact readings, in one request per block', async () => {
    const port = await freePort();
    gauge = new Gauge();
    gauge.holding[0] = 1234; // level_cm 123.4
    [gauge.holding[2], gauge.holding[3]] = float32Words(3.7); // rain_mmh 3.7
    gauge.input[10] = 0xfffb; // int16 -5 → -5 * 2 + 100 = 90
    await gauge.start(port);
    const h = harness(config(port));
    driver = modbusDriver(h.ctx.device.driver as ModbusDriverConfig, h.ctx);
    await until(() => h.readings.length >= 2, 'two readings');
    expect(h.readings[0]!.metrics).toEqual({ level_cm: 123.4, rain_mmh: 3.7, flow_ls: 90 });
    expect(typeof h.readings[0]!.ts).toBe('number');
    // Register 1 lies between level (0) and rain (2-3) and maxGapWords is 0, so: three reads per poll.
    const firstPoll = gauge.requests.slice(0, 3).map((r) => [r.table, r.addr, r.len]);
    expect(firstPoll).toEqual([
      ['holding', 0, 1],
      ['holding', 2, 2],
      ['input', 10, 1],
    ]);
    expect(h.statuses).toEqual([]);
  });

  it('reports a gauge that times out once, emits nothing meanwhile, and recovers', async () => {
    const port = await freePort();
    gauge = new Gauge();
    gauge.holding[0] = 500;
    await gauge.start(port);
    const h = harness(config(port, { registers: [{ metric: 'level_cm', address: 0, scale: 0.1 }] }));
    driver = modbusDriver(h.ctx.device.driver as ModbusDriverConfig, h.ctx);
    await until(() => h.readings.length >= 1, 'a first reading');

    gauge.silent = true;
    await until(() => h.statuses.length >= 1, 'the offline status');
    const emitted = h.readings.length;
    const sent = gauge.requests.length;
    // Several further polls time out (each a request and its retry), without another status or any reading.
    await until(() => gauge!.requests.length >= sent + 4, 'more polls while silent');
    expect(h.statuses).toEqual([{ online: false, reason: 'gauge not answering: Timed out' }]);
    expect(h.readings.length).toBe(emitted);

    gauge.silent = false;
    gauge.holding[0] = 612;
    await until(() => h.statuses.length >= 2 && h.readings.length > emitted, 'recovery');
    expect(h.statuses[1]).toEqual({ online: true, reason: undefined });
    expect(h.readings.at(-1)!.metrics).toEqual({ level_cm: 61.2 });
  });

  it('reconnects with backoff when the gauge is not there, then reads', async () => {
    const port = await freePort();
    const h = harness(config(port, { registers: [{ metric: 'level_cm', address: 0 }] }));
    driver = modbusDriver(h.ctx.device.driver as ModbusDriverConfig, h.ctx);
    await until(() => h.statuses.length >= 1, 'the offline status');
    expect(h.statuses[0]!.online).toBe(false);
    expect(h.statuses[0]!.reason).toMatch(/^gauge not answering: cannot connect to 127\.0\.0\.1:\d+: /);

    gauge = new Gauge();
    gauge.holding[0] = 42;
    await gauge.start(port);
    await until(() => h.readings.length >= 1, 'a reading after the gauge came up');
    expect(h.readings[0]!.metrics).toEqual({ level_cm: 42 });
    expect(h.statuses.map((s) => s.online)).toEqual([false, true]);

    // The connection drops (the gauge restarts): the driver notices and connects again.
    await gauge.stop();
    gauge = new Gauge();
    gauge.holding[0] = 43;
    await gauge.start(port);
    await until(() => h.readings.some((r) => r.metrics.level_cm === 43), 'a reading after the gauge restarted');
  });

  it('keeps the other registers when the gauge refuses one read, without reporting it offline', async () => {
    const port = await freePort();
    gauge = new Gauge();
    gauge.holding[0] = 7;
    await gauge.start(port);
    const h = harness(
      config(port, {
        registers: [
          { metric: 'level_cm', address: 0 },
          { metric: 'flow_ls', address: 160 }, // past the gauge's map: exception 2
        ],
      }),
    );
    driver = modbusDriver(h.ctx.device.driver as ModbusDriverConfig, h.ctx);
    await until(() => h.readings.length >= 2, 'two readings');
    expect(h.readings[0]!.metrics).toEqual({ level_cm: 7 });
    expect(h.statuses).toEqual([]);
  });

  it('stop() closes the connection and nothing is emitted afterwards', async () => {
    const port = await freePort();
    gauge = new Gauge();
    await gauge.start(port);
    const h = harness(config(port));
    driver = modbusDriver(h.ctx.device.driver as ModbusDriverConfig, h.ctx);
    await until(() => h.readings.length >= 1 && gauge!.connections() === 1, 'a reading');
    driver.stop();
    await driver.closed;
    await until(() => gauge!.connections() === 0, 'the server to see the connection closed');
    const n = h.readings.length;
    const requests = gauge.requests.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(h.readings.length).toBe(n);
    expect(gauge.requests.length).toBe(requests);
  });
});

describe('modbus.sample.json', () => {
  it('is a valid edge configuration whose metrics fit the devices', () => {
    const cfg = loadEdgeConfig(new URL('./modbus.sample.json', import.meta.url).pathname, {});
    for (const d of cfg.devices) {
      expect(d.driver.type).toBe('modbus');
      if (d.driver.type === 'modbus') checkModbusMetrics(d.id, d.kind, d.driver);
    }
  });
});
