import { ProcessorError } from './errors.js';
import {
  type Data,
  type KnnData,
  type SparseData,
  type Tensor,
  asFloat32,
  asFloat64,
  describeData,
  expectTensor,
  isTensor,
  isTuple,
  knnData,
  sparse,
  tensor,
} from './data.js';
import { type KnnMethod, knnSearch, truncateKnn } from './linalg/knn.js';
import { type Csr, csrFromTriplets, denseToCsr, rowSums, scaleRowsCols } from './linalg/sparse.js';
import { param } from './param.js';
import { type BaseOptions, defineProcessor, Processor } from './processor.js';
import type { NoParams } from './processor.js';

export type Metric = 'euclidean' | 'cosine';

/** Rows of an (N, F) tensor as float32, unit-normalised for the cosine metric. */
function rowsFor(t: Tensor, metric: Metric): { x: Float32Array; n: number; d: number } {
  const n = t.shape[0]!;
  const d = t.shape.slice(1).reduce((a, b) => a * b, 1);
  let x = asFloat32(t);
  if (metric === 'cosine') {
    x = Float32Array.from(x);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let f = 0; f < d; f++) s += x[i * d + f]! ** 2;
      const norm = Math.sqrt(s) || 1;
      for (let f = 0; f < d; f++) x[i * d + f]! /= norm;
    }
  }
  return { x, n, d };
}

export interface PairwiseDistanceParams {
  metric: Metric | 'sqeuclidean' | 'cityblock';
}

/**
 * Dense N × N distance matrix (CoRelAy's SciPyPDist). Quadratic memory: only for small inputs or
 * custom pipelines; the default pipeline uses KNNDistance.
 */
export const PairwiseDistanceType = defineProcessor<PairwiseDistanceParams>({
  name: 'PairwiseDistance',
  description: 'dense pairwise distances (N×N; small inputs only)',
  params: { metric: param.oneOf(['euclidean', 'cosine', 'sqeuclidean', 'cityblock'] as const, { description: 'distance metric', default: 'euclidean' }) },
  compute(input, { metric }) {
    const t = expectTensor(input, 'PairwiseDistance', 2);
    const n = t.shape[0]!;
    const d = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const x = asFloat64(t);
    const out = new Float64Array(n * n);
    const norms = new Float64Array(n);
    if (metric === 'cosine') for (let i = 0; i < n; i++) norms[i] = Math.sqrt(x.subarray(i * d, i * d + d).reduce((s, v) => s + v * v, 0)) || 1;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let s = 0;
        for (let f = 0; f < d; f++) {
          const a = x[i * d + f]!;
          const b = x[j * d + f]!;
          if (metric === 'cityblock') s += Math.abs(a - b);
          else if (metric === 'cosine') s += a * b;
          else s += (a - b) * (a - b);
        }
        const v = metric === 'euclidean' ? Math.sqrt(s) : metric === 'cosine' ? 1 - s / (norms[i]! * norms[j]!) : s;
        out[i * n + j] = v;
        out[j * n + i] = v;
      }
    }
    return tensor('float64', [n, n], out);
  },
});

/** The neighbour count KNNDistance and SparseKNN both declare (CoRelAy's default, shrunk for small inputs). */
const nNeighborsParam = () => param.int({ description: 'neighbours per row (shrunk to N−1 for small inputs)', default: 10, min: 1 });

export interface KnnDistanceParams {
  nNeighbors: number;
  metric: Metric;
  method: KnnMethod;
}

/**
 * The sparse replacement of the dense distance matrix: each row's `nNeighbors` nearest other rows
 * with their distances. Enough for SparseKNN (which only ever looks at those) at O(N·k) memory.
 */
