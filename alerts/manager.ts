// Turns detector signals into alerts and keeps their lifecycle. Signals arrive at least once and possibly again
// after a detector restarts or a partition moves (a new detector instance re-reads recent readings and fires again
// for a condition that is already alerted): the manager merges those into the open alert, so no alert is raised
// twice. A condition that clears and returns within the flap window reopens the same alert instead of a new one.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SEVERITIES, type Signal } from '../contracts/index.js';
import type { Alert, AlertEvent, AlertPlace, AlertQuery, AlertStore } from './types.js';

export interface AlertManagerOptions {
  /** A cleared alert that fires again within this time is reopened (flapping), not raised anew. */
  flapWindowMs?: number;
  /** History entries kept per alert; the oldest automatic ones are dropped first. */
  maxHistory?: number;
  /** Where a device is (the device registry): a new alert carries its place, so staff and its case know where to go. */
  placeOf?: (deviceId: string) => AlertPlace | null | undefined;
}

export class AlertError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const worse = (metricDirectionAbove: boolean, a: number, b: number) =>
  metricDirectionAbove ? Math.max(a, b) : Math.min(a, b);

export class AlertManager extends EventEmitter<{ change: [Alert] }> {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly flapMs: number;
  private readonly maxHistory: number;
  private readonly placeOf: AlertManagerOptions['placeOf'];

  constructor(
    private readonly store: AlertStore,
    o: AlertManagerOptions = {},
  ) {
    super();
    this.placeOf = o.placeOf;
    this.flapMs = o.flapWindowMs ?? 10 * 60_000;
    this.maxHistory = o.maxHistory ?? 200;
  }

  // Signals and user actions are applied one at a time, so two of them never race on the same alert.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Applies a detector signal; returns the alert it created or changed, or null when it changed nothing. */
  handle(s: Signal): Promise<Alert | null> {
    return this.serial(() => this.apply(s));
  }

  private async apply(s: Signal): Promise<Alert | null> {
    const prev = await this.store.latestFor(s.ruleId, s.deviceId);
    const open = prev && prev.state !== 'resolved' ? prev : null;
    // A signal from before the latest change of this alert is a re-delivery: already accounted for.
    if (prev && s.ts <= prev.lastSeen && (open || (prev.resolvedAt !== undefined && s.ts <= prev.resolvedAt)))
      return null;
    const above = s.value >= s.level;
    const ev = (type: AlertEvent['type']): AlertEvent => ({
      at: s.ts,
      type,
      by: 'system',
      severity: s.severity,
      value: s.value,
    });

    if (s.type === 'fire' || s.type === 'escalate') {
      if (open) {
        // Merged: the condition is the one already alerted (a repeat, or an escalation).
        const rank = (x: string) => SEVERITIES.indexOf(x as (typeof SEVERITIES)[number]);
        const escalated = rank(s.severity) > rank(open.severity);
        open.lastSeen = s.ts;
        open.value = s.value;
        open.level = s.level;
        open.peak = worse(above, open.peak, s.value);
        if (escalated) {
          open.severity = s.severity;
          open.tierLabel = s.tierLabel;
          // A worse situation needs a person again, even if the earlier one was acknowledged.
          open.state = 'firing';
          this.push(open, ev('escalated'));
        }
        return this.save(open);
      }
      if (
        prev &&
        prev.resolvedAt !== undefined &&
        s.ts - prev.resolvedAt <= this.flapMs &&
        prev.history.at(-1)?.by === 'system'
      ) {
        prev.state = 'firing';
        prev.flaps++;
        prev.severity = s.severity;
        prev.tierLabel = s.tierLabel;
        prev.lastSeen = s.ts;
        prev.value = s.value;
        prev.level = s.level;
        prev.peak = worse(above, prev.peak, s.value);
        if (s.expected) prev.expected = s.expected;
        delete prev.resolvedAt;
        this.push(prev, ev('reopened'));
        return this.save(prev);
      }
      // The place as registered when the alert fires: a device moved later does not move its past alerts.
      const place = this.placeOf?.(s.deviceId);
      const a: Alert = {
        id: crypto.randomUUID(),
        ruleId: s.ruleId,
        category: s.category,
        name: s.name,
        standard: s.standard,
        deviceId: s.deviceId,
        district: s.district,
        kind: s.kind,
        metric: s.metric,
        severity: s.severity,
        tierLabel: s.tierLabel,
        state: 'firing',
        firstSeen: s.ts,
        lastSeen: s.ts,
        value: s.value,
        level: s.level,
        peak: s.value,
        ...(s.expected ? { expected: s.expected } : {}),
        ...(place ? { place } : {}),
        caseWorthy: s.caseWorthy,
        caseCode: s.caseCode,
        flaps: 0,
        history: [ev('fired')],
      };
      return this.save(a);
    }
    if (!open) return null; // a clear or de-escalation for an alert already resolved
    open.lastSeen = s.ts;
    if (s.type === 'deescalate') {
      open.severity = s.severity;
      open.tierLabel = s.tierLabel;
      open.value = s.value;
      this.push(open, ev('deescalated'));
    } else {
      open.state = 'resolved';
      open.resolvedAt = s.ts;
      this.push(open, { at: s.ts, type: 'resolved', by: 'system', note: 'condition cleared' });
    }
    return this.save(open);
  }

  private push(a: Alert, e: AlertEvent): void {
    a.history.push(e);
    if (a.history.length > this.maxHistory) {
      const i = a.history.findIndex((h, k) => k > 0 && h.by === 'system');
      a.history.splice(i > 0 ? i : 1, 1);
    }
  }

  private async save(a: Alert): Promise<Alert> {
    await this.store.put(a);
    this.emit('change', a);
    return a;
  }

  /** A person takes the alert on. */
  acknowledge(id: string, by: string, note?: string): Promise<Alert> {
    return this.serial(async () => {
      const a = await this.mustGet(id);
      if (a.state === 'resolved') throw new AlertError('the alert is already resolved', 409);
      if (a.state === 'acknowledged') return a;
      a.state = 'acknowledged';
      this.push(a, { at: Date.now(), type: 'acknowledged', by, note });
      return this.save(a);
    });
  }

  /** A person closes the alert (for example after an on-site check). */
  resolve(id: string, by: string, note?: string): Promise<Alert> {
    return this.serial(async () => {
      const a = await this.mustGet(id);
      if (a.state === 'resolved') return a;
      a.state = 'resolved';
      a.resolvedAt = Math.max(Date.now(), a.lastSeen);
      this.push(a, { at: Date.now(), type: 'resolved', by, note });
      return this.save(a);
    });
  }

  addNote(id: string, by: string, note: string): Promise<Alert> {
    return this.serial(async () => {
      const a = await this.mustGet(id);
      this.push(a, { at: Date.now(), type: 'note', by, note });
      return this.save(a);
    });
  }

  private async mustGet(id: string): Promise<Alert> {
    const a = await this.store.get(id);
    if (!a) throw new AlertError(`no alert ${id}`, 404);
    return a;
  }

  get(id: string): Promise<Alert | null> {
    return this.store.get(id);
  }

  list(q: AlertQuery) {
    return this.store.list(q);
  }

  /** Resolves when every signal handed in so far is applied. */
  async idle(): Promise<void> {
    await this.chain;
  }
}
