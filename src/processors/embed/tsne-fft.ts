import { GridFft, transpose } from './fft.js';

/**
 * FFT-accelerated interpolation of the t-SNE repulsion (Linderman et al. 2019, "Fast
 * interpolation-based t-SNE", the method of FIt-SNE and openTSNE), in two dimensions.
 *
 * The embedding's bounding square is cut into B × B intervals ("boxes") with p equispaced
 * Lagrange nodes per box and axis (at (k + ½)·h/p inside a box of width h), so the nodes form one
 * uniform (pB) × (pB) grid of spacing δ = h/p. Each iteration:
 *
 *   1. spread a unit charge of every point onto the p × p nodes of its box (tensor-product
 *      Lagrange weights);
 *   2. convolve the node charges with the kernels sampled at node offsets, by a zero-padded 2-D FFT
 *      (the node-to-node sums are a Toeplitz product, exact up to rounding);
 *   3. interpolate the node potentials back to the points with the same weights.
 *
 * Kernels: instead of FIt-SNE's single kernel q² against the charges (1, y_x, y_y, |y|²) — whose
 * forces and Z come out of differences such as y_i·Σq² − Σq²y_j that lose digits when |y| is large —
 * the forces use the kernel q²·(d_x + i·d_y) on a unit charge, whose potential *is* the force
 * Σ_j q_ij² (y_i − y_j) (real part x, imaginary part y), and Z uses q = 1/(1 + d²):
 * Z = Σ_i Σ_j q_ij is the node charges against their own potential, which by Parseval is
 * Σ_k |Ĉ_k|² Q̂_k over the spectrum, so it needs no inverse transform. One forward and one inverse
 * transform per iteration. All three kernel spectra come from one transform of the real grid
 * q + q²·d_x: q is even, so its spectrum is real (the real part); q²·d_x is odd in x and even in y,
 * so its spectrum is imaginary (the imaginary part); q²·d_y is its transpose.
 *
 * The kernel spectra depend only on the FFT size and δ. δ is rounded *up* to a power of 2^(1/16)
 * (the grid then covers a little more than the embedding), so while the embedding grows slowly the
 * same δ recurs and the spectra are reused rather than recomputed every iteration.
 */
export interface FftRepulsionOptions {
  /** Lagrange nodes per interval and axis (p; FIt-SNE's default 3). */
  nodesPerInterval?: number;
  /** Fewest intervals per axis (FIt-SNE's default 50). */
  minIntervals?: number;
  /** Widest interval, in embedding units (FIt-SNE: 1, i.e. one interval per unit of extent). */
  maxIntervalWidth?: number;
  /** Largest FFT size per axis: beyond it the intervals widen instead (memory: 40·size² bytes). */
  maxFftSize?: number;
}

export const FFT_DEFAULTS: Required<FftRepulsionOptions> = {
  nodesPerInterval: 3,
  minIntervals: 50,
  maxIntervalWidth: 1,
  maxFftSize: 4096,
};

/** Steps of the δ ladder per octave. */
const LADDER = 16;

export class FftRepulsion {
  private readonly p: number;
  private readonly minIntervals: number;
  private readonly maxWidth: number;
  private readonly maxSize: number;
  /** Lagrange denominators Π_{j≠k} (t_k − t_j) for node positions t_k = k + ½. */
  private readonly denominators: Float64Array;
  /** Per point: the grid index of its box's first node, and its p weights per axis. */
  private base: Int32Array;
  private wx: Float64Array;
  private wy: Float64Array;
  private fft: GridFft | undefined;
  /** The charge grid (row y, column x; later the forces) and its transposed spectrum. */
  private re = new Float64Array(0);
  private im = new Float64Array(0);
  private tRe = new Float64Array(0);
  private tIm = new Float64Array(0);
  /** The charge grid holds kernel scratch everywhere (not only in its first columns). */
  private dirty = true;
  /** Q̂/size² (real), and the force kernel's spectrum/size². */
  private kernelZ = new Float64Array(0);
  private kernelRe = new Float64Array(0);
  private kernelIm = new Float64Array(0);
  /** What the kernel spectra were computed for. */
  private kernelSize = 0;
  private kernelNodes = 0;
  private kernelSpacing = 0;
  private kernelUpdates = 0;
  /** Grid of the last call, for tests and diagnostics. */
  lastGrid = { size: 0, intervals: 0, spacing: 0, kernelUpdates: 0 };

