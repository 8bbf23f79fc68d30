import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { sparseEigs } from './eigs.js';
import { knnSearch } from './knn.js';
import { csrFromTriplets, csrToDense, rowSums, scaleRowsCols } from './sparse.js';

/** A random kNN-like symmetric graph, normalised as D^-1/2 A D^-1/2. */
function randomNormalisedGraph(n: number, degree: number, seed: number) {
  const random = new Random(seed);
  const r: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let e = 0; e < degree; e++) {
      const j = random.int(n);
      if (j === i) continue;
      r.push(i, j);
      c.push(j, i);
      v.push(0.5, 0.5);
    }
  }
  const a = csrFromTriplets(n, n, Int32Array.from(r), Int32Array.from(c), Float64Array.from(v));
  const s = rowSums(a).map((d) => (d > 0 ? 1 / Math.sqrt(d) : 0));
  return scaleRowsCols(a, s, s);
}

function denseSpectrum(m: ReturnType<typeof randomNormalisedGraph>): number[] {
  const dense = new Matrix(m.rows, m.cols);
  const values = csrToDense(m);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) dense.set(i, j, values[i * m.cols + j]!);
  return new EigenvalueDecomposition(dense, { assumeSymmetric: true }).realEigenvalues;
}

describe('sparse block eigensolver', () => {
  it('finds the largest-|μ| eigenpairs that a dense solver finds, in ascending order', () => {
    const m = randomNormalisedGraph(240, 6, 1);
    const result = sparseEigs(m, 12, { seed: 3 });
    const expected = denseSpectrum(m)
      .sort((a, b) => Math.abs(b) - Math.abs(a))
      .slice(0, 12)
      .sort((a, b) => a - b);
    Array.from(result.values).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 8));
    // Residuals ‖M v − μ v‖ are small for every returned vector.
    const n = m.rows;
    for (let j = 0; j < 12; j++) {
      let worst = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let e = m.indptr[i]!; e < m.indptr[i + 1]!; e++) s += m.values[e]! * result.vectors[m.indices[e]! * 12 + j]!;
        worst = Math.max(worst, Math.abs(s - result.values[j]! * result.vectors[i * 12 + j]!));
      }
      expect(worst).toBeLessThan(1e-7);
    }
  });

  it('supports the largest and smallest algebraic ends', () => {
    const m = randomNormalisedGraph(150, 5, 2);
    const spectrum = denseSpectrum(m).sort((a, b) => a - b);
    const la = sparseEigs(m, 5, { which: 'LA', seed: 1 });
    const sa = sparseEigs(m, 5, { which: 'SA', seed: 1 });
    Array.from(la.values).forEach((v, i) => expect(v).toBeCloseTo(spectrum[spectrum.length - 5 + i]!, 8));
    Array.from(sa.values).forEach((v, i) => expect(v).toBeCloseTo(spectrum[i]!, 8));
  });

  it('resolves a repeated eigenvalue: 10 disconnected clusters give μ = 1 ten times', () => {
    // Ten cliques of 30 nodes: single-vector Lanczos misses most of the copies of μ = 1.
    const r: number[] = [];
    const c: number[] = [];
    for (let cluster = 0; cluster < 10; cluster++) {
      for (let a = 0; a < 30; a++)
        for (let b = 0; b < 30; b++)
          if (a !== b) {
            r.push(cluster * 30 + a);
            c.push(cluster * 30 + b);
          }
    }
    const a = csrFromTriplets(300, 300, Int32Array.from(r), Int32Array.from(c), new Float64Array(r.length).fill(1));
    const s = rowSums(a).map((d) => 1 / Math.sqrt(d));
    const result = sparseEigs(scaleRowsCols(a, s, s), 12, { which: 'LA', seed: 0 });
    const ones = Array.from(result.values).filter((v) => Math.abs(v - 1) < 1e-8);
    expect(ones).toHaveLength(10);
  });

  it('answers larger graphs by block Lanczos, with the pairs a dense solver finds', () => {
    // Which bug fails this: a wrong H = VᵀMV after a thick restart or a wrong residual estimate
    // (values off, or the true-residual check rejecting the result and falling back).
    const m = randomNormalisedGraph(700, 6, 7);
    const result = sparseEigs(m, 20, { seed: 2 });
    expect(result.solver).toBe('lanczos');
    expect(result.cycles).toBeGreaterThan(1);
    const expected = denseSpectrum(m)
      .sort((a, b) => Math.abs(b) - Math.abs(a))
      .slice(0, 20)
      .sort((a, b) => a - b);
    Array.from(result.values).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 8));
    expect(result.maxResidual).toBeLessThan(1e-7);
  });

  it('falls back to the filtered subspace iteration when more components than the block resolves', () => {
    // 20 cliques of 40: μ = 1 twenty times, more than the widest Lanczos block (16).
    const r: number[] = [];
    const c: number[] = [];
    for (let cluster = 0; cluster < 20; cluster++)
      for (let a = 0; a < 40; a++)
        for (let b = 0; b < 40; b++)
          if (a !== b) {
            r.push(cluster * 40 + a);
            c.push(cluster * 40 + b);
          }
    const a = csrFromTriplets(800, 800, Int32Array.from(r), Int32Array.from(c), new Float64Array(r.length).fill(1));
    const s = rowSums(a).map((d) => 1 / Math.sqrt(d));
    const result = sparseEigs(scaleRowsCols(a, s, s), 24, { which: 'LA', seed: 0 });
    expect(result.solver).toBe('chebyshev');
    expect(Array.from(result.values).filter((v) => Math.abs(v - 1) < 1e-8)).toHaveLength(20);
  });

  it('is deterministic for a seed, with fixed eigenvector signs', () => {
    const m = randomNormalisedGraph(120, 5, 4);
    const a = sparseEigs(m, 6, { seed: 9 });
    const b = sparseEigs(m, 6, { seed: 9 });
    expect(Array.from(a.vectors)).toEqual(Array.from(b.vectors));
    for (let j = 0; j < 6; j++) {
      let best = 0;
      for (let i = 0; i < 120; i++) if (Math.abs(a.vectors[i * 6 + j]!) > Math.abs(a.vectors[best * 6 + j]!)) best = i;
      expect(a.vectors[best * 6 + j]).toBeGreaterThan(0);
    }
  });
});

