// An acknowledged write to InfluxDB's /api/v2/write: writeBodies() resolves once InfluxDB has accepted every body,
// and rejects once its retries are used up, leaving nothing queued behind the caller's back. Ingest acknowledges MQTT
// after the promise, and on a rejection keeps the messages unacknowledged and retries the batch itself.
//
// Bodies are bytes, sent through the client's HTTP transport (its token, timeout and gzip) with the retries here. The
// client's WriteApi takes lines as strings only: each 5,000-line body then lived on V8's heap as a string of about
// 350 KB, and those large objects drove most of ingest's full garbage collections (issue 19). Its retry buffer also
// resent lines in the background, reachable only through hooks; a loop per request says the outcome plainly.
import { HttpError, type InfluxDB, type SendOptions, type Transport } from '@influxdata/influxdb-client';

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
  /**
   * Request bodies larger than this many bytes are gzipped; Infinity: never. Off by default: on loopback and a LAN,
   * compressing costs ingest and InfluxDB more CPU than the bytes cost the network (bench:peer, issue 19); worth it
   * to a remote InfluxDB (INFLUX_GZIP=1).
   */
  gzipThreshold: number;
  /**
   * Requests of one batch in flight at once (each on its own writer). The batch is acknowledged when all of them are
   * written; a failed one fails the batch, which the caller retries whole (InfluxDB's overwrite absorbs the repeats).
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
  gzipThreshold: Number.POSITIVE_INFINITY,
  concurrency: 2,
  timeout: 10_000,
  // As ingest's batches (INGEST_BATCH_DEFAULT): a request less is a WAL entry and sync less for InfluxDB.
  linesPerRequest: 10_000,
  // InfluxDB refuses bodies over --http-max-request-size (10 MB by default, counted after gunzip).
  bytesPerRequest: 4 * 1024 * 1024,
};

/** Where writes report what they cannot throw (pino's signature). */
export interface StoreLogger {
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export class AckedWriter {
  private readonly transport: Transport;
  private readonly path: string;
  private readonly send: SendOptions;
  private chain: Promise<void> = Promise.resolve();
  private closing = false;
  /** Points InfluxDB dropped because they are older than the bucket's retention (see post). */
  droppedOutsideRetention = 0;

  constructor(
    influx: InfluxDB,
    org: string,
    bucket: string,
    precision: 'ms' | 'ns',
    private readonly t: WriteTuning,
    private readonly log?: StoreLogger,
  ) {
    this.transport = influx.transport;
    this.path = `/api/v2/write?${new URLSearchParams({ org, bucket, precision })}`;
    this.send = {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      gzipThreshold: t.gzipThreshold,
    };
  }

  /** Writes request bodies (lines joined by newlines), one request each, after the batches before them. */
  writeBodies(bodies: readonly Uint8Array[]): Promise<void> {
    if (this.closing) return Promise.reject(new Error('InfluxDB store is closed'));
    const next = this.chain.then(async () => {
      // A failed request rejects the whole batch; requests already accepted are simply written again on the
      // caller's retry, which InfluxDB's overwrite makes harmless.
      for (const body of bodies) await this.post(body);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** One body: attempts while retries and time remain and the failure is one that may pass. */
  private async post(body: Uint8Array): Promise<void> {
    const expires = Date.now() + this.t.maxRetryTime;
    for (let attempt = 1; ; attempt++) {
      let error: Error;
      try {
        await this.attempt(body);
        return;
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
      }
      const status = error instanceof HttpError ? error.statusCode : undefined;
      // 422 "outside retention policy": InfluxDB stored the rest of the request and will never take these points (a
      // backlog older than the bucket keeps data). Retrying cannot help and would block ingest for good, so the
      // request counts as written; the drop is counted and logged.
      if (status === 422 && /outside retention policy/.test(error.message)) {
        const dropped = Number(/dropped=(\d+)/.exec(error.message)?.[1] ?? 0);
        this.droppedOutsideRetention += dropped;
        this.log?.warn({ dropped }, 'InfluxDB dropped points older than the bucket retention');
        return;
      }
      const retriable = status === undefined || status === 429 || status >= 500;
      const mayRetry = retriable && attempt <= this.t.maxRetries && !this.closing;
      const delay = this.delay(attempt, error);
      if (mayRetry && Date.now() + delay < expires) {
        this.log?.warn(
          { err: error.message, retryInMs: Math.round(delay) },
          `Write to InfluxDB failed (attempt: ${attempt})`,
        );
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      throw new Error(
        `InfluxDB write failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${error.message}` +
          (status ? ` (HTTP ${status})` : '') +
          (mayRetry ? `; no success within maxRetryTime (${this.t.maxRetryTime} ms)` : ''),
      );
    }
  }

  /** One HTTP request. send() and not request(), which would JSON.stringify a body that is not a string. */
  private attempt(body: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      // The transport copies the body into its request (Buffer.from), so a caller's view may be reused after.
      this.transport.send(this.path, body as unknown as string, this.send, {
        complete: () => resolve(),
        error: (e) => reject(e),
      });
    });
  }

  /**
   * The wait before the next attempt: what InfluxDB asks (Retry-After), or a random point between this attempt's and
   * the next one's exponential delay; plus jitter, so that many ingest processes do not retry in step.
   */
  private delay(attempt: number, error: Error): number {
    const jitter = Math.random() * this.t.retryJitter;
    const asked = error instanceof HttpError ? error.retryAfter() : 0;
    if (asked > 0) return asked * 1000 + jitter;
    const { minRetryDelay: min, maxRetryDelay: max, exponentialBase: base } = this.t;
    const low = Math.min(max, min * base ** (attempt - 1));
    const high = Math.min(max, low * base);
    return low + Math.random() * (high - low) + jitter;
  }

  /** Refuses new batches and waits for the one in progress; a failure from now on is final, not retried. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.chain;
  }
}
