// Per-role score thresholds: the model decodes at the lowest, each detection must reach its role's own.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config.js';
import { parseModelConfig } from './config.js';
import { decodeThreshold, reachesThreshold, roleThresholdsOf, RoleThresholdDetector } from './role-threshold.js';
import type { Detection, Detector, RawImage } from './types.js';

const det = (className: string, role: Detection['role'], score: number): Detection => ({
  className,
  classId: 0,
  role,
  score,
  box: [0, 0, 1, 1],
});
const img: RawImage = { data: Buffer.alloc(3), width: 1, height: 1, channels: 3 };
function fake(detections: Detection[]): Detector & { closed: boolean } {
  return {
    closed: false,
    info: {
      name: 'fake',
      family: 'yolo',
      path: '/x',
      sha256: '0',
      inputWidth: 640,
      inputHeight: 640,
      classNames: [],
      metadata: {},
    },
    detect: async () => ({ detections, timings: { preprocessMs: 1, inferenceMs: 2, postprocessMs: 3 } }),
    async close() {
      this.closed = true;
    },
  };
}
const model = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'yolo-v8.onnx');

describe('per-role score thresholds', () => {
  it('decode at the lowest of the model threshold and the roles', () => {
    expect(decodeThreshold(0.25, undefined)).toBe(0.25);
    expect(decodeThreshold(0.25, { vehicle: 0.3, person: 0.15 })).toBe(0.15);
    expect(decodeThreshold(0.25, { vehicle: 0.4 })).toBe(0.25);
  });

  it("hold each detection to its role's threshold, the model's for other roles and for classes without one", () => {
    const roles = { vehicle: 0.3, 'two-wheeler': 0.15, person: 0.15 };
    const keep = (d: Detection) => reachesThreshold(d, 0.25, roles);
    expect(keep(det('car', 'vehicle', 0.29))).toBe(false);
    expect(keep(det('car', 'vehicle', 0.3))).toBe(true);
    expect(keep(det('motorcycle', 'two-wheeler', 0.16))).toBe(true);
    expect(keep(det('person', 'person', 0.14))).toBe(false);
    expect(keep(det('umbrella', 'stall', 0.2))).toBe(false);
    expect(keep(det('umbrella', 'stall', 0.25))).toBe(true);
    expect(keep(det('dog', null, 0.24))).toBe(false);
  });

  it('filter what the inner detector found, keeping its timings and passing close() on', async () => {
    const inner = fake([
      det('car', 'vehicle', 0.9),
      det('car', 'vehicle', 0.2),
      det('person', 'person', 0.2),
      det('chair', 'stall', 0.2),
    ]);
    const d = new RoleThresholdDetector(inner, 0.25, { vehicle: 0.3, person: 0.15 });
    const r = await d.detect(img);
    expect(r.detections.map((x) => [x.className, x.score])).toEqual([
      ['car', 0.9],
      ['person', 0.2],
    ]);
    expect(r.timings).toEqual({ preprocessMs: 1, inferenceMs: 2, postprocessMs: 3 });
    await d.close();
    expect(inner.closed).toBe(true);
  });

  it('open the model at the lowest threshold, and wrap only a model that sets them', () => {
    const plain = parseModelConfig({ name: 'm', family: 'yolo', path: model, scoreThreshold: 0.25 });
    const inner = fake([]);
    expect(roleThresholdsOf(plain).decode.scoreThreshold).toBe(0.25);
    expect(roleThresholdsOf(plain).wrap(inner)).toBe(inner);
    const fixed = parseModelConfig({
      name: 'm',
      family: 'yolo',
      path: model,
      scoreThreshold: 0.25,
      roleScoreThresholds: { vehicle: 0.3, 'two-wheeler': 0.15 },
    });
    expect(roleThresholdsOf(fixed).decode.scoreThreshold).toBe(0.15);
    expect(roleThresholdsOf(fixed).wrap(inner)).toBeInstanceOf(RoleThresholdDetector);
  });

  it('are validated with the model config, naming the field', () => {
    const bad = (roleScoreThresholds: unknown) => () =>
      parseModelConfig({ name: 'm', family: 'yolo', path: model, roleScoreThresholds });
    expect(bad({ car: 0.3 })).toThrow(ConfigError);
    expect(bad({ car: 0.3 })).toThrow(/roleScoreThresholds/);
    expect(bad({ person: 1.5 })).toThrow(/roleScoreThresholds\.person/);
  });
});
