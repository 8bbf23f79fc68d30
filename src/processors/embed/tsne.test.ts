import { describe, expect, it } from 'vitest';
import { knnSearch } from '../linalg/knn.js';
import { Random } from '../random.js';
import { jointProbabilities, repulsiveForces, tsne } from './tsne.js';
import { exactRepulsion, nearestSharesGroup } from './testing.js';

describe('Barnes–Hut t-SNE', () => {
  const random = new Random(4);
  const n = 240;
  const d = 10;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) x[i * d + f] = (f === i % 4 ? 8 : 0) + random.gaussian();
  const graph = knnSearch(x, n, d, 31);

  it('P is symmetrised and normalised to sum 1', () => {
    const p = jointProbabilities(graph, 10);
    const total = p.values.reduce((s, v) => s + 2 * v, 0);
    expect(total).toBeCloseTo(1, 10);
  });

  it('keeps well-separated groups apart (2-D neighbours share the group) and is seeded', () => {
    const y = tsne(graph, { perplexity: 10, maxIter: 500, seed: 1 });
    const y2 = tsne(graph, { perplexity: 10, maxIter: 500, seed: 1 });
    expect(Array.from(y)).toEqual(Array.from(y2));
    expect(nearestSharesGroup(y, n, 4)).toBeGreaterThan(0.97);
  });
});

describe('Barnes–Hut repulsion', () => {
  it('gives coincident points that are not their leaf’s resident their repulsion too (theta 0 = exact)', () => {
    const random = new Random(9);
    const n = 40;
    const y = new Float64Array(2 * n);
    for (let i = 0; i < 2 * n; i++) y[i] = random.gaussian();
    // Points 5..9 sit exactly on point 4, points 21..23 on point 20.
    for (const [twin, of] of [
      [5, 4],
      [6, 4],
      [7, 4],
      [8, 4],
      [9, 4],
      [21, 20],
      [22, 20],
      [23, 20],
    ]) {
      y[2 * twin!] = y[2 * of!]!;
      y[2 * twin! + 1] = y[2 * of! + 1]!;
    }
    const got = repulsiveForces(y, n, 0);
    const want = exactRepulsion(y, n);
    expect(got.z).toBeCloseTo(want.z, 9);
    for (let i = 0; i < n; i++) {
      expect(got.negX[i], `x of ${i}`).toBeCloseTo(want.negX[i]!, 9);
      expect(got.negY[i], `y of ${i}`).toBeCloseTo(want.negY[i]!, 9);
    }
    // Twins feel the same force as the point they sit on, and it is not zero.
    expect(Math.abs(got.negX[7]!) + Math.abs(got.negY[7]!)).toBeGreaterThan(1e-3);
    expect(got.negX[7]).toBe(got.negX[4]);
  });
});
