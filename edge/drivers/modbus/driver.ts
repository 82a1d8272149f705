// The Modbus driver: polls a gauge (water level, rain, flow at a pumping station) over Modbus TCP or RTU with
// modbus-serial, and emits one reading per poll. A gauge that stops answering is reported once through
// ctx.status(false), which raises the offline health alert at once, instead of a warning every poll.
import modbusSerial from 'modbus-serial';
import type { ReadingInput } from '../../../contracts/index.js';
import type { Driver, DriverContext } from '../types.js';
import { checkModbusMetrics, type ModbusDriverConfig } from './config.js';
import { planReads, registerValue, type ReadBlock } from './registers.js';

// modbus-serial is CommonJS; its module object carries the client class as `default` (see its index.js).
const ModbusRTU = modbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

export interface ModbusDriver extends Driver {
  /** Resolves when stop() has closed the connection. */
  readonly closed: Promise<void>;
}

type ReadOutcome = { ok: true; words: number[] } | { ok: false; exception: string } | { ok: false; error: string };

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

/** A Modbus exception response: the gauge answered, but refused the request (a register map mistake). */
function exceptionOf(e: unknown): string | null {
  return typeof e === 'object' && e !== null && typeof (e as { modbusCode?: unknown }).modbusCode === 'number'
    ? message(e)
    : null;
}

export function modbusDriver(cfg: ModbusDriverConfig, ctx: DriverContext): ModbusDriver {
  const { device } = ctx;
  checkModbusMetrics(device.id, device.kind, cfg);
  const log = ctx.logger.child({ device: device.id, driver: 'modbus' });
  const blocks = planReads(cfg.registers, cfg.maxGapWords);
  const where = cfg.transport.kind === 'tcp' ? `${cfg.transport.host}:${cfg.transport.port}` : cfg.transport.path;

  let client: Client | null = null;
  /** A connect in progress, so that stop() can close what it opens. */
  let connecting: Promise<Client> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  /** null until the first poll ends; then whether the last poll was answered. */
  let answering: boolean | null = null;
  let backoff = cfg.pollMs;
  let nextConnectAt = 0;
  // Map mistakes and odd values are logged once each, not every poll.
  const reported = new Set<string>();
  const once = (key: string, f: () => void) => {
    if (!reported.has(key)) {
      reported.add(key);
      f();
    }
  };

  const drop = (c: Client): Promise<void> =>
    new Promise((resolve) => {
      // destroy() also cancels the timeouts of requests still waiting, so nothing is left running.
      try {
        c.destroy(() => resolve());
      } catch {
        resolve();
      }
    });

  async function connect(): Promise<Client> {
    const c = new ModbusRTU();
    c.on('error', (e: unknown) => log.debug({ err: message(e) }, 'modbus port error'));
    const t = cfg.transport;
    const opening =
      t.kind === 'tcp'
        ? c.connectTCP(t.host, { port: t.port })
        : c.connectRTUBuffered(t.path, {
            baudRate: t.baudRate,
            parity: t.parity,
            dataBits: t.dataBits,
            stopBits: t.stopBits,
          });
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        opening,
        new Promise((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`connect timed out after ${cfg.connectTimeoutMs} ms`)),
            cfg.connectTimeoutMs,
          );
        }),
      ]);
    } catch (e) {
      opening.catch(() => undefined);
      await drop(c);
      throw e;
    } finally {
      clearTimeout(timeout);
    }
    c.setID(t.unitId);
    c.setTimeout(cfg.timeoutMs);
    return c;
  }

  async function read(c: Client, b: ReadBlock): Promise<ReadOutcome> {
    let last = '';
    for (let attempt = 0; attempt <= cfg.retries; attempt++) {
      try {
        const r =
          b.table === 'holding'
            ? await c.readHoldingRegisters(b.start, b.length)
            : await c.readInputRegisters(b.start, b.length);
        // A gauge that answers with fewer registers than asked is answering, but wrongly: treated like a refusal.
        if (r.data.length < b.length)
          return { ok: false, exception: `answered ${r.data.length} of ${b.length} registers` };
        return { ok: true, words: r.data };
      } catch (e) {
        const ex = exceptionOf(e);
        if (ex) return { ok: false, exception: ex };
        last = message(e);
        // A closed connection will not answer a retry; the next poll reconnects.
        if (stopped || !c.isOpen) break;
      }
    }
    return { ok: false, error: last };
  }

  function missed(reason: string): void {
    if (answering !== false) {
      answering = false;
      log.warn({ gauge: where, reason }, 'gauge not answering');
      ctx.status?.(false, `gauge not answering: ${reason}`);
    } else log.debug({ gauge: where, reason }, 'poll missed');
  }

  function answered(): void {
    if (answering === false) {
      log.info({ gauge: where }, 'gauge answering again');
      ctx.status?.(true);
    }
    answering = true;
  }

  async function poll(): Promise<void> {
    const ts = Date.now();
    if (!client || !client.isOpen) {
      if (client) {
        await drop(client);
        client = null;
      }
      if (ts < nextConnectAt) return missed('not connected (waiting to reconnect)');
      try {
        connecting = connect();
        const c = await connecting;
        if (stopped) return void (await drop(c));
        client = c;
        backoff = cfg.pollMs;
        log.debug({ gauge: where }, 'connected');
      } catch (e) {
        nextConnectAt = Date.now() + backoff;
        backoff = Math.min(cfg.reconnectMaxMs, backoff * 2);
        return missed(`cannot connect to ${where}: ${message(e)}`);
      } finally {
        connecting = null;
      }
    }
    const c = client;
    const metrics: Record<string, number> = {};
    for (const b of blocks) {
      const r = await read(c, b);
      if (stopped) return;
      if (!r.ok) {
        if ('exception' in r) {
          // The gauge is there; the map asks for something it does not have. Its other registers still count.
          once(`ex:${b.table}:${b.start}`, () =>
            log.error(
              { gauge: where, table: b.table, address: b.start, words: b.length, err: r.exception },
              'gauge refused a read: check the register map',
            ),
          );
          continue;
        }
        return missed(r.error);
      }
      for (const reg of b.registers) {
        const v = registerValue(r.words, reg.address - b.start, reg);
        if (v === null)
          once(`nan:${reg.metric}`, () =>
            log.warn({ metric: reg.metric, address: reg.address }, 'register holds no finite number; metric skipped'),
          );
        else metrics[reg.metric] = v;
      }
    }
    answered();
    if (Object.keys(metrics).length > 0) {
      const reading: ReadingInput = { ts, metrics };
      ctx.emit(reading);
    }
  }

  // Polls are chained, never overlapping: a slow gauge delays the next poll instead of piling up requests.
  const loop = async () => {
    timer = null;
    if (stopped) return;
    const started = Date.now();
    try {
      await poll();
    } catch (e) {
      log.error({ err: message(e) }, 'modbus poll failed');
    }
    if (stopped) return;
    timer = setTimeout(() => void loop(), Math.max(0, started + cfg.pollMs - Date.now()));
  };
  timer = setTimeout(() => void loop(), 0);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  return {
    closed,
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      const opening = connecting?.then(drop, () => undefined);
      void Promise.all([c ? drop(c) : undefined, opening]).then(() => resolveClosed());
    },
  };
}
