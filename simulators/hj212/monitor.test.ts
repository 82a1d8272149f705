// The monitor simulator against the edge agent's HJ 212 server (real TCP on loopback): what the simulator says it
// delivered is exactly what reaches the sink, through split and merged writes, drops and mid-frame cuts.
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadingInput } from '../../contracts/index.js';
import { Hj212ConfigSchema } from '../../edge/drivers/hj212/config.js';
import { Hj212Server, type Hj212Sink, type Hj212Target } from '../../edge/drivers/hj212/server.js';
import { parseConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/log.js';
import { generateMonitors, Hj212Fleet, type Hj212FleetOptions } from './monitor.js';

const METRIC: Record<string, string> = {
  a34004: 'pm25_ugm3',
  a34002: 'pm10_ugm3',
  a34001: 'tsp_ugm3',
  a01001: 'temp_c',
  a01002: 'rh_pct',
  a01006: 'pressure_kpa',
  a01007: 'wind_ms',
  a01008: 'wind_dir_deg',
  LA: 'laeq_db',
};

/** A sink that keeps points by (device, metric, ts), as the idempotent store does. */
class PointSink implements Hj212Sink {
  readonly points = new Map<string, { value: number; flag?: string }>();
  readonly dead: string[] = [];
  calls = 0;
  readings(device: Hj212Target, readings: ReadingInput[]): void {
    this.calls++;
    for (const r of readings) {
      for (const [m, v] of Object.entries(r.metrics)) {
        const key = `${device.id}|${m}|${String(r.ts)}`;
        if (!this.points.has(key)) this.points.set(key, r.flags?.[m] ? { value: v, flag: r.flags[m] } : { value: v });
      }
    }
  }
  deadLetter(d: { reason: string }): void {
    this.dead.push(d.reason);
  }
  online(): void {}
}

let server: Hj212Server | null = null;
let fleet: Hj212Fleet | null = null;
afterEach(async () => {
  await fleet?.stop();
  await server?.close();
  fleet = null;
  server = null;
});

async function run(opts: Omit<Hj212FleetOptions, 'host' | 'port' | 'intervalMs'> & { intervalMs?: number }) {
  const sink = new PointSink();
  // A throwaway fleet only to learn the device entries (MNs are deterministic).
  const specs = typeof opts.monitors === 'number' ? generateMonitors(opts.monitors, opts.seed ?? 1) : opts.monitors;
  const probe = new Hj212Fleet({ host: '127.0.0.1', port: 1, intervalMs: 1000, monitors: specs, start: 0 });
  const cfg = parseConfig(
    Hj212ConfigSchema,
    { port: 0, host: '127.0.0.1', devices: probe.deviceConfigs('simcity') },
    'test',
  );
  server = new Hj212Server(cfg, sink, silentLogger);
  const { port } = await server.listen();
  fleet = new Hj212Fleet({ host: '127.0.0.1', port, intervalMs: 60_000, ...opts, monitors: specs });
  fleet.start();
  await fleet.done();
  return { sink, fleet, server, devices: probe.deviceConfigs('simcity') };
}

/** The points the store must hold according to the simulator's counts. */
function expectedPoints(f: Hj212Fleet, devices: { mn: string; id: string; kind: string }[]): number {
  let n = 0;
  for (const c of f.counts()) {
    const d = devices.find((x) => x.mn === c.mn)!;
    expect(d).toBeDefined();
    for (const [code, count] of Object.entries(c.values)) {
      expect(METRIC[code]).toBeDefined();
      n += count;
    }
  }
  return n;
}

describe('Hj212Fleet → Hj212Server', () => {
  it('6 monitors, 40 frames each, Flag=5: split and merged writes, every value arrives once', async () => {
    const {
      sink,
      fleet: f,
      devices,
    } = await run({
      monitors: 6,
      seed: 11,
      start: Date.parse('2026-03-01T00:00:00+08:00'),
      frames: 40,
      flag: 5,
      window: 4,
      merge: 3,
      split: 0.5,
    });
    const t = f.totals();
    expect(t.frames).toBe(240);
    expect(t.refused).toBe(0);
    expect(sink.points.size).toBe(expectedPoints(f, devices));
    // 6 generated monitors: 4 dust+noise (9 values), 1 dust (8), 1 noise (1) → per frame 4·9 + 8 + 1 = 45 values.
    expect(sink.points.size).toBe(40 * 45);
    expect(sink.dead).toEqual([]);
    // Dust+noise monitors are two devices: LA lands on the companion.
    expect([...sink.points.keys()].filter((k) => k.startsWith('hjsim-0001-noise|laeq_db|'))).toHaveLength(40);
    const first = Date.parse('2026-03-01T00:00:00+08:00');
    expect(f.counts().every((c) => c.firstTs === first && c.lastTs === first + 39 * 60_000)).toBe(true);
  });

  it('drops and mid-frame cuts with Flag=5: resent frames are stored once, counts stay exact', async () => {
    const {
      sink,
      fleet: f,
      devices,
    } = await run({
      monitors: 4,
      seed: 5,
      start: Date.parse('2026-03-02T00:00:00+08:00'),
      frames: 60,
      flag: 5,
      window: 2,
      merge: 2,
      split: 0.3,
      drop: 0.15,
      cut: 0.5,
      reconnectMs: 5,
    });
    const t = f.totals();
    expect(t.frames).toBe(240);
    expect(t.connects).toBeGreaterThan(4);
    expect(t.cut).toBeGreaterThan(0);
    expect(sink.points.size).toBe(expectedPoints(f, devices));
    // Every cut frame is a dead letter at the server, nothing else is.
    expect(sink.dead).toHaveLength(t.cut);
    expect(
      sink.dead.every(
        (r) => r.startsWith('connection closed inside a frame') || r === '1 bytes of garbage before a frame start "##"',
      ),
    ).toBe(true);
  });

  it('Flag=4 with drops: fully written frames all arrive', async () => {
    const {
      sink,
      fleet: f,
      devices,
    } = await run({
      monitors: 3,
      seed: 9,
      start: Date.parse('2026-03-03T00:00:00+08:00'),
      frames: 50,
      flag: 4,
      merge: 4,
      split: 0.3,
      drop: 0.1,
      reconnectMs: 5,
    });
    expect(f.totals().frames).toBe(150);
    // Nothing answers Flag=4 frames, so wait for the server to have processed the last ones.
    for (let i = 0; i < 200 && sink.points.size < expectedPoints(f, devices); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(sink.points.size).toBe(expectedPoints(f, devices));
  });

  it('flags other than N are counted by the simulator and stored with the value', async () => {
    const { sink, fleet: f } = await run({
      monitors: 2,
      seed: 3,
      start: Date.parse('2026-03-04T00:00:00+08:00'),
      frames: 30,
      flagRate: 0.2,
    });
    const flagged = [...sink.points.values()].filter((p) => p.flag !== undefined);
    expect(flagged.length).toBe(f.totals().flagged);
    expect(flagged.length).toBeGreaterThan(0);
    expect(new Set(flagged.map((p) => p.flag))).toEqual(new Set(['D', 'M', 'C', 'T']));
  });

  it('is deterministic: the same seed gives the same values', async () => {
    const a = await run({ monitors: 2, seed: 42, start: Date.parse('2026-03-05T00:00:00+08:00'), frames: 10 });
    const pointsA = [...a.sink.points.entries()].sort();
    await fleet!.stop();
    await server!.close();
    const b = await run({
      monitors: 2,
      seed: 42,
      start: Date.parse('2026-03-05T00:00:00+08:00'),
      frames: 10,
      merge: 3,
      window: 3,
      split: 1,
    });
    expect([...b.sink.points.entries()].sort()).toEqual(pointsA);
  });

  it('wall-clock mode paces frames in real time from one shared timer', async () => {
    const sink = new PointSink();
    const specs = generateMonitors(3, 2);
    const probe = new Hj212Fleet({ host: '127.0.0.1', port: 1, intervalMs: 1000, monitors: specs, start: 0 });
    server = new Hj212Server(
      parseConfig(Hj212ConfigSchema, { port: 0, host: '127.0.0.1', devices: probe.deviceConfigs('x') }, 't'),
      sink,
      silentLogger,
    );
    const { port } = await server.listen();
    fleet = new Hj212Fleet({ host: '127.0.0.1', port, monitors: specs, intervalMs: 1000, frames: 2 });
    fleet.start();
    await fleet.done();
    expect(fleet.totals().frames).toBe(6);
    const ts = [...sink.points.keys()].map((k) => Number(k.split('|')[2]));
    // DataTimes are whole intervals of the wall clock.
    expect(ts.every((t) => t % 1000 === 0 && Math.abs(t - Date.now()) < 10_000)).toBe(true);
  });
});
