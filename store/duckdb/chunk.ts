// Readings into the readings table's rows, written straight into one reused DuckDB data chunk.
//
// The node-api's per-value path (an array per column, then setItem on each vector) cost more than DuckDB's own
// append: a BigInt per row for ts and seq, a validity bit set through BigInt arithmetic per value, and a cache of
// every string before it reaches the vector. Here the numeric columns are filled in typed arrays and copied into the
// chunk's vectors with one native call per column, a BIGINT as two int32 halves (no BigInt at all), kind and metric as
// their ENUM codes (labels.ts); device, district and flag are assigned to their vector as they come; nullable columns
// carry a validity mask of their own.
import duckdb from '@duckdb/node-bindings';
import { BIGINT, DOUBLE, DuckDBDataChunk, ENUM, VARCHAR, type DuckDBAppender } from '@duckdb/node-api';
import type { StoredReading } from '../../contracts/index.js';
import type { Labels } from './labels.js';
const [DEVICE, DISTRICT, KIND, METRIC, TS, SEQ, VALUE, FLAG] = [0, 1, 2, 3, 4, 5, 6, 7];

const CHUNK_ROWS = 2048; // DuckDB's vector size: one data chunk holds at most this many rows
const TWO_32 = 4294967296;
const MASK_BYTES = CHUNK_ROWS / 8;

/** Appends readings as rows (one per metric) through an appender, a chunk of 2,048 rows at a time. */
export class ReadingChunks {
  // One chunk reused for every write: native memory of a chunk is freed only when V8 collects its wrapper, which
  // under load comes late, so fresh chunks per batch made RSS grow by hundreds of MB.
  private readonly chunk: DuckDBDataChunk;
  /** Label -> ENUM code, and the codes of the rows (DuckDB keeps an ENUM of under 256 labels in one byte). */
  readonly kindCodes: ReadonlyMap<string, number>;
  readonly metricCodes: ReadonlyMap<string, number>;
  private readonly kindCode: Uint8Array<ArrayBuffer> | Uint16Array<ArrayBuffer>;
  private readonly metricCode: Uint8Array<ArrayBuffer> | Uint16Array<ArrayBuffer>;
  /** BIGINTs as little-endian int32 pairs (low, high): exact for every safe integer. */
  private readonly ts = new Int32Array(2 * CHUNK_ROWS);
  private readonly seq = new Int32Array(2 * CHUNK_ROWS);
  private readonly value = new Float64Array(CHUNK_ROWS);
  /** Validity of the nullable columns, bit i = row i (DuckDB's uint64 words, little-endian). */
  private readonly seqValid = new Uint8Array(MASK_BYTES);
  private readonly flagValid = new Uint8Array(MASK_BYTES);
  private rows = 0;
  private device!: duckdb.Vector;
  private district!: duckdb.Vector;
  private flag!: duckdb.Vector;

  /** For the readings table whose ENUM columns have these labels (labels.ts). */
  constructor(readonly labels: Labels) {
    this.chunk = DuckDBDataChunk.create(
      [VARCHAR, VARCHAR, ENUM(labels.kind), ENUM(labels.metric), BIGINT, BIGINT, DOUBLE, VARCHAR],
      CHUNK_ROWS,
    );
    const codes = (l: readonly string[]) => new Map(l.map((x, i) => [x, i]));
    const array = (l: readonly string[]) => (l.length < 256 ? new Uint8Array(CHUNK_ROWS) : new Uint16Array(CHUNK_ROWS));
    this.kindCodes = codes(labels.kind);
    this.metricCodes = codes(labels.metric);
    this.kindCode = array(labels.kind);
    this.metricCode = array(labels.metric);
  }

