import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Random } from '../random.js';
import type { Csr } from './sparse.js';

/**
 * Thick-restart block Lanczos with full reorthogonalisation: the fast path of `sparseEigs`.
 *
 * Why: Chebyshev-filtered subspace iteration multiplies the whole 48-vector block by M some 40–80
 * times per cycle; a Krylov method builds the same quality of subspace from a few hundred single
 * products (ARPACK, which CoRelAy calls, needs about as many). At N = 20 000 this is ~10× less work.
 *
 * The basis V (column-major, n × `size`) grows a block of `block` vectors at a time: W = M·V_last,
 * orthogonalised twice (classical Gram–Schmidt) against all of V. H = Vᵀ M V is read off the
 * first-pass coefficients, so it is exact for whatever V holds (also after a restart, when V starts
 * with Ritz vectors). The part of M·V outside span(V) is the last W alone, so the residual of a Ritz
 * pair (θ, V s) is ‖W · s_last‖ (s_last = the entries of s on the last block). On restart the `keep`
 * best Ritz vectors stay and the orthonormalised W continues the Krylov space.
 *
 * A block Krylov space holds at most `block` vectors of an exactly repeated eigenvalue, so the
 * caller must check the multiplicities it got (see `largestCluster`).
 */
export interface LanczosResult {
  /** Ritz values of the m wanted pairs, best first (by the caller's score). */
  theta: number[];
  /** Ritz vectors, column-major n × m, in the order of `theta`. */
  vectors: Float64Array;
  /** Estimated residuals ‖M u − θ u‖ of the m pairs. */
  residuals: number[];
  restarts: number;
  converged: boolean;
}

export interface LanczosOptions {
  block: number;
  /** Basis size (a multiple of `block`, > keep). */
  size: number;
  /** Ritz vectors kept on restart (≥ m). */
  keep: number;
  tolerance: number;
  maxRestarts: number;
  score: (theta: number) => number;
  random: Random;
  checkpoint?: () => void;
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[ao + i]! * b[bo + i]!;
    s1 += a[ao + i + 1]! * b[bo + i + 1]!;
    s2 += a[ao + i + 2]! * b[bo + i + 2]!;
    s3 += a[ao + i + 3]! * b[bo + i + 3]!;
  }
  for (; i < n; i++) s0 += a[ao + i]! * b[bo + i]!;
  return s0 + s1 + (s2 + s3);
}

function axpy(alpha: number, x: Float64Array, xo: number, y: Float64Array, yo: number, n: number): void {
  for (let i = 0; i < n; i++) y[yo + i]! += alpha * x[xo + i]!;
}

/**
 * y = M·x for `p` column-major columns (p a multiple of 4), via a row-major copy so that each sparse
 * entry updates p contiguous values (unrolled by four: this and the projections are the hot loops).
 */
function blockProduct(m: Csr, x: Float64Array, xo: number, p: number, y: Float64Array, rowX: Float64Array, rowY: Float64Array): void {
  const n = m.rows;
  const { indptr, indices, values } = m;
  for (let j = 0; j < p; j++) {
    const o = xo + j * n;
    for (let i = 0; i < n; i++) rowX[i * p + j] = x[o + i]!;
  }
  for (let i = 0; i < n; i++) {
    const end = indptr[i + 1]!;
    for (let j = 0; j < p; j += 4) {
      let y0 = 0;
      let y1 = 0;
      let y2 = 0;
      let y3 = 0;
      for (let e = indptr[i]!; e < end; e++) {
        const v = values[e]!;
        const o = indices[e]! * p + j;
        y0 += v * rowX[o]!;
        y1 += v * rowX[o + 1]!;
        y2 += v * rowX[o + 2]!;
        y3 += v * rowX[o + 3]!;
      }
      const yo = i * p + j;
      rowY[yo] = y0;
      rowY[yo + 1] = y1;
      rowY[yo + 2] = y2;
      rowY[yo + 3] = y3;
    }
  }
  for (let j = 0; j < p; j++) {
    const o = j * n;
    for (let i = 0; i < n; i++) y[o + i] = rowY[i * p + j]!;
  }
}

