import { type Tensor, asFloat64, expectTensor, tensor } from './data.js';
import { type Dendrogram, cutTree, wardTree } from './cluster/ward.js';
import { dbscanLabels, hdbscanLabels, type ReachabilityTree, reachabilityTree } from './cluster/density.js';
import { kmeans } from './cluster/kmeans.js';
import { connectivityWardTree, knnReachabilityTree, exactTreeFits } from './cluster/large.js';
import { sharedKnn } from './shared-knn.js';
import { param } from './param.js';
import { type BaseOptions, defineProcessor, Processor, type RunContext } from './processor.js';

function rows(input: unknown, who: string): { t: Tensor; x: Float64Array; n: number; d: number } {
  const t = expectTensor(input as Tensor, who, 2);
  const n = t.shape[0]!;
  return { t, x: asFloat64(t), n, d: n === 0 ? 0 : t.data.length / n };
}

/**
 * Structures shared by several clusterings of the *same* input object (every DBSCAN radius and
 * HDBSCAN reuse one reachability tree; every Ward cut one dendrogram). Keyed on the tensor object,
 * which is never mutated, so they vanish with it.
 */
const reachabilityMemo = new WeakMap<Tensor, Map<number, ReachabilityTree>>();
const wardMemo = new WeakMap<Tensor, Dendrogram>();
/** Neighbours per row of the graph the large-input trees are restricted to. */
const LARGE_K = 96;
const WARD_K = 10;

function sharedReachability(t: Tensor, x: Float64Array, n: number, d: number, minSamples: number, context: RunContext): ReachabilityTree {
  let byMin = reachabilityMemo.get(t);
  if (!byMin) {
    byMin = new Map();
    reachabilityMemo.set(t, byMin);
  }
  let tree = byMin.get(minSamples);
  if (!tree) {
    const k = Math.min(Math.max(minSamples - 1, 1), n - 1);
    // Large inputs: the MST over the shared kNN graph (cluster/large.ts) instead of all pairs.
    tree = exactTreeFits(n, d)
      ? reachabilityTree(x, n, d, minSamples, sharedKnn(t, k, context.checkpoint), context.checkpoint)
      : knnReachabilityTree(n, minSamples, sharedKnn(t, Math.max(k, LARGE_K), context.checkpoint), context.checkpoint);
    byMin.set(minSamples, tree);
  }
  return tree;
}

export interface KMeansParams {
  nClusters: number;
  maxIter: number;
  tol: number;
  nInit: number;
  seed: number;
}

/** k-means (sklearn defaults: k-means++ init, 1 run, 300 iterations, tol 1e-4), seeded. k shrinks to N. */
export const KMeansType = defineProcessor<KMeansParams>({
  name: 'KMeans',
  description: 'k-means clustering (k-means++ init)',
  params: {
    nClusters: param.int({ description: 'number of clusters k (shrunk to N for small inputs)', default: 2, min: 1 }),
    maxIter: param.int({ description: 'Lloyd iterations', default: 300, min: 1 }),
    tol: param.number({ description: 'relative convergence tolerance', default: 1e-4, min: 0 }),
    nInit: param.int({ description: 'restarts (best inertia wins)', default: 1, min: 1 }),
    seed: param.int({ description: 'seed of the k-means++ draw', default: 0 }),
  },
  label: (p) => `kmeans-${String(p.nClusters).padStart(2, '0')}`,
  clusterCount: (p) => p.nClusters,
  compute(input, p) {
    const { x, n, d } = rows(input, 'KMeans');
    if (n === 0) return tensor('int32', [0], new Int32Array(0));
    const labels = kmeans(x, n, d, Math.min(p.nClusters, n), { maxIter: p.maxIter, tol: p.tol, nInit: p.nInit, seed: p.seed });
    return tensor('int32', [n], labels);
  },
});

export interface DbscanParams {
  eps: number;
  minSamples: number;
}

