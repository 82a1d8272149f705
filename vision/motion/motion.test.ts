// The motion stage on crafted frames (testdata/scenes.ts): nothing changes → the detector is skipped; a moving block →
// an area at its place; a changing timestamp under a mask → nothing; the whole picture brighter → nothing, while a
// different picture → the whole frame; standing tracks looked at again every reverifyS, the whole frame every
// wholeFrameS. And the mosaic and the held detections the worker builds from the gate's plan.
import { describe, expect, it } from 'vitest';
import type { Box } from '../../contracts/events.js';
import type { Detection } from '../detectors/types.js';
import type { Track } from '../track/tracker.js';
import { MotionGatingSchema, type MotionGatingInput } from './config.js';
import { MotionGate, type GatePlan } from './gate.js';
import { heldDetections } from './held.js';
import { drawMosaic, placeAreas, unpackDetections } from './mosaic.js';
import { sceneJpeg, type Block } from './testdata/scenes.js';

const W = 640;
const H = 360;
const T0 = Date.parse('2026-06-01T10:00:00+08:00');

function gate(masks: [number, number][][] = [], o: MotionGatingInput = {}) {
  return new MotionGate(
    { width: W, height: H, masks: masks.map((polygon, i) => ({ id: `m-${i}`, polygon })) },
    MotionGatingSchema.parse(o),
  );
}

/** Runs frames one a second through the gate, telling it what the worker would (a whole frame was detected). */
async function plans(g: MotionGate, frames: Buffer[], tracks: Track[] = []): Promise<GatePlan[]> {
  const out: GatePlan[] = [];
  for (const [i, f] of frames.entries()) {
    const ts = T0 + i * 1000;
    const p = await g.plan(f, ts, tracks, true);
    if (p.kind === 'full') g.verified(ts);
    if (p.kind === 'regions' && p.reverify) g.reverified(ts);
    out.push(p);
  }
  return out;
}

const contains = (a: Box, b: Box) => a[0] <= b[0] && a[1] <= b[1] && a[2] >= b[2] && a[3] >= b[3];
const boxOf = (b: Block): Box => [b.x, b.y, b.x + b.w, b.y + b.h];

function track(box: Box, over: Partial<Track> = {}): Track {
  return {
    id: 1,
    role: 'vehicle',
    className: 'car',
    box,
    score: 0.8,
    scoreMean: 0.8,
    hits: 5,
    firstSeen: T0,
    lastSeen: T0,
    state: 'confirmed',
    matched: true,
    ...over,
  };
}

