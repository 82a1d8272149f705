// Reading what an exporter wrote into an ONNX model: its metadata_props (class names, input size, letterbox).
// onnxruntime-node 1.23 exposes input and output shapes but not the model's custom metadata, so the few bytes we
// need are read straight from the ModelProto with a minimal protobuf reader that skips everything else.
import type { Letterbox } from './config.js';

export class OnnxFormatError extends Error {}

/** ModelProto field numbers (onnx.proto3). */
const MODEL_PRODUCER_NAME = 2;
const MODEL_PRODUCER_VERSION = 3;
const MODEL_METADATA_PROPS = 14;
/** StringStringEntryProto */
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

export interface OnnxModelMeta {
  producerName: string;
  producerVersion: string;
  /** metadata_props in file order; a repeated key keeps the last value, as protobuf maps do. */
  metadata: Record<string, string>;
}

interface Field {
  no: number;
  wire: number;
  /** For wire type 2: the payload's [start, end) in the buffer. */
  start: number;
  end: number;
}

/** Iterates the fields of one protobuf message in buf[from, to), skipping payloads it is not asked for. */
function* fields(buf: Uint8Array, from: number, to: number): Generator<Field> {
  let pos = from;
  const varint = (): number => {
    // Plain arithmetic, not 32-bit bit operations: lengths of big models and int64 fields exceed 2^31.
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= to) throw new OnnxFormatError('truncated varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new OnnxFormatError('varint longer than 10 bytes');
  };
  while (pos < to) {
    const tag = varint();
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    if (no === 0) throw new OnnxFormatError(`field number 0 at byte ${pos}`);
    const start = pos;
    switch (wire) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = varint();
        pos += len;
        if (pos > to) throw new OnnxFormatError(`field ${no} runs past the end (${len} bytes at ${start})`);
        yield { no, wire, start: pos - len, end: pos };
        continue;
      }
      case 5:
        pos += 4;
        break;
      default:
        // 3 and 4 are proto2 groups, which ONNX never uses; anything else is not protobuf.
        throw new OnnxFormatError(`unsupported wire type ${wire} for field ${no} at byte ${start}`);
    }
    if (pos > to) throw new OnnxFormatError(`field ${no} runs past the end`);
    yield { no, wire, start, end: pos };
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(buf: Uint8Array, f: Field): string {
  try {
    return utf8.decode(buf.subarray(f.start, f.end));
  } catch {
    throw new OnnxFormatError(`field ${f.no} is not UTF-8 text`);
  }
}

/** Reads the producer and metadata_props of a serialized ONNX ModelProto. Throws OnnxFormatError if it is not one. */
export function readOnnxMeta(buf: Uint8Array): OnnxModelMeta {
  const out: OnnxModelMeta = { producerName: '', producerVersion: '', metadata: {} };
  let sawGraph = false;
  for (const f of fields(buf, 0, buf.length)) {
    if (f.no === 7 && f.wire === 2) sawGraph = true;
    if (f.wire !== 2) continue;
    if (f.no === MODEL_PRODUCER_NAME) out.producerName = text(buf, f);
    else if (f.no === MODEL_PRODUCER_VERSION) out.producerVersion = text(buf, f);
    else if (f.no === MODEL_METADATA_PROPS) {
      let key: string | undefined;
      let value = '';
      for (const e of fields(buf, f.start, f.end)) {
        if (e.wire !== 2) continue;
        if (e.no === ENTRY_KEY) key = text(buf, e);
        else if (e.no === ENTRY_VALUE) value = text(buf, e);
      }
      if (key !== undefined) out.metadata[key] = value;
    }
  }
  if (!sawGraph) throw new OnnxFormatError('no graph in the file');
  return out;
}

/**
 * Class names from a `names` metadata value. Accepts what exporters write: a Python dict repr as Ultralytics and
 * YOLOv5 do ("{0: 'person', 1: 'bicycle', ...}", double quotes when a name holds an apostrophe), a Python list
 * repr, and the JSON forms of both. Indices must run 0..C-1. Throws Error with the reason otherwise.
 */
