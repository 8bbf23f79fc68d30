import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { isWholeDataset, parseIndexRanges, parseLabelList, selectSamples } from './subset.js';

describe('--indices', () => {
  it('parses single indices and Python-style ranges', () => {
    expect(parseIndexRanges('0:1000')).toEqual([{ start: 0, end: 1000 }]);
    expect(parseIndexRanges('5,9, 20:30')).toEqual([
      { start: 5, end: 6 },
      { start: 9, end: 10 },
      { start: 20, end: 30 },
    ]);
    expect(parseIndexRanges('100:')).toEqual([{ start: 100, end: undefined }]);
    expect(parseIndexRanges(':4')).toEqual([{ start: 0, end: 4 }]);
  });

  it.each(['', 'a', '1:2:3', '5:3', '-1', '1,,2', '1.5'])('rejects %j', (text) => {
    expect(() => parseIndexRanges(text)).toThrow(UserError);
  });
});

describe('--labels', () => {
  it('parses class indices', () => {
    expect([...parseLabelList('3,7')]).toEqual([3, 7]);
    expect(() => parseLabelList('3,x')).toThrow(/--labels|class indices/);
  });
});

describe('selectSamples', () => {
  const labels = () => Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2, 3]);

  it('takes everything by default', () => {
    const all = selectSamples(10, {}, labels);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(isWholeDataset(all, 10)).toBe(true);
  });

  it('merges overlapping ranges, sorted and unique', () => {
    expect(selectSamples(10, { indices: parseIndexRanges('6:9,0:2,7,1') })).toEqual([0, 1, 6, 7, 8]);
    expect(isWholeDataset([0, 1, 2], 10)).toBe(false);
  });

  it('intersects ranges with labels', () => {
    expect(selectSamples(10, { indices: parseIndexRanges('0:6'), labels: parseLabelList('1,2') }, labels)).toEqual([1, 2, 4, 5]);
    expect(selectSamples(10, { labels: parseLabelList('3') }, labels)).toEqual([9]);
  });

  it('refuses ranges past the end and empty selections', () => {
    expect(() => selectSamples(10, { indices: parseIndexRanges('5:11') })).toThrow(/beyond the dataset's 10 samples/);
    expect(() => selectSamples(10, { labels: parseLabelList('42') }, labels)).toThrow(/selects no samples/);
  });
});
