import { ProcessorError } from './errors.js';
import { createHash } from 'node:crypto';
import type { KnnGraph } from './linalg/knn.js';
import type { Csr } from './linalg/sparse.js';

/**
 * What flows between processors. CoRelAy passes numpy arrays, scipy sparse matrices and tuples of
 * them; here: dense tensors, sparse CSR matrices, kNN graphs and tuples (nested arrays).
 */
export type DType = 'float32' | 'float64' | 'int32';
export type TypedArrayOf<D extends DType> = D extends 'float32' ? Float32Array : D extends 'float64' ? Float64Array : Int32Array;

export interface Tensor<D extends DType = DType> {
  readonly kind: 'tensor';
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayOf<D>;
}

export interface SparseData extends Csr {
  readonly kind: 'csr';
}

export interface KnnData extends KnnGraph {
  readonly kind: 'knn';
}

export type Data = Tensor | SparseData | KnnData | readonly Data[];

export function tensor<D extends DType>(dtype: D, shape: readonly number[], data: TypedArrayOf<D>): Tensor<D> {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`tensor of shape [${shape.join(', ')}] needs ${size} values, got ${data.length}`);
  return { kind: 'tensor', dtype, shape: [...shape], data };
}

export function sparse(m: Csr): SparseData {
  return { kind: 'csr', rows: m.rows, cols: m.cols, indptr: m.indptr, indices: m.indices, values: m.values };
}

export function knnData(g: KnnGraph): KnnData {
  return { kind: 'knn', n: g.n, k: g.k, indices: g.indices, distances: g.distances };
}

export function isTensor(d: Data): d is Tensor {
  return !Array.isArray(d) && (d as Tensor).kind === 'tensor';
}

export function isTuple(d: Data): d is readonly Data[] {
  return Array.isArray(d);
}

/** Describes a value for error messages: "tensor float32 [300, 32]", "tuple of 2", … */
export function describeData(d: Data): string {
  if (isTuple(d)) return `tuple of ${d.length}`;
  if (d.kind === 'tensor') return `tensor ${d.dtype} [${d.shape.join(', ')}]`;
  if (d.kind === 'csr') return `sparse ${d.rows}×${d.cols}`;
  return `kNN graph ${d.n}×${d.k}`;
}

/** Narrowing helper for processors: the input must be a tensor (of at least `minRank` dimensions). */
export function expectTensor(d: Data, who: string, minRank = 1): Tensor {
  if (!isTensor(d)) throw new ProcessorError(`${who} expects a tensor, got ${describeData(d)}`);
  if (d.shape.length < minRank) throw new ProcessorError(`${who} expects at least ${minRank} dimensions, got [${d.shape.join(', ')}]`);
  return d;
}

/** The input as float64 values (copy only when needed). */
export function asFloat64(t: Tensor): Float64Array {
  return t.data instanceof Float64Array ? t.data : Float64Array.from(t.data);
}

/** The input as float32 values (copy only when needed). */
export function asFloat32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

// ---------------------------------------------------------------------------------------------
// Content hashes. Exact bytes (no rounding, unlike CoRelAy's ext_hash), SHA-256, with kind, dtype
// and shape in the digest so equal bytes of different shape never collide. Memoised per object:
// data is never mutated after a processor returns it.

const hashes = new WeakMap<object, string>();

function feedArray(h: ReturnType<typeof createHash>, a: ArrayBufferView): void {
  // Typed arrays are little-endian on every platform Node supports.
  h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

export function contentHash(d: Data): string {
  const known = hashes.get(d as object);
  if (known) return known;
  const h = createHash('sha256');
  if (isTuple(d)) {
    h.update(`tuple:${d.length};`);
    for (const child of d) h.update(`${contentHash(child)};`);
  } else if (d.kind === 'tensor') {
    h.update(`tensor:${d.dtype}:${d.shape.join(',')};`);
    feedArray(h, d.data);
  } else if (d.kind === 'csr') {
    h.update(`csr:${d.rows}:${d.cols};`);
    feedArray(h, d.indptr);
    feedArray(h, d.indices);
    feedArray(h, d.values);
  } else {
    h.update(`knn:${d.n}:${d.k};`);
    feedArray(h, d.indices);
    feedArray(h, d.distances);
  }
  const digest = h.digest('hex');
  hashes.set(d as object, digest);
  return digest;
}

/** Records a known hash (a cache read already knows the hash of what it returns). */
export function rememberHash(d: Data, digest: string): void {
  hashes.set(d as object, digest);
}

/** SHA-256 of a string (cache keys). */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
