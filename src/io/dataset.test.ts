import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataset } from './dataset.js';
import { Hdf5DatasetWriter, writeGroupDataset } from './dataset-hdf5.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-dataset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HDF5 datasets', () => {
  it('round-trips the array layout in batches', async () => {
    const path = join(dir, 'array.h5');
    const w = await Hdf5DatasetWriter.create(path, { sampleShape: [3, 4, 4] });
    w.append(
      Float32Array.from({ length: 5 * 48 }, (_, i) => i / 1000),
      Int32Array.of(0, 1, 2, 0, 1),
    );
    w.commit();
    const ds = await openDataset({ type: 'hdf5', path });
    expect(ds.count).toBe(5);
    expect(ds.sampleShape).toEqual([3, 4, 4]);
    expect(Array.from(ds.labels())).toEqual([0, 1, 2, 0, 1]);
    const batch = await ds.read([4, 1]);
    expect(batch.shape).toEqual([2, 3, 4, 4]);
    expect(batch.data[0]).toBeCloseTo(0.192);
    expect(batch.data[48]).toBeCloseTo(0.048);
    expect(Array.from(batch.labels)).toEqual([1, 1]);
    const seen: number[] = [];
    for await (const b of ds.batches(undefined, 2)) seen.push(...b.indices);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    const rgb = await ds.readImageForDisplay(0);
    expect([rgb.width, rgb.height]).toEqual([4, 4]);
    ds.close();
  });

  it('reads uint8 (N, H, W, C) pixels channels-first, scaled to [0, 1], with n-hot labels', async () => {
    const path = join(dir, 'hwc.h5');
    const w = await Hdf5DatasetWriter.create(path, { sampleShape: [4, 4, 3], dtype: 'uint8', labelShape: [3] });
    const pixels = Uint8Array.from({ length: 2 * 48 }, (_, i) => (i % 3 === 0 ? 255 : 0)); // pure red
    w.append(pixels, Uint8Array.of(1, 0, 1, 0, 1, 0));
    w.commit();
    const ds = await openDataset({ type: 'hdf5', path });
    expect(ds.sampleShape).toEqual([3, 4, 4]);
    expect(ds.labelShape).toEqual([3]);
    expect(Array.from(ds.labels())).toEqual([0, 1]);
    expect(ds.labelSet(0)).toEqual([0, 2]);
    const batch = await ds.read([1]);
    expect(Array.from(batch.data.subarray(0, 16))).toEqual(new Array(16).fill(1));
    expect(Array.from(batch.data.subarray(16, 48))).toEqual(new Array(32).fill(0));
    expect(Array.from(batch.multiLabels!)).toEqual([0, 1, 0]);
    const rgb = await ds.readImageForDisplay(0);
    expect(Array.from(rgb.data.subarray(0, 3))).toEqual([255, 0, 0]);
    ds.close();
  });

  it('round-trips the group layout (byte-order keys, mixed sizes)', async () => {
    const path = join(dir, 'group.h5');
    await writeGroupDataset(path, [
      { key: 's-2', data: new Float32Array(3 * 5 * 6).fill(0.5), shape: [3, 5, 6], label: 2 },
      { key: 's-10', data: new Float32Array(3 * 4 * 4).fill(1), shape: [3, 4, 4], label: 7 },
    ]);
    const ds = await openDataset({ type: 'hdf5', path });
    expect(ds.count).toBe(2);
    expect(ds.sampleShape).toBeUndefined();
    expect(Array.from(ds.labels())).toEqual([7, 2]); // "s-10" sorts before "s-2"
    const b = await ds.read([1]);
    expect(b.shape).toEqual([1, 3, 5, 6]);
    await expect(ds.read([0, 1])).rejects.toThrow(/different shapes/);
    ds.close();
  });
});