export const KnnDistanceType = defineProcessor<KnnDistanceParams>({
  name: 'KNNDistance',
  description: 'k nearest neighbours with distances (sparse distance graph)',
  params: {
    nNeighbors: nNeighborsParam(),
    metric: param.oneOf(['euclidean', 'cosine'] as const, { description: 'distance metric (cosine: on unit-normalised rows)', default: 'euclidean' }),
    method: param.oneOf(['auto', 'exact', 'hnsw'] as const, {
      description: 'exact search, an HNSW index (approximate candidates, exact distances), or auto: exact while N²·F ≤ 3e10',
      default: 'auto',
    }),
  },
  compute(input, { nNeighbors, metric, method }, context) {
    const t = expectTensor(input, 'KNNDistance', 2);
    const { x, n, d } = rowsFor(t, metric);
    if (n < 2) throw new ProcessorError(`needs at least 2 rows, got ${n}`);
    const graph = knnSearch(x, n, d, Math.min(nNeighbors, n - 1), { method, checkpoint: context.checkpoint });
    if (metric === 'cosine') for (let e = 0; e < graph.distances.length; e++) graph.distances[e] = graph.distances[e]! ** 2 / 2;
    return knnData(graph);
  },
});

/** The k smallest off-diagonal entries of every row of a dense distance matrix. */
function knnFromDense(t: Tensor, k: number): KnnData {
  const n = t.shape[0]!;
  if (t.shape.length !== 2 || t.shape[1] !== n) throw new ProcessorError(`expects a square distance matrix, got [${t.shape.join(', ')}]`);
  const indices = new Int32Array(n * k);
  const distances = new Float64Array(n * k);
  const order = Array.from({ length: n }, (_, j) => j);
  for (let i = 0; i < n; i++) {
    const row = (j: number): number => t.data[i * n + j]!;
    const sorted = order.filter((j) => j !== i).sort((a, b) => row(a) - row(b) || a - b);
    for (let r = 0; r < k; r++) {
      indices[i * k + r] = sorted[r]!;
      distances[i * k + r] = row(sorted[r]!);
    }
  }
  return { kind: 'knn', n, k, indices, distances };
}

function asKnn(input: Data, k: number, who: string): KnnData {
  if (isTensor(input)) return knnFromDense(input, Math.min(k, input.shape[0]! - 1));
  if (!isTuple(input) && input.kind === 'knn') {
    const kk = Math.min(k, input.n - 1);
    if (kk > input.k)
      throw new ProcessorError(`${who} wants ${kk} neighbours but the distance graph has only ${input.k} per row; raise KNNDistance.nNeighbors`);
    return knnData(truncateKnn(input, kk));
  }
  throw new ProcessorError(`${who} expects a distance matrix or a kNN distance graph, got ${describeData(input)}`);
}

export interface SparseKnnParams {
  nNeighbors: number;
  symmetric: boolean;
}

/**
 * CoRelAy's SparseKNN: B_ij = 1 for the k = min(nNeighbors, N−1) nearest j of i (self excluded),
 * then A = (B + Bᵀ)/2 when symmetric (1 for mutual neighbours, 0.5 for one-sided ones).
 */
export const SparseKnnType = defineProcessor<SparseKnnParams>({
  name: 'SparseKNN',
  description: 'binary kNN affinity, average-symmetrised',
  params: {
    nNeighbors: nNeighborsParam(),
    symmetric: param.bool({ description: 'return (B + Bᵀ)/2 instead of B', default: true }),
  },
  compute(input, { nNeighbors, symmetric }) {
    const g = asKnn(input, nNeighbors, 'SparseKNN');
    const count = g.n * g.k * (symmetric ? 2 : 1);
    const r = new Int32Array(count);
    const c = new Int32Array(count);
    const v = new Float64Array(count);
    let e = 0;
    for (let i = 0; i < g.n; i++) {
      for (let q = 0; q < g.k; q++) {
        const j = g.indices[i * g.k + q]!;
        r[e] = i;
        c[e] = j;
        v[e++] = symmetric ? 0.5 : 1;
        if (symmetric) {
          r[e] = j;
          c[e] = i;
          v[e++] = 0.5;
        }
      }
    }
    return sparse(csrFromTriplets(g.n, g.n, r, c, v));
  },
});

export interface RbfParams {
  sigma: number;
}

