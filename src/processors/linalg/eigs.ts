import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { Random } from '../random.js';
import { blockLanczos, largestCluster } from './lanczos.js';
import { type Csr, csrTimesBlock } from './sparse.js';

export type EigenTarget = 'LM' | 'LA' | 'SA';

export interface SparseEigenOptions {
  /** Which end of the spectrum: largest magnitude (CoRelAy's `which='LM'`), largest or smallest algebraic. */
  which?: EigenTarget;
  /** A Ritz pair counts as converged when ‖M·u − θ·u‖ ≤ tolerance · max(1, ‖M‖). */
  tolerance?: number;
  maxCycles?: number;
  seed?: number;
  /** Called after every cycle with the number of converged wanted pairs. */
  onCycle?: (cycle: number, converged: number) => void;
  /** Called between cycles so long solves can be interrupted. */
  checkpoint?: () => void;
}

export interface SparseEigenResult {
  /** The wanted eigenvalues in ascending order (scipy's `eigsh` order). */
  values: Float64Array;
  /** Eigenvectors, row-major n × m (row i = sample i), column j belongs to values[j]. */
  vectors: Float64Array;
  cycles: number;
  /** Largest residual ‖M·u − θ·u‖ among the returned pairs. */
  maxResidual: number;
  /** Which method answered: block Lanczos, or the Chebyshev-filtered subspace iteration it falls back to. */
  solver: 'lanczos' | 'chebyshev';
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += a[ao + i]! * b[bo + i]!;
    s1 += a[ao + i + 1]! * b[bo + i + 1]!;
  }
  if (i < n) s0 += a[ao + i]! * b[bo + i]!;
  return s0 + s1;
}

/** Largest absolute row sum: a cheap upper bound on the spectral radius (Gershgorin). */
function normBound(m: Csr): number {
  let best = 0;
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let e = m.indptr[i]!; e < m.indptr[i + 1]!; e++) s += Math.abs(m.values[e]!);
    best = Math.max(best, s);
  }
  return best;
}

/**
 * Orthonormalises the b columns of the column-major block x in place (classical Gram–Schmidt, two
 * passes). A column that collapses (linearly dependent) is replaced by a fresh random vector.
 */
function orthonormalise(x: Float64Array, n: number, b: number, random: Random): void {
  for (let j = 0; j < b; j++) {
    const jo = j * n;
    for (let attempt = 0; ; attempt++) {
      const before = Math.sqrt(dot(x, jo, x, jo, n));
      for (let pass = 0; pass < 2; pass++) {
        for (let q = 0; q < j; q++) {
          const qo = q * n;
          const c = dot(x, qo, x, jo, n);
          for (let i = 0; i < n; i++) x[jo + i]! -= c * x[qo + i]!;
        }
      }
      const norm = Math.sqrt(dot(x, jo, x, jo, n));
      if (norm > 1e-10 * before && norm > 0) {
        for (let i = 0; i < n; i++) x[jo + i]! /= norm;
        break;
      }
      if (attempt > 5) throw new Error('eigensolver could not complete an orthonormal basis');
      for (let i = 0; i < n; i++) x[jo + i] = random.gaussian();
    }
  }
}

/** x · v for a column-major n × b block and a b × c ml-matrix; returns column-major n × c. */
function times(x: Float64Array, n: number, b: number, v: Matrix, c: number): Float64Array {
  const out = new Float64Array(n * c);
  for (let j = 0; j < c; j++) {
    const oo = j * n;
    for (let q = 0; q < b; q++) {
      const w = v.get(q, j);
      if (w === 0) continue;
      const qo = q * n;
      for (let i = 0; i < n; i++) out[oo + i]! += w * x[qo + i]!;
    }
  }
  return out;
}

/** Score used to rank Ritz values: larger = more wanted. */
function scoreOf(which: EigenTarget): (theta: number) => number {
  if (which === 'LA') return (t) => t;
  if (which === 'SA') return (t) => -t;
  return (t) => Math.abs(t);
}

/**
 * The `m` eigenpairs of a sparse symmetric matrix at the requested end of its spectrum: by thick-
 * restart block Lanczos (lanczos.ts; about 5× less work at N = 20 000) where it is safe, otherwise by
 * Chebyshev-filtered block subspace iteration with Rayleigh–Ritz (ChFSI), described here.
 *
 * Why a block method: a single Krylov vector cannot see more than one vector of a repeated
 * eigenvalue, and disconnected kNN graphs give eigenvalue 1 once per component. The block holds
 * `m` plus a margin of vectors, so every multiplicity up to that size is resolved.
 *
 * Each cycle applies a Chebyshev polynomial that stays within [−1, 1] on the unwanted part of the
 * spectrum (for `LM`: [−a, a], with a the weakest Ritz value in the block) and grows fast outside
 * it, then re-orthonormalises and solves the small b × b projected problem with ml-matrix. Work per
 * cycle: `degree` sparse block products plus O(n·b²); memory: a few n × b blocks.
 */
