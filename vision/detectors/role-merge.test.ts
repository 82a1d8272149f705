import { describe, expect, it } from 'vitest';
import { withRoleMerge } from './role-merge.js';
import type { Detection, Detector, RawImage } from './types.js';

const det = (className: string, role: Detection['role'], score: number, box: Detection['box']): Detection => ({
  className,
  classId: 0,
  role,
  score,
  box,
});

function fake(detections: Detection[]): Detector {
  return {
    info: {
      name: 'fake',
      family: 'centernet',
      path: '/x',
      sha256: '0',
      inputWidth: 512,
      inputHeight: 512,
      classNames: [],
      metadata: {},
    },
    detect: async () => ({ detections, timings: { preprocessMs: 1, inferenceMs: 2, postprocessMs: 3 } }),
    close: async () => {},
  };
}
const img: RawImage = { data: Buffer.alloc(3), width: 1, height: 1, channels: 3 };

describe('role-wise merging', () => {
  it('keeps one vehicle where a COCO model saw a car and a truck on the same van, and leaves other roles and apart boxes', async () => {
    const d = withRoleMerge(
      fake([
        det('car', 'vehicle', 0.8, [100, 100, 300, 250]),
        det('truck', 'vehicle', 0.6, [105, 98, 305, 255]),
        det('person', 'person', 0.7, [110, 100, 160, 250]),
        det('car', 'vehicle', 0.5, [400, 100, 600, 250]),
        det('bicycle', null, 0.5, [100, 100, 300, 250]),
      ]),
      0.7,
    );
    const r = await d.detect(img);
    expect(r.detections.map((x) => x.className)).toEqual(['car', 'person', 'car', 'bicycle']);
    expect(r.detections[0]!.box).toEqual([100, 100, 300, 250]);
    expect(r.timings.inferenceMs).toBe(2);
  });

  it('is off at 1', async () => {
    const inner = fake([det('car', 'vehicle', 0.8, [0, 0, 10, 10]), det('truck', 'vehicle', 0.7, [0, 0, 10, 10])]);
    expect(withRoleMerge(inner, 1)).toBe(inner);
  });
});
