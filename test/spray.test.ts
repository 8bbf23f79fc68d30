import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttributionWriter } from '../src/io/attribution.js';
import { runCli, sharedDir } from './helpers/cli.js';

const conformance = join(sharedDir, 'conformance', 'spray');
const attribution = join(conformance, 'attribution.h5');
const labelMap = join(conformance, 'label-map.json');
const reference = JSON.parse(readFileSync(join(conformance, 'reference.json'), 'utf8')) as {
  categories: Record<string, { index: number[]; eigenvalue: number[] }>;
};

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spray-test-'));
  await h5wasm.ready;
});

type H5 = InstanceType<typeof h5wasm.File>;
function open(path: string): H5 {
  return new h5wasm.File(path, 'r');
}
const dataset = (f: H5, path: string) => f.get(path) as InstanceType<typeof h5wasm.Dataset>;
const group = (f: H5, path: string) => f.get(path) as InstanceType<typeof h5wasm.Group>;
const sorted = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
/** h5dump without its first line (the file name): equal text = equal structure, data and attributes. */
const dump = (path: string) =>
  execFileSync('h5dump', [path], { encoding: 'utf8', maxBuffer: 1 << 28 })
    .split('\n')
    .slice(1)
    .join('\n');

describe('spray on the conformance data (CoRelAy reference)', () => {
  let output: string;
  let stdout: string;
  beforeAll(async () => {
    output = join(dir, 'conformance.h5');
    const result = await runCli(['spray', attribution, '-o', output, '--label-map', labelMap]);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    stdout = result.stdout;
  }, 600_000);

  it('reproduces every eigenvalue within 1e-4 and the sample index of each category', () => {
    const f = open(output);
    try {
      expect(sorted(f.keys())).toEqual(Object.keys(reference.categories).sort());
      for (const [name, ref] of Object.entries(reference.categories)) {
        const spectral = dataset(f, `${name}/embedding/spectral`);
        const eigenvalue = Array.from(spectral.attrs['eigenvalue']!.value as Float32Array);
        expect(eigenvalue).toHaveLength(ref.eigenvalue.length);
        eigenvalue.forEach((v, i) => expect(Math.abs(v - ref.eigenvalue[i]!)).toBeLessThan(1e-4));
        expect(Array.from(dataset(f, `${name}/index`).value as Uint32Array)).toEqual(ref.index);
        // Row-normalised eigenvectors.
        const rows = spectral.value as Float32Array;
        const m = spectral.shape![1]!;
        for (let i = 0; i < spectral.shape![0]!; i++) {
          let s = 0;
          for (let j = 0; j < m; j++) s += rows[i * m + j]! ** 2;
          expect(Math.sqrt(s)).toBeCloseTo(1, 5);
        }
      }
    } finally {
      f.close();
    }
  });

  it('follows the writer checklist of docs/formats.md §7 with the §5 default names', () => {
    const f = open(output);
    try {
      const names: string[][] = [];
      for (const category of f.keys()) {
        const g = group(f, category);
        expect(sorted(g.keys())).toEqual(['cluster', 'embedding', 'index']);
        const index = dataset(f, `${category}/index`);
        expect(index.dtype).toBe('<I');
        const n = index.shape![0]!;
        const embeddings = group(f, `${category}/embedding`).keys();
        expect(sorted(embeddings)).toEqual(['spectral', 'tsne', 'umap']);
        for (const e of embeddings) {
          const ds = dataset(f, `${category}/embedding/${e}`);
          expect(ds.dtype).toBe('<f');
          expect(ds.shape![0]).toBe(n);
          expect(ds.shape![1]).toBeGreaterThanOrEqual(2);
          if (e !== 'spectral') expect(ds.attrs['embedding']!.value).toBe('spectral');
        }
        const eig = Array.from(dataset(f, `${category}/embedding/spectral`).attrs['eigenvalue']!.value as Float32Array);
        expect(eig).toEqual([...eig].sort((a, b) => b - a));
        const clusters = group(f, `${category}/cluster`).keys();
        for (const c of clusters) {
          const ds = dataset(f, `${category}/cluster/${c}`);
          expect(ds.dtype).toBe('<i');
          expect(ds.shape).toEqual([n]);
        }
        const k = dataset(f, `${category}/cluster/kmeans-07`);
        expect(Number(k.attrs['k']!.value)).toBe(7);
        expect(new Set(k.value as Int32Array).size).toBe(7);
        names.push(sorted(clusters));
        expect(typeof g.attrs['suspicion']!.value).toBe('number');
      }
      const expected = [
        ...Array.from({ length: 29 }, (_, i) => `agglomerative-${String(i + 2).padStart(2, '0')}`),
        ...Array.from({ length: 29 }, (_, i) => `dbscan-eps=${((i + 2) / 10).toFixed(1)}`),
        'hdbscan',
        ...Array.from({ length: 29 }, (_, i) => `kmeans-${String(i + 2).padStart(2, '0')}`),
      ];
      for (const list of names) expect(list).toEqual(expected);
    } finally {
      f.close();
    }
  });

  it('reads back through h5py the way ViRelAy’s AnalysisDatabase does', () => {
    // ViRelAy lists root keys as categories, the names of the FIRST category's cluster/embedding
    // groups, and zips index / clustering / embedding rows (docs/formats.md §5).
    const script = [
      'import sys, h5py, json',
      'f = h5py.File(sys.argv[1], "r")',
      'cats = list(f.keys())',
      'first = f[cats[0]]',
      'out = {}',
      'for c in cats:',
      '    g = f[c]',
      '    idx = g["index"][()]',
      '    for e in first["embedding"].keys():',
      '        ds = g["embedding"][e]',
      '        assert ds[()].shape[0] == len(idx), (c, e)',
      '    for k in first["cluster"].keys():',
      '        assert g["cluster"][k][()].shape == idx.shape, (c, k)',
      '    ev = g["embedding"]["spectral"].attrs["eigenvalue"]',
      '    out[c] = {"n": int(len(idx)), "eigenvalues": int(ev.shape[0]), "dtype": str(idx.dtype)}',
      'print(json.dumps(out))',
    ].join('\n');
    const result = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, output], { encoding: 'utf8' })) as Record<
      string,
      { n: number; eigenvalues: number; dtype: string }
    >;
    expect(result['00000000']).toEqual({ n: 300, eigenvalues: 32, dtype: 'uint32' });
    expect(result['00000001']).toEqual({ n: 90, eigenvalues: 32, dtype: 'uint32' });
  });

  it('prints the categories ranked by suspicion', () => {
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/rank\s+category\s+label\s+samples\s+suspicion/);
    const scores = lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[4]));
    expect(scores).toHaveLength(2);
    expect(scores[0]).toBeGreaterThanOrEqual(scores[1]!);
  });
});