/**
 * Classical Gram–Schmidt step for a whole block: C = V[:, from..to)ᵀ W, then W −= V C, with
 * `coefficients[(q − from) * p + j]` = C. Four columns of W at a time share each pass over a column
 * of V, so V (the large array) is streamed p/4 times instead of 2p times.
 */
function projectOut(v: Float64Array, from: number, to: number, w: Float64Array, p: number, n: number, coefficients: Float64Array): void {
  for (let j = 0; j < p; j += 4) {
    const w0 = j * n;
    const w1 = w0 + n;
    const w2 = w1 + n;
    const w3 = w2 + n;
    for (let q = from; q < to; q++) {
      const vo = q * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < n; i++) {
        const x = v[vo + i]!;
        s0 += x * w[w0 + i]!;
        s1 += x * w[w1 + i]!;
        s2 += x * w[w2 + i]!;
        s3 += x * w[w3 + i]!;
      }
      const co = (q - from) * p + j;
      coefficients[co] = s0;
      coefficients[co + 1] = s1;
      coefficients[co + 2] = s2;
      coefficients[co + 3] = s3;
    }
    for (let q = from; q < to; q++) {
      const vo = q * n;
      const co = (q - from) * p + j;
      const c0 = coefficients[co]!;
      const c1 = coefficients[co + 1]!;
      const c2 = coefficients[co + 2]!;
      const c3 = coefficients[co + 3]!;
      for (let i = 0; i < n; i++) {
        const x = v[vo + i]!;
        w[w0 + i]! -= c0 * x;
        w[w1 + i]! -= c1 * x;
        w[w2 + i]! -= c2 * x;
        w[w3 + i]! -= c3 * x;
      }
    }
  }
}

/**
 * Orthonormalises the p columns of w (column-major) among themselves (two passes); w must already
 * be orthogonal to the first `c` columns of v. A column that collapses is replaced by a random one,
 * made orthogonal to those columns of v as well.
 */
function orthonormaliseBlock(w: Float64Array, p: number, v: Float64Array, c: number, n: number, random: Random): void {
  for (let j = 0; j < p; j++) {
    const jo = j * n;
    for (let attempt = 0; ; attempt++) {
      const before = Math.sqrt(dot(w, jo, w, jo, n));
      for (let pass = 0; pass < 2; pass++) {
        if (attempt > 0) for (let q = 0; q < c; q++) axpy(-dot(v, q * n, w, jo, n), v, q * n, w, jo, n);
        for (let q = 0; q < j; q++) axpy(-dot(w, q * n, w, jo, n), w, q * n, w, jo, n);
      }
      const norm = Math.sqrt(dot(w, jo, w, jo, n));
      if (norm > 1e-10 * before && norm > 0) {
        for (let i = 0; i < n; i++) w[jo + i]! /= norm;
        break;
      }
      if (attempt > 5) throw new Error('eigensolver could not complete an orthonormal basis');
      for (let i = 0; i < n; i++) w[jo + i] = random.gaussian();
    }
  }
}

