// Reads the files written by h5py (fixtures/build/make_h5py_fixtures.py) and checks every value
// against the formulas that script uses.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAttributionReader, openAttributionSet } from '../src/io/attribution.js';
import { readAnalysis } from '../src/io/analysis.js';
import { openDataset } from '../src/io/dataset.js';
import { readLabelMap } from '../src/io/labelmap.js';
import { readProject } from '../src/io/project.js';
import { repoRoot } from './helpers/cli.js';

const fixture = (name: string): string => join(repoRoot, 'fixtures', 'h5py', name);
const pixel = (n: number, flat: number): number => Math.fround(((n * 7 + flat) % 256) / 255);
const attributionValue = (n: number, flat: number): number => Math.fround((n + 1) * 0.001 * ((flat % 17) - 8));
const LABELS = [0, 0, 1, 1, 2, 2];

describe('h5py-written datasets', () => {
  it('array layout (gzip, chunked)', async () => {
    const ds = await openDataset({ type: 'hdf5', path: fixture('dataset-array.h5') });
    expect(ds.count).toBe(6);
    expect(ds.sampleShape).toEqual([3, 8, 8]);
    expect(Array.from(ds.labels())).toEqual(LABELS);
    const batch = await ds.read([5, 2]);
    expect(batch.data[0]).toBe(pixel(5, 0));
    expect(batch.data[192 + 100]).toBe(pixel(2, 100));
    ds.close();
  });

  it('channels-last uint8 with bool n-hot labels', async () => {
    const ds = await openDataset({ type: 'hdf5', path: fixture('dataset-hwc-multilabel.h5') });
    expect(ds.sampleShape).toEqual([3, 8, 8]);
    expect(ds.labelShape).toEqual([3]);
    expect(Array.from(ds.labels())).toEqual([0, 1, -1, 0]);
    expect(ds.labelSet(3)).toEqual([0, 1, 2]);
    const batch = await ds.read([1]);
    // Stored (H, W, C) as round(pixel * 255); read back channels first, divided by 255.
    for (const flat of [0, 63, 64, 191]) expect(batch.data[flat]).toBeCloseTo(Math.round(pixel(1, flat) * 255) / 255, 6);
    expect(Array.from(batch.multiLabels!)).toEqual([0, 1, 0]);
    ds.close();
  });

  it('group layout in HDF5 byte order, mixed sizes, and bool multi-label groups', async () => {
    const ds = await openDataset({ type: 'hdf5', path: fixture('dataset-group.h5') });
    expect(ds.count).toBe(3);
    expect(ds.sampleShape).toBeUndefined();
    // keys: img-10 (n=0), img-2 (n=1), img-A (n=2); byte order puts "img-10" < "img-2" < "img-A"
    expect(Array.from(ds.labels())).toEqual([0, 1, 2]);
    const b = await ds.read([2]);
    expect(b.shape).toEqual([1, 3, 12, 7]);
    expect(b.data[5]).toBe(pixel(2, 5));
    const rgb = await ds.readImageForDisplay(0);
    expect([rgb.width, rgb.height]).toEqual([9, 10]);
    ds.close();
    const multi = await openDataset({ type: 'hdf5', path: fixture('dataset-group-multilabel.h5') });
    expect(multi.labelShape).toEqual([3]);
    expect(multi.labelSet(0)).toEqual([0, 1]);
    expect(multi.labelSet(1)).toEqual([1]);
    multi.close();
  });

  it('image directory with a label-index regex and fill_zeros/center_crop resampling', async () => {
    const project = readProject(fixture('project-images.yaml'));
    const labelMap = readLabelMap(project.labelMap);
    const ds = await openDataset({ ...project.dataset, labelMap });
    expect(ds.count).toBe(9);
    expect(Array.from(ds.labels())).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(ds.sampleShape).toEqual([3, 8, 8]);
    const batch = await ds.read([0, 1, 2]);
    expect(batch.shape).toEqual([3, 3, 8, 8]);
    // img-01 is 8×8: unchanged. img-02 is 6 wide × 10 tall: 1 zero column each side, 1 row cropped top and bottom.
    expect(batch.data[0]).toBeCloseTo(Math.round(pixel(0, 0) * 255) / 255, 6);
    const second = batch.data.subarray(192, 384);
    expect(second[0]).toBe(0);
    expect(second[1]).toBeCloseTo(Math.round(pixel(1, 6) * 255) / 255, 6);
    ds.close();
  });
});