describe('spray --cache', () => {
  it('a re-run computes nothing and writes the same content; a new k computes only what depends on it', async () => {
    const cache = join(dir, 'cache.h5');
    const args = (out: string, clusters: string) => [
      'spray',
      attribution,
      '-o',
      join(dir, out),
      '--label-map',
      labelMap,
      '--clusters',
      clusters,
      '--embeddings',
      'tsne',
      '--cache',
      cache,
    ];
    const first = await runCli(args('c1.h5', '2:4'));
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/cache: 0 hits, 36 misses/);
    const second = await runCli(args('c2.h5', '2:4'));
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/cache: 36 hits, 0 misses/);
    expect(second.stderr).toMatch(/computed: none/);
    expect(dump(join(dir, 'c2.h5'))).toEqual(dump(join(dir, 'c1.h5')));
    // --clusters 2:5 adds k = 5: per category one k-means, one Ward cut and one DBSCAN (eps 0.5).
    const third = await runCli(args('c3.h5', '2:5'));
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/cache: 36 hits, 6 misses/);
    expect(third.stderr).toMatch(/computed: AgglomerativeClustering×2, DBSCAN×2, KMeans×2\n/);
  }, 600_000);
});

/**
 * Writes an attribution file with the given rows per class (3×8×8 samples, `index` = 100 + row).
 * Classes listed in `homogeneous` use one strategy; the others alternate between two.
 */
async function writeAttributions(path: string, perClass: number[], homogeneous: number[] = []): Promise<void> {
  const numClasses = perClass.length;
  const writer = await AttributionWriter.create(path, { sampleShape: [3, 8, 8], numClasses, withIndex: true });
  let row = 0;
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  perClass.forEach((count, cls) => {
    for (let i = 0; i < count; i++, row++) {
      const attribution = new Float32Array(192);
      // Two strategies per class: relevance on the left or on the right half.
      const left = homogeneous.includes(cls) || i % 2 === 0;
      for (let p = 0; p < 192; p++) attribution[p] = ((p % 8 < 4 === left ? 1 : 0.1) + 0.3 * random()) / 3;
      const prediction = new Float32Array(numClasses);
      prediction[cls] = 1;
      writer.append({ attribution, label: Int32Array.from([cls]), prediction, index: Int32Array.from([100 + row]) });
    }
  });
  writer.commit();
}

