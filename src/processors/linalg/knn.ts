import * as ort from 'onnxruntime-node';
import usearch from 'usearch';
import { attr, emptyGraph, GraphBuilder, modelOf } from '../../onnx/builder.js';
import { encodeModel } from '../../onnx/codec.js';
import { openSyncSession, type SyncSession } from '../../onnx/sync-session.js';

/**
 * The k nearest neighbours of every row (self excluded), as CoRelAy's SparseKNN sees them:
 * row i lists its neighbours by ascending Euclidean distance.
 */
export interface KnnGraph {
  readonly n: number;
  readonly k: number;
  /** indices[i*k + r] = r-th nearest neighbour of i. */
  readonly indices: Int32Array;
  /** Euclidean distances, same layout (float64 recomputed from the data). */
  readonly distances: Float64Array;
}

export type KnnMethod = 'auto' | 'exact' | 'hnsw';

export interface KnnOptions {
  method?: KnnMethod;
  /**
   * `auto` searches exactly while N²·F stays within this many multiply-adds (3·10¹⁰: N ≈ 5 400 at
   * F = 1024, N ≈ 30 000 at F = 32) and uses an HNSW index above. (At N = 20 000, F = 32 the HNSW
   * build and search already cost 11 s CPU against 15 s for the exact scan; at 50 000 the exact
   * scan of the spectral embedding was 80 s.)
   */
  exactBudget?: number;
  /** Called between chunks of the search and the re-rank, so a long search can be interrupted. */
  checkpoint?: () => void;
}

export const EXACT_BUDGET = 3e10;

/**
 * Exact float64 Euclidean distance between rows i of `a` and j of `b`. Four partial sums: one
 * running sum is bound by the add latency (this re-rank runs n × ~k·1.25 times over all features);
 * the result differs from a sequential sum only in the last bits.
 */
function distance(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const ai = i * d;
  const bj = j * d;
  const d4 = d - (d % 4);
  let t = 0;
  for (; t < d4; t += 4) {
    const x0 = a[ai + t]! - b[bj + t]!;
    const x1 = a[ai + t + 1]! - b[bj + t + 1]!;
    const x2 = a[ai + t + 2]! - b[bj + t + 2]!;
    const x3 = a[ai + t + 3]! - b[bj + t + 3]!;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (; t < d; t++) {
    const x = a[ai + t]! - b[bj + t]!;
    s0 += x * x;
  }
  return Math.sqrt(s0 + s1 + (s2 + s3));
}

const GEMM_INPUTS = { rows: 'knn_rows', queries: 'knn_queries' } as const;
const GEMM_OUTPUT = 'knn_candidates';

/**
 * The exact candidate search as one matrix product: ‖q − x‖² = ‖x‖² − 2·q·x + ‖q‖² (the last term
 * does not change a query's ranking), then TopK of the smallest. Rows are centred on their mean
 * first, which leaves distances unchanged and keeps the expansion from cancelling on data far from
 * the origin; the float64 re-rank below absorbs what rounding remains.
 */
function gemmSearchGraph(d: number, count: number): Uint8Array {
  const b = new GraphBuilder(emptyGraph('knn_exact'));
  b.addInput(GEMM_INPUTS.rows, 'float32', ['n', d]);
  b.addInput(GEMM_INPUTS.queries, 'float32', ['q', d]);
  const [mean] = b.addNode('ReduceMean', [GEMM_INPUTS.rows], { axes: attr.ints([0]), keepdims: attr.int(1) });
  const [rows] = b.addNode('Sub', [GEMM_INPUTS.rows, mean!]);
  const [queries] = b.addNode('Sub', [GEMM_INPUTS.queries, mean!]);
  const [dots] = b.addNode('Gemm', [queries!, rows!], { transB: attr.int(1), alpha: attr.float(-2) });
  const [norms] = b.addNode('ReduceSumSquare', [rows!], { axes: attr.ints([1]), keepdims: attr.int(0) });
  const [distances] = b.addNode('Add', [dots!, norms!]);
  b.addNode('TopK', [distances!, b.constantInt64([count])], { axis: attr.int(1), largest: attr.int(0), sorted: attr.int(1) }, 2, {
    outputs: ['knn_candidate_distances', GEMM_OUTPUT],
  });
  b.addOutput(GEMM_OUTPUT, 'int64', ['q', count]);
  return encodeModel(modelOf(b.graph, 13));
}

/**
 * Exact candidates by onnxruntime's GEMM (about 12× usearch's pairwise scan at F = 1024, one thread),
 * in query chunks of about 16 M distances; undefined where no synchronous session can be opened.
 */
function gemmCandidates(x: Float32Array, n: number, d: number, count: number, checkpoint: () => void): BigUint64Array | undefined {
  let session: SyncSession | undefined;
  try {
    session = openSyncSession(gemmSearchGraph(d, count));
  } catch {
    return undefined;
  }
  if (!session) return undefined;
  try {
    const out = new BigUint64Array(n * count);
    const rows = new ort.Tensor('float32', x, [n, d]);
    const chunk = Math.max(64, Math.min(4096, Math.floor(16e6 / n)));
    for (let start = 0; start < n; start += chunk) {
      checkpoint();
      const end = Math.min(n, start + chunk);
      const result = session.run({
        [GEMM_INPUTS.rows]: rows,
        [GEMM_INPUTS.queries]: new ort.Tensor('float32', x.subarray(start * d, end * d), [end - start, d]),
      });
      const keys = result[GEMM_OUTPUT]!.data as BigInt64Array;
      out.set(new BigUint64Array(keys.buffer, keys.byteOffset, keys.length), start * count);
    }
    return out;
  } finally {
    session.release();
  }
}

/** Candidate lists (with a margin): exact (a GEMM, or usearch's scan) or from an HNSW graph. */
function candidates(x: Float32Array, n: number, d: number, count: number, method: 'exact' | 'hnsw', checkpoint: () => void): BigUint64Array {
  const { exactSearch, Index, MetricKind, ScalarKind } = usearch;
  if (method === 'exact') {
    const byGemm = gemmCandidates(x, n, d, count, checkpoint);
    if (byGemm) return byGemm;
  }
  const out = new BigUint64Array(n * count);
  if (method === 'exact') {
    // Queries in chunks so usearch's per-chunk buffers (about chunk × n distances and keys) stay
    // near 200 MB whatever n is.
    const chunk = Math.max(64, Math.min(4096, Math.floor(16e6 / n)));
    for (let start = 0; start < n; start += chunk) {
      checkpoint();
      const end = Math.min(n, start + chunk);
      const result = exactSearch(x, x.subarray(start * d, end * d), d, count, MetricKind.L2sq, 1) as { keys: BigUint64Array };
      out.set(result.keys, start * count);
    }
    return out;
  }
  const index = new Index(d, MetricKind.L2sq, ScalarKind.F32, 16, 128, Math.max(64, 2 * count));
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) keys[i] = BigInt(i);
  // Built and searched in blocks (one native call each) so Ctrl-C is seen between them.
  const block = 4096;
  for (let start = 0; start < n; start += block) {
    checkpoint();
    const end = Math.min(n, start + block);
    index.add(keys.subarray(start, end), x.subarray(start * d, end * d), 1);
  }
  for (let start = 0; start < n; start += block) {
    checkpoint();
    const end = Math.min(n, start + block);
    const result = index.search(x.subarray(start * d, end * d), count, 1) as unknown as { keys: BigUint64Array };
    out.set(result.keys, start * count);
  }
  return out;
}