  /**
   * Appends the readings' points through `appender` (which the caller flushes and closes); returns their ts range.
   * A reading whose ts or seq is no integer throws, after the chunks before it were appended.
   */
  append(appender: DuckDBAppender, readings: readonly StoredReading[]): { lo: number; hi: number } {
    let lo = Infinity;
    let hi = -Infinity;
    this.start();
    const { ts, seq, value, seqValid, flagValid, kindCode, metricCode, metricCodes } = this;
    for (const r of readings) {
      const t = r.ts;
      if (!Number.isSafeInteger(t)) throw new RangeError(`reading ts ${t} of ${r.deviceId} is not an integer`);
      if (t < lo) lo = t;
      if (t > hi) hi = t;
      const tLow = t >>> 0;
      const tHigh = Math.floor(t / TWO_32);
      const s = r.seq;
      if (s !== undefined && !Number.isSafeInteger(s))
        throw new RangeError(`reading seq ${s} of ${r.deviceId} is not an integer`);
      const kind = this.kindCodes.get(r.kind);
      if (kind === undefined) throw new Error(`kind "${r.kind}" is not a label of the readings table`);
      const flags = r.flags;
      for (const m in r.metrics) {
        const i = this.rows;
        const metric = metricCodes.get(m);
        if (metric === undefined) throw new Error(`metric "${m}" is not a label of the readings table`);
        duckdb.vector_assign_string_element(this.device, i, r.deviceId);
        duckdb.vector_assign_string_element(this.district, i, r.district);
        kindCode[i] = kind;
        metricCode[i] = metric;
        ts[2 * i] = tLow;
        ts[2 * i + 1] = tHigh;
        if (s !== undefined) {
          seq[2 * i] = s >>> 0;
          seq[2 * i + 1] = Math.floor(s / TWO_32);
          seqValid[i >> 3]! |= 1 << (i & 7);
        }
        value[i] = r.metrics[m]!;
        const f = flags?.[m];
        if (f !== undefined) {
          duckdb.vector_assign_string_element(this.flag, i, f);
          flagValid[i >> 3]! |= 1 << (i & 7);
        }
        if (++this.rows === CHUNK_ROWS) {
          this.emit(appender);
          this.start();
        }
      }
    }
    if (this.rows > 0) this.emit(appender);
    return { lo, hi };
  }

  /** Empties the chunk and takes its string vectors (a reset may hand out new ones). */
  private start(): void {
    const c = this.chunk.chunk;
    duckdb.data_chunk_reset(c);
    this.device = duckdb.data_chunk_get_vector(c, DEVICE);
    this.district = duckdb.data_chunk_get_vector(c, DISTRICT);
    this.flag = duckdb.data_chunk_get_vector(c, FLAG);
    this.seqValid.fill(0);
    this.flagValid.fill(0);
    this.rows = 0;
  }

  private emit(appender: DuckDBAppender): void {
    const n = this.rows;
    const c = this.chunk.chunk;
    duckdb.data_chunk_set_size(c, n);
    duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(c, TS), 0, this.ts.buffer, 0, n * 8);
    duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(c, VALUE), 0, this.value.buffer, 0, n * 8);
    const k = this.kindCode;
    duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(c, KIND), 0, k.buffer, 0, n * k.BYTES_PER_ELEMENT);
    const m = this.metricCode;
    duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(c, METRIC), 0, m.buffer, 0, n * m.BYTES_PER_ELEMENT);
    const maskBytes = Math.ceil(n / 64) * 8;
    const seq = duckdb.data_chunk_get_vector(c, SEQ);
    duckdb.copy_data_to_vector(seq, 0, this.seq.buffer, 0, n * 8);
    duckdb.vector_ensure_validity_writable(seq);
    duckdb.copy_data_to_vector_validity(seq, 0, this.seqValid.buffer, 0, maskBytes);
    duckdb.vector_ensure_validity_writable(this.flag);
    duckdb.copy_data_to_vector_validity(this.flag, 0, this.flagValid.buffer, 0, maskBytes);
    this.rows = 0;
    appender.appendDataChunk(this.chunk);
  }
}
