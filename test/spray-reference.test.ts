/**
 * spray checked against results computed outside it: the written spectral embedding against a dense
 * numpy eigendecomposition of the SpRAy chain (test/helpers/spray_check.py) for every variant and
 * neighbour count, the suspicion score from the reference eigenvalues, --seed determinism, and the
 * UMAP embedding's neighbourhood preservation measured by scikit-learn.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suspicionScore } from '../src/processors/spray.js';
import { repoRoot, runCli, sharedDir } from './helpers/cli.js';

const conformance = join(sharedDir, 'conformance', 'spray');
const attribution = join(conformance, 'attribution.h5');
const reference = JSON.parse(readFileSync(join(conformance, 'reference.json'), 'utf8')) as {
  categories: Record<string, { index: number[]; eigenvalue: number[] }>;
};
const checker = join(repoRoot, 'test', 'helpers', 'spray_check.py');

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spray-reference-'));
  await h5wasm.ready;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Check = Record<string, { n: number; eigenvalue_error: number; residual: number; row_norm_error: number }>;
const check = (analysis: string, variant: string, neighbours: number, normalised = true): Check =>
  JSON.parse(
    execFileSync('/usr/bin/python3', [checker, attribution, analysis, variant, String(neighbours), normalised ? '1' : '0'], { encoding: 'utf8' }),
  ) as Check;

const quick = ['--algorithms', 'kmeans', '--clusters', '3', '--embeddings', 'none', '-q'];

async function spray(name: string, args: string[]): Promise<string> {
  const output = join(dir, name);
  const result = await runCli(['spray', attribution, '-o', output, ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return output;
}

function read<T>(file: string, fn: (f: InstanceType<typeof h5wasm.File>) => T): T {
  const f = new h5wasm.File(file, 'r');
  try {
    return fn(f);
  } finally {
    f.close();
  }
}
const values = (f: InstanceType<typeof h5wasm.File>, path: string): number[] =>
  Array.from((f.get(path) as InstanceType<typeof h5wasm.Dataset>).value as Float32Array);
const attr = (f: InstanceType<typeof h5wasm.File>, path: string, name: string): unknown =>
  (f.get(path) as InstanceType<typeof h5wasm.Group>).attrs[name]!.value;

function expectEigenpairs(result: Check, sizes: number[]): void {
  expect(
    Object.values(result)
      .map((c) => c.n)
      .sort((a, b) => a - b),
  ).toEqual(sizes);
  for (const [name, c] of Object.entries(result)) {
    expect(c.eigenvalue_error, name).toBeLessThan(1e-5);
    // Columns in the stored order, each an eigenvector of M for its own stored eigenvalue.
    expect(c.residual, name).toBeLessThan(1e-4);
  }
}

describe('spectral embedding: ‖Mv − μv‖ of every written column against numpy', () => {
  for (const variant of ['spectral', 'absspectral', 'fullspectral', 'histogram']) {
    it(`--variant ${variant}`, async () => {
      const output = await spray(`${variant}.h5`, ['--variant', variant, ...quick]);
      const result = check(output, variant, 32);
      expectEigenpairs(result, [90, 300]);
      for (const c of Object.values(result)) expect(c.row_norm_error).toBeLessThan(1e-5);
    });
  }

  it('--n-neighbors changes the affinity graph the eigenpairs belong to', async () => {
    const ten = await spray('n10.h5', ['--n-neighbors', '10', ...quick]);
    expectEigenpairs(check(ten, 'spectral', 10), [90, 300]);
    // The same file is not an eigenbasis of the 32-neighbour graph.
    for (const c of Object.values(check(ten, 'spectral', 32))) expect(c.eigenvalue_error).toBeGreaterThan(1e-3);
  });

  it('un-normalised eigenvectors (normalize: false in --config) satisfy Mv = μv directly', async () => {
    const config = join(dir, 'raw.yaml');
    writeFileSync(config, 'tasks:\n  embedding: {EigenDecomposition: {nEigval: 12, normalize: false}}\n  clustering: {KMeans: {nClusters: 3}}\n');
    const output = await spray('raw.h5', ['--config', config, '-q']);
    const result = check(output, 'spectral', 32, false);
    expectEigenpairs(result, [90, 300]);
    // Not row-normalised: the check above did not rescale anything.
    for (const c of Object.values(result)) expect(c.row_norm_error).toBeGreaterThan(0.1);
  });
});

/** The largest gap between consecutive ascending eigenvalues λ_k, λ_{k+1} for 2 ≤ k ≤ min(10, m − 1). */
function largestGap(eigenvalues: number[]): { k: number; gap: number } {
  const ascending = [...eigenvalues].sort((a, b) => a - b);
  const gaps = ascending.slice(1).map((next, i) => ({ k: i + 1, gap: next - ascending[i]! }));
  const allowed = gaps.filter((g) => g.k >= 2 && g.k <= Math.min(10, ascending.length - 1));
  return allowed.reduce((best, g) => (g.gap > best.gap ? g : best), { k: 1, gap: 0 });
}