export function parseClassNames(src: string): string[] {
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(
      `cannot read class names at character ${pos}: ${why} (in ${JSON.stringify(src.length > 80 ? src.slice(0, 80) + '…' : src)})`,
    );
  };
  const ws = () => {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
  };
  const expect = (c: string) => {
    ws();
    if (src[pos] !== c) fail(`expected "${c}"`);
    pos++;
  };
  const str = (): string => {
    ws();
    const q = src[pos];
    if (q !== "'" && q !== '"') fail('expected a quoted name');
    pos++;
    let s = '';
    for (;;) {
      if (pos >= src.length) fail('unterminated string');
      const c = src[pos++]!;
      if (c === q) return s;
      if (c !== '\\') {
        s += c;
        continue;
      }
      const e = src[pos++];
      const hex = (n: number) => {
        const h = src.slice(pos, pos + n);
        if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) fail('bad escape');
        pos += n;
        return String.fromCodePoint(parseInt(h, 16));
      };
      if (e === 'n') s += '\n';
      else if (e === 't') s += '\t';
      else if (e === 'r') s += '\r';
      else if (e === 'x') s += hex(2);
      else if (e === 'u') s += hex(4);
      else if (e === 'U') s += hex(8);
      else if (e === undefined) fail('unterminated string');
      else s += e; // \\ \' \" and anything else stand for themselves
    }
  };
  const int = (): number => {
    ws();
    let digits: string;
    if (src[pos] === '"' || src[pos] === "'") digits = str();
    else {
      digits = /^\d+/.exec(src.slice(pos))?.[0] ?? '';
      pos += digits.length;
    }
    if (!/^\d+$/.test(digits)) fail('expected a class index');
    return Number(digits);
  };
  // A comma before the closing bracket is allowed, as Python allows it.
  const more = (close: string): boolean => {
    ws();
    if (src[pos] === close) return false;
    if (pos >= src.length) fail(`missing "${close}"`);
    expect(',');
    ws();
    return src[pos] !== close;
  };

  ws();
  let names: string[];
  if (src[pos] === '[') {
    pos++;
    names = [];
    ws();
    if (src[pos] !== ']') {
      do names.push(str());
      while (more(']'));
    }
    expect(']');
  } else if (src[pos] === '{') {
    pos++;
    const byIndex = new Map<number, string>();
    ws();
    if (src[pos] !== '}') {
      do {
        const i = int();
        expect(':');
        if (byIndex.has(i)) fail(`class ${i} appears twice`);
        byIndex.set(i, str());
      } while (more('}'));
    }
    expect('}');
    names = [];
    for (let i = 0; i < byIndex.size; i++) {
      const n = byIndex.get(i);
      if (n === undefined) fail(`class indices must run 0..${byIndex.size - 1}, ${i} is missing`);
      names.push(n!);
    }
  } else {
    return fail('expected a dict {0: ...} or a list [...]');
  }
  ws();
  if (pos !== src.length) fail('unexpected text after the names');
  if (names.length === 0) fail('no class names');
  return names;
}

/** `imgsz` as Ultralytics writes it: "[H, W]" (or one number for a square input). */
export function parseImgsz(src: string): { width: number; height: number } | null {
  const nums = src.match(/\d+/g)?.map(Number) ?? [];
  if (nums.length === 1) return { width: nums[0]!, height: nums[0]! };
  if (nums.length === 2) return { width: nums[1]!, height: nums[0]! };
  return null;
}

/** `letterbox` metadata: "center,114", "top-left,0" (either order; "centre" and "topleft" too). */
export function parseLetterbox(src: string): Letterbox | null {
  let position: Letterbox['position'] | undefined;
  let pad: number | undefined;
  for (const part of src
    .toLowerCase()
    .split(/[,;\s]+/)
    .filter(Boolean)) {
    if (part === 'center' || part === 'centre') position = 'centre';
    else if (part === 'top-left' || part === 'topleft' || part === 'top_left') position = 'top-left';
    else if (/^\d{1,3}$/.test(part) && Number(part) <= 255) pad = Number(part);
    else return null;
  }
  if (position === undefined && pad === undefined) return null;
  return { position: position ?? 'centre', pad: pad ?? 114 };
}
