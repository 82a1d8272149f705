// An acknowledged write on top of the client's WriteApi: write() resolves once InfluxDB has accepted every line and
// rejects once the client's retries are used up, leaving nothing queued in the client. Ingest acknowledges MQTT
// after the promise, and on a rejection keeps the messages unacknowledged and retries the batch itself.
//
// Why a wrapper: how @influxdata/influxdb-client 1.35 really behaves (src/impl/WriteApiImpl.ts, RetryBuffer.ts):
// - flush() rejects on the FIRST failed attempt. A retriable failure (network error, timeout, HTTP 429 or >= 500)
//   has by then put the lines into the client's retry buffer, which resends them in the background with backoff and
//   jitter; their final outcome reaches no promise, only the writeSuccess / writeFailed hooks.
// - writeRecords() sends on its own once batchSize lines or maxBatchBytes are buffered, and swallows the error of
//   that send: a later flush() finds an empty buffer and resolves although those lines were never written.
// - A writeFailed hook that returns a promise takes over: that promise is the outcome and the lines are NOT put
//   into the retry buffer.
// So: one request in flight at a time, batchSize and maxBatchBytes out of reach (only our flush() sends), and the
// outcome taken from the hooks. writeFailed lets the client retry while attempts and time remain and the error is
// retriable; otherwise it rejects the request and returns a rejected promise, so the client keeps none of its lines.
import { HttpError, type InfluxDB, type WriteApi, type WritePrecisionType } from '@influxdata/influxdb-client';

export interface WriteTuning {
  /** Retries after the first failed attempt of a request. */
  maxRetries: number;
  /** First retry delay, ms; later ones grow by exponentialBase up to maxRetryDelay, each randomised. */
  minRetryDelay: number;
  maxRetryDelay: number;
  exponentialBase: number;
  /** Up to this many ms added at random to each delay, so that many ingest processes do not retry in step. */
  retryJitter: number;
  /** No new attempt starts this many ms after the first one. */
  maxRetryTime: number;
  /** Bound of the client's retry buffer. With one request in flight it never holds more than one request. */
  maxBufferLines: number;
  /**
   * Request bodies larger than this many bytes are gzipped; Infinity: never. Off by default: on loopback and a LAN,
   * compressing costs ingest and InfluxDB more CPU than the bytes cost the network (bench:peer, issue 19); worth it
   * to a remote InfluxDB (INFLUX_GZIP=1).
   */
  gzipThreshold: number;
  /**
   * Requests of one batch in flight at once (each on its own client WriteApi). The batch is acknowledged when all of
   * them are written; a failed one fails the batch, which the caller retries whole (InfluxDB's overwrite absorbs the
   * repeats).
   */
  concurrency: number;
  /** HTTP timeout of one attempt, ms. */
  timeout: number;
  /** A batch is sent in requests of at most this many lines and bytes. */
  linesPerRequest: number;
  bytesPerRequest: number;
}

/**
 * Defaults: ride out a blip (a restart, a 503 under load) within a few seconds, then hand the failure back to
 * ingest, whose own retry loop holds the MQTT acknowledgements and whose failing writes turn /readyz red. Retrying
 * longer here would only block the batches behind this one without telling anybody.
 */
export const DEFAULT_WRITE_TUNING: WriteTuning = {
  maxRetries: 3,
  minRetryDelay: 500,
  maxRetryDelay: 4000,
  exponentialBase: 2,
  retryJitter: 250,
  maxRetryTime: 15_000,
  maxBufferLines: 50_000,
  gzipThreshold: Number.POSITIVE_INFINITY,
  concurrency: 2,
  timeout: 10_000,
  linesPerRequest: 5000,
  // InfluxDB refuses bodies over --http-max-request-size (10 MB by default, counted after gunzip).
  bytesPerRequest: 4 * 1024 * 1024,
};

/** Where writes report what they cannot throw (pino's signature). */
export interface StoreLogger {
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

interface InFlight {
  /** The client's array for this request's lines, known from the first hook call. */
  lines?: string[];
  done: boolean;
  resolve(): void;
  reject(e: Error): void;
}

export class AckedWriter {
  private readonly api: WriteApi;
  private chain: Promise<void> = Promise.resolve();
  private inflight: InFlight | null = null;
  private closing = false;
  /** Points InfluxDB dropped because they are older than the bucket's retention (see onFailed). */
  droppedOutsideRetention = 0;