/** Each row's k nearest other rows by a float64 scan, ties by index. */
function bruteForceKnn(x: Float32Array, n: number, d: number, k: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const dist = (j: number) => Math.sqrt(Array.from({ length: d }, (_, f) => (x[i * d + f]! - x[j * d + f]!) ** 2).reduce((s, v) => s + v, 0));
    return Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== i)
      .sort((a, b) => dist(a) - dist(b) || a - b)
      .slice(0, k);
  });
}

describe('kNN search', () => {
  it('matches brute force (self excluded, ascending, ties by index)', () => {
    const random = new Random(5);
    const n = 300;
    const d = 7;
    const x = new Float32Array(n * d).map(() => random.gaussian());
    const k = 9;
    const expected = bruteForceKnn(x, n, d, k);
    for (const method of ['exact', 'hnsw'] as const) {
      const g = knnSearch(x, n, d, k, { method });
      let agree = 0;
      for (let i = 0; i < n; i++) {
        const got = Array.from(g.indices.subarray(i * k, i * k + k));
        if (method === 'exact') {
          expect(got).toEqual(expected[i]);
          const first = expected[i]![0]!;
          const dist = Math.sqrt(Array.from({ length: d }, (_, f) => (x[i * d + f]! - x[first * d + f]!) ** 2).reduce((s, v) => s + v, 0));
          expect(g.distances[i * k]).toBeCloseTo(dist, 12);
        }
        agree += got.filter((j) => expected[i]!.includes(j)).length;
      }
      expect(agree / (n * k)).toBeGreaterThan(method === 'exact' ? 0.999999 : 0.97);
    }
  });

  it('stays exact on rows far from the origin and on wide rows (the GEMM expansion must not cancel)', () => {
    const random = new Random(11);
    // Features of 10⁴ ± 0.01: uncentred, ‖x‖² − 2·q·x rounds away every difference in float32.
    for (const [n, d, offset, spread] of [
      [200, 16, 1e4, 0.01],
      [80, 1030, 0, 1],
    ] as const) {
      const x = new Float32Array(n * d).map(() => offset + spread * random.gaussian());
      const k = 6;
      const expected = bruteForceKnn(x, n, d, k);
      const g = knnSearch(x, n, d, k, { method: 'exact' });
      for (let i = 0; i < n; i++) expect(Array.from(g.indices.subarray(i * k, i * k + k))).toEqual(expected[i]);
    }
  });

  it('keeps duplicates apart from the row itself', () => {
    const d = 3;
    const x = Float32Array.from([1, 2, 3, 1, 2, 3, 1, 2, 3, 5, 5, 5, 9, 9, 9]);
    const g = knnSearch(x, 5, d, 2, { method: 'exact' });
    expect(Array.from(g.indices)).toEqual([1, 2, 0, 2, 0, 1, 0, 1, 3, 0]);
  });
});
