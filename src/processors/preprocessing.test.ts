import { describe, expect, it } from 'vitest';
import { type Data, type Tensor, tensor } from './data.js';
import { PCAEmbedding } from './embedding.js';
import { PairwiseDistance, SparseKNN, SymmetricNormalLaplacian, RandomWalkNormalLaplacian, KnnDistance } from './graph.js';
import { csrToDense } from './linalg/sparse.js';
import { Absolute, Flatten, Histogram, Normalize, Pooling, SumChannel } from './preprocessing.js';
import { createContext } from './processor.js';

const ctx = createContext();
const t = (shape: number[], values: number[]) => tensor('float32', shape, Float32Array.from(values));
const arr = (d: Data) => Array.from((d as Tensor).data);

describe('pre-processing', () => {
  const x = t([1, 2, 2, 2], [1, 2, 3, 4, 10, 20, 30, -40]);
  it('SumChannel, Absolute, Flatten', () => {
    expect(arr(SumChannel().run(x, ctx))).toEqual([11, 22, 33, -36]);
    expect((SumChannel().run(x, ctx) as Tensor).shape).toEqual([1, 2, 2]);
    expect(arr(Absolute().run(x, ctx)).slice(-1)).toEqual([40]);
    expect((Flatten().run(x, ctx) as Tensor).shape).toEqual([1, 8]);
  });
  it('Normalize divides by the signed sum over the axes', () => {
    const s = SumChannel().run(x, ctx);
    expect(arr(Normalize([1, 2]).run(s, ctx)).map((v) => +v.toFixed(5))).toEqual([11 / 30, 22 / 30, 33 / 30, -36 / 30].map((v) => +v.toFixed(5)));
    const per = arr(Normalize([2, 3]).run(x, ctx));
    expect(per.slice(0, 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(arr(Normalize([1]).run(t([1, 2], [0, 0]), ctx))).toEqual([0, 0]);
  });
  it('Histogram is numpy density=True over [min, max] per channel', () => {
    const h = Histogram(4).run(t([1, 1, 2, 2], [0, 1, 2, 4]), ctx) as Tensor;
    expect(h.shape).toEqual([1, 1, 4]);
    // bins of width 1 over [0, 4]: counts 1,1,1,1 (4 falls in the closed last bin) → density 1/4 each
    expect(Array.from(h.data)).toEqual([0.25, 0.25, 0.25, 0.25]);
    const flat = Histogram(2).run(t([1, 1, 1, 2], [3, 3]), ctx) as Tensor;
    // min = max = 3 → range widened to [2.5, 3.5], width 0.5: density 2 / (2 · 0.5) = 2 in the upper bin
    expect(Array.from(flat.data)).toEqual([0, 2]);
  });
  it('Pooling averages blocks (average-pool downsampling) with zero padding', () => {
    const p = Pooling([1, 2, 2], 'mean').run(t([1, 3, 2], [1, 2, 3, 4, 5, 6]), ctx) as Tensor;
    expect(p.shape).toEqual([1, 2, 1]);
    expect(Array.from(p.data)).toEqual([2.5, 11 / 4]);
  });
});

describe('graphs', () => {
  const points = t([3, 2], [1, 1, 1, 2, 1, 3]);
  it('SparseKNN reproduces CoRelAy’s test: k = 1 → [[0,1,0],[1,0,.5],[0,.5,0]]', () => {
    // Both from the dense distance matrix and from the sparse kNN graph.
    for (const distances of [PairwiseDistance().run(points, ctx), KnnDistance({ nNeighbors: 1 }).run(points, ctx)]) {
      const a = SparseKNN({ nNeighbors: 1 }).run(distances, ctx) as never;
      expect(Array.from(csrToDense(a))).toEqual([0, 1, 0, 1, 0, 0.5, 0, 0.5, 0]);
    }
  });
  it('Laplacians: D^-1/2 A D^-1/2 and D^-1 A', () => {
    const a = SparseKNN({ nNeighbors: 1 }).run(PairwiseDistance().run(points, ctx), ctx);
    const m = csrToDense(SymmetricNormalLaplacian().run(a, ctx) as never);
    const d = [1, 1.5, 0.5];
    expect(m[1]).toBeCloseTo(1 / Math.sqrt(d[0]! * d[1]!), 12);
    expect(m[5]).toBeCloseTo(0.5 / Math.sqrt(d[1]! * d[2]!), 12);
    const rw = csrToDense(RandomWalkNormalLaplacian().run(a, ctx) as never);
    expect([rw[3]! + rw[5]!, rw[7]]).toEqual([1, 1]);
  });
});

describe('PCA', () => {
  it('projects on the principal axes (variance order, centred)', () => {
    const rows: number[] = [];
    for (let i = 0; i < 50; i++) rows.push(3 * Math.cos(i), 0.5 * Math.sin(i), 0.01 * i - 0.25 + 7);
    const y = PCAEmbedding({ nComponents: 2 }).run(t([50, 3], rows), ctx) as Tensor;
    const col = (j: number) => Array.from({ length: 50 }, (_, i) => y.data[i * 2 + j]!);
    const variance = (v: number[]) => v.reduce((s, a) => s + a * a, 0) / v.length;
    expect(col(0).reduce((s, a) => s + a, 0)).toBeCloseTo(0, 4);
    expect(variance(col(0))).toBeGreaterThan(variance(col(1)));
    for (let i = 0; i < 50; i++)
      expect(Math.abs(y.data[i * 2]!)).toBeCloseTo(Math.abs(3 * Math.cos(i) - rows.filter((_, q) => q % 3 === 0).reduce((s, a) => s + a, 0) / 50), 1);
  });
});
