import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAttributionReader } from '../io/attribution.js';
import { partialPathsFor } from './output.js';
import { openAttributionSink } from './sink.js';

const options = { sampleShape: [3, 4, 5], numClasses: 4, withIndex: true };
const rows = (from: number, n: number) => ({
  attribution: Float32Array.from({ length: n * 60 }, (_, i) => from * 60 + i),
  label: Int32Array.from({ length: n }, (_, i) => (from + i) % 4),
  prediction: Float32Array.from({ length: n * 4 }, (_, i) => from * 4 + i),
  index: Int32Array.from({ length: n }, (_, i) => 10 + from + i),
});

describe('openAttributionSink', () => {
  it('reopens a suspended partial file, drops unfinished rows and continues', async () => {
    const paths = partialPathsFor(join(mkdtempSync(join(tmpdir(), 'xai-sink-')), 'a.h5'));
    const first = await openAttributionSink(paths, options, undefined);
    first.append(rows(0, 3));
    first.flush();
    first.append(rows(3, 2)); // a batch the journal never recorded as finished
    first.suspend();
    expect(existsSync(paths.partial)).toBe(true);
    expect(existsSync(paths.final)).toBe(false);

    const second = await openAttributionSink(paths, options, 3);
    expect(second.rows).toBe(3);
    second.append(rows(3, 2));
    second.commit();
    expect(existsSync(paths.partial)).toBe(false);

    const reader = await openAttributionReader(paths.final);
    const all = reader.read(0, reader.count);
    const expected = rows(0, 5);
    expect(reader.count).toBe(5);
    expect([...all.index]).toEqual([...expected.index]);
    expect([...all.attribution]).toEqual([...expected.attribution]);
    expect([...all.prediction]).toEqual([...expected.prediction]);
    expect([...all.label]).toEqual([...expected.label]);
    reader.close();
  });

  it('refuses a partial file whose rows do not fit the run', async () => {
    const paths = partialPathsFor(join(mkdtempSync(join(tmpdir(), 'xai-sink-')), 'a.h5'));
    const first = await openAttributionSink(paths, options, undefined);
    first.append(rows(0, 1));
    first.suspend();
    await expect(openAttributionSink(paths, { ...options, numClasses: 5 }, 1)).rejects.toThrow(/does not fit this run/);
    await expect(openAttributionSink(paths, options, 2)).rejects.toThrow(/fewer than the 2 recorded/);
  });
});
