/**
 * Radix-4 complex FFTs along the columns of a square grid, for the FFT-accelerated t-SNE repulsion
 * (`tsne-fft.ts`). Real and imaginary parts live in two Float64Arrays holding a size × size grid
 * row by row. Transforms are unnormalised in both directions (the caller folds 1/size² into its
 * kernel).
 *
 * Columns are transformed *vectorised over columns*: every butterfly combines whole grid rows with
 * one set of twiddles, so the inner loop runs along contiguous memory with constant factors. The
 * other axis is transformed by transposing (`transpose`) and running the same column pass, so no
 * strided access is ever needed. Column ranges let callers skip the zero-padded columns or those
 * whose output they do not need, and the pass works through the columns in blocks narrow enough
 * for a block of all rows to stay in cache while every stage runs over it.
 *
 * Nothing here allocates after construction; the order of every floating-point operation depends
 * only on the size and the ranges, so results are bit-for-bit reproducible.
 */
export class GridFft {
  readonly size: number;
  private readonly log2: number;
  /** cos and sin of 2πk/size for k < size/2 (the forward transform uses e^{−2πik/size}). */
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  /** Bit-reversed index of every position. */
  private readonly reversed: Int32Array;
  /** Columns per cache block (64: measured best at size 1024, within noise elsewhere). */
  private readonly block: number;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) throw new RangeError(`FFT size must be a power of two ≥ 4, got ${size}`);
    this.size = size;
    this.log2 = Math.round(Math.log2(size));
    this.cos = new Float64Array(size / 2);
    this.sin = new Float64Array(size / 2);
    for (let k = 0; k < size / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.reversed = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < this.log2; b++) if (i & (1 << b)) r |= 1 << (this.log2 - 1 - b);
      this.reversed[i] = r;
    }
    this.block = Math.min(size, 64);
  }

  /** In place: columns [first, end) of the grid, each transformed along its length. */
  columns(re: Float64Array, im: Float64Array, first: number, end: number, inverse: boolean): void {
    for (let c = first; c < end; c += this.block) this.columnBlock(re, im, c, Math.min(end, c + this.block), inverse);
  }

  private columnBlock(re: Float64Array, im: Float64Array, first: number, end: number, inverse: boolean): void {
    const size = this.size;
    const reversed = this.reversed;
    for (let i = 0; i < size; i++) {
      const j = reversed[i]!;
      if (j > i) swapRows(re, im, i * size, j * size, first, end);
    }
    const cos = this.cos;
    const sin = this.sin;
    const sign = inverse ? 1 : -1;
    let half = 1;
    if (this.log2 % 2 === 1) {
      // One radix-2 stage (twiddle 1) so that the rest pairs up into radix-4 stages.
      for (let r = 0; r < size; r += 2) radix2Rows(re, im, r * size, (r + 1) * size, first, end);
      half = 2;
    }
    // Two radix-2 stages at a time (halves `half` and 2·half): one pass over the rows instead of two.
    for (; half < size; half *= 4) {
      const stride1 = size / (2 * half);
      const stride2 = size / (4 * half);
      for (let start = 0; start < size; start += 4 * half) {
        for (let k = 0; k < half; k++) {
          const r0 = (start + k) * size;
          radix4Rows(re, im, r0, half * size, first, end, cos[k * stride1]!, sign * sin[k * stride1]!, cos[k * stride2]!, sign * sin[k * stride2]!, sign);
        }
      }
    }
  }
}

/**
 * dst[c][r] ← src[r][c] for r < rows, c < cols (size × size grids), in tiles so both sides are read
 * and written a cache line at a time.
 */
export function transpose(srcRe: Float64Array, srcIm: Float64Array, dstRe: Float64Array, dstIm: Float64Array, size: number, rows: number, cols: number): void {
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          dstRe[c * size + r] = srcRe[r * size + c]!;
          dstIm[c * size + r] = srcIm[r * size + c]!;
        }
      }
    }
  }
}

function swapRows(re: Float64Array, im: Float64Array, a: number, b: number, first: number, end: number): void {
  for (let c = first; c < end; c++) {
    const tr = re[a + c]!;
    re[a + c] = re[b + c]!;
    re[b + c] = tr;
    const ti = im[a + c]!;
    im[a + c] = im[b + c]!;
    im[b + c] = ti;
  }
}

function radix2Rows(re: Float64Array, im: Float64Array, a: number, b: number, first: number, end: number): void {
  for (let c = first; c < end; c++) {
    const br = re[b + c]!;
    const bi = im[b + c]!;
    const ar = re[a + c]!;
    const ai = im[a + c]!;
    re[b + c] = ar - br;
    im[b + c] = ai - bi;
    re[a + c] = ar + br;
    im[a + c] = ai + bi;
  }
}

/**
 * Rows r0, r0 + h, r0 + 2h, r0 + 3h (h = `gap` elements): the radix-2 stage of half-length `half`
 * (twiddle w1 on rows 1 and 3) followed by that of 2·half (twiddle w2 on row 2, w2·(sign·i) on
 * row 3), as one radix-4 butterfly of a decimation-in-time FFT.
 */
function radix4Rows(
  re: Float64Array,
  im: Float64Array,
  r0: number,
  gap: number,
  first: number,
  end: number,
  w1r: number,
  w1i: number,
  w2r: number,
  w2i: number,
  sign: number,
): void {
  const r1 = r0 + gap;
  const r2 = r1 + gap;
  const r3 = r2 + gap;
  for (let c = first; c < end; c++) {
    const x1r = re[r1 + c]!;
    const x1i = im[r1 + c]!;
    const x3r = re[r3 + c]!;
    const x3i = im[r3 + c]!;
    const a1r = w1r * x1r - w1i * x1i;
    const a1i = w1r * x1i + w1i * x1r;
    const a3r = w1r * x3r - w1i * x3i;
    const a3i = w1r * x3i + w1i * x3r;
    const a0r = re[r0 + c]!;
    const a0i = im[r0 + c]!;
    const a2r = re[r2 + c]!;
    const a2i = im[r2 + c]!;
    const s0r = a0r + a1r;
    const s0i = a0i + a1i;
    const s1r = a0r - a1r;
    const s1i = a0i - a1i;
    const s2r = a2r + a3r;
    const s2i = a2i + a3i;
    const s3r = a2r - a3r;
    const s3i = a2i - a3i;
    const t2r = w2r * s2r - w2i * s2i;
    const t2i = w2r * s2i + w2i * s2r;
    // w2·s3 turned by sign·i (−i forward, +i inverse).
    const ur = w2r * s3r - w2i * s3i;
    const ui = w2r * s3i + w2i * s3r;
    const t3r = -sign * ui;
    const t3i = sign * ur;
    re[r0 + c] = s0r + t2r;
    im[r0 + c] = s0i + t2i;
    re[r2 + c] = s0r - t2r;
    im[r2 + c] = s0i - t2i;
    re[r1 + c] = s1r + t3r;
    im[r1 + c] = s1i + t3i;
    re[r3 + c] = s1r - t3r;
    im[r3 + c] = s1i - t3i;
  }
}