/**
 * k nearest neighbours of each row of the row-major `x` (n × d). Candidates come from usearch
 * (brute force while N²·F ≤ `exactBudget`, HNSW above); their distances are then recomputed in float64
 * and re-sorted, so the neighbour order matches a float64 `pdist` + `argsort` up to exact ties
 * (broken by the smaller index). The self match is removed explicitly, even among duplicates.
 */
export function knnSearch(x: Float32Array, n: number, d: number, k: number, options: KnnOptions = {}): KnnGraph {
  if (k < 1 || k > n - 1) throw new Error(`cannot find ${k} neighbours among ${n} points`);
  const method =
    options.method === 'exact' || options.method === 'hnsw' ? options.method : n * n * d <= (options.exactBudget ?? EXACT_BUDGET) ? 'exact' : 'hnsw';
  // A margin of extra candidates absorbs float32 rounding in usearch's ranking.
  const count = Math.min(n, k + 1 + Math.max(8, Math.ceil(k / 4)));
  const checkpoint = options.checkpoint ?? (() => {});
  const keys = candidates(x, n, d, count, method, checkpoint);
  const indices = new Int32Array(n * k);
  const distances = new Float64Array(n * k);
  const cand: Array<{ j: number; dist: number }> = [];
  const seen = new Set<number>();
  const bigN = BigInt(n);
  for (let i = 0; i < n; i++) {
    if ((i & 1023) === 0) checkpoint();
    cand.length = 0;
    seen.clear();
    for (let r = 0; r < count; r++) {
      const key = keys[i * count + r]!;
      // usearch pads missing results with the max key.
      if (key >= bigN) continue;
      const j = Number(key);
      if (j === i || seen.has(j)) continue;
      seen.add(j);
      cand.push({ j, dist: distance(x, i, x, j, d) });
    }
    if (cand.length < k) {
      // HNSW may return fewer results for unlucky rows; fall back to a scan for that row.
      cand.length = 0;
      for (let j = 0; j < n; j++) if (j !== i) cand.push({ j, dist: distance(x, i, x, j, d) });
    }
    cand.sort((a, b) => a.dist - b.dist || a.j - b.j);
    for (let r = 0; r < k; r++) {
      indices[i * k + r] = cand[r]!.j;
      distances[i * k + r] = cand[r]!.dist;
    }
  }
  return { n, k, indices, distances };
}

/** The first `k` neighbours of a graph with more. */
export function truncateKnn(graph: KnnGraph, k: number): KnnGraph {
  if (k === graph.k) return graph;
  if (k > graph.k) throw new Error(`graph has ${graph.k} neighbours per row, ${k} requested`);
  const indices = new Int32Array(graph.n * k);
  const distances = new Float64Array(graph.n * k);
  for (let i = 0; i < graph.n; i++) {
    indices.set(graph.indices.subarray(i * graph.k, i * graph.k + k), i * k);
    distances.set(graph.distances.subarray(i * graph.k, i * graph.k + k), i * k);
  }
  return { n: graph.n, k, indices, distances };
}