describe('suspicion score', () => {
  it('is the largest eigengap after at least two eigenvalues (hand-made spectra)', () => {
    expect(suspicionScore([0.6, 0.5, 0.02, 0.01, 0])).toEqual({ suspicion: 0.5 - 0.02, k: 3 });
    // The algebraic connectivity (gap after λ₁) does not count.
    const s = suspicionScore([1, 0.96, 0.9, 0]);
    expect(s.k).toBe(2);
    expect(s.suspicion).toBeCloseTo(0.06, 12);
    // Only gaps up to λ₁₁ count.
    const late = [0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 1.5];
    expect(suspicionScore(late).suspicion).toBeCloseTo(0.01, 12);
    expect(suspicionScore([0.5, 0])).toEqual({ suspicion: 0, k: 1 });
  });

  it('matches the reference eigenvalues of ../shared/conformance/spray, in the file and in the ranking', async () => {
    const output = await spray('suspicion.h5', quick);
    const expected = Object.fromEntries(Object.entries(reference.categories).map(([name, ref]) => [name, largestGap(ref.eigenvalue)]));
    read(output, (f) => {
      for (const [name, g] of Object.entries(expected)) {
        expect(Number(attr(f, name, 'suspicion')), name).toBeCloseTo(g.gap, 4);
        expect(Number(attr(f, name, 'suspicion_k')), name).toBe(g.k);
        expect(suspicionScore(reference.categories[name]!.eigenvalue).suspicion).toBeCloseTo(g.gap, 12);
      }
    });
    const table = await runCli(['spray', attribution, '-o', join(dir, 'suspicion2.h5'), ...quick.filter((a) => a !== '-q')]);
    expect(table.code).toBe(0);
    const ranked = table.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/)[1]);
    expect(ranked).toEqual(Object.keys(expected).sort((a, b) => expected[b]!.gap - expected[a]!.gap));
  });
});

describe('--seed', () => {
  const randomParts = ['--algorithms', 'kmeans,hdbscan', '--clusters', '4', '--embeddings', 'tsne,umap', '--classes', '1', '-q'];
  const embeddingOf = (file: string, name: string) => read(file, (f) => values(f, `00000001/embedding/${name}`));
  const labelsOf = (file: string, name: string) =>
    read(file, (f) => Array.from((f.get(`00000001/cluster/${name}`) as InstanceType<typeof h5wasm.Dataset>).value as Int32Array));

  it('the same seed gives the same file; another seed moves the random embeddings', async () => {
    const a = await spray('seed3a.h5', [...randomParts, '--seed', '3']);
    const b = await spray('seed3b.h5', [...randomParts, '--seed', '3']);
    const c = await spray('seed4.h5', [...randomParts, '--seed', '4']);
    for (const e of ['spectral', 'tsne', 'umap']) expect(embeddingOf(b, e), e).toEqual(embeddingOf(a, e));
    for (const k of ['kmeans-04', 'hdbscan']) expect(labelsOf(b, k), k).toEqual(labelsOf(a, k));
    expect(embeddingOf(c, 'tsne')).not.toEqual(embeddingOf(a, 'tsne'));
    expect(embeddingOf(c, 'umap')).not.toEqual(embeddingOf(a, 'umap'));
  });

  it('UMAP keeps each sample’s spectral neighbours near it (scikit-learn trustworthiness)', async () => {
    const output = await spray('umap.h5', ['--algorithms', 'kmeans', '--clusters', '3', '--embeddings', 'umap', '--classes', '0', '-q']);
    const script = [
      'import sys, h5py, json',
      'from sklearn.manifold import trustworthiness',
      'import numpy as np',
      'f = h5py.File(sys.argv[1], "r")',
      'g = f["00000000/embedding"]',
      'x, y = g["spectral"][()], g["umap"][()]',
      'shuffled = np.random.default_rng(0).permutation(y)',
      'print(json.dumps([float(trustworthiness(x, y, n_neighbors=10)), float(trustworthiness(x, shuffled, n_neighbors=10))]))',
    ].join('\n');
    const [umap, random] = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, output], { encoding: 'utf8' })) as [number, number];
    expect(umap).toBeGreaterThan(0.85);
    expect(umap).toBeGreaterThan(random + 0.2);
    read(output, (f) => expect(attr(f, '00000000/embedding/umap', 'embedding')).toBe('spectral'));
  });
});
