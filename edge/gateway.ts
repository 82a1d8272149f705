// A gateway link: many devices behind one protocol server of the edge agent (HJ 212 monitors on TCP) share one MQTT
// connection (the gateway's credentials) and one disk buffer. The server hands readings, device status and dead
// letters to it synchronously; once a call returns the record is in the buffer, so the server may acknowledge the
// device (an HJ 212 9014 answer) knowing that nothing is lost if the broker or the agent goes down now.
import path from 'node:path';
import {
  gatewayDeadLettersTopic,
  readingsTopic,
  statusTopic,
  type DeviceRef,
  type ReadingInput,
  type SensorKind,
} from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import type { Entry } from './buffer.js';
import type { EdgeConfig } from './config.js';
import { BrokerLink } from './link.js';

export interface GatewayDevice {
  id: string;
  district: string;
  kind: SensorKind;
}

/** One line of the gateway's buffer. Short keys: a busy gateway writes millions of them. */
type Rec =
  | {
      t: 'r';
      d: string;
      k: SensorKind;
      id: string;
      ts: number;
      seq?: number;
      metrics: Record<string, number>;
      flags?: Record<string, string>;
    }
  | { t: 's'; d: string; k: SensorKind; id: string; online: boolean; reason?: string; ts: number }
  | { t: 'x'; source: string; reason: string; receivedAt: number; payload: string };

export interface GatewayCredentials {
  username?: string;
  password?: string;
}

export class GatewayLink extends BrokerLink {
  private readonly deadTopic: string;

  constructor(cfg: EdgeConfig, source: string, creds: GatewayCredentials, log: Logger) {
    super(
      cfg,
      source,
      path.join(cfg.buffer.dir, `_gateway-${source}`),
      {
        clientId: `${cfg.gatewayId}.${source}`,
        username: creds.username,
        password: creds.password,
      },
      log,
    );
    this.deadTopic = gatewayDeadLettersTopic(cfg.gatewayId);
  }

  readings(device: GatewayDevice, readings: ReadingInput[]): void {
    for (const r of readings) {
      const ts = typeof r.ts === 'number' ? r.ts : Date.parse(r.ts);
      const rec: Rec = { t: 'r', d: device.district, k: device.kind, id: device.id, ts, metrics: r.metrics };
      if (r.seq !== undefined) rec.seq = r.seq;
      if (r.flags && Object.keys(r.flags).length > 0) rec.flags = r.flags;
      this.queue.append(JSON.stringify(rec));
    }
    this.pump();
  }

  online(device: GatewayDevice, online: boolean, reason?: string): void {
    const rec: Rec = { t: 's', d: device.district, k: device.kind, id: device.id, online, ts: Date.now() };
    if (reason) rec.reason = reason;
    this.append(JSON.stringify(rec));
  }

  deadLetter(d: { source: string; reason: string; raw: Buffer }): void {
    this.append(
      JSON.stringify({
        t: 'x',
        source: d.source,
        reason: d.reason,
        receivedAt: Date.now(),
        payload: d.raw.toString('base64'),
      } satisfies Rec),
    );
  }

  /** Consecutive readings of one device become one batch message; status and dead letters go one by one. */
  protected publishEntries(entries: Entry[]): void {
    let run: { ref: DeviceRef; lines: string[]; entries: Entry[] } | null = null;
    const flush = () => {
      if (!run) return;
      const payload = run.lines.length === 1 ? run.lines[0]! : `{"batch":[${run.lines.join(',')}]}`;
      this.send(readingsTopic(run.ref), payload, run.entries);
      run = null;
    };
    for (const e of entries) {
      const rec = JSON.parse(e.data) as Rec;
      if (rec.t === 'r') {
        if (run && (run.ref.deviceId !== rec.id || run.ref.district !== rec.d || run.ref.kind !== rec.k)) flush();
        run ??= { ref: { district: rec.d, kind: rec.k, deviceId: rec.id }, lines: [], entries: [] };
        const { ts, seq, metrics, flags } = rec;
        run.lines.push(JSON.stringify(flags ? { ts, seq, metrics, flags } : { ts, seq, metrics }));
        run.entries.push(e);
        continue;
      }
      flush();
      if (rec.t === 's') {
        const status = JSON.stringify({
          online: rec.online,
          ts: rec.ts,
          reason: rec.reason,
          gateway: this.cfg.gatewayId,
        });
        this.send(statusTopic({ district: rec.d, kind: rec.k, deviceId: rec.id }), status, [e], {
          qos: 1,
          retain: true,
        });
      } else {
        const { source, reason, receivedAt, payload } = rec;
        this.send(this.deadTopic, JSON.stringify({ source, reason, receivedAt, payload }), [e]);
      }
    }
    flush();
  }
}
