import { describe, expect, it } from 'vitest';
import {
  bottomCentre,
  centre,
  distance,
  iou,
  pointInPolygon,
  polygonCentroid,
  sideOfPolyline,
  type Point,
} from './geometry.js';

describe('geometry', () => {
  it('computes IoU', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150);
    expect(iou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0); // touching
    expect(iou([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
    expect(iou([0, 0, 0, 10], [0, 0, 0, 10])).toBe(0); // no area
  });

  it('finds the centre, the ground point and distances', () => {
    expect(centre([10, 20, 30, 60])).toEqual([20, 40]);
    expect(bottomCentre([10, 20, 30, 60])).toEqual([20, 60]);
    expect(distance([0, 0], [3, 4])).toBe(5);
  });

  it('tells points inside a polygon, convex or not', () => {
    const square: Point[] = [
      [0, 0],
      [100, 0],
      [100, 100],
      [0, 100],
    ];
    expect(pointInPolygon([50, 50], square)).toBe(true);
    expect(pointInPolygon([150, 50], square)).toBe(false);
    // An L shape: the notch at the top right is outside.
    const l: Point[] = [
      [0, 0],
      [50, 0],
      [50, 50],
      [100, 50],
      [100, 100],
      [0, 100],
    ];
    expect(pointInPolygon([25, 25], l)).toBe(true);
    expect(pointInPolygon([75, 25], l)).toBe(false);
    expect(pointInPolygon([75, 75], l)).toBe(true);
  });

  it('finds the area centroid', () => {
    expect(
      polygonCentroid([
        [0, 0],
        [10, 0],
        [10, 10],
        [0, 10],
      ]),
    ).toEqual([5, 5]);
    // Clockwise order gives the same point.
    expect(
      polygonCentroid([
        [0, 0],
        [0, 10],
        [10, 10],
        [10, 0],
      ]),
    ).toEqual([5, 5]);
    expect(
      polygonCentroid([
        [0, 0],
        [10, 0],
        [20, 0],
      ]),
    ).toEqual([10, 0]); // degenerate
  });

  it('tells the side of a straight line, extended past its ends', () => {
    const line: Point[] = [
      [0, 100],
      [200, 100],
    ];
    const below = sideOfPolyline([100, 150], line);
    expect(below).not.toBe(0);
    expect(sideOfPolyline([100, 50], line)).toBe(-below);
    expect(sideOfPolyline([-500, 150], line)).toBe(below);
    expect(sideOfPolyline([900, 101], line)).toBe(below);
    expect(sideOfPolyline([50, 100], line)).toBe(0);
  });

  it('tells the side of a bent line at its corners from the nearest part of the line', () => {
    // A corner shop: its front runs along y=100 from x=0 to 200, then down to y=300. The shop is inside the
    // corner (below the first part, left of the second); the street goes round it (above and to the right).
    const line: Point[] = [
      [0, 100],
      [200, 100],
      [200, 300],
    ];
    const street = sideOfPolyline([100, 50], line);
    expect(street).not.toBe(0);
    expect(sideOfPolyline([300, 200], line)).toBe(street); // right of the vertical part
    expect(sideOfPolyline([250, 50], line)).toBe(street); // beyond the corner: outside
    expect(sideOfPolyline([100, 150], line)).toBe(-street); // the inside of the corner
    expect(sideOfPolyline([150, 250], line)).toBe(-street);
    // Repeated points do not make a line without sides.
    expect(
      sideOfPolyline(
        [100, 50],
        [
          [0, 100],
          [0, 100],
          [200, 100],
        ],
      ),
    ).toBe(
      sideOfPolyline(
        [100, 50],
        [
          [0, 100],
          [200, 100],
        ],
      ),
    );
    expect(() =>
      sideOfPolyline(
        [0, 0],
        [
          [1, 1],
          [1, 1],
        ],
      ),
    ).toThrow(/two distinct points/);
  });
});