/** exp(−D² / 2σ²): dense for a dense distance matrix; on a kNN graph only its edges (symmetrised by averaging). */
export const RadialBasisFunctionType = defineProcessor<RbfParams>({
  name: 'RadialBasisFunction',
  description: 'Gaussian affinity exp(−d²/2σ²)',
  params: { sigma: param.number({ description: 'bandwidth σ', default: 1, min: 0, exclusiveMin: true }) },
  compute(input, { sigma }) {
    const f = (d: number): number => Math.exp(-(d * d) / (2 * sigma * sigma));
    if (isTensor(input)) return tensor('float64', [...input.shape], Float64Array.from(input.data, f));
    const g = asKnn(input, Number.MAX_SAFE_INTEGER, 'RadialBasisFunction');
    const count = 2 * g.n * g.k;
    const r = new Int32Array(count);
    const c = new Int32Array(count);
    const v = new Float64Array(count);
    let e = 0;
    for (let i = 0; i < g.n; i++) {
      for (let q = 0; q < g.k; q++) {
        const j = g.indices[i * g.k + q]!;
        const w = f(g.distances[i * g.k + q]!) / 2;
        r[e] = i;
        c[e] = j;
        v[e++] = w;
        r[e] = j;
        c[e] = i;
        v[e++] = w;
      }
    }
    return sparse(csrFromTriplets(g.n, g.n, r, c, v));
  },
});

function asCsr(input: Data, who: string): Csr {
  if (isTensor(input)) {
    const n = input.shape[0]!;
    if (input.shape.length !== 2 || input.shape[1] !== n) throw new ProcessorError(`${who} expects a square affinity, got [${input.shape.join(', ')}]`);
    return denseToCsr(input.data, n, n);
  }
  if (!isTuple(input) && input.kind === 'csr') return input;
  throw new ProcessorError(`${who} expects an affinity matrix, got ${describeData(input)}`);
}

/**
 * CoRelAy's SymmetricNormalLaplacian returns M = D^-1/2 A D^-1/2 — the normalised affinity, not
 * I − M (EigenDecomposition reports 1 − μ to compensate). Isolated rows (degree 0) stay zero
 * instead of becoming inf.
 */
export const SymmetricNormalLaplacianType = defineProcessor<NoParams>({
  name: 'SymmetricNormalLaplacian',
  description: 'D^-1/2 A D^-1/2 (CoRelAy convention: the normalised affinity)',
  params: {},
  compute(input) {
    const a = asCsr(input, 'SymmetricNormalLaplacian');
    const s = rowSums(a).map((d) => (d > 0 ? 1 / Math.sqrt(d) : 0));
    return sparse(scaleRowsCols(a, s, s));
  },
});

/** D^-1 A (row-stochastic, not symmetric: do not feed it to the symmetric eigensolver). */
export const RandomWalkNormalLaplacianType = defineProcessor<NoParams>({
  name: 'RandomWalkNormalLaplacian',
  description: 'D^-1 A (row-stochastic)',
  params: {},
  compute(input) {
    const a = asCsr(input, 'RandomWalkNormalLaplacian');
    const inv = rowSums(a).map((d) => (d > 0 ? 1 / d : 0));
    return sparse(scaleRowsCols(a, inv, new Float64Array(a.cols).fill(1)));
  },
});

export function asSparseMatrix(input: Data, who: string): SparseData {
  const m = asCsr(input, who);
  return 'kind' in m ? (m as SparseData) : sparse(m);
}

export const KnnDistance = (o: Partial<KnnDistanceParams> & BaseOptions = {}) => new Processor(KnnDistanceType, o);
export const PairwiseDistance = (metric: PairwiseDistanceParams['metric'] = 'euclidean', o: BaseOptions = {}) =>
  new Processor(PairwiseDistanceType, { metric, ...o });
export const SparseKNN = (o: Partial<SparseKnnParams> & BaseOptions = {}) => new Processor(SparseKnnType, o);
export const RadialBasisFunction = (sigma = 1, o: BaseOptions = {}) => new Processor(RadialBasisFunctionType, { sigma, ...o });
export const SymmetricNormalLaplacian = (o: BaseOptions = {}) => new Processor(SymmetricNormalLaplacianType, o);
export const RandomWalkNormalLaplacian = (o: BaseOptions = {}) => new Processor(RandomWalkNormalLaplacianType, o);
