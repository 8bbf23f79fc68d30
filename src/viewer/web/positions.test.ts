import { describe, expect, it } from 'vitest';
import { PositionIndex } from './positions.js';

describe('PositionIndex', () => {
  it('maps sample indices to their first point, and knows which samples are not points', () => {
    const index = new PositionIndex(Int32Array.from([7, 3, 9, 3, 0]));
    expect([7, 3, 9, 0].map((s) => index.get(s))).toEqual([0, 1, 2, 4]);
    expect([1, 8, 10, -1, 1e9].map((s) => index.has(s))).toEqual([false, false, false, false, false]);
    expect(new PositionIndex().has(0)).toBe(false);
  });
});
