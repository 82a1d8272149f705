// The zone checks every camera passes, from the registry file or the console: points inside the frame, polygons whose
// edges do not cross (a "bow tie" clicked in the wrong order), ids used once, for zones and motion masks.
import { describe, expect, it } from 'vitest';
import { selfIntersection, type Point } from '../rules/geometry.js';
import { cameraIssues, CameraRegistrySchema } from './config.js';

const square: Point[] = [
  [100, 100],
  [300, 100],
  [300, 200],
  [100, 200],
];
const bowTie: Point[] = [
  [100, 100],
  [300, 200],
  [300, 100],
  [100, 200],
];

const camera = (zones: unknown[], masks: unknown[] = []) => ({
  id: 'cam-1',
  district: 'xinhua',
  gridCell: '320582008024372',
  location: { lat: 31.5, lon: 120.1 },
  postedLocation: '文化路390号北侧',
  width: 640,
  height: 360,
  zones,
  masks,
});

describe('selfIntersection', () => {
  it('finds crossing edges and accepts simple polygons, convex or not', () => {
    expect(selfIntersection(square)).toBeNull();
    expect(
      selfIntersection([
        [0, 0],
        [50, 0],
        [50, 50],
        [100, 50],
        [100, 100],
        [0, 100],
      ]),
    ).toBeNull();
    expect(
      selfIntersection([
        [0, 0],
        [10, 0],
        [5, 8],
      ]),
    ).toBeNull();
    expect(selfIntersection(bowTie)).toEqual([0, 2]);
    // A point on another edge (touching) counts: the area is pinched into two.
    expect(
      selfIntersection([
        [0, 0],
        [100, 0],
        [100, 100],
        [50, 0],
        [0, 100],
      ]),
    ).not.toBeNull();
    // Collinear overlap of two non-neighbouring edges.
    expect(
      selfIntersection([
        [0, 0],
        [100, 0],
        [100, 50],
        [60, 0],
        [40, 0],
        [0, 50],
      ]),
    ).not.toBeNull();
  });
});

describe('cameraIssues', () => {
  it('names a self-intersecting no-parking polygon, sidewalk or mask with its edges', () => {
    const c = CameraRegistrySchema.shape.cameras.element.parse(
      camera(
        [
          { type: 'no-parking', id: 'np-1', name: '禁停区', polygon: bowTie },
          {
            type: 'storefront',
            id: 'sf-1',
            name: '门前',
            storeLine: [
              [0, 50],
              [200, 50],
            ],
            sidewalk: bowTie,
          },
        ],
        [{ id: 'm-1', polygon: bowTie }],
      ),
    );
    const issues = cameraIssues(c);
    expect(issues.map((i) => i.path)).toEqual([
      ['zones', 0, 'polygon'],
      ['zones', 1, 'sidewalk'],
      ['masks', 0, 'polygon'],
    ]);
    expect(issues[0]!.message).toBe(
      "the polygon's edges 1 and 3 cross each other: draw its points in order around the area",
    );
  });

  it('names points outside the frame, a store line too, and ids used twice across zones and masks', () => {
    const c = CameraRegistrySchema.shape.cameras.element.parse(
      camera(
        [
          {
            type: 'no-parking',
            id: 'np-1',
            name: '禁停区',
            polygon: [
              [100, 100],
              [700, 100],
              [300, 200],
            ],
          },
          {
            type: 'storefront',
            id: 'sf-1',
            name: '门前',
            storeLine: [
              [0, 50],
              [200, 400],
            ],
            sidewalk: square,
          },
        ],
        [{ id: 'np-1', polygon: square }],
      ),
    );
    expect(cameraIssues(c)).toEqual([
      { path: ['zones', 0, 'polygon'], message: 'point 700,100 lies outside the 640x360 frame' },
      { path: ['zones', 1, 'storeLine'], message: 'point 200,400 lies outside the 640x360 frame' },
      { path: ['masks', 0, 'id'], message: 'mask id "np-1" is used twice' },
    ]);
  });

  it('makes the registry file refuse a bow-tie zone, naming the camera and the zone', () => {
    const r = CameraRegistrySchema.safeParse({
      cameras: [camera([{ type: 'no-parking', id: 'np-1', name: '禁停区', polygon: bowTie }])],
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'cameras.0.zones.0.polygon',
        "the polygon's edges 1 and 3 cross each other: draw its points in order around the area",
      ],
    ]);
  });

  it('accepts simple zones inside the frame', () => {
    const c = CameraRegistrySchema.shape.cameras.element.parse(
      camera(
        [{ type: 'no-parking', id: 'np-1', name: '禁停区', polygon: square }],
        [
          {
            id: 'm-1',
            polygon: [
              [0, 0],
              [640, 0],
              [640, 30],
            ],
          },
        ],
      ),
    );
    expect(cameraIssues(c)).toEqual([]);
  });
});
