import { ProcessorError } from './errors.js';
import type { CategoryAnalysis, ClusteringData, EmbeddingData } from '../io/analysis.js';
import { type Data, type Tensor, describeData, isTensor, isTuple } from './data.js';
import { AgglomerativeClustering, DBSCAN, HDBSCAN, KMeans } from './clustering.js';
import { EigenDecomposition, TSNEEmbedding, UMAPEmbedding } from './embedding.js';
import { Identity, Parallel, Select, Sequential } from './flow.js';
import { KnnDistance, SparseKNN, SymmetricNormalLaplacian } from './graph.js';
import { outputLeaves, Pipeline, type TaskSpec } from './pipeline.js';
import { Absolute, Flatten, Histogram, Normalize, SumChannel } from './preprocessing.js';
import type { Processor, RunContext } from './processor.js';

import type { SprayOptions, Variant } from './spray-options.js';

export {
  CLUSTERINGS,
  type ClusteringName,
  DEFAULT_SPRAY,
  EMBEDDINGS,
  type EmbeddingName,
  type SprayOptions,
  VARIANTS,
  type Variant,
} from './spray-options.js';

/** The pre-processing chain of each variant of CoRelAy's virelay_analysis.py. */
export function variantPreprocessing(variant: Variant): Processor<any> {
  switch (variant) {
    case 'spectral':
      return Sequential([SumChannel(), Normalize([1, 2]), Flatten()]);
    case 'absspectral':
      return Sequential([Absolute(), SumChannel(), Normalize([1, 2]), Flatten()]);
    case 'fullspectral':
      return Sequential([Normalize([1, 2, 3]), Flatten()]);
    case 'histogram':
      return Sequential([Normalize([1, 2, 3]), Histogram(32), Flatten()]);
  }
}

/**
 * CoRelAy's SpectralClustering task list. The dense `SciPyPDist` default is replaced by the sparse
 * KNNDistance (the affinity only ever looks at the k nearest), so nothing is N × N.
 */
export const SPECTRAL_TASKS: readonly TaskSpec[] = [
  { name: 'preprocessing', description: 'turn attributions into feature rows', makeDefault: () => Identity() },
  { name: 'pairwise_distance', description: 'distances between rows (sparse kNN by default)', makeDefault: () => KnnDistance({ nNeighbors: 10 }) },
  { name: 'affinity', description: 'affinity graph', makeDefault: () => SparseKNN({ nNeighbors: 10, symmetric: true }) },
  { name: 'laplacian', description: 'normalised affinity D^-1/2 A D^-1/2', makeDefault: () => SymmetricNormalLaplacian() },
  { name: 'embedding', description: 'spectral embedding', makeDefault: () => EigenDecomposition({ nEigval: 32 }), defaults: { isOutput: true } },
  { name: 'select_eigenvector', description: 'pick the eigenvector matrix', makeDefault: () => Select(1) },
  { name: 'clustering', description: 'clusterings and 2-D embeddings of the spectral embedding', makeDefault: () => KMeans(2), defaults: { isOutput: true } },
];

export function spectralClustering(tasks: Record<string, Processor<any> | undefined> = {}): Pipeline {
  return new Pipeline('SpectralClustering', SPECTRAL_TASKS, tasks);
}

/**
 * The pipeline of CoRelAy's `virelay_analysis.py` (docs/spray.md §2): variant pre-processing, kNN
 * affinity, normalised affinity, eigendecomposition, then in parallel on the eigenvectors k-means
 * and agglomerative (Ward) for every k, DBSCAN with eps = k/10 (min_samples 5), HDBSCAN
 * (min_cluster_size 5) and the 2-D embeddings. Every random step gets `seed`.
 */
export function sprayPipeline(options: SprayOptions): Pipeline {
  const { clusters, seed } = options;
  const children: Processor<any>[] = [];
  if (options.algorithms.includes('kmeans'))
    children.push(
      Parallel(
        clusters.map((k) => KMeans(k, { seed })),
        { broadcast: true },
      ),
    );
  if (options.algorithms.includes('dbscan'))
    children.push(
      Parallel(
        clusters.map((k) => DBSCAN(k / 10, { minSamples: 5 })),
        { broadcast: true },
      ),
    );
  if (options.algorithms.includes('hdbscan')) children.push(HDBSCAN({ nClusters: 5 }));
  if (options.algorithms.includes('agglomerative'))
    children.push(
      Parallel(
        clusters.map((k) => AgglomerativeClustering(k)),
        { broadcast: true },
      ),
    );
  const embeddings = options.embeddings.map((e) => (e === 'tsne' ? TSNEEmbedding({ seed }) : UMAPEmbedding({ seed })));
  if (embeddings.length) children.push(Parallel(embeddings, { broadcast: true }));
  return spectralClustering({
    preprocessing: variantPreprocessing(options.variant),
    pairwise_distance: KnnDistance({ nNeighbors: options.nNeighbors }),
    affinity: SparseKNN({ nNeighbors: options.nNeighbors, symmetric: true }),
    embedding: EigenDecomposition({ nEigval: options.nEigval, seed, isOutput: true }),
    clustering: Parallel(children, { broadcast: true, isOutput: true }),
  });
}

