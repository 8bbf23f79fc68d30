/**
 * Compressed sparse row matrices: the kNN graph, affinities and Laplacians live here so memory
 * grows with N·k, never N².
 */
export interface Csr {
  readonly rows: number;
  readonly cols: number;
  /** Row r's entries are indices/values[indptr[r] .. indptr[r+1]). Columns ascend within a row. */
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

/**
 * Builds a CSR matrix from coordinate triplets, summing duplicates and sorting columns in each row.
 */
export function csrFromTriplets(rows: number, cols: number, r: Int32Array, c: Int32Array, v: Float64Array, count = r.length): Csr {
  const rowCount = new Int32Array(rows + 1);
  for (let e = 0; e < count; e++) rowCount[r[e]! + 1]!++;
  for (let i = 0; i < rows; i++) rowCount[i + 1]! += rowCount[i]!;
  const fill = rowCount.slice(0, rows);
  const tmpCols = new Int32Array(count);
  const tmpVals = new Float64Array(count);
  for (let e = 0; e < count; e++) {
    const at = fill[r[e]!]!++;
    tmpCols[at] = c[e]!;
    tmpVals[at] = v[e]!;
  }
  // Sort each row by column and merge duplicates; rows are short (about 2k entries).
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(count);
  const values = new Float64Array(count);
  let out = 0;
  const order: number[] = [];
  for (let i = 0; i < rows; i++) {
    const start = rowCount[i]!;
    const end = rowCount[i + 1]!;
    order.length = 0;
    for (let e = start; e < end; e++) order.push(e);
    order.sort((x, y) => tmpCols[x]! - tmpCols[y]!);
    let last = -1;
    for (const e of order) {
      const col = tmpCols[e]!;
      if (col === last) values[out - 1]! += tmpVals[e]!;
      else {
        indices[out] = col;
        values[out] = tmpVals[e]!;
        out++;
        last = col;
      }
    }
    indptr[i + 1] = out;
  }
  return { rows, cols, indptr, indices: indices.slice(0, out), values: values.slice(0, out) };
}

/** Row sums (the degree vector of an affinity). */
export function rowSums(m: Csr): Float64Array {
  const d = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let e = m.indptr[i]!; e < m.indptr[i + 1]!; e++) s += m.values[e]!;
    d[i] = s;
  }
  return d;
}

/** diag(left) · M · diag(right), same sparsity. */
export function scaleRowsCols(m: Csr, left: Float64Array, right: Float64Array): Csr {
  const values = new Float64Array(m.values.length);
  for (let i = 0; i < m.rows; i++) {
    for (let e = m.indptr[i]!; e < m.indptr[i + 1]!; e++) values[e] = left[i]! * m.values[e]! * right[m.indices[e]!]!;
  }
  return { rows: m.rows, cols: m.cols, indptr: m.indptr, indices: m.indices, values };
}

/**
 * Y = M · X for a block X of `b` column vectors stored column after column (X[j*n + i]).
 * Column-major blocks keep each basis vector contiguous for the dot products of the eigensolver.
 */
export function csrTimesBlock(m: Csr, x: Float64Array, b: number, y: Float64Array = new Float64Array(m.rows * b)): Float64Array {
  const n = m.rows;
  const nc = m.cols;
  const { indptr, indices, values } = m;
  for (let j = 0; j < b; j++) {
    const xo = j * nc;
    const yo = j * n;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let e = indptr[i]!; e < indptr[i + 1]!; e++) s += values[e]! * x[xo + indices[e]!]!;
      y[yo + i] = s;
    }
  }
  return y;
}

/** Dense row-major copy (only for small matrices: tests and user-selected dense processors). */
export function csrToDense(m: Csr): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) for (let e = m.indptr[i]!; e < m.indptr[i + 1]!; e++) out[i * m.cols + m.indices[e]!] = m.values[e]!;
  return out;
}

/** CSR from a dense row-major matrix, keeping non-zeros. */
export function denseToCsr(a: ArrayLike<number>, rows: number, cols: number): Csr {
  const r: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const x = a[i * cols + j]!;
      if (x !== 0) {
        r.push(i);
        c.push(j);
        v.push(x);
      }
    }
  }
  return csrFromTriplets(rows, cols, Int32Array.from(r), Int32Array.from(c), Float64Array.from(v));
}
