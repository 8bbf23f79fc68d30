// Files we write must load the way ViRelAy's backend (h5py) reads them: checked with Debian's h5py.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisWriter } from '../src/io/analysis.js';
import { AttributionWriter } from '../src/io/attribution.js';
import { Hdf5DatasetWriter, writeGroupDataset } from '../src/io/dataset-hdf5.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a Python snippet with h5py; it prints one JSON document. */
function h5py(code: string, ...args: string[]): any {
  const run = spawnSync('/usr/bin/python3', ['-c', `import sys, json, h5py, numpy as np\n${code}`, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

describe('h5py reads what we write', () => {
  it('attribution database: dtypes, shapes, resizable chunks, values', async () => {
    const path = join(dir, 'attribution.h5');
    const w = await AttributionWriter.create(path, { sampleShape: [3, 4, 4], numClasses: 2, withIndex: true });
    for (let b = 0; b < 3; b++) {
      w.append({
        attribution: new Float32Array(2 * 48).fill(b),
        label: Int32Array.of(b, 1),
        prediction: Float32Array.of(0.5, b, 1, 2),
        index: Int32Array.of(10 + 2 * b, 11 + 2 * b),
      });
    }
    w.commit();
    const info = h5py(
      `f = h5py.File(sys.argv[1], 'r')
print(json.dumps({k: {'dtype': str(f[k].dtype), 'shape': f[k].shape, 'maxshape': f[k].maxshape[0]} for k in f.keys()} | {
  'keys': list(f.keys()), 'index_values': f['index'][:].tolist(), 'label_values': f['label'][:].tolist(), 'a4': float(f['attribution'][4, 0, 0, 0]),
  'order': f.id.get_create_plist().get_link_creation_order()}))`,
      path,
    );
    expect(info.keys).toEqual(['attribution', 'index', 'label', 'prediction']);
    expect(info.attribution).toEqual({ dtype: 'float32', shape: [6, 3, 4, 4], maxshape: null });
    expect(info.label.dtype).toBe('uint16');
    expect(info.index.dtype).toBe('uint32');
    expect(info.prediction).toEqual({ dtype: 'float32', shape: [6, 2], maxshape: null });
    expect(info.index_values).toEqual([10, 11, 12, 13, 14, 15]);
    expect(info.label_values).toEqual([0, 1, 1, 1, 2, 1]);
    expect(info.a4).toBe(2);
    expect(info.order).toBe(0); // no link-creation-order tracking (docs/formats.md §7, item 6)
  });

  it('analysis database: only category groups at the root, ViRelAy dtypes and attributes', async () => {
    const path = join(dir, 'analysis.h5');
    const w = await AnalysisWriter.create(path);
    w.addCategory('spectral_analysis', {
      name: 'n01',
      index: Int32Array.of(3, 1, 4),
      embeddings: [{ name: 'spectral', data: new Float32Array(9).fill(0.5), shape: [3, 3], eigenvalue: Float32Array.of(1, 0.5, 0) }],
      clusterings: [{ name: 'kmeans-02', labels: Int32Array.of(0, 1, -1), k: 2, embedding: 'spectral', attrs: { index: [0, 1, 2] } }],
    });
    w.commit();
    const info = h5py(
      `f = h5py.File(sys.argv[1], 'r')
g = f['n01']
e = g['embedding/spectral']
c = g['cluster/kmeans-02']
print(json.dumps({'root': list(f.keys()), 'members': sorted(g.keys()), 'index': [str(g['index'].dtype), g['index'][:].tolist()],
  'embedding': [str(e.dtype), e.shape, isinstance(e, h5py.Dataset)], 'eigenvalue': [str(e.attrs['eigenvalue'].dtype), e.attrs['eigenvalue'].tolist()],
  'cluster': [str(c.dtype), c[:].tolist(), int(c.attrs['k']), c.attrs['embedding'], c.attrs['index'].tolist()],
  'embedding_attr_is_str': isinstance(c.attrs['embedding'], str), 'method': f.attrs['analysis_method']}))`,
      path,
    );
    expect(info.root).toEqual(['n01']);
    expect(info.members).toEqual(['cluster', 'embedding', 'index']);
    expect(info.index).toEqual(['uint32', [3, 1, 4]]);
    expect(info.embedding).toEqual(['float32', [3, 3], true]);
    expect(info.eigenvalue).toEqual(['float32', [1, 0.5, 0]]);
    expect(info.cluster).toEqual(['int32', [0, 1, -1], 2, 'spectral', [0, 1, 2]]);
    expect(info.embedding_attr_is_str).toBe(true);
    expect(info.method).toBe('spectral_analysis');
  });

  it('datasets: array layout float32 + uint16 labels, group layout (3,H,W) + uint16 scalar labels', async () => {
    const arrayPath = join(dir, 'dataset.h5');
    const w = await Hdf5DatasetWriter.create(arrayPath, { sampleShape: [3, 5, 5] });
    w.append(new Float32Array(2 * 75).fill(0.25), Int32Array.of(4, 2));
    w.commit();
    const groupPath = join(dir, 'grouped.h5');
    await writeGroupDataset(groupPath, [{ key: 'img-a', data: new Float32Array(3 * 20 * 31), shape: [3, 20, 31], label: 1 }]);
    const info = h5py(
      `a = h5py.File(sys.argv[1], 'r'); g = h5py.File(sys.argv[2], 'r')
print(json.dumps({'data': [str(a['data'].dtype), a['data'].shape], 'label': [str(a['label'].dtype), a['label'][:].tolist()],
  'member': [str(g['data/img-a'].dtype), g['data/img-a'].shape], 'glabel': [str(g['label/img-a'].dtype), g['label/img-a'].shape, int(g['label/img-a'][()])]}))`,
      arrayPath,
      groupPath,
    );
    expect(info.data).toEqual(['float32', [2, 3, 5, 5]]);
    expect(info.label).toEqual(['uint16', [4, 2]]);
    expect(info.member).toEqual(['float32', [3, 20, 31]]);
    expect(info.glabel).toEqual(['uint16', [], 1]);
  });
});
