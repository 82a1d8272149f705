// An alert is what a person on duty sees: one per (rule, device) episode, with a lifecycle
// firing → acknowledged → resolved, and a history of who did what when.
import type { DeviceKind, Severity } from '../contracts/index.js';

export type AlertState = 'firing' | 'acknowledged' | 'resolved';

export interface AlertEvent {
  at: number;
  type: 'fired' | 'escalated' | 'deescalated' | 'reopened' | 'acknowledged' | 'resolved' | 'note';
  /** 'system' for automatic changes, else the person. */
  by: string;
  severity?: Severity;
  value?: number;
  note?: string;
}

/** Where the device is, from the device registry (devices/): absent for a device that is not registered. */
export interface AlertPlace {
  /** Unit grid cell (单元网格), 15 digits. */
  gridCell: string;
  location: { lat: number; lon: number };
  address: string;
  site: { name: string; party?: string; contact?: string } | null;
}

export interface Alert {
  id: string;
  ruleId: string;
  /** 'threshold' for rules, 'health' for a broken sensor (so staff can tell them apart), 'anomaly'. */
  category: 'threshold' | 'health' | 'anomaly';
  name: { zh: string; en: string };
  standard: string;
  deviceId: string;
  district: string;
  kind: DeviceKind;
  metric: string;
  severity: Severity;
  tierLabel?: string;
  state: AlertState;
  /** Reading time of the first and the latest signal of this episode. */
  firstSeen: number;
  lastSeen: number;
  value: number;
  level: number;
  /** The worst value seen in this episode. */
  peak: number;
  /** Anomaly alerts: the model that found the value unusual and the band it expected, for the device chart. */
  expected?: { model: string; low?: number; high?: number };
  /** The device's place when the alert fired. */
  place?: AlertPlace;
  caseWorthy: boolean;
  caseCode?: string;
  /** Times this alert came back shortly after it had cleared (merged instead of a new alert). */
  flaps: number;
  resolvedAt?: number;
  history: AlertEvent[];
}

export interface AlertQuery {
  state?: AlertState | 'open';
  kind?: DeviceKind;
  district?: string;
  deviceId?: string;
  limit: number;
}

export interface AlertStore {
  get(id: string): Promise<Alert | null>;
  /** The alert of (rule, device) that is open, or resolved most recently. */
  latestFor(ruleId: string, deviceId: string): Promise<Alert | null>;
  put(alert: Alert): Promise<void>;
  list(q: AlertQuery): Promise<{ items: Alert[]; total: number }>;
  close(): Promise<void>;
}
