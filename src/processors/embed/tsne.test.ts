import { describe, expect, it } from 'vitest';
import { knnSearch } from '../linalg/knn.js';
import { Random } from '../random.js';
import { jointProbabilities, tsne } from './tsne.js';

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
    let same = 0;
    for (let i = 0; i < n; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const dd = (y[2 * i]! - y[2 * j]!) ** 2 + (y[2 * i + 1]! - y[2 * j + 1]!) ** 2;
        if (dd < bestD) {
          bestD = dd;
          best = j;
        }
      }
      if (best % 4 === i % 4) same++;
    }
    expect(same / n).toBeGreaterThan(0.97);
  });
});
