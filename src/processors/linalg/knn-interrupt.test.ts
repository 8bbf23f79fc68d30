import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { knnSearch } from './knn.js';

describe('knnSearch checkpoints', () => {
  // A search of a large category is minutes of native calls; Ctrl-C must be seen between chunks.
  for (const method of ['exact', 'hnsw'] as const) {
    it(`${method}: calls the checkpoint between chunks, so an interrupt stops the search`, () => {
      const random = new Random(1);
      const n = 9000;
      const d = 4;
      const x = Float32Array.from({ length: n * d }, () => random.gaussian());
      let calls = 0;
      const stop = new Error('interrupted');
      expect(() =>
        knnSearch(x, n, d, 5, {
          method,
          checkpoint: () => {
            if (++calls === 2) throw stop;
          },
        }),
      ).toThrow(stop);
      let total = 0;
      knnSearch(x, n, d, 5, { method, checkpoint: () => void total++ });
      // Several chunks of the candidate search plus one call per 1024 rows of the re-rank.
      expect(total).toBeGreaterThan(Math.ceil(n / 1024));
    });
  }
});