describe('spray on small, tiny and empty categories', () => {
  it('shrinks the parameters for small categories, reports and skips empty and tiny ones', async () => {
    const input = join(dir, 'small.h5');
    await writeAttributions(input, [120, 6, 0, 2, 120], [4]);
    const map = join(dir, 'small-labels.json');
    writeFileSync(map, JSON.stringify([0, 1, 2, 3, 4].map((i) => ({ index: i, word_net_id: `n0000000${i}`, name: `class ${i}` }))));
    const output = join(dir, 'small-analysis.h5');
    const result = await runCli(['spray', input, '-o', output, '--label-map', map]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/n00000002 \(class 2\): no samples, skipped/);
    expect(result.stderr).toMatch(/n00000003 \(class 3\): only 2 sample\(s\), at least 3 needed; skipped/);
    const f = open(output);
    try {
      expect(sorted(f.keys())).toEqual(['n00000000', 'n00000001', 'n00000004']);
      // 6 samples: 5 eigenpairs (n − 1), k capped at n, t-SNE perplexity (n − 1)/3, still every name.
      expect(dataset(f, 'n00000001/embedding/spectral').shape).toEqual([6, 5]);
      expect(dataset(f, 'n00000001/embedding/tsne').shape).toEqual([6, 2]);
      expect(Number(dataset(f, 'n00000001/cluster/kmeans-30').attrs['k']!.value)).toBe(6);
      expect(sorted(group(f, 'n00000001/cluster').keys())).toEqual(sorted(group(f, 'n00000000/cluster').keys()));
      // Sample indices from the attribution file's `index` dataset, not row positions.
      expect(Array.from(dataset(f, 'n00000001/index').value as Uint32Array)).toEqual([220, 221, 222, 223, 224, 225]);
      // The two strategies of class 0 are found (HDBSCAN on the spectral embedding).
      const labels = Array.from(dataset(f, 'n00000000/cluster/hdbscan').value as Int32Array);
      expect(labels.every((l, i) => (l === labels[0]) === (i % 2 === 0))).toBe(true);
      // Two strategies: a clear eigengap after two eigenvalues, ranked above the one-strategy class.
      const suspicion = (name: string) => Number(group(f, name).attrs['suspicion']!.value);
      expect(Number(group(f, 'n00000000').attrs['suspicion_k']!.value)).toBe(2);
      expect(suspicion('n00000000')).toBeGreaterThan(2 * suspicion('n00000004'));
    } finally {
      f.close();
    }
  }, 600_000);

  it('fails cleanly when nothing can be analysed', async () => {
    const input = join(dir, 'tiny.h5');
    await writeAttributions(input, [2, 1]);
    const result = await runCli(['spray', input, '-o', join(dir, 'tiny-analysis.h5')]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').pop()).toMatch(/^xai-tools: .*tiny-analysis\.h5: no categories to write$/);
  });
});

describe('spray options', () => {
  it('--categories prediction, --classes, --algorithms and --embeddings select what is computed', async () => {
    const output = join(dir, 'options.h5');
    const result = await runCli([
      'spray',
      attribution,
      '-o',
      output,
      '--categories',
      'prediction',
      '--classes',
      '1',
      '--algorithms',
      'kmeans',
      '--clusters',
      '3',
      '--embeddings',
      'none',
      '--n-eigval',
      '8',
      '-q',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const f = open(output);
    try {
      expect(f.keys()).toEqual(['00000001']);
      expect(group(f, '00000001/cluster').keys()).toEqual(['kmeans-03']);
      expect(group(f, '00000001/embedding').keys()).toEqual(['spectral']);
      expect(dataset(f, '00000001/embedding/spectral').shape![1]).toBe(8);
    } finally {
      f.close();
    }
  }, 600_000);

  it('--config replaces tasks with processors described in YAML', async () => {
    const config = join(dir, 'pipeline.yaml');
    writeFileSync(
      config,
      [
        'tasks:',
        '  preprocessing: [Absolute, SumChannel, {Normalize: {axes: [1, 2]}}, {Pooling: {stride: [1, 2, 2], reduction: mean}}, Flatten]',
        '  embedding: {EigenDecomposition: {n_eigval: 6}}',
        '  clustering:',
        '    Parallel:',
        '      broadcast: true',
        '      children: [{KMeans: {n_clusters: 3, label: three}}, PCAEmbedding]',
      ].join('\n'),
    );
    const output = join(dir, 'config.h5');
    const result = await runCli(['spray', attribution, '-o', output, '--config', config, '-q']);
    expect(result.code).toBe(0);
    const f = open(output);
    try {
      expect(group(f, '00000000/cluster').keys()).toEqual(['three']);
      expect(sorted(group(f, '00000000/embedding').keys())).toEqual(['pca', 'spectral']);
      expect(dataset(f, '00000000/embedding/spectral').shape![1]).toBe(6);
    } finally {
      f.close();
    }
  }, 600_000);

  it('reports bad input as one line', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'tasks:\n  clustering: {Frobnicate: {}}\n');
    const cases: Array<[string[], number, RegExp]> = [
      [['spray', join(dir, 'missing.h5'), '-o', join(dir, 'x.h5')], 1, /^xai-tools: .*missing\.h5: no such file$/],
      [['spray', attribution, '-o', join(dir, 'x.h5'), '--config', bad], 1, /^xai-tools: .*bad\.yaml: tasks\.clustering: unknown processor 'Frobnicate'/],
      [
        ['spray', attribution, '-o', join(dir, 'x.h5'), '--variant', 'nope'],
        2,
        /^xai-tools: --variant: allowed choices are .* \(got 'nope'\) \(see xai-tools spray --help\)$/,
      ],
      [['spray', attribution, '-o', join(dir, 'x.h5'), '--clusters', '5:2'], 2, /empty range/],
    ];
    for (const [args, code, pattern] of cases) {
      const result = await runCli(args);
      expect(result.code).toBe(code);
      expect(result.stderr.trim().split('\n')[0]).toMatch(pattern);
    }
  });
});