export function sparseEigs(matrix: Csr, m: number, options: SparseEigenOptions = {}): SparseEigenResult {
  const n = matrix.rows;
  if (matrix.cols !== n) throw new Error('sparseEigs needs a square matrix');
  if (m < 1 || m > n) throw new Error(`cannot compute ${m} eigenpairs of a ${n}×${n} matrix`);
  return krylovEigs(matrix, m, options) ?? filteredSubspaceEigs(matrix, m, options);
}

/** Connected components of the graph of a symmetric sparse matrix (non-zero pattern). */
export function countComponents(m: Csr): number {
  const seen = new Uint8Array(m.rows);
  const stack = new Int32Array(m.rows);
  let components = 0;
  for (let start = 0; start < m.rows; start++) {
    if (seen[start]) continue;
    components++;
    seen[start] = 1;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const i = stack[--top]!;
      for (let e = m.indptr[i]!; e < m.indptr[i + 1]!; e++) {
        const j = m.indices[e]!;
        if (!seen[j]) {
          seen[j] = 1;
          stack[top++] = j;
        }
      }
    }
  }
  return components;
}

/**
 * The Lanczos path (lanczos.ts) of sparseEigs, or undefined where the filtered subspace iteration
 * must answer instead: a matrix too small for the Krylov basis, a wanted eigenvalue that may be
 * repeated more often than the block resolves, or a pair whose true residual misses the tolerance.
 *
 * Shape (measured on kNN graphs of N = 20 000, m = 32): blocks of 4 (wider blocks cost more
 * products per unit of Krylov degree), m + 8 Ritz vectors kept, 3m new vectors per restart.
 */
function krylovEigs(matrix: Csr, m: number, options: SparseEigenOptions): SparseEigenResult | undefined {
  const n = matrix.rows;
  // Each connected component gives one copy of the top eigenvalue of a normalised affinity: the
  // block must be wider than that multiplicity.
  const p = 4 * Math.ceil((countComponents(matrix) + 1) / 4);
  const keep = Math.ceil((m + 8) / p) * p;
  const size = Math.ceil((keep + Math.max(3 * m, 2 * p)) / p) * p;
  if (p > 16 || size + p > n) return undefined;
  const which = options.which ?? 'LM';
  const bound = Math.max(normBound(matrix), 1e-300);
  const tolerance = (options.tolerance ?? 1e-7) * Math.max(1, bound);
  const score = scoreOf(which);
  const random = new Random(options.seed ?? 0);
  const result = blockLanczos(matrix, m, {
    block: p,
    size,
    keep,
    // The estimate is checked against the true residual below; aim a little lower.
    tolerance: tolerance / 4,
    maxRestarts: options.maxCycles ?? 1000,
    score,
    random,
    checkpoint: options.checkpoint,
  });
  if (!result.converged) return undefined;
  // Exactly repeated eigenvalues (disconnected components give μ = 1 once each): a block Krylov
  // space holds at most p vectors of one eigenspace, so p equal values may hide more.
  if (largestCluster(result.theta, 1e-9 * Math.max(1, bound)) >= p) return undefined;
  const product = csrTimesBlock(matrix, result.vectors, m);
  const residuals: number[] = [];
  for (let j = 0; j < m; j++) {
    let s = 0;
    const o = j * n;
    for (let i = 0; i < n; i++) {
      const r = product[o + i]! - result.theta[j]! * result.vectors[o + i]!;
      s += r * r;
    }
    residuals.push(Math.sqrt(s));
  }
  if (residuals.some((r) => !(r <= tolerance))) return undefined;
  const wanted = Array.from({ length: m }, (_, j) => j).sort((a, b) => result.theta[a]! - result.theta[b]! || a - b);
  const values = new Float64Array(m);
  const vectors = new Float64Array(n * m);
  const u = new Float64Array(n);
  wanted.forEach((j, col) => {
    values[col] = result.theta[j]!;
    u.set(result.vectors.subarray(j * n, (j + 1) * n));
    fixSign(u, n);
    for (let i = 0; i < n; i++) vectors[i * m + col] = u[i]!;
  });
  return { values, vectors, cycles: result.restarts + 1, maxResidual: Math.max(0, ...residuals), solver: 'lanczos' };
}

