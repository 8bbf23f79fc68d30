import { ProcessorError } from './errors.js';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { UMAP } from 'umap-js';
import { type Data, type Tensor, asFloat32, asFloat64, expectTensor, tensor } from './data.js';
import { asSparseMatrix } from './graph.js';
import { fixSign, sparseEigs } from './linalg/eigs.js';
import { knnSearch } from './linalg/knn.js';
import { TSNE_METHODS, type TsneMethod, tsne } from './embed/tsne.js';
import { sharedKnn } from './shared-knn.js';
import { param } from './param.js';
import { type BaseOptions, defineProcessor, Processor } from './processor.js';
import { Random } from './random.js';

export interface EigenDecompositionParams {
  nEigval: number;
  which: 'LM' | 'LA' | 'SA';
  normalize: boolean;
  tolerance: number;
  seed: number;
}

/**
 * CoRelAy's EigenDecomposition on the normalised affinity M: the m = min(nEigval, N−1) eigenpairs
 * with the largest |μ| (`which`), in ascending μ; returns (1 − μ, V) — eigenvalues of I − M, so
 * they come out descending — with every *row* of V scaled to unit length when `normalize`.
 * Solved by a sparse block eigensolver (no dense N × N); each eigenvector's largest-magnitude
 * entry is made positive so the result is reproducible.
 */
export const EigenDecompositionType = defineProcessor<EigenDecompositionParams>({
  name: 'EigenDecomposition',
  description: 'spectral embedding: eigenpairs of the normalised affinity',
  params: {
    nEigval: param.int({ description: 'eigenpairs to compute (shrunk to N−1 for small inputs)', default: 32, min: 1 }),
    which: param.oneOf(['LM', 'LA', 'SA'] as const, { description: 'largest magnitude, largest or smallest algebraic μ', default: 'LM' }),
    normalize: param.bool({ description: 'scale each row of the eigenvector matrix to unit length', default: true }),
    tolerance: param.number({
      description: 'residual tolerance ‖Mv − μv‖ of the eigensolver (bounds the eigenvalue error)',
      default: 1e-7,
      min: 0,
      exclusiveMin: true,
    }),
    seed: param.int({ description: 'seed of the start block', default: 0 }),
  },
  label: () => 'spectral',
  compute(input, { nEigval, which, normalize, tolerance, seed }, context) {
    const m = asSparseMatrix(input, 'EigenDecomposition');
    const n = m.rows;
    const count = Math.min(nEigval, n - 1);
    if (count < 1) throw new ProcessorError(`needs at least 2 samples, got ${n}`);
    const { values, vectors } = sparseEigs(m, count, { which, tolerance, seed, checkpoint: context.checkpoint });
    const lambda = Float64Array.from(values, (mu) => 1 - mu);
    if (normalize) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < count; j++) s += vectors[i * count + j]! ** 2;
        const norm = Math.sqrt(s);
        if (norm > 0) for (let j = 0; j < count; j++) vectors[i * count + j]! /= norm;
      }
    }
    return [tensor('float64', [count], lambda), tensor('float64', [n, count], vectors)];
  },
});

/** Rows of an (N, F) tensor as float64 plus dimensions. */
function rows(t: Tensor): { x: Float64Array; n: number; d: number } {
  const n = t.shape[0]!;
  return { x: asFloat64(t), n, d: n === 0 ? 0 : t.data.length / n };
}

export interface TsneParams {
  nComponents: number;
  perplexity: number;
  earlyExaggeration: number;
  maxIter: number;
  angle: number;
  method: TsneMethod;
  seed: number;
}

/**
 * t-SNE into 2-D (sklearn's TSNE with init='random', learning_rate='auto'), on a sparse kNN P with
 * 3·perplexity neighbours; repulsion by Barnes–Hut or, from 10 000 samples on, FFT interpolation
 * (FIt-SNE's method). The perplexity shrinks to (N−1)/3 for small inputs.
 */
