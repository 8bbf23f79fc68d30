import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { shardCategories } from './spray-shard.js';

describe('shardCategories', () => {
  it('cuts K sorted categories into N contiguous runs: disjoint, complete, in order, sizes within one', () => {
    for (let k = 1; k <= 40; k++) {
      const sorted = Array.from({ length: k }, (_, i) => i);
      for (let n = 1; n <= k; n++) {
        const parts = Array.from({ length: n }, (_, index) => shardCategories(sorted, { index, count: n }));
        expect(parts.flat()).toEqual(sorted); // concatenated in shard order = the unsharded order
        const sizes = parts.map((p) => p.length);
        expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('without a shard: everything; more shards than categories: a --shard error for every task', () => {
    expect(shardCategories(['a', 'b'], undefined)).toEqual(['a', 'b']);
    expect(shardCategories(['a', 'b', 'c'], { index: 1, count: 3 })).toEqual(['b']);
    for (const index of [0, 2]) {
      const error = (() => {
        try {
          shardCategories(['a', 'b'], { index, count: 3 });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).file).toBe('--shard');
      expect((error as UserError).message).toBe(`shard ${index}/3 gets no category: there are only 2 (use at most 2 shards)`);
    }
  });
});
