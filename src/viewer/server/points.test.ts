import { describe, expect, it } from 'vitest';
import { decodePoints } from '../points-format.js';
import { encodePoints } from './points.js';

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
  });

  it('refuses a payload with the wrong magic', () => {
    expect(() => decodePoints(new ArrayBuffer(16))).toThrow(/not a points payload/);
  });
});
