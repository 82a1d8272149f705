// A small simulated city: a few districts with sensors of every kind, as edge-agent device configs.
import type { SensorKind } from '../contracts/index.js';
import type { DeviceConfig } from '../edge/config.js';
import type { SimulatorDriverConfig } from '../edge/drivers/simulator/config.js';

/** A simulated device: its driver is always the simulator. */
export type SimulatedDevice = DeviceConfig & { driver: SimulatorDriverConfig };

export interface FleetOptions {
  seed: number;
  districts: string[];
  perKind: number;
  /** Report interval per kind, ms: battery manhole covers report rarely, noise meters often. */
  intervals?: Partial<Record<SensorKind, number>>;
  groundTruth?: string;
  /**
   * Demo: the first manhole cover is lifted and the first construction-dust site has a dust episode starting at this
   * time, so that a new user sees alerts (and a case in the inbox) within minutes instead of waiting for chance.
   */
  demoAt?: number;
}

const DEFAULT_INTERVALS: Record<SensorKind, number> = {
  noise: 10_000,
  dust: 30_000,
  fume: 30_000,
  drainage: 30_000,
  manhole: 60_000,
};

const PREFIX: Record<SensorKind, string> = { noise: 'nz', dust: 'ds', fume: 'fm', drainage: 'dr', manhole: 'mh' };

export function makeFleet(o: FleetOptions): SimulatedDevice[] {
  const out: SimulatedDevice[] = [];
  for (const district of o.districts) {
    for (const kind of Object.keys(DEFAULT_INTERVALS) as SensorKind[]) {
      for (let i = 1; i <= o.perKind; i++) {
        out.push({
          id: `${PREFIX[kind]}-${district}-${String(i).padStart(3, '0')}`,
          kind,
          district,
          driver: {
            type: 'simulator',
            seed: o.seed,
            intervalMs: o.intervals?.[kind] ?? DEFAULT_INTERVALS[kind],
            backfillMs: 3_600_000,
            groundTruth: o.groundTruth,
            ...(o.demoAt !== undefined &&
            i === 1 &&
            district === o.districts[0] &&
            (kind === 'manhole' || kind === 'dust')
              ? { demoIncident: { start: o.demoAt + (kind === 'manhole' ? 60_000 : 90_000), durationMs: 20 * 60_000 } }
              : {}),
          },
        });
      }
    }
  }
  return out;
}