/** DBSCAN (Euclidean; minSamples counts the point itself, as sklearn); −1 = noise. */
export const DbscanType = defineProcessor<DbscanParams>({
  name: 'DBSCAN',
  description: 'density-based clustering at radius eps',
  params: {
    eps: param.number({ description: 'neighbourhood radius', default: 0.5, min: 0, exclusiveMin: true }),
    minSamples: param.int({ description: 'points (itself included) within eps for a core point', default: 5, min: 1 }),
  },
  label: (p) => `dbscan-eps=${p.eps.toFixed(1)}`,
  compute(input, p, context) {
    const { t, x, n, d } = rows(input, 'DBSCAN');
    if (n < 2) return tensor('int32', [n], new Int32Array(n).fill(p.minSamples <= 1 ? 0 : -1));
    return tensor('int32', [n], dbscanLabels(sharedReachability(t, x, n, d, p.minSamples, context), p.eps));
  },
});

export interface HdbscanParams {
  nClusters: number;
  minSamples: number;
}

/**
 * HDBSCAN* with excess-of-mass selection. As in CoRelAy, `nClusters` is passed as the *minimum
 * cluster size*; minSamples 0 means "same as nClusters" (hdbscan's default). −1 = noise.
 */
export const HdbscanType = defineProcessor<HdbscanParams>({
  name: 'HDBSCAN',
  description: 'hierarchical density-based clustering',
  params: {
    nClusters: param.int({ description: 'minimum cluster size (CoRelAy calls it n_clusters)', default: 5, min: 2 }),
    minSamples: param.int({ description: 'core-distance neighbourhood, itself included (0 = nClusters)', default: 0, min: 0 }),
  },
  label: () => 'hdbscan',
  compute(input, p, context) {
    const { t, x, n, d } = rows(input, 'HDBSCAN');
    if (n < 2) return tensor('int32', [n], new Int32Array(n).fill(-1));
    const minSamples = p.minSamples || p.nClusters;
    return tensor('int32', [n], hdbscanLabels(sharedReachability(t, x, n, d, minSamples, context), p.nClusters));
  },
});

export interface AgglomerativeParams {
  nClusters: number;
  linkage: 'ward';
}

/** Agglomerative clustering, Ward linkage (nearest-neighbour chain, O(N) memory); k shrinks to N. */
export const AgglomerativeType = defineProcessor<AgglomerativeParams>({
  name: 'AgglomerativeClustering',
  description: 'hierarchical clustering (Ward linkage)',
  params: {
    nClusters: param.int({ description: 'number of clusters (shrunk to N for small inputs)', default: 5, min: 1 }),
    linkage: param.oneOf(['ward'] as const, { description: 'linkage criterion', default: 'ward' }),
  },
  label: (p) => `agglomerative-${String(p.nClusters).padStart(2, '0')}`,
  clusterCount: (p) => p.nClusters,
  compute(input, p, context) {
    const { t, x, n, d } = rows(input, 'AgglomerativeClustering');
    if (n === 0) return tensor('int32', [0], new Int32Array(0));
    let tree = wardMemo.get(t);
    if (!tree) {
      tree = exactTreeFits(n, d)
        ? wardTree(x, n, d, context.checkpoint)
        : connectivityWardTree(x, n, d, sharedKnn(t, Math.min(n - 1, WARD_K), context.checkpoint), context.checkpoint);
      wardMemo.set(t, tree);
    }
    return tensor('int32', [n], cutTree(tree, Math.min(p.nClusters, n)));
  },
});

export const KMeans = (nClusters: number, o: Partial<KMeansParams> & BaseOptions = {}) => new Processor(KMeansType, { nClusters, ...o });
export const DBSCAN = (eps: number, o: Partial<DbscanParams> & BaseOptions = {}) => new Processor(DbscanType, { eps, ...o });
export const HDBSCAN = (o: Partial<HdbscanParams> & BaseOptions = {}) => new Processor(HdbscanType, o);
export const AgglomerativeClustering = (nClusters: number, o: Partial<AgglomerativeParams> & BaseOptions = {}) =>
  new Processor(AgglomerativeType, { nClusters, ...o });