/** The Chebyshev-filtered block subspace iteration described above (the fallback of the Lanczos path). */
function filteredSubspaceEigs(matrix: Csr, m: number, options: SparseEigenOptions): SparseEigenResult {
  const n = matrix.rows;
  const which = options.which ?? 'LM';
  const bound = Math.max(normBound(matrix), 1e-300);
  const tolerance = (options.tolerance ?? 1e-7) * Math.max(1, bound);
  const maxCycles = options.maxCycles ?? 1000;
  const score = scoreOf(which);
  const random = new Random(options.seed ?? 0);
  const b = Math.min(n, m + Math.max(8, Math.ceil(m / 2)));

  let x: Float64Array = new Float64Array(n * b);
  for (let i = 0; i < x.length; i++) x[i] = random.gaussian();
  orthonormalise(x, n, b, random);

  let theta: number[] = [];
  let mx: Float64Array = new Float64Array(0);
  let order: number[] = [];
  let residuals: number[] = [];
  let cycle = 0;
  for (;;) {
    cycle++;
    options.checkpoint?.();
    // Rayleigh–Ritz on span(x).
    const product = csrTimesBlock(matrix, x, b);
    const h = new Matrix(b, b);
    for (let p = 0; p < b; p++) {
      for (let q = p; q < b; q++) {
        const v = 0.5 * (dot(x, p * n, product, q * n, n) + dot(x, q * n, product, p * n, n));
        h.set(p, q, v);
        h.set(q, p, v);
      }
    }
    const evd = new EigenvalueDecomposition(h, { assumeSymmetric: true });
    const values = evd.realEigenvalues;
    order = values.map((_, i) => i).sort((p, q) => score(values[q]!) - score(values[p]!) || values[q]! - values[p]!);
    const rotation = new Matrix(b, b);
    order.forEach((src, dst) => {
      for (let q = 0; q < b; q++) rotation.set(q, dst, evd.eigenvectorMatrix.get(q, src));
    });
    theta = order.map((i) => values[i]!);
    x = times(x, n, b, rotation, b);
    mx = times(product, n, b, rotation, b);
    residuals = [];
    for (let j = 0; j < b; j++) {
      let s = 0;
      const o = j * n;
      for (let i = 0; i < n; i++) {
        const r = mx[o + i]! - theta[j]! * x[o + i]!;
        s += r * r;
      }
      residuals.push(Math.sqrt(s));
    }
    const converged = residuals.slice(0, m).filter((r) => r <= tolerance).length;
    options.onCycle?.(cycle, converged);
    if (converged === m || b === n || cycle >= maxCycles) break;

    // Soft locking (LM only): the leading wanted pairs that have converged stay in the block but
    // are not filtered; the filter runs on the deflated operator M − Q Λ Qᵀ, which moves them to 0
    // (inside the damped interval), so a high degree cannot re-amplify them in the active vectors.
    let locked = 0;
    if (which === 'LM') while (locked < m && residuals[locked]! <= tolerance) locked++;
    const active = b - locked;
    // Chebyshev filter damping the interval [lo, hi] that holds the unwanted spectrum.
    const cut = theta[b - 1]!;
    let lo: number;
    let hi: number;
    let top: number;
    if (which === 'LM') {
      const a = Math.max(Math.abs(cut), 1e-3 * bound);
      [lo, hi] = [-a, a];
      // The strongest direction left in the active block (locked ones are deflated to 0).
      top = Math.min(bound, 1.05 * Math.abs(theta[locked]!) + 1e-3 * bound);
    } else {
      if (which === 'LA') [lo, hi] = [-bound, cut];
      else [lo, hi] = [cut, bound];
      top = bound;
    }
    const centre = (lo + hi) / 2;
    const half = Math.max((hi - lo) / 2, 1e-12 * bound);
    // Keep the amplification of the strongest active direction below ~1e10 so the weakest wanted
    // directions are not drowned in its rounding error.
    const reach = Math.max(Math.abs(top - centre), Math.abs(-top - centre)) / half;
    const degree = Math.max(2, Math.min(80, Math.floor(Math.acosh(1e10) / Math.acosh(Math.max(reach, 1 + 1e-9)))));
    const filtered = chebyshevFilter(matrix, toRows(x, n, locked, b), n, active, degree, centre, half, toRows(x, n, 0, locked), theta.slice(0, locked));
    fromRows(filtered, x, n, locked, b);
    orthonormalise(x, n, b, random);
  }

  // Wanted pairs in ascending eigenvalue order (scipy's eigsh order).
  const wanted = Array.from({ length: m }, (_, j) => j).sort((p, q) => theta[p]! - theta[q]!);
  const values = new Float64Array(m);
  const vectors = new Float64Array(n * m);
  const u = new Float64Array(n);
  wanted.forEach((j, col) => {
    values[col] = theta[j]!;
    u.set(x.subarray(j * n, (j + 1) * n));
    fixSign(u, n);
    for (let i = 0; i < n; i++) vectors[i * m + col] = u[i]!;
  });
  return { values, vectors, cycles: cycle, maxResidual: Math.max(0, ...residuals.slice(0, m)), solver: 'chebyshev' };
}

