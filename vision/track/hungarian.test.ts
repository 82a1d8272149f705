import { describe, expect, it } from 'vitest';
import { assign } from './hungarian.js';

/** Smallest total cost over all assignments of min(rows, cols) pairs, by trying them all. */
function bruteForce(cost: number[][]): number {
  const rows = cost.length;
  const cols = cost[0]!.length;
  const k = Math.min(rows, cols);
  let best = Infinity;
  const usedCols = new Set<number>();
  const go = (i: number, chosen: number, sum: number) => {
    if (chosen === k) {
      best = Math.min(best, sum);
      return;
    }
    if (i === rows || rows - i < k - chosen) return;
    go(i + 1, chosen, sum); // row i unassigned (only possible when rows > cols)
    for (let j = 0; j < cols; j++) {
      if (usedCols.has(j)) continue;
      usedCols.add(j);
      go(i + 1, chosen + 1, sum + cost[i]![j]!);
      usedCols.delete(j);
    }
  };
  go(0, 0, 0);
  return best;
}

function total(cost: number[][], rowToCol: number[]): number {
  return rowToCol.reduce((s, j, i) => (j >= 0 ? s + cost[i]![j]! : s), 0);
}

describe('assign', () => {
  it('finds the optimum where greedy picking fails', () => {
    // Greedy takes the 0.1 first and is left with 0.9 + ...; the optimum pairs 0.2 + 0.2.
    const cost = [
      [0.1, 0.2],
      [0.2, 0.9],
    ];
    expect(assign(cost)).toEqual([1, 0]);
  });

  it('matches brute force on random rectangular matrices', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let n = 0; n < 300; n++) {
      const rows = 1 + Math.floor(rnd() * 5);
      const cols = 1 + Math.floor(rnd() * 5);
      const cost = Array.from({ length: rows }, () =>
        Array.from({ length: cols }, () => (rnd() < 0.3 ? 1e6 : Math.round(rnd() * 100) / 100)),
      );
      const a = assign(cost);
      expect(a).toHaveLength(rows);
      const cols_ = a.filter((j) => j >= 0);
      expect(new Set(cols_).size).toBe(cols_.length);
      expect(cols_.length).toBe(Math.min(rows, cols));
      expect(total(cost, a)).toBeCloseTo(bruteForce(cost), 6);
    }
  });

  it('handles empty input', () => {
    expect(assign([])).toEqual([]);
    expect(assign([[], []])).toEqual([-1, -1]);
  });
});