export function blockLanczos(matrix: Csr, m: number, o: LanczosOptions): LanczosResult {
  const n = matrix.rows;
  const { block: p, size, keep } = o;
  if (p % 4 !== 0 || size % p !== 0 || keep % p !== 0 || keep + p > size) throw new Error(`bad Lanczos shape: block ${p}, keep ${keep}, size ${size}`);
  const v = new Float64Array(n * size);
  const h = new Float64Array(size * size);
  const w = new Float64Array(n * p);
  const rowX = new Float64Array(n * p);
  const rowY = new Float64Array(n * p);
  const coefficients = new Float64Array(size * p);
  for (let i = 0; i < n * p; i++) v[i] = o.random.gaussian();
  orthonormaliseBlock(v, p, v, 0, n, o.random);
  let c = p;
  // First column of the block that follows the kept Ritz vectors (none before the first restart).
  let keepStart = -1;
  for (let restart = 0; ; restart++) {
    // Grow V to `size` columns; after the loop W is the residual block of the last one.
    for (;;) {
      o.checkpoint?.();
      const first = c - p;
      blockProduct(matrix, v, first * n, p, w, rowX, rowY);
      // In exact arithmetic M·V_block only touches the previous block, itself and the next (and,
      // for the first block after a restart, every kept Ritz vector): the Lanczos recurrence. A
      // second pass over all of V then removes what rounding lets creep back in.
      const from = first === 0 || first === keepStart ? 0 : first - p;
      projectOut(v, from, c, w, p, n, coefficients);
      // H = Vᵀ M V, upper triangle (row q ≤ column); the full pass only adds rounding corrections.
      for (let q = from; q < c; q++) for (let j = 0; j < p; j++) if (q <= first + j) h[q * size + first + j] = coefficients[(q - from) * p + j]!;
      projectOut(v, 0, c, w, p, n, coefficients);
      for (let q = 0; q < c; q++) for (let j = 0; j < p; j++) if (q <= first + j) h[q * size + first + j]! += coefficients[q * p + j]!;
      if (c === size) break;
      v.set(w, c * n);
      orthonormaliseBlock(v.subarray(c * n, (c + p) * n), p, v, c, n, o.random);
      c += p;
    }
    // H is kept in its upper triangle (row q ≤ column).
    const hm = new Matrix(size, size);
    for (let a = 0; a < size; a++)
      for (let b = a; b < size; b++) {
        hm.set(a, b, h[a * size + b]!);
        hm.set(b, a, h[a * size + b]!);
      }
    const evd = new EigenvalueDecomposition(hm, { assumeSymmetric: true });
    const values = evd.realEigenvalues;
    const s = evd.eigenvectorMatrix;
    const order = values.map((_, i) => i).sort((a, b) => o.score(values[b]!) - o.score(values[a]!) || values[b]! - values[a]! || a - b);
    // Residual of Ritz pair i: ‖W · s_i[last block]‖ = sqrt(tᵀ G t), G = WᵀW.
    const g = new Float64Array(p * p);
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) g[a * p + b] = dot(w, a * n, w, b * n, n);
    const residualOf = (col: number): number => {
      let r = 0;
      for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) r += s.get(size - p + a, col) * g[a * p + b]! * s.get(size - p + b, col);
      return Math.sqrt(Math.max(0, r));
    };
    const residuals = order.slice(0, m).map(residualOf);
    const converged = residuals.every((r) => r <= o.tolerance);
    const done = converged || restart >= o.maxRestarts;
    const count = done ? m : keep;
    // Ritz vectors U = V S[:, order[0..count)], written over the front of V (via a copy).
    const u = new Float64Array(n * count);
    for (let col = 0; col < count; col++) {
      const src = order[col]!;
      for (let q = 0; q < size; q++) {
        const coefficient = s.get(q, src);
        if (coefficient !== 0) axpy(coefficient, v, q * n, u, col * n, n);
      }
    }
    if (done) return { theta: order.slice(0, m).map((i) => values[i]!), vectors: u, residuals, restarts: restart, converged };
    // Restart: V = [U, orthonormalised W]; H = diag(θ) plus the coupling Qᵀ M U filled in below.
    v.fill(0);
    v.set(u, 0);
    h.fill(0);
    for (let col = 0; col < keep; col++) h[col * size + col] = values[order[col]!]!;
    v.set(w, keep * n);
    orthonormaliseBlock(v.subarray(keep * n, (keep + p) * n), p, v, keep, n, o.random);
    c = keep + p;
    keepStart = keep;
  }
}

/** Size of the largest group of values within `gap` of their neighbour (sorted): a multiplicity estimate. */
export function largestCluster(values: number[], gap: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  let best = sorted.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < sorted.length; i++) {
    run = sorted[i]! - sorted[i - 1]! <= gap ? run + 1 : 1;
    best = Math.max(best, run);
  }
  return best;
}