/** Columns [from, to) of a column-major n × b block as a row-major n × (to − from) block. */
function toRows(x: Float64Array, n: number, from: number, to: number): Float64Array {
  const w = to - from;
  const out = new Float64Array(n * w);
  for (let j = 0; j < w; j++) {
    const o = (from + j) * n;
    for (let i = 0; i < n; i++) out[i * w + j] = x[o + i]!;
  }
  return out;
}

/** Writes a row-major n × (to − from) block back into columns [from, to) of a column-major block. */
function fromRows(rows: Float64Array, x: Float64Array, n: number, from: number, to: number): void {
  const w = to - from;
  for (let j = 0; j < w; j++) {
    const o = (from + j) * n;
    for (let i = 0; i < n; i++) x[o + i] = rows[i * w + j]!;
  }
}

/**
 * y = (M − Q Λ Qᵀ) x for a row-major n × w block x: one pass over the sparse rows updates all w
 * columns at once (contiguous), then the deflation by the locked pairs (Q row-major n × L).
 */
function deflatedProduct(m: Csr, x: Float64Array, w: number, y: Float64Array, q: Float64Array, lambda: number[]): void {
  const n = m.rows;
  const { indptr, indices, values } = m;
  y.fill(0);
  const w4 = w - (w % 4);
  for (let i = 0; i < n; i++) {
    const yo = i * w;
    const end = indptr[i + 1]!;
    for (let e = indptr[i]!; e < end; e++) {
      const v = values[e]!;
      const xo = indices[e]! * w;
      // Unrolled by four: the block width is the hot loop of the whole eigensolver.
      let j = 0;
      for (; j < w4; j += 4) {
        y[yo + j] = y[yo + j]! + v * x[xo + j]!;
        y[yo + j + 1] = y[yo + j + 1]! + v * x[xo + j + 1]!;
        y[yo + j + 2] = y[yo + j + 2]! + v * x[xo + j + 2]!;
        y[yo + j + 3] = y[yo + j + 3]! + v * x[xo + j + 3]!;
      }
      for (; j < w; j++) y[yo + j] = y[yo + j]! + v * x[xo + j]!;
    }
  }
  const l = lambda.length;
  if (l === 0) return;
  // c = Λ Qᵀ x  (L × w)
  const c = new Float64Array(l * w);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < l; p++) {
      const qv = q[i * l + p]!;
      if (qv === 0) continue;
      const co = p * w;
      const xo = i * w;
      for (let j = 0; j < w; j++) c[co + j]! += qv * x[xo + j]!;
    }
  }
  for (let p = 0; p < l; p++) for (let j = 0; j < w; j++) c[p * w + j]! *= lambda[p]!;
  for (let i = 0; i < n; i++) {
    const yo = i * w;
    for (let p = 0; p < l; p++) {
      const qv = q[i * l + p]!;
      if (qv === 0) continue;
      const co = p * w;
      for (let j = 0; j < w; j++) y[yo + j]! -= qv * c[co + j]!;
    }
  }
}

/** Y = T_d((M' − c·I)/e) · X by the three-term recurrence on a row-major block, M' the deflated operator. */
function chebyshevFilter(
  matrix: Csr,
  x: Float64Array,
  n: number,
  w: number,
  degree: number,
  centre: number,
  half: number,
  q: Float64Array,
  lambda: number[],
): Float64Array {
  let previous: Float64Array = x;
  let current: Float64Array = new Float64Array(n * w);
  deflatedProduct(matrix, x, w, current, q, lambda);
  for (let i = 0; i < current.length; i++) current[i] = (current[i]! - centre * x[i]!) / half;
  let scratch: Float64Array = new Float64Array(n * w);
  for (let d = 2; d <= degree; d++) {
    deflatedProduct(matrix, current, w, scratch, q, lambda);
    for (let i = 0; i < scratch.length; i++) scratch[i] = (2 * (scratch[i]! - centre * current[i]!)) / half - previous[i]!;
    const next = scratch;
    scratch = previous === x ? new Float64Array(n * w) : previous;
    previous = current;
    current = next;
  }
  return current;
}

/** Eigenvector signs are arbitrary; make the entry of largest magnitude positive (first one on near-ties). */
export function fixSign(u: Float64Array, n: number): void {
  let best = 0;
  for (let i = 1; i < n; i++) if (Math.abs(u[i]!) > Math.abs(u[best]!) + 1e-12) best = i;
  if (u[best]! < 0) for (let i = 0; i < n; i++) u[i] = -u[i]!;
}
