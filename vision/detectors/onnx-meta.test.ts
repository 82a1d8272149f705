import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError, parseClassNames, parseImgsz, parseLetterbox, readOnnxMeta } from './onnx-meta.js';

const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');

// A tiny protobuf writer, enough to build ModelProto bytes by hand.
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const tag = (no: number, wire: number) => varint(no * 8 + wire);
const bytesField = (no: number, b: number[] | Buffer) => [...tag(no, 2), ...varint(b.length), ...b];
const strField = (no: number, s: string) => bytesField(no, Buffer.from(s, 'utf8'));
const entry = (k: string, v: string) => bytesField(14, [...strField(1, k), ...strField(2, v)]);

describe('readOnnxMeta', () => {
  it('reads metadata_props and skips fields of every wire type', () => {
    const buf = Buffer.from([
      ...tag(1, 0),
      ...varint(8), // ir_version
      ...strField(2, 'pytorch'),
      ...strField(3, '2.1'),
      ...tag(5, 0),
      ...varint(2 ** 40 + 3), // model_version: a varint beyond 32 bits
      ...bytesField(8, [...strField(1, ''), ...tag(2, 0), ...varint(17)]), // opset_import
      ...tag(30, 1),
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // an unknown fixed64 field
      ...tag(31, 5),
      1,
      2,
      3,
      4, // an unknown fixed32 field
      ...bytesField(7, Buffer.alloc(300, 0xff)), // graph: opaque, longer than 127 bytes
      ...entry('names', "{0: 'vehicle', 1: 'stall', 2: 'person'}"),
      ...entry('author', '城市管理'),
      ...entry('empty', ''),
    ]);
    const m = readOnnxMeta(buf);
    expect(m.producerName).toBe('pytorch');
    expect(m.producerVersion).toBe('2.1');
    expect(m.metadata).toEqual({ names: "{0: 'vehicle', 1: 'stall', 2: 'person'}", author: '城市管理', empty: '' });
  });

  it('reads what python onnx wrote', () => {
    const m = readOnnxMeta(fs.readFileSync(path.join(testdata, 'yolo-coco-dynamic.onnx')));
    expect(m.producerName).toBe('city-sensing-tests');
    expect(m.metadata.imgsz).toBe('[64, 96]');
    expect(parseClassNames(m.metadata.names!)[60]).toBe('dining table');
  });

  it('refuses what is not a ModelProto', () => {
    expect(() => readOnnxMeta(Buffer.from('hello, this is not a model'))).toThrow(OnnxFormatError);
    expect(() => readOnnxMeta(Buffer.from([...tag(7, 2), ...varint(50), 1, 2, 3]))).toThrow(/runs past the end/);
    expect(() => readOnnxMeta(Buffer.from([...tag(7, 3)]))).toThrow(/wire type 3/);
    expect(() => readOnnxMeta(Buffer.from([...tag(1, 0), 0x80]))).toThrow(/truncated/);
    expect(() => readOnnxMeta(Buffer.from([...tag(1, 0), ...varint(3)]))).toThrow(/no graph/);
  });
});

describe('parseClassNames', () => {
  it('reads the Ultralytics dict repr, names with spaces included', () => {
    expect(parseClassNames("{0: 'person', 1: 'bicycle', 2: 'dining table', 3: 'traffic light'}")).toEqual([
      'person',
      'bicycle',
      'dining table',
      'traffic light',
    ]);
  });

  it('reads our names, lists, JSON, and quotes Python switches to for an apostrophe', () => {
    expect(parseClassNames("{0: 'vehicle', 1: 'stall', 2: 'person'}")).toEqual(['vehicle', 'stall', 'person']);
    expect(parseClassNames("['vehicle', 'stall', 'person']")).toEqual(['vehicle', 'stall', 'person']);
    expect(parseClassNames('{"0": "car", "1": "bus"}')).toEqual(['car', 'bus']);
    expect(parseClassNames('["car", "bus",]')).toEqual(['car', 'bus']);
    expect(parseClassNames(`{0: "driver's cab", 1: 'a \\'quoted\\' one', 2: '摊位'}`)).toEqual([
      "driver's cab",
      "a 'quoted' one",
      '摊位',
    ]);
    expect(parseClassNames("{1: 'b', 0: 'a'}")).toEqual(['a', 'b']);
    expect(parseClassNames("  {\n 0: 'x\\u00e9' ,\n}  ")).toEqual(['xé']);
  });

  it('says why it cannot read a value', () => {
    expect(() => parseClassNames('person, car')).toThrow(/expected a dict/);
    expect(() => parseClassNames("{0: 'a', 2: 'c'}")).toThrow(/1 is missing/);
    expect(() => parseClassNames("{0: 'a', 0: 'b'}")).toThrow(/appears twice/);
    expect(() => parseClassNames("{0: 'a'")).toThrow(/missing "}"/);
    expect(() => parseClassNames("{0: 'a}")).toThrow(/unterminated/);
    expect(() => parseClassNames('{}')).toThrow(/no class names/);
    expect(() => parseClassNames("['a'] extra")).toThrow(/after the names/);
  });
});

describe('imgsz and letterbox metadata', () => {
  it('reads imgsz as [H, W]', () => {
    expect(parseImgsz('[384, 640]')).toEqual({ width: 640, height: 384 });
    expect(parseImgsz('640')).toEqual({ width: 640, height: 640 });
    expect(parseImgsz('auto')).toBeNull();
  });

  it('reads the letterbox convention', () => {
    expect(parseLetterbox('center,114')).toEqual({ position: 'centre', pad: 114 });
    expect(parseLetterbox('top-left, 0')).toEqual({ position: 'top-left', pad: 0 });
    expect(parseLetterbox('0')).toEqual({ position: 'centre', pad: 0 });
    expect(parseLetterbox('stretch')).toBeNull();
    expect(parseLetterbox('center,300')).toBeNull();
  });
});
