import { describe, expect, it } from 'vitest';
import { parseShard, shardSelection } from './shard.js';

describe('--shard', () => {
  it('parses I/N', () => {
    expect(parseShard('2/4', {})).toEqual({ index: 2, count: 4 });
  });

  it('takes the index from Slurm, then from Kubernetes', () => {
    expect(parseShard('4', { SLURM_ARRAY_TASK_ID: '3', JOB_COMPLETION_INDEX: '1' })).toEqual({ index: 3, count: 4 });
    expect(parseShard('/4', { JOB_COMPLETION_INDEX: '1' })).toEqual({ index: 1, count: 4 });
    expect(parseShard('1', {})).toEqual({ index: 0, count: 1 });
  });

  it('refuses bad shards', () => {
    expect(() => parseShard('4', {})).toThrow(/SLURM_ARRAY_TASK_ID/);
    expect(() => parseShard('4/4', {})).toThrow(/not below/);
    expect(() => parseShard('0/0', {})).toThrow(/at least 1/);
    expect(() => parseShard('a/b', {})).toThrow(/I\/N/);
    expect(() => parseShard('4', { SLURM_ARRAY_TASK_ID: 'x' })).toThrow(/not a shard index/);
  });
});

describe('shardSelection', () => {
  const selected = Array.from({ length: 23 }, (_, i) => 100 + i);

  it('gives shard I every N-th block', () => {
    expect(shardSelection(selected, { index: 0, count: 3 }, 4)).toEqual([100, 101, 102, 103, 112, 113, 114, 115]);
    expect(shardSelection(selected, { index: 2, count: 3 }, 4)).toEqual([108, 109, 110, 111, 120, 121, 122]);
  });

  it('partitions the selection: every sample in exactly one shard', () => {
    for (const count of [1, 2, 3, 5, 30]) {
      for (const block of [1, 4, 7, 64]) {
        const all = Array.from({ length: count }, (_, index) => shardSelection(selected, { index, count }, block)).flat();
        expect(all.sort((a, b) => a - b)).toEqual(selected);
      }
    }
  });
});
