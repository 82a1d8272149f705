// The committed detector honours the contract the vision runtime relies on: one input "images" [1,3,H,W], one
// output [1, 4 + C, N] laid out like an Ultralytics YOLOv8 export, Ultralytics-style metadata, < 15 MB, and a
// training report that agrees with the file.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODEL = path.join(here, 'city-detector.onnx');
const REPORT = path.join(here, 'report.json');

function varint(buf: Buffer, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
}

/** ModelProto.metadata_props (field 14: StringStringEntryProto {1: key, 2: value}), read straight off the bytes. */
function onnxMetadata(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < buf.length) {
    let key: number;
    [key, pos] = varint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) [, pos] = varint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len: number;
      [len, pos] = varint(buf, pos);
      if (field === 14) {
        const entry = buf.subarray(pos, pos + len);
        const kv: string[] = [];
        for (let p = 0; p < entry.length;) {
          let k: number;
          let l: number;
          [k, p] = varint(entry, p);
          [l, p] = varint(entry, p);
          kv[(k >> 3) - 1] = entry.subarray(p, p + l).toString('utf8');
          p += l;
        }
        out[kv[0] ?? ''] = kv[1] ?? '';
      }
      pos += len;
    } else throw new Error(`unexpected wire type ${wire} in ModelProto`);
  }
  return out;
}

describe('vision/model/city-detector.onnx', () => {
  const bytes = fs.readFileSync(MODEL);
  const meta = onnxMetadata(bytes);

  it('is small enough to commit and carries Ultralytics-style metadata', () => {
    expect(bytes.length).toBeLessThan(15 * 1024 * 1024);
    expect(meta.names).toBe("{0: 'vehicle', 1: 'stall', 2: 'person'}");
    expect(meta.task).toBe('detect');
    expect(meta.stride).toBe('32');
    expect(meta.letterbox).toBe('center,114');
    expect(meta.normalize).toBe('0..1');
    expect(meta.imgsz).toMatch(/^\[\d+, \d+\]$/);
    for (const k of ['description', 'author', 'version', 'license', 'source']) expect(meta[k]).toBeTruthy();
  });

  it('takes one letterboxed RGB frame and gives [1, 4 + C, N] with sigmoid scores, nothing on a blank frame', async () => {
    const [h, w] = JSON.parse(meta.imgsz!) as [number, number];
    const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    try {
      expect(session.inputNames).toEqual(['images']);
      expect(session.outputNames).toHaveLength(1);
      // A frame of pure padding (114): the detector must not see objects in it.
      const x = new ort.Tensor('float32', new Float32Array(3 * h * w).fill(114 / 255), [1, 3, h, w]);
      const y = (await session.run({ images: x }))[session.outputNames[0]!]!;
      const n = [8, 16, 32].reduce((s, st) => s + (h / st) * (w / st), 0);
      expect(y.dims).toEqual([1, 7, n]);
      const d = y.data as Float32Array;
      let maxScore = 0;
      for (let row = 4; row < 7; row++) {
        for (let i = 0; i < n; i++) {
          const s = d[row * n + i]!;
          expect(s >= 0 && s <= 1).toBe(true);
          maxScore = Math.max(maxScore, s);
        }
      }
      expect(maxScore).toBeLessThan(0.25);
      for (let i = 0; i < 4 * n; i++) expect(Number.isFinite(d[i]!)).toBe(true);
    } finally {
      await session.release();
    }
  });

  it('has a training report that matches the file', () => {
    const report = JSON.parse(fs.readFileSync(REPORT, 'utf8'));
    expect(report.model.bytes).toBe(bytes.length);
    expect(report.model.names).toEqual(['vehicle', 'stall', 'person']);
    expect(`[${report.model.input.shape[2]}, ${report.model.input.shape[3]}]`).toBe(meta.imgsz);
    expect(meta.val_map50).toBe(report.val.map50.toFixed(4));
    expect(report.dataset.train_images).toBeGreaterThan(0);
    expect(report.onnx.vs_pytorch['frames_with_different_detections_at_conf_0.25']).toBe(0);
    expect(report.onnx.problems).toEqual([]);
  });
});
