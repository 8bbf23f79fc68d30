import { mkdtempSync, existsSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AttributionWriter, openAttributionReader, openAttributionSet } from './attribution.js';
import { UserError } from '../errors.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-attr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ramp(n: number, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => i * 0.5 + offset);
}

describe('attribution database', () => {
  it('streams batches and reads them back with row slicing', async () => {
    const path = join(dir, 'a.h5');
    const w = await AttributionWriter.create(path, { sampleShape: [3, 4, 5], numClasses: 3, withIndex: false });
    expect(existsSync(path)).toBe(false); // only the temporary exists while writing
    w.append({ attribution: ramp(2 * 60), label: Int32Array.of(0, 2), prediction: ramp(6) });
    w.append({ attribution: ramp(3 * 60, 1000), label: Int32Array.of(1, 1, 0), prediction: ramp(9, 10) });
    expect(w.rows).toBe(5);
    w.commit();
    expect(readdirSync(dir)).toEqual(['a.h5']);
    const r = await openAttributionReader(path);
    expect(r.count).toBe(5);
    expect(r.sampleShape).toEqual([3, 4, 5]);
    expect(r.numClasses).toBe(3);
    expect(r.hasIndex).toBe(false);
    expect(Array.from(r.indices())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(r.labels())).toEqual([0, 2, 1, 1, 0]);
    const rows = r.read(1, 3);
    expect(Array.from(rows.attribution.subarray(0, 3))).toEqual([30, 30.5, 31]);
    expect(rows.attribution[60]).toBe(1000);
    expect(Array.from(rows.index)).toEqual([1, 2]);
    expect(Array.from(r.predictions(2, 3))).toEqual([10, 10.5, 11]);
    r.close();
  });

  it('writes index and n-hot labels and reads several shards as one', async () => {
    const a = join(dir, 'shard-0.h5');
    const b = join(dir, 'shard-1.h5');
    for (const [path, idx] of [
      [a, [4, 7]],
      [b, [1]],
    ] as const) {
      const w = await AttributionWriter.create(path, { sampleShape: [2, 2, 2], numClasses: 4, withIndex: true, labelShape: [4] });
      const n = idx.length;
      const nHot = new Float32Array(n * 4);
      idx.forEach((v, i) => {
        nHot[i * 4 + (v % 4)] = 1;
        nHot[i * 4 + 3] = 1;
      });
      w.append({ attribution: ramp(n * 8, idx[0]!), label: nHot, prediction: ramp(n * 4), index: Int32Array.from(idx) });
      w.commit();
    }
    const set = await openAttributionSet([a, b]);
    expect(set.count).toBe(3);
    expect(set.hasIndex).toBe(true);
    expect(set.labelShape).toEqual([4]);
    expect(Array.from(set.indices())).toEqual([4, 7, 1]);
    expect(Array.from(set.labels())).toEqual([0, 3, 1]);
    const rows = set.read(1, 3);
    expect(Array.from(rows.index)).toEqual([7, 1]);
    expect(rows.attribution[8]).toBe(1);
    expect(Array.from(rows.label)).toEqual([0, 0, 0, 1, 0, 1, 0, 1]);
    set.close();
  });

  it('abort leaves nothing behind', async () => {
    const path = join(dir, 'aborted.h5');
    const w = await AttributionWriter.create(path, { sampleShape: [3, 2, 2], numClasses: 2, withIndex: false });
    w.append({ attribution: ramp(12), label: Int32Array.of(1), prediction: ramp(2) });
    w.abort();
    expect(readdirSync(dir).filter((f) => f.includes('aborted'))).toEqual([]);
  });

  it('rejects batches that do not fit', async () => {
    const w = await AttributionWriter.create(join(dir, 'bad.h5'), { sampleShape: [3, 2, 2], numClasses: 2, withIndex: true });
    expect(() => w.append({ attribution: ramp(12), label: Int32Array.of(1), prediction: ramp(2) })).toThrow(/index/);
    expect(() => w.append({ attribution: ramp(11), label: Int32Array.of(1), prediction: ramp(2), index: Int32Array.of(0) })).toThrow(/whole number/);
    expect(() => w.append({ attribution: ramp(12), label: Int32Array.of(70000), prediction: ramp(2), index: Int32Array.of(0) })).toThrow(/label/);
    w.abort();
  });

  it('reports a missing key as a UserError', async () => {
    const path = join(dir, 'nolabel.h5');
    writeFileSync(path, 'not hdf5 at all');
    await expect(openAttributionReader(path)).rejects.toThrow(UserError);
    await expect(openAttributionReader(join(dir, 'missing.h5'))).rejects.toThrow(/no such file/);
  });
});

describe('output paths', () => {
  it('refuses a missing directory or a directory as the target before writing', async () => {
    await expect(AttributionWriter.create(join(dir, 'no-such-dir', 'a.h5'), { sampleShape: [3, 2, 2], numClasses: 2, withIndex: false })).rejects.toThrow(
      /directory .* does not exist/,
    );
    await expect(AttributionWriter.create(dir, { sampleShape: [3, 2, 2], numClasses: 2, withIndex: false })).rejects.toThrow(/is a directory/);
  });
});