  constructor(n: number, options: FftRepulsionOptions = {}) {
    const o = { ...FFT_DEFAULTS, ...options };
    this.p = o.nodesPerInterval;
    this.minIntervals = o.minIntervals;
    this.maxWidth = o.maxIntervalWidth;
    this.maxSize = o.maxFftSize;
    const p = this.p;
    this.denominators = new Float64Array(p);
    for (let k = 0; k < p; k++) {
      let d = 1;
      for (let j = 0; j < p; j++) if (j !== k) d *= k - j;
      this.denominators[k] = d;
    }
    this.base = new Int32Array(n);
    this.wx = new Float64Array(n * p);
    this.wy = new Float64Array(n * p);
  }

  /**
   * negX/negY[i] ← Σ_j q_ij² (y_i − y_j); returns Σ_i Σ_j q_ij including the i = j terms (each
   * ≈ 1), the convention of the Barnes–Hut `repulsion`.
   */
  compute(y: Float64Array, n: number, negX: Float64Array, negY: Float64Array): number {
    if (this.base.length < n) {
      this.base = new Int32Array(n);
      this.wx = new Float64Array(n * this.p);
      this.wy = new Float64Array(n * this.p);
    }
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const px = y[2 * i]!;
      const py = y[2 * i + 1]!;
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
    }
    const p = this.p;
    const extent = Math.max(maxX - minX, maxY - minY, 1e-12);
    // Intervals: at least minIntervals, and none wider than maxIntervalWidth; the FFT size is the
    // power of two that holds the zero-padded node grid (≥ 2·p·B − 1), and B then grows to fill it.
    const needed = Math.max(this.minIntervals, Math.ceil(extent / this.maxWidth));
    let size = 2;
    while (size < 2 * p * needed && size < this.maxSize) size *= 2;
    const intervals = Math.floor(size / (2 * p));
    const nodes = p * intervals;
    // δ rounded up on the ladder; the small factor keeps the extreme points inside the last box.
    const spacing = 2 ** (Math.ceil(Math.log2((extent * (1 + 1e-9)) / nodes) * LADDER) / LADDER);
    const width = spacing * p;
    const x0 = (minX + maxX) / 2 - (nodes * spacing) / 2;
    const y0 = (minY + maxY) / 2 - (nodes * spacing) / 2;
    if (size !== this.kernelSize || nodes !== this.kernelNodes || spacing !== this.kernelSpacing) this.updateKernels(size, nodes, spacing);
    this.lastGrid = { size, intervals, spacing, kernelUpdates: this.kernelUpdates };
    this.weights(y, n, x0, y0, width, intervals, size);
    this.clearCharges(nodes);
    this.spread(n, size, this.re);
    this.forwardReal(nodes);
    const z = this.multiply();
    // Back: along x (rows of the transposed spectrum), transpose the m rows needed, along y.
    const fft = this.fft!;
    fft.columns(this.tRe, this.tIm, 0, size, true);
    transpose(this.tRe, this.tIm, this.re, this.im, size, nodes, size);
    fft.columns(this.re, this.im, 0, nodes, true);
    this.interpolate(n, size, this.re, this.im, negX, negY);
    return z;
  }

  /** Zero what the last iteration left in the charge grid's columns < nodes and below row nodes of T. */
  private clearCharges(nodes: number): void {
    const size = this.fft!.size;
    const re = this.re;
    const im = this.im;
    if (this.dirty) {
      re.fill(0);
      im.fill(0);
      this.dirty = false;
    } else {
      for (let r = 0; r < size; r++) {
        re.fill(0, r * size, r * size + nodes);
        im.fill(0, r * size, r * size + nodes);
      }
    }
    for (let r = nodes; r < size; r++) {
      this.tRe.fill(0, r * size, r * size + size / 2 + 1);
      this.tIm.fill(0, r * size, r * size + size / 2 + 1);
    }
  }

  /**
   * The spectrum of the real grid in `re` (rows and columns < m; `im` zero) into tRe/tIm,
   * transposed (row k_x, column k_y) and for k_y ≤ size/2 only (the rest is its mirror image).
   * Along y: columns c and c + h (h = ⌈m/2⌉) share one complex transform as real and imaginary
   * part and are told apart by their symmetry; then, transposed, along x for the k_y kept.
   */
  private forwardReal(m: number): void {
    const fft = this.fft!;
    const size = fft.size;
    const re = this.re;
    const im = this.im;
    const h = Math.ceil(m / 2);
    for (let r = 0; r < m; r++) {
      const row = r * size;
      for (let c = 0; c < m - h; c++) {
        im[row + c] = re[row + c + h]!;
        re[row + c + h] = 0;
      }
    }
    fft.columns(re, im, 0, h, false);
    const tRe = this.tRe;
    const tIm = this.tIm;
    const halfSize = size / 2;
    for (let k = 0; k <= halfSize; k++) {
      const row = k * size;
      const mirror = ((size - k) % size) * size;
      for (let c = 0; c < h; c++) {
        const zr = re[row + c]!;
        const zi = im[row + c]!;
        const mr = re[mirror + c]!;
        const mi = im[mirror + c]!;
        tRe[c * size + k] = (zr + mr) / 2;
        tIm[c * size + k] = (zi - mi) / 2;
        if (c + h < m) {
          tRe[(c + h) * size + k] = (zi + mi) / 2;
          tIm[(c + h) * size + k] = (mr - zr) / 2;
        }
      }
    }
    fft.columns(tRe, tIm, 0, halfSize + 1, false);
  }

  /**
   * Z = Σ_k |Ĉ_k|² Q̂_k over the plane (from the half plane kept, each k_y in (0, size/2) counting
   * for itself and its mirror) and the force spectrum Ĉ·K̂ over the whole plane, in place: first
   * the mirrored half (k_y > size/2, read from the kept half), then the kept half.
   */
  private multiply(): number {
    const size = this.fft!.size;
    const halfSize = size / 2;
    const tRe = this.tRe;
    const tIm = this.tIm;
    const kz = this.kernelZ;
    const kr = this.kernelRe;
    const ki = this.kernelIm;
    for (let kx = 0; kx < size; kx++) {
      const row = kx * size;
      const mirror = ((size - kx) % size) * size;
      for (let ky = halfSize + 1; ky < size; ky++) {
        const a = tRe[mirror + size - ky]!;
        const b = -tIm[mirror + size - ky]!;
        const e = row + ky;
        tRe[e] = a * kr[e]! - b * ki[e]!;
        tIm[e] = a * ki[e]! + b * kr[e]!;
      }
    }
    let z = 0;
    for (let kx = 0; kx < size; kx++) {
      const row = kx * size;
      // k_y = 0 and size/2 are their own mirrors; the k_y between count twice.
      let edges = 0;
      let inner = 0;
      for (let ky = 0; ky <= halfSize; ky++) {
        const e = row + ky;
        const a = tRe[e]!;
        const b = tIm[e]!;
        tRe[e] = a * kr[e]! - b * ki[e]!;
        tIm[e] = a * ki[e]! + b * kr[e]!;
        const power = (a * a + b * b) * kz[e]!;
        if (ky === 0 || ky === halfSize) edges += power;
        else inner += power;
      }
      z += edges + 2 * inner;
    }
    return z;
  }

  /** Lagrange weights of every point on its box's nodes, and the box's first node. */
  private weights(y: Float64Array, n: number, x0: number, y0: number, width: number, intervals: number, size: number): void {
    const p = this.p;
    const wx = this.wx;
    const wy = this.wy;
    const base = this.base;
    for (let i = 0; i < n; i++) {
      const ux = (y[2 * i]! - x0) / width;
      const uy = (y[2 * i + 1]! - y0) / width;
      const bx = Math.min(intervals - 1, Math.max(0, Math.floor(ux)));
      const by = Math.min(intervals - 1, Math.max(0, Math.floor(uy)));
      base[i] = p * by * size + p * bx;
      // Position within the box in node units, nodes at k + ½.
      this.lagrange(p * (ux - bx), wx, i * p);
      this.lagrange(p * (uy - by), wy, i * p);
    }
  }

  private lagrange(s: number, out: Float64Array, at: number): void {
    const p = this.p;
    for (let k = 0; k < p; k++) {
      let v = 1;
      for (let j = 0; j < p; j++) if (j !== k) v *= s - (j + 0.5);
      out[at + k] = v / this.denominators[k]!;
    }
  }

  private spread(n: number, size: number, re: Float64Array): void {
    const p = this.p;
    const wx = this.wx;
    const wy = this.wy;
    const base = this.base;
    for (let i = 0; i < n; i++) {
      const b = base[i]!;
      for (let ky = 0; ky < p; ky++) {
        const w = wy[i * p + ky]!;
        const row = b + ky * size;
        for (let kx = 0; kx < p; kx++) re[row + kx]! += w * wx[i * p + kx]!;
      }
    }
  }

  private interpolate(n: number, size: number, re: Float64Array, im: Float64Array, negX: Float64Array, negY: Float64Array): void {
    const p = this.p;
    const wx = this.wx;
    const wy = this.wy;
    const base = this.base;
    for (let i = 0; i < n; i++) {
      const b = base[i]!;
      let fx = 0;
      let fy = 0;
      for (let ky = 0; ky < p; ky++) {
        const row = b + ky * size;
        let sx = 0;
        let sy = 0;
        for (let kx = 0; kx < p; kx++) {
          const w = wx[i * p + kx]!;
          sx += w * re[row + kx]!;
          sy += w * im[row + kx]!;
        }
        const w = wy[i * p + ky]!;
        fx += w * sx;
        fy += w * sy;
      }
      negX[i] = fx;
      negY[i] = fy;
    }
  }

  /** Spectra of q and of q²·(d_x + i·d_y) at node offsets, divided by size² (the inverse's scale). */
  private updateKernels(size: number, nodes: number, spacing: number): void {
    if (this.fft?.size !== size) {
      this.fft = new GridFft(size);
      this.re = new Float64Array(size * size);
      this.im = new Float64Array(size * size);
      this.tRe = new Float64Array(size * size);
      this.tIm = new Float64Array(size * size);
      this.kernelZ = new Float64Array(size * size);
      this.kernelRe = new Float64Array(size * size);
      this.kernelIm = new Float64Array(size * size);
    }
    const re = this.re;
    const im = this.im;
    re.fill(0);
    im.fill(0);
    this.tRe.fill(0);
    this.tIm.fill(0);
    // Offsets −(nodes−1) … nodes−1 wrap around (circulant embedding of the Toeplitz product).
    for (let b = 1 - nodes; b < nodes; b++) {
      const dy = b * spacing;
      const row = (b < 0 ? b + size : b) * size;
      for (let a = 1 - nodes; a < nodes; a++) {
        const dx = a * spacing;
        const q = 1 / (1 + dx * dx + dy * dy);
        re[row + (a < 0 ? a + size : a)] = q + q * q * dx;
      }
    }
    this.forwardReal(size);
    const scale = 1 / (size * size);
    const halfSize = size / 2;
    const tRe = this.tRe;
    const tIm = this.tIm;
    const kz = this.kernelZ;
    const kr = this.kernelRe;
    const ki = this.kernelIm;
    // Real part: Q̂ (only the kept half is used). Imaginary part: A, the spectrum of q²·d_x over i,
    // completed over the plane by A(−k) = −A(k) (it is the imaginary part of a real grid's spectrum).
    for (let kx = 0; kx < size; kx++) {
      const row = kx * size;
      const mirror = ((size - kx) % size) * size;
      for (let ky = 0; ky <= halfSize; ky++) {
        kz[row + ky] = tRe[row + ky]! * scale;
        ki[row + ky] = tIm[row + ky]! * scale;
      }
      for (let ky = halfSize + 1; ky < size; ky++) ki[row + ky] = -tIm[mirror + size - ky]! * scale;
    }
    // q²·d_y is the transpose of q²·d_x, so its spectrum is i·Aᵀ and that of q²(d_x + i·d_y) is i·A − Aᵀ.
    for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) kr[a * size + b] = -ki[b * size + a]!;
    this.kernelSize = size;
    this.kernelNodes = nodes;
    this.kernelSpacing = spacing;
    this.kernelUpdates++;
    this.dirty = true;
  }
}

/**
 * The repulsive terms Σ_j q_ij² (y_i − y_j) and Z = Σ_ij q_ij (self terms included) by FFT
 * interpolation, as one iteration computes them (exported for tests).
 */
export function fftRepulsiveForces(y: Float64Array, n: number, options: FftRepulsionOptions = {}): { negX: Float64Array; negY: Float64Array; z: number } {
  const negX = new Float64Array(n);
  const negY = new Float64Array(n);
  const z = new FftRepulsion(n, options).compute(y, n, negX, negY);
  return { negX, negY, z };
}
