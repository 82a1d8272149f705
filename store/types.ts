// The storage interface that ingest writes to and the API reads from. One small surface so that the embedded
// DuckDB store and the production InfluxDB store are interchangeable and pass the same contract tests.
import type { DeadLetter, StoredReading } from '../contracts/index.js';

export interface ReadingQuery {
  deviceId: string;
  /** Only this metric; all metrics of the device when absent. */
  metric?: string;
  /** Inclusive lower bound, epoch ms. */
  from?: number;
  /** Exclusive upper bound, epoch ms. */
  to?: number;
  /** At most this many readings (newest first are dropped: results are in time order from `from`). */
  limit: number;
}

export interface ReadingRow {
  ts: number;
  metrics: Record<string, number>;
  /** Data flags other than N, per metric (see contracts ReadingSchema.flags). */
  flags?: Record<string, string>;
}

export interface ReadingStore {
  /**
   * Stores readings. Resolves only once they are durable: callers acknowledge the source after this.
   * Idempotent: the same (device, metric, ts) written twice is one point.
   */
  write(readings: readonly StoredReading[]): Promise<void>;
  /**
   * Optional: a batch that encodes readings as they are added, for a writer that collects them over time (ingest).
   * It then holds the batch's bytes rather than its reading objects while the batch waits for its write: objects that
   * live through several scavenges were a third of ingest's CPU (issue 19). Without it, collect and write().
   */
  batch?(): ReadingBatch;
  query(q: ReadingQuery): Promise<{ readings: ReadingRow[]; total: number }>;
  /** Number of distinct points (device, metric, ts), optionally for one device. */
  countPoints(deviceId?: string): Promise<number>;
  close(): Promise<void>;
}

/** Readings added over time and written together; see ReadingStore.batch. */
export interface ReadingBatch {
  add(readings: readonly StoredReading[]): void;
  /** Resolves once everything added is durable, like ReadingStore.write; may be called again after a failure. */
  write(): Promise<void>;
}

export interface DeadLetterStore {
  /** Resolves once durable, like ReadingStore.write. */
  add(items: readonly DeadLetter[]): Promise<void>;
  list(limit: number): Promise<{ items: DeadLetter[]; total: number }>;
}

/** How long and how much of the dead letters is kept (DEAD_LETTER_MAX_AGE_DAYS, DEAD_LETTER_MAX_MB). */
export interface DeadLetterRetention {
  /** Dead letters received before this (epoch ms) are deleted. */
  before: number;
  /** Then the oldest are deleted until the payloads kept total at most this many bytes. */
  maxBytes: number;
}

export interface Store extends ReadingStore, DeadLetterStore {
  /** A short name for logs and /readyz. */
  readonly name: string;
  /** True while the store answers; /readyz reports it. */
  ping(): Promise<boolean>;
  /** Applies the dead letters' retention; says how many were deleted and their payload bytes. */
  pruneDeadLetters(r: DeadLetterRetention): Promise<{ deleted: number; bytes: number }>;
}

/** One 15-minute bucket of a device's readings: `metrics` holds the means, beside them the extremes and counts. */
export interface AggregateRow extends ReadingRow {
  max: Record<string, number>;
  min: Record<string, number>;
  /** Raw readings in the bucket, per metric. */
  count: Record<string, number>;
  /** For dB levels (metric *_db): the energy average, 10·log10(mean(10^(L/10))), as the noise rules judge it. */
  leq?: Record<string, number>;
}

/** The readings' retention (operations/retention/): 15-minute aggregates written before raw readings are deleted. */
export interface ReadingAggregates {
  /** Recomputes the aggregates of [from, to) from the raw readings (whole buckets); returns the buckets written. */
  downsample(from: number, to: number): Promise<number>;
  /** The oldest raw reading kept, epoch ms; null when there is none. */
  oldestReading(): Promise<number | null>;
  /** Deletes raw readings before `before` (a bucket boundary); returns how many points. */
  pruneReadings(before: number): Promise<number>;
  /** Deletes aggregates of buckets before `before`; returns how many. */
  pruneAggregates(before: number): Promise<number>;
  queryAggregates(q: ReadingQuery): Promise<{ readings: AggregateRow[]; total: number }>;
}

/** The store's 15-minute aggregates, or null when it keeps none. */
export function aggregatesOf(store: object): ReadingAggregates | null {
  return (store as { aggregates?: ReadingAggregates }).aggregates ?? null;
}
