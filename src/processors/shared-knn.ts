import { asFloat32, type Tensor } from './data.js';
import { type KnnGraph, knnSearch, truncateKnn } from './linalg/knn.js';

/**
 * kNN graphs shared by every processor that searches neighbours in the *same* tensor object (the
 * spectral embedding feeds DBSCAN, HDBSCAN and t-SNE). A brute-force search costs about the same
 * for 4 or 96 neighbours, so the first request computes at least SHARED_K and later ones truncate.
 * Keyed on the tensor object (never mutated), so the graphs vanish with it.
 */
const SHARED_K = 96;
const graphs = new WeakMap<Tensor, KnnGraph>();

export function sharedKnn(t: Tensor, k: number, checkpoint?: () => void): KnnGraph {
  const n = t.shape[0]!;
  const d = n === 0 ? 0 : t.data.length / n;
  const known = graphs.get(t);
  if (known && known.k >= k) return truncateKnn(known, k);
  const graph = knnSearch(asFloat32(t), n, d, Math.min(n - 1, Math.max(k, SHARED_K)), { checkpoint });
  graphs.set(t, graph);
  return truncateKnn(graph, k);
}
