// The detector service: consumes validated readings from the bus (consumer group `detectors`, so instances split
// the devices between them), runs sensor-health checks and the threshold rules, and publishes signals on the bus
// topic `alerts`, keyed by device, for the alert service. Rules are reloaded when the rules file changes.
import fs from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  decodeBusReadings,
  StatusChangeSchema,
  type Signal,
  type StatusChange,
  type StoredReading,
} from '../contracts/index.js';
import { jsonDecoder, subscribeDecoded, type DecodedMessage } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import { parseConfig, readJsonFile } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import { AnomalyMonitor } from './anomaly-monitor.js';
import { HealthChecker } from './health.js';
import { RuleEngine } from './rules/engine.js';
import { RulesFileSchema, type RulesFile } from './rules/schema.js';

export function loadRules(file: string): RulesFile {
  const raw = readJsonFile(file, 'rules file');
  return parseConfig(RulesFileSchema, raw, file);
}

export interface DetectorOptions {
  bus: Bus;
  /** Bus messages that are not readings or status changes go here. */
  deadLetters: Pick<DeadLetterStore, 'add'>;
  rulesFile: string;
  logger: Logger;
  registry: Registry;
  group?: string;
  /** How often silent devices are checked for going offline. */
  sweepMs?: number;
  /**
   * Where the anomaly detectors' learnt state is kept ($DATA_DIR/anomaly-state.bin): restored at start, written at
   * stop and every `checkpointMs` (default 10 min), so a restart does not start weeks of learning over.
   */
  anomalyStateFile?: string;
  checkpointMs?: number;
}

export class DetectorService {
  private engine: RuleEngine;
  private health: HealthChecker;
  private anomaly: AnomalyMonitor;
  private sub: Subscription | null = null;
  private statusSub: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checkpoint: NodeJS.Timeout | null = null;
  private watcher: fs.StatWatcher | null = null;
  private readonly m;

  constructor(private readonly o: DetectorOptions) {
    const rules = loadRules(o.rulesFile);
    this.engine = new RuleEngine(rules);
    this.health = new HealthChecker(rules.health);
    this.anomaly = new AnomalyMonitor(rules.anomaly, this.engine);
    const registers = [o.registry];
    this.m = {
      readings: new Counter({ name: 'detector_readings_total', help: 'Readings evaluated', registers }),
      signals: new Counter({
        name: 'detector_signals_total',
        help: 'Signals raised',
        labelNames: ['type', 'category'] as const,
        registers,
      }),
      series: new Gauge({ name: 'detector_series', help: '(rule, device) series tracked', registers }),
    };
  }