export const TsneType = defineProcessor<TsneParams>({
  name: 'TSNEEmbedding',
  description: 't-SNE (2-D; Barnes–Hut or FFT-interpolated repulsion)',
  params: {
    nComponents: param.int({ description: 'output dimensions (only 2 is supported)', default: 2, min: 2, max: 2 }),
    perplexity: param.number({ description: 'perplexity (shrunk to (N−1)/3 for small inputs)', default: 30, min: 0, exclusiveMin: true }),
    earlyExaggeration: param.number({ description: 'early exaggeration', default: 12, min: 1 }),
    maxIter: param.int({ description: 'gradient-descent iterations', default: 1000, min: 1 }),
    angle: param.number({ description: 'Barnes–Hut opening angle', default: 0.5, min: 0, max: 1 }),
    method: param.oneOf(TSNE_METHODS, {
      description: "repulsion: 'barnes-hut' (quadtree), 'fft' (FFT-accelerated interpolation, FIt-SNE) or 'auto' (fft from 10 000 samples)",
      default: 'auto',
    }),
    seed: param.int({ description: 'seed of the random start', default: 0 }),
  },
  label: () => 'tsne',
  compute(input, p, context) {
    const t = expectTensor(input, 'TSNEEmbedding', 2);
    const n = t.shape[0]!;
    if (n < 2) return tensor('float32', [n, 2], new Float32Array(2 * n));
    const perplexity = Math.max(Math.min(p.perplexity, (n - 1) / 3), 0.5);
    const k = Math.min(n - 1, Math.floor(3 * perplexity + 1));
    const graph = sharedKnn(t, k, context.checkpoint);
    const y = tsne(graph, {
      perplexity,
      earlyExaggeration: p.earlyExaggeration,
      maxIter: p.maxIter,
      angle: p.angle,
      method: p.method,
      seed: p.seed,
      checkpoint: context.checkpoint,
    });
    return tensor('float32', [n, 2], Float32Array.from(y));
  },
});

export interface UmapParams {
  nNeighbors: number;
  minDist: number;
  metric: 'euclidean' | 'cosine' | 'correlation';
  nEpochs: number;
  seed: number;
}

/**
 * UMAP into 2-D with umap-js, fed our own kNN graph (so it never builds its own), seeded. The
 * default metric is CoRelAy's 'correlation' (cosine of mean-centred rows).
 */
export const UmapType = defineProcessor<UmapParams>({
  name: 'UMAPEmbedding',
  description: 'UMAP (2-D, umap-js on a precomputed kNN graph)',
  params: {
    nNeighbors: param.int({ description: 'neighbours (including the point itself, as umap-learn counts)', default: 15, min: 2 }),
    minDist: param.number({ description: 'minimum distance in the layout', default: 0.1, min: 0 }),
    metric: param.oneOf(['euclidean', 'cosine', 'correlation'] as const, { description: 'input metric', default: 'correlation' }),
    nEpochs: param.int({ description: 'optimisation epochs (0 = umap-js default by size)', default: 0, min: 0 }),
    seed: param.int({ description: 'seed of the initialisation and sampling', default: 0 }),
  },
  label: () => 'umap',
  compute(input, p) {
    const t = expectTensor(input, 'UMAPEmbedding', 2);
    const { n, d } = rows(t);
    if (n < 3) return tensor('float32', [n, 2], new Float32Array(2 * n));
    const x = Float32Array.from(asFloat32(t));
    if (p.metric !== 'euclidean') {
      for (let i = 0; i < n; i++) {
        const row = x.subarray(i * d, i * d + d);
        if (p.metric === 'correlation') {
          const mean = row.reduce((a, b) => a + b, 0) / d;
          for (let f = 0; f < d; f++) row[f]! -= mean;
        }
        const norm = Math.sqrt(row.reduce((a, b) => a + b * b, 0)) || 1;
        for (let f = 0; f < d; f++) row[f]! /= norm;
      }
    }
    // umap-js needs fewer neighbours (itself included) than points.
    const k = Math.min(p.nNeighbors, n - 1) - 1;
    const graph = knnSearch(x, n, d, k);
    const knnIndices: number[][] = [];
    const knnDistances: number[][] = [];
    for (let i = 0; i < n; i++) {
      const idx = [i];
      const dist = [0];
      for (let r = 0; r < k; r++) {
        idx.push(graph.indices[i * k + r]!);
        // unit rows: ‖a − b‖²/2 = 1 − cos
        const e = graph.distances[i * k + r]!;
        dist.push(p.metric === 'euclidean' ? e : (e * e) / 2);
      }
      knnIndices.push(idx);
      knnDistances.push(dist);
    }
    const random = new Random(p.seed);
    const umap = new UMAP({
      nComponents: 2,
      nNeighbors: k + 1,
      minDist: p.minDist,
      random: () => random.next(),
      ...(p.nEpochs > 0 ? { nEpochs: p.nEpochs } : {}),
    });
    umap.setPrecomputedKNN(knnIndices, knnDistances);
    const rowsAsArrays: number[][] = [];
    for (let i = 0; i < n; i++) rowsAsArrays.push(Array.from(x.subarray(i * d, i * d + d)));
    const embedding = umap.fit(rowsAsArrays);
    const out = new Float32Array(2 * n);
    embedding.forEach((row, i) => {
      out[2 * i] = row[0]!;
      out[2 * i + 1] = row[1]!;
    });
    return tensor('float32', [n, 2], out);
  },
});