  constructor(
    influx: InfluxDB,
    org: string,
    bucket: string,
    precision: WritePrecisionType,
    private readonly t: WriteTuning,
    private readonly log?: StoreLogger,
  ) {
    this.api = influx.getWriteApi(org, bucket, precision, {
      // Out of reach, so that writeRecords() never sends (and swallows errors) on its own: only flush() sends.
      batchSize: t.linesPerRequest + 1,
      maxBatchBytes: Number.POSITIVE_INFINITY,
      flushInterval: 0,
      gzipThreshold: t.gzipThreshold,
      maxRetries: t.maxRetries,
      minRetryDelay: t.minRetryDelay,
      maxRetryDelay: t.maxRetryDelay,
      exponentialBase: t.exponentialBase,
      retryJitter: t.retryJitter,
      randomRetry: true,
      maxRetryTime: t.maxRetryTime,
      maxBufferLines: t.maxBufferLines,
      writeSuccess: (lines) => this.settle(lines),
      writeFailed: (error, lines, attempt, expires) => this.onFailed(error, lines, attempt, expires),
      writeRetrySkipped: (entry) =>
        this.settle(entry.lines, new Error('InfluxDB write dropped from the client retry buffer (maxBufferLines)')),
    });
  }

  /** Writes the lines; batches go one after another. Resolves once InfluxDB has accepted all of them. */
  write(lines: readonly string[]): Promise<void> {
    const bodies: string[] = [];
    let start = 0;
    while (start < lines.length) {
      let end = start;
      let bytes = 0;
      while (end < lines.length && end - start < this.t.linesPerRequest) {
        const size = Buffer.byteLength(lines[end]!) + 1;
        if (end > start && bytes + size > this.t.bytesPerRequest) break;
        bytes += size;
        end++;
      }
      bodies.push(lines.slice(start, end).join('\n'));
      start = end;
    }
    return this.writeBodies(bodies);
  }

  /** Writes request bodies (lines joined by newlines), one request each, after the batches before them. */
  writeBodies(bodies: readonly string[]): Promise<void> {
    if (this.closing) return Promise.reject(new Error('InfluxDB store is closed'));
    const next = this.chain.then(async () => {
      // A failed request rejects the whole batch; requests already accepted are simply written again on the
      // caller's retry, which InfluxDB's overwrite makes harmless.
      for (const body of bodies) await this.request([body]);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private request(lines: string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const f: InFlight = { done: false, resolve, reject };
      this.inflight = f;
      this.api.writeRecords(lines);
      this.api.flush().then(
        // flush() resolves only when the first attempt succeeded (writeSuccess has already settled it).
        () => this.finish(f),
        // A first failure that the client retries rejects flush() too: then the hooks report the outcome. An error
        // no hook saw (the API closed under us) ends the request here.
        (e: Error) => {
          if (f.lines === undefined) this.finish(f, e);
        },
      );
    }).finally(() => {
      this.inflight = null;
    });
  }

  private onFailed(error: Error, lines: string[], attempt: number, expires: number): Promise<void> | undefined {
    const status = error instanceof HttpError ? error.statusCode : undefined;
    // 422 "outside retention policy": InfluxDB stored the rest of the request and will never take these points (a
    // backlog older than the bucket keeps data). Retrying cannot help and would block ingest for good, so the
    // request counts as written; the drop is counted and logged.
    if (status === 422 && /outside retention policy/.test(error.message)) {
      const dropped = Number(/dropped=(\d+)/.exec(error.message)?.[1] ?? 0);
      this.droppedOutsideRetention += dropped;
      this.log?.warn({ dropped }, 'InfluxDB dropped points older than the bucket retention');
      this.settle(lines);
      return Promise.resolve();
    }
    const retriable = status === undefined || status === 429 || status >= 500;
    if (retriable && attempt <= this.t.maxRetries && Date.now() < expires && !this.closing) {
      this.settle(lines, undefined, true);
      return undefined; // the client puts the lines into its retry buffer and resends them after a delay
    }
    // The client reports an expired maxRetryTime before starting the attempt it counts.
    const expired = error.message === 'Max retry time exceeded.';
    const attempts = expired ? attempt - 1 : attempt;
    const e = new Error(
      `InfluxDB write failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ` +
        (expired ? `no success within maxRetryTime (${this.t.maxRetryTime} ms)` : error.message) +
        (status ? ` (HTTP ${status})` : ''),
    );
    this.settle(lines, e);
    // Returning a promise keeps the client from buffering the lines: a rejected write leaves nothing behind.
    const given = Promise.reject(e);
    given.catch(() => undefined);
    return given;
  }

  /** Reports the outcome of the request in flight; `pending` only ties the lines to it. */
  private settle(lines: string[], error?: Error, pending = false): void {
    const f = this.inflight;
    if (!f || f.done) return;
    if (f.lines === undefined) f.lines = lines;
    else if (f.lines !== lines) return; // not ours; cannot happen with one request in flight
    if (!pending) this.finish(f, error);
  }

  private finish(f: InFlight, error?: Error): void {
    if (f.done) return;
    f.done = true;
    if (error) f.reject(error);
    else f.resolve();
  }

  /**
   * Refuses new batches, waits for the one in progress (a retry already scheduled still runs, a failure after it is
   * final so that stopping does not wait out maxRetryTime), then closes the client.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.chain;
    await this.api.close();
  }
}
