import { describe, expect, it } from 'vitest';
import { decodePoints, KD_ORDER_MIN_POINTS } from '../points-format.js';
import { buildSpatialIndex } from '../web/spatial-index.js';
import { normalise } from '../web/normalise.js';
import { encodePoints } from './points.js';

/** Ranges of the page's index (KDBush layout, 32-bit ids) that break the k-d split its search relies on. */
function brokenSplits(index: ArrayBuffer): number {
  const nodeSize = new Uint16Array(index, 2, 1)[0];
  const n = new Uint32Array(index, 4, 1)[0];
  const coords = new Float32Array(index, 8 + n * 4, 2 * n);
  let broken = 0;
  const stack: Array<[number, number, number]> = [[0, n - 1, 0]];
  while (stack.length) {
    const [left, right, axis] = stack.pop()!;
    if (right - left <= nodeSize) continue;
    const m = (left + right) >> 1;
    const split = coords[2 * m + axis];
    for (let i = left; i <= right; i++) if (i < m ? coords[2 * i + axis] > split : i > m && coords[2 * i + axis] < split) broken++;
    stack.push([left, m - 1, 1 - axis], [m + 1, right, 1 - axis]);
  }
  return broken;
}

describe('points payload', () => {
  it('round-trips index, cluster and the two chosen columns', () => {
    const data = Float32Array.from([0, 1, 2, 10, 11, 12, 20, 21, 22]); // 3 points × 3 dims
    const bytes = encodePoints(Int32Array.from([7, 8, 9]), Int32Array.from([-1, 0, 2]), data, 3, 2, 0);
    expect(bytes.length).toBe(16 + 3 * 16);
    const copy = new Uint8Array(bytes).buffer;
    const points = decodePoints(copy);
    expect([...points.index]).toEqual([7, 8, 9]);
    expect([...points.cluster]).toEqual([-1, 0, 2]);
    expect([...points.x]).toEqual([2, 12, 22]);
    expect([...points.y]).toEqual([0, 10, 20]);
    // Small categories carry no k-d order (the page sorts them itself).
    expect(points.kdOrder).toBeUndefined();
  });

  it('adds the k-d order of the points from KD_ORDER_MIN_POINTS on', () => {
    const n = KD_ORDER_MIN_POINTS;
    const data = Float32Array.from({ length: 2 * n }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const bytes = encodePoints(
      Int32Array.from({ length: n }, (_, i) => i),
      new Int32Array(n),
      data,
      2,
      0,
      1,
    );
    expect(bytes.length).toBe(16 + n * 20);
    const points = decodePoints(new Uint8Array(bytes).buffer);
    const order = points.kdOrder!;
    expect(new Set(order).size).toBe(n);
    // The root split: the middle item of the order divides the points on x.
    const middle = (n - 1) >> 1;
    const split = points.x[order[middle]];
    let wrong = 0;
    for (let i = 0; i < n; i++) if (i < middle ? points.x[order[i]] > split : i > middle && points.x[order[i]] < split) wrong++;
    expect(wrong).toBe(0);
  });

  it("sends an order that is a valid k-d tree on the page's normalised coordinates, non-finite values included", () => {
    // Data far from the plot's square and some non-finite y (the page parks those at the centre).
    const n = 70_000;
    let seed = 11;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const data = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      data[3 * i] = 1000 + random() * 50;
      data[3 * i + 1] = i % 997 === 0 ? Number.NaN : -3 + random() * 0.01;
      data[3 * i + 2] = random();
    }
    const index = Int32Array.from({ length: n }, (_, i) => i);
    const points = decodePoints(new Uint8Array(encodePoints(index, new Int32Array(n), data, 3, 0, 1)).buffer);
    const [x, y] = normalise(points.x, points.y);
    expect(brokenSplits(buildSpatialIndex(x, y, points.kdOrder))).toBe(0);
    // The check sees a wrong order: the identity order is no k-d tree.
    expect(brokenSplits(buildSpatialIndex(x, y, Uint32Array.from(index)))).toBeGreaterThan(0);
  });

  it('refuses a payload with the wrong magic', () => {
    expect(() => decodePoints(new ArrayBuffer(16))).toThrow(/not a points payload/);
  });
});