describe('motion gate', () => {
  it('skips the detector when nothing changes, after detecting the first frame whole', async () => {
    const still = await sceneJpeg();
    const ps = await plans(
      gate(),
      Array.from({ length: 6 }, () => still),
    );
    expect(ps[0]).toMatchObject({ kind: 'full', reason: 'first' });
    expect(ps.slice(1).map((p) => p.kind)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
  });

  it('gives an area at the place of a moving block, not the whole frame', async () => {
    const at = (i: number): Block => ({ x: 80 + 40 * i, y: 200, w: 60, h: 40, grey: 230 });
    const frames = await Promise.all([0, 1, 2, 3, 4].map((i) => sceneJpeg({ blocks: [at(i)] })));
    const ps = await plans(gate(), frames);
    for (const i of [1, 2, 3, 4]) {
      const p = ps[i]!;
      expect(p.kind).toBe('regions');
      if (p.kind !== 'regions') continue;
      expect(p.areas).toHaveLength(1);
      const a = p.areas[0]!;
      expect(contains(a, boxOf(at(i)))).toBe(true);
      // Around the block, not around the frame.
      expect(a[2] - a[0]).toBeLessThan(3 * 60);
      expect(a[3] - a[1]).toBeLessThan(3 * 40);
    }
  });

  it('sees a block that stood still for a while leave, at its old place', async () => {
    const parked: Block = { x: 300, y: 220, w: 80, h: 50, grey: 30 };
    const frames = [
      ...(await Promise.all(Array.from({ length: 8 }, () => sceneJpeg({ blocks: [parked] })))),
      await sceneJpeg(),
    ];
    const ps = await plans(gate(), frames);
    expect(ps.slice(1, 8).every((p) => p.kind === 'skipped')).toBe(true);
    const gone = ps[8]!;
    expect(gone.kind).toBe('regions');
    if (gone.kind === 'regions') expect(gone.areas.some((a) => contains(a, boxOf(parked)))).toBe(true);
  });

  it('ignores a burnt-in timestamp that changes every frame under a mask, and sees it without the mask', async () => {
    // Digits as blocks of changing brightness in the top-left corner.
    const stamp = (i: number): Block[] =>
      [0, 1, 2, 3, 4, 5].map((k) => ({ x: 12 + 16 * k, y: 10, w: 12, h: 18, grey: (i * 37 + k * 91) % 2 ? 250 : 20 }));
    const frames = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => sceneJpeg({ blocks: stamp(i) })));
    const masked = await plans(
      gate([
        [
          [0, 0],
          [120, 0],
          [120, 36],
          [0, 36],
        ],
      ]),
      frames,
    );
    expect(masked.slice(1).map((p) => p.kind)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    const open = await plans(gate(), frames);
    expect(open.slice(1).some((p) => p.kind === 'regions')).toBe(true);
  });

  it('takes a brightness change of the whole picture for no motion, and a different picture for a whole frame', async () => {
    const base = await sceneJpeg();
    const frames = [
      base,
      await sceneJpeg({ gain: 1.25, offset: 8 }),
      await sceneJpeg({ gain: 1.25, offset: 8 }),
      await sceneJpeg({ gain: 0.7 }),
    ];
    const ps = await plans(gate(), frames);
    expect(ps.slice(1).map((p) => p.kind)).toEqual(['skipped', 'skipped', 'skipped']);
    // The camera turned: most of the picture is another.
    const moved = await sceneJpeg({ blocks: [{ x: 0, y: 0, w: 560, h: 300, grey: 235 }] });
    const g = gate();
    await plans(g, [base]);
    expect(await g.plan(moved, T0 + 5000, [], true)).toMatchObject({ kind: 'full', reason: 'global' });
  });

  it('looks at standing tracks again every reverifyS without motion, and at the whole frame every wholeFrameS', async () => {
    const still = await sceneJpeg();
    const parked = track([300, 200, 400, 260]);
    const g = gate([], { reverifyS: 10, wholeFrameS: 30 });
    const ps = await plans(
      g,
      Array.from({ length: 41 }, () => still),
      [parked],
    );
    const looked = ps.map((p, i) => [i, p.kind] as const).filter(([, k]) => k !== 'skipped');
    expect(looked).toEqual([
      [0, 'full'],
      [10, 'regions'],
      [20, 'regions'],
      [30, 'full'],
      [40, 'regions'],
    ]);
    const p10 = ps[10]!;
    expect(p10.kind === 'regions' && p10.reverify && p10.areas.some((a) => contains(a, parked.box))).toBe(true);
  });

  it('counts only motion near the zones: a car driving by in a far lane is skipped, one in the zone is looked at', async () => {
    const zone = {
      type: 'no-parking' as const,
      id: 'np-1',
      name: 'z',
      polygon: [
        [300, 250],
        [600, 250],
        [600, 340],
        [300, 340],
      ] as [number, number][],
      windows: [{ from: '00:00', to: '24:00' }],
      dwellS: 60,
      roles: ['vehicle' as const],
    };
    const g = new MotionGate({ width: W, height: H, masks: [], zones: [zone] }, MotionGatingSchema.parse({}));
    const far = (i: number): Block => ({ x: 40 + 60 * i, y: 60, w: 60, h: 30, grey: 230 });
    const near = (i: number): Block => ({ x: 320 + 30 * i, y: 270, w: 60, h: 40, grey: 20 });
    const frames = await Promise.all([0, 1, 2, 3].map((i) => sceneJpeg({ blocks: [far(i)] })));
    frames.push(...(await Promise.all([0, 1, 2].map((i) => sceneJpeg({ blocks: [far(4 + i), near(i)] })))));
    const ps = await plans(g, frames);
    expect(ps.slice(1, 4).map((p) => p.kind)).toEqual(['skipped', 'skipped', 'skipped']);
    for (const [k, p] of ps.slice(5).entries()) {
      expect(p.kind).toBe('regions');
      if (p.kind === 'regions') expect(p.areas.map((a) => contains(a, boxOf(near(k + 1))))).toEqual([true]);
    }
  });

  it('refuses settings that are not usable, naming them', () => {
    expect(() => MotionGatingSchema.parse({ regionInputs: [100] })).toThrow(/multiples of 32/);
    expect(() => MotionGatingSchema.parse({ reverifyS: 0 })).toThrow();
    expect(() => MotionGatingSchema.parse({ treshold: 10 })).toThrow(/treshold/);
  });
});