export interface PcaParams {
  nComponents: number;
  whiten: boolean;
  seed: number;
}

/**
 * PCA projection on the top principal axes (sklearn's PCA.fit_transform): centred data, randomised
 * subspace iteration (no F × F or N × N eigenproblem), signs fixed per component.
 */
export const PcaType = defineProcessor<PcaParams>({
  name: 'PCAEmbedding',
  description: 'principal component projection',
  params: {
    nComponents: param.int({ description: 'components', default: 2, min: 1 }),
    whiten: param.bool({ description: 'scale components to unit variance', default: false }),
    seed: param.int({ description: 'seed of the randomised solver', default: 0 }),
  },
  label: (p) => (p.nComponents === 2 ? 'pca' : `pca-${p.nComponents}`),
  compute(input, { nComponents, whiten, seed }) {
    const t = expectTensor(input, 'PCAEmbedding', 2);
    const { x, n, d } = rows(t);
    const c = Math.min(nComponents, n, d);
    return tensor('float32', [n, c], Float32Array.from(pca(x, n, d, c, whiten, seed)));
  },
});

/** Randomised PCA: returns the n × c scores. */
export function pca(x: Float64Array, n: number, d: number, c: number, whiten: boolean, seed: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) mean[f]! += x[i * d + f]! / n;
  const centred = (i: number, f: number): number => x[i * d + f]! - mean[f]!;
  const l = Math.min(d, c + 10);
  const random = new Random(seed);
  let q = new Matrix(d, l);
  for (let f = 0; f < d; f++) for (let j = 0; j < l; j++) q.set(f, j, random.gaussian());
  const project = (basis: Matrix): Matrix => {
    // Z = Xc · basis  (n × l)
    const z = new Matrix(n, basis.columns);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < basis.columns; j++) {
        let s = 0;
        for (let f = 0; f < d; f++) s += centred(i, f) * basis.get(f, j);
        z.set(i, j, s);
      }
    }
    return z;
  };
  const back = (z: Matrix): Matrix => {
    // Xcᵀ · Z  (d × l)
    const w = new Matrix(d, z.columns);
    for (let i = 0; i < n; i++)
      for (let f = 0; f < d; f++) {
        const v = centred(i, f);
        for (let j = 0; j < z.columns; j++) w.set(f, j, w.get(f, j) + v * z.get(i, j));
      }
    return w;
  };
  const orth = (m: Matrix): Matrix => {
    const out = m.clone();
    for (let j = 0; j < out.columns; j++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let p = 0; p < j; p++) {
          let s = 0;
          for (let r = 0; r < out.rows; r++) s += out.get(r, p) * out.get(r, j);
          for (let r = 0; r < out.rows; r++) out.set(r, j, out.get(r, j) - s * out.get(r, p));
        }
      }
      let norm = 0;
      for (let r = 0; r < out.rows; r++) norm += out.get(r, j) ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let r = 0; r < out.rows; r++) out.set(r, j, out.get(r, j) / norm);
    }
    return out;
  };
  q = orth(q);
  for (let iter = 0; iter < 6; iter++) q = orth(back(project(q)));
  // Small eigenproblem of the projected covariance.
  const z = project(q);
  const cov = z.transpose().mmul(z);
  const evd = new EigenvalueDecomposition(cov, { assumeSymmetric: true });
  const order = evd.realEigenvalues.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
  const scores = new Float64Array(n * c);
  for (let j = 0; j < c; j++) {
    const [value, idx] = order[j]!;
    const axis = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < l; k++) s += z.get(i, k) * evd.eigenvectorMatrix.get(k, idx);
      axis[i] = s;
    }
    fixSign(axis, n);
    const scale = whiten ? Math.sqrt(Math.max(value, 1e-300) / Math.max(n - 1, 1)) : 1;
    for (let i = 0; i < n; i++) scores[i * c + j] = axis[i]! / scale;
  }
  return scores;
}

export const EigenDecomposition = (o: Partial<EigenDecompositionParams> & BaseOptions = {}) => new Processor(EigenDecompositionType, o);
export const TSNEEmbedding = (o: Partial<TsneParams> & BaseOptions = {}) => new Processor(TsneType, o);
export const UMAPEmbedding = (o: Partial<UmapParams> & BaseOptions = {}) => new Processor(UmapType, o);
export const PCAEmbedding = (o: Partial<PcaParams> & BaseOptions = {}) => new Processor(PcaType, o);

export type { Data };