  async start(): Promise<void> {
    this.restoreAnomalyState();
    const dl = { deadLetters: this.o.deadLetters, logger: this.o.logger };
    this.sub = await subscribeDecoded<StoredReading[]>(
      this.o.bus,
      'readings',
      this.o.group ?? 'detectors',
      (batch) => this.onBatch(batch),
      { decode: decodeBusReadings, ...dl },
    );
    // A device's last will (offline) reaches the health checks at once, without waiting for missed reports; a camera's
    // status (offline when its stream stalls at the edge) is its only health signal.
    this.statusSub = await subscribeDecoded<StatusChange>(
      this.o.bus,
      'status',
      `${this.o.group ?? 'detectors'}-status`,
      async (batch) => {
        const out: Signal[] = [];
        for (const { value: s } of batch) this.health.status(s, out);
        await this.publish(out);
      },
      { decode: jsonDecoder(StatusChangeSchema), ...dl },
    );
    this.timer = setInterval(() => void this.sweep(), this.o.sweepMs ?? 10_000);
    this.timer.unref();
    if (this.o.anomalyStateFile) {
      this.checkpoint = setInterval(() => this.saveAnomalyState(), this.o.checkpointMs ?? 600_000);
      this.checkpoint.unref();
    }
    // Poll the file's mtime: works on every filesystem, including mounted config volumes where inotify does not.
    this.watcher = fs.watchFile(this.o.rulesFile, { interval: 2000 }, (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs) this.reload();
    });
    this.o.logger.info({ rules: this.o.rulesFile }, 'detectors started');
  }

  /** Validates and swaps in the rules file; a broken file is reported and the running rules stay. */
  reload(): boolean {
    try {
      const rules = loadRules(this.o.rulesFile);
      this.engine = new RuleEngine(rules);
      this.health = new HealthChecker(rules.health);
      const anomaly = new AnomalyMonitor(rules.anomaly, this.engine);
      anomaly.adopt(this.anomaly); // what the anomaly detectors learnt does not depend on the threshold rules
      this.anomaly = anomaly;
      this.o.logger.info({ rules: rules.rules.length }, 'rules reloaded');
      return true;
    } catch (e) {
      this.o.logger.error({ err: (e as Error).message }, 'rules file rejected; the previous rules stay in force');
      return false;
    }
  }

  private async onBatch(batch: DecodedMessage<StoredReading[]>[]): Promise<void> {
    const out: Signal[] = [];
    let readings = 0;
    for (const { message: m, value: rs } of batch) {
      readings += rs.length;
      for (const r of rs) this.evaluate(r, m.timestamp, out);
    }
    this.m.readings.inc(readings);
    this.m.series.set(this.engine.series);
    await this.publish(out);
  }

  private evaluate(r: StoredReading, busTs: number, out: Signal[]): void {
    this.health.process(r, busTs, out);
    // A value outside its physical range is a sensor fault (a health alert), never an exceedance.
    let metrics = r.metrics;
    for (const k in metrics) {
      if (!this.health.inRange(k, metrics[k]!)) {
        metrics = Object.fromEntries(Object.entries(metrics).filter(([mk, v]) => this.health.inRange(mk, v)));
        break;
      }
    }
    // A value the device itself flags (HJ 212: F stopped, M maintenance, C calibrating, D fault, ...) is kept in the
    // store but is not a measurement of the air or the noise: it never raises an exceedance or an anomaly.
    if (r.flags) {
      const flagged = r.flags;
      metrics = Object.fromEntries(
        Object.entries(metrics).filter(([mk]) => flagged[mk] === undefined || flagged[mk] === 'N'),
      );
    }
    const clean = metrics === r.metrics ? r : { ...r, metrics };
    this.engine.process(clean, out);
    this.anomaly.process(clean, out);
  }

  private async sweep(): Promise<void> {
    const out = this.health.sweep(Date.now());
    await this.publish(out).catch((e: Error) =>
      this.o.logger.warn({ err: e.message }, 'could not publish offline signals; next sweep retries'),
    );
  }

  private async publish(signals: Signal[]): Promise<void> {
    if (signals.length === 0) return;
    for (const s of signals) this.m.signals.inc({ type: s.type, category: s.category });
    await this.o.bus.publish(
      'alerts',
      signals.map((s) => ({ key: s.deviceId, value: JSON.stringify(s) })),
    );
  }

  private restoreAnomalyState(): void {
    const file = this.o.anomalyStateFile;
    if (!file || !fs.existsSync(file)) return;
    try {
      const { restored, skipped } = this.anomaly.restore(file);
      this.o.logger.info({ file, restored, skipped }, 'anomaly detector state restored');
    } catch (e) {
      this.o.logger.warn(
        { file, err: (e as Error).message },
        'anomaly detector state not restored: the detectors learn their series again',
      );
    }
  }

  private saveAnomalyState(): void {
    const file = this.o.anomalyStateFile;
    if (!file) return;
    try {
      const t0 = Date.now();
      const series = this.anomaly.save(file);
      this.o.logger.info({ file, series, ms: Date.now() - t0 }, 'anomaly detector state saved');
    } catch (e) {
      this.o.logger.warn({ file, err: (e as Error).message }, 'anomaly detector state not saved');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.checkpoint) clearInterval(this.checkpoint);
    fs.unwatchFile(this.o.rulesFile);
    this.watcher = null;
    await this.statusSub?.close();
    await this.sub?.close();
    // After the subscription closed: no reading is processed after the state was written.
    this.saveAnomalyState();
  }
}
