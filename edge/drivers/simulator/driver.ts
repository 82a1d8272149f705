// The simulator driver: a virtual sensor behind the edge agent, producing the readings of simulators/models.ts.
// It resumes after the last reading in the local log, so a restarted agent neither repeats nor skips readings.
import fs from 'node:fs';
import path from 'node:path';
import type { ReadingInput } from '../../../contracts/index.js';
import { createModel } from '../../../simulators/models.js';
import type { Driver, DriverContext } from '../types.js';
import type { SimulatorDriverConfig } from './config.js';

export function simulatorDriver(cfg: SimulatorDriverConfig, ctx: DriverContext): Driver {
  const { device } = ctx;
  const model = createModel(device.kind, device.id, cfg.seed, cfg.demoIncident);
  const last = ctx.lastReading();
  const virtual = cfg.start !== undefined;
  const aligned = (t: number) => Math.floor(t / cfg.intervalMs) * cfg.intervalMs;
  let next: number;
  let seq = last?.seq !== undefined ? last.seq + 1 : 0;
  if (virtual) next = last ? last.ts + cfg.intervalMs : cfg.start!;
  else {
    const now = aligned(Date.now());
    next = last ? Math.max(last.ts + cfg.intervalMs, now - cfg.backfillMs) : now;
  }
  const endTs = virtual && cfg.count !== undefined ? cfg.start! + cfg.count * cfg.intervalMs : Infinity;
  if (cfg.groundTruth) fs.mkdirSync(path.dirname(cfg.groundTruth), { recursive: true });

  const emit = (ts: number) => {
    const reading: ReadingInput = { ts, seq: seq++, metrics: model.metrics(ts) };
    // Report each incident once, with the reading where it begins (also right after a resume); a slow one (a drift,
    // a wrong calibration) may overlap another.
    if (cfg.groundTruth) {
      const before = model.incidentsAt(ts - cfg.intervalMs);
      for (const inc of model.incidentsAt(ts)) {
        if (!before.some((b) => b.type === inc.type && b.start === inc.start)) {
          fs.appendFileSync(cfg.groundTruth, JSON.stringify({ ...inc, district: device.district }) + '\n');
        }
      }
    }
    ctx.emit(reading);
  };

  const tick = () => {
    if (virtual) {
      if (next < endTs) {
        emit(next);
        next += cfg.intervalMs;
      } else {
        ctx.done?.();
        clearInterval(timer);
      }
      return;
    }
    const now = Date.now();
    while (next <= now) {
      emit(next);
      next += cfg.intervalMs;
    }
  };
  const every = virtual ? (cfg.emitEveryMs ?? cfg.intervalMs) : Math.min(cfg.intervalMs, 1000);
  const timer = setInterval(tick, every);
  tick();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