describe('h5py-written attributions and analyses', () => {
  it('array layout without index', async () => {
    const r = await openAttributionReader(fixture('attribution.h5'));
    expect([r.count, r.numClasses, r.hasIndex]).toEqual([6, 3, false]);
    const rows = r.read(4, 6);
    expect(rows.attribution[7]).toBe(attributionValue(4, 7));
    expect(rows.attribution[192 + 30]).toBe(attributionValue(5, 30));
    expect(Array.from(rows.prediction)).toEqual([4, 4.1, 4.2, 5, 5.1, 5.2].map(Math.fround));
    expect(Array.from(rows.index)).toEqual([4, 5]);
    r.close();
  });

  it('two indexed shards, one with float one-hot labels, read as one set', async () => {
    const set = await openAttributionSet([fixture('attribution-shard-0.h5'), fixture('attribution-shard-1.h5')]);
    expect(set.count).toBe(6);
    expect(Array.from(set.indices())).toEqual([5, 1, 3, 0, 2, 4]);
    expect(Array.from(set.labels())).toEqual([2, 0, 1, 0, 1, 2]);
    const rows = set.read(2, 4);
    expect(Array.from(rows.index)).toEqual([3, 0]);
    expect(Array.from(rows.label)).toEqual([1, 0]);
    expect(rows.attribution[192 + 9]).toBe(attributionValue(0, 9));
    set.close();
  });

  it('group layout with a flat index', async () => {
    const r = await openAttributionReader(fixture('attribution-group.h5'));
    expect([r.count, r.numClasses, r.hasIndex]).toEqual([2, 3, true]);
    expect(Array.from(r.indices())).toEqual([4, 0]);
    expect(Array.from(r.labels())).toEqual([2, 0]);
    const rows = r.read(0, 2);
    expect(rows.attribution[3]).toBe(attributionValue(4, 3));
    expect(Array.from(r.predictions(1, 2))).toEqual([0, 0.1, 0.2].map(Math.fround));
    r.close();
  });

  it('CoRelAy-style analysis file', async () => {
    const file = await readAnalysis(fixture('analysis.h5'));
    const categories = file.analyses.get('analysis')!;
    expect([...categories.keys()]).toEqual(['00000000', '00000001', '00000002']);
    const c = categories.get('00000001')!;
    expect(Array.from(c.index)).toEqual([2, 3]);
    const spectral = c.embeddings.find((e) => e.name === 'spectral')!;
    expect(Array.from(spectral.eigenvalue!)).toEqual([1, 0.5, 0.25, 0]);
    expect(spectral.data[4]).toBe(5);
    const tsne = c.embeddings.find((e) => e.name === 'tsne')!;
    expect(tsne.attrs).toEqual({ embedding: 'spectral', index: [0, 1] });
    const kmeans = c.clusterings.find((k) => k.name === 'kmeans-02')!;
    expect([kmeans.k, kmeans.embedding, Array.from(kmeans.labels)]).toEqual([2, 'spectral', [0, 1]]);
    expect(Array.from(c.clusterings.find((k) => k.name === 'dbscan-eps=0.2')!.labels)).toEqual([-1, -1]);
  });

  it("reads a project written the way ViRelAy's tools write it", () => {
    const p = readProject(fixture('project.yaml'));
    expect(p.dataset).toMatchObject({ type: 'hdf5', path: fixture('dataset-array.h5'), inputWidth: 8, upSamplingMethod: 'none' });
    expect(p.attributions!.sources).toEqual([fixture('attribution-shard-0.h5'), fixture('attribution-shard-1.h5')]);
    expect(p.analyses).toEqual([{ analysisMethod: 'spectral_analysis', sources: [fixture('analysis.h5')] }]);
  });
});