describe('mosaic', () => {
  const img = { data: Buffer.alloc(W * H * 3, 50), width: W, height: H, channels: 3 as const };
  const det = (box: Box): Detection => ({ box, score: 0.9, classId: 2, className: 'car', role: 'vehicle' });

  it('places areas side by side and maps boxes back to the frame; a box cut by its area is dropped', () => {
    const areas: Box[] = [
      [100, 100, 200, 180],
      [400, 50, 460, 150],
    ];
    const layout = placeAreas(areas, 256, 8, 1);
    expect(layout).toHaveLength(1);
    const m = drawMosaic(img, layout![0]!, 256);
    const tall = m.placements.find((p) => p.src[0] === 400)!;
    const wide = m.placements.find((p) => p.src[0] === 100)!;
    const back = unpackDetections(
      [det([tall.x + 10, tall.y + 20, tall.x + 50, tall.y + 90]), det([wide.x, wide.y + 10, wide.x + 40, wide.y + 60])],
      m,
      W,
      H,
    );
    // The first lies inside its area; the second touches the area's left edge, which is not the frame's: cut, dropped.
    expect(back.map((d) => d.box)).toEqual([[410, 70, 450, 140]]);
  });

  it('needs a larger size, or more mosaics, when the areas do not fit', () => {
    expect(placeAreas([[0, 0, 300, 100]], 256, 8, 4)).toBeNull();
    expect(
      placeAreas(
        [
          [0, 0, 200, 200],
          [300, 0, 500, 200],
        ],
        256,
        8,
        1,
      ),
    ).toBeNull();
    expect(
      placeAreas(
        [
          [0, 0, 200, 200],
          [300, 0, 500, 200],
        ],
        256,
        8,
        2,
      ),
    ).toHaveLength(2);
  });
});

describe('held detections', () => {
  it('hold confirmed tracks seen last frame that no looked-at area holds whole and no detection overlaps', () => {
    const tracks = [
      track([10, 10, 50, 40], { id: 1 }),
      track([100, 100, 150, 140], { id: 2 }),
      track([200, 200, 250, 240], { id: 3, state: 'lost', matched: false }),
      track([300, 300, 350, 340], { id: 4, state: 'tentative' }),
      track([400, 10, 450, 50], { id: 5 }),
    ];
    const looked: Box[] = [
      [90, 90, 160, 150],
      [30, 0, 80, 60],
    ]; // holds 2 whole; grazes 1
    const found = [
      { box: [402, 12, 452, 52] as Box, score: 0.7, classId: 2, className: 'car', role: 'vehicle' as const },
    ];
    expect(heldDetections(tracks, looked, found).map((d) => d.box)).toEqual([[10, 10, 50, 40]]);
  });
});