/** Every processor that caches (leaves), for progress totals. */
export function countSteps(processor: Processor<any>): number {
  if (processor instanceof Pipeline) return processor.taskNames().reduce((s, t) => s + countSteps(processor.task(t)), 0);
  if (processor.type.group) return processor.children().reduce((s, c) => s + countSteps(c), 0);
  return processor.type.cacheable === false ? 0 : 1;
}

/**
 * Suspicion score of a category (the ranking extension of Anders et al. 2022, "Finding and removing
 * Clever Hans"): a class whose attributions split into a few well-separated strategies has a small
 * group of near-zero eigenvalues of the normalised Laplacian L = I − D^-1/2 A D^-1/2, followed by a
 * large gap. With λ₁ ≤ λ₂ ≤ … the eigenvalues in ascending order (λ₁ ≈ 0) and K = min(10, m − 1):
 *
 *     suspicion = max_{2 ≤ k ≤ K} (λ_{k+1} − λ_k),   suspicion_k = the arg max k
 *
 * i.e. the largest eigengap after at least two eigenvalues; suspicion_k is the number of groups the
 * gap suggests. The gap after λ₁ alone (the algebraic connectivity) is left out: it is large for a
 * well-connected, homogeneous class, which is the opposite of suspicious. Disconnected components
 * (λ ≈ 0 repeated) and tight, distant clusters score high; one homogeneous strategy scores low.
 * Range [0, 2]; 0 when fewer than 3 eigenvalues exist.
 */
export function suspicionScore(eigenvaluesDescending: ArrayLike<number>): { suspicion: number; k: number } {
  const ascending = Array.from(eigenvaluesDescending).sort((a, b) => a - b);
  const last = Math.min(10, ascending.length - 1);
  let best = 0;
  let bestK = 1;
  for (let k = 2; k <= last; k++) {
    const gap = ascending[k]! - ascending[k - 1]!;
    if (gap > best) {
      best = gap;
      bestK = k;
    }
  }
  return { suspicion: best, k: bestK };
}

function float32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

/**
 * Runs the pipeline on one category's attributions and maps its output leaves onto the analysis
 * layout (docs/formats.md §5): an (eigenvalues, eigenvectors) pair → embedding with `eigenvalue`
 * attribute; a 1-D integer result → clustering; a 2-D float result → embedding. Names are the
 * processors' labels (kmeans-05, dbscan-eps=0.5, tsne, …).
 */
export function analyseCategory(pipeline: Pipeline, name: string, index: Int32Array, data: Tensor, context: RunContext): CategoryAnalysis {
  const output = pipeline.run(data, context);
  const n = data.shape[0]!;
  const embeddings: EmbeddingData[] = [];
  const clusterings: ClusteringData[] = [];
  const taken = new Set<string>();
  const source = pipeline.taskNames().includes('embedding') ? pipeline.task('embedding').label : undefined;
  let eigenvalues: Float32Array | undefined;
  let sourceColumns = 0;
  const leaves = outputLeaves(pipeline, output);
  const claim = (label: string): string => {
    if (taken.has(label)) throw new ProcessorError(`two outputs are both named '${label}'; give one a different label`);
    taken.add(label);
    return label;
  };
  // Spectral embeddings first so the others can refer to their column count.
  for (const { processor, output: out } of leaves) {
    if (isTuple(out) && out.length === 2 && isTensor(out[0]!) && isTensor(out[1]!) && out[1]!.shape.length === 2) {
      const [values, vectors] = out as [Tensor, Tensor];
      eigenvalues = float32(values);
      sourceColumns = vectors.shape[1]!;
      embeddings.push({ name: claim(processor.label), data: float32(vectors), shape: [vectors.shape[0]!, vectors.shape[1]!], eigenvalue: eigenvalues });
    }
  }
  const columns = Array.from({ length: sourceColumns }, (_, i) => i);
  const derived: Record<string, string | number[]> = source ? { embedding: source, index: columns } : {};
  for (const { processor, output: out } of leaves) {
    if (isTuple(out)) {
      if (out.length === 2 && isTensor(out[0]!) && isTensor(out[1]!)) continue;
      throw new ProcessorError(`output of ${processor.name} is a ${describeData(out)}; cannot store it in the analysis file`);
    }
    if (!isTensor(out) || out.shape[0] !== n) throw new ProcessorError(`output of ${processor.name} (${describeData(out)}) does not have one row per sample`);
    if (out.shape.length === 1 && out.dtype === 'int32') {
      const count = processor.type.clusterCount?.(processor.params());
      const k = count !== undefined ? Math.min(count, n) : undefined;
      clusterings.push({
        name: claim(processor.label),
        labels: out.data as Int32Array,
        ...(k !== undefined ? { k } : {}),
        ...(source ? { embedding: source } : {}),
        attrs: source ? { index: columns } : {},
      });
    } else if (out.shape.length === 2 && out.shape[1]! >= 2) {
      embeddings.push({ name: claim(processor.label), data: float32(out), shape: [n, out.shape[1]!], attrs: derived });
    } else throw new ProcessorError(`output of ${processor.name} (${describeData(out)}) is neither labels nor an embedding`);
  }
  const attrs: Record<string, number | string | number[]> = { samples: n };
  if (eigenvalues) {
    const s = suspicionScore(eigenvalues);
    attrs.suspicion = s.suspicion;
    attrs.suspicion_k = s.k;
  }
  return { name, index, embeddings, clusterings, attrs };
}

export type { Data };
