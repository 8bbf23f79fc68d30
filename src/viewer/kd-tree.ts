/**
 * The k-d order of a point set as KDBush (regl-scatterplot's spatial index) lays it out: the item
 * at the middle of a range splits it on the range's axis (x, then y, alternating), down to ranges of
 * at most `nodeSize` items, which are searched linearly. Shared by the server, which sends the order
 * of a large category with its points (src/viewer/points-format.ts), and the page, which sorts
 * small ones itself (src/viewer/web/spatial-index.ts).
 *
 * The order only depends on comparisons along each axis, so it survives any per-axis increasing
 * map of the coordinates, such as the page's normalisation into the plot's square.
 */

/** KDBush's node size that regl-scatterplot's own index uses. */
export const KD_NODE_SIZE = 64;

/**
 * Reorders `ids` and the interleaved `coords` (x0, y0, x1, y1, …, one pair per id) in place into k-d
 * order. Iterative: a million points would nest 20 levels of calls otherwise.
 */
export function kdSort(ids: Uint32Array | Uint16Array, coords: Float32Array | Float64Array, nodeSize = KD_NODE_SIZE): void {
  if (ids.length === 0) return;
  const stack = [0, ids.length - 1, 0];
  while (stack.length) {
    const axis = stack.pop() as number;
    const right = stack.pop() as number;
    const left = stack.pop() as number;
    if (right - left <= nodeSize) continue;
    const middle = (left + right) >> 1;
    select(ids, coords, middle, left, right, axis);
    stack.push(left, middle - 1, 1 - axis, middle + 1, right, 1 - axis);
  }
}

/** The k-d order (ids 0..n−1 rearranged) of points given as two columns; non-finite values must be replaced first. */
export function kdOrder(xs: ArrayLike<number>, ys: ArrayLike<number>, nodeSize = KD_NODE_SIZE): Uint32Array {
  const n = xs.length;
  const ids = new Uint32Array(n);
  const coords = new Float32Array(2 * n);
  sortPoints(ids, coords, xs, ys, nodeSize);
  return ids;
}

/** Fills ids (0…n−1) and interleaved coords from the columns, then puts both in k-d order (in place). */
export function sortPoints(ids: Uint16Array | Uint32Array, coords: Float32Array, xs: ArrayLike<number>, ys: ArrayLike<number>, nodeSize = KD_NODE_SIZE): void {
  for (let i = 0; i < xs.length; i++) {
    ids[i] = i;
    coords[2 * i] = xs[i]!;
    coords[2 * i + 1] = ys[i]!;
  }
  kdSort(ids, coords, nodeSize);
}

/**
 * Rearranges [left, right] so that the k-th item is where a full sort on `axis` would put it, with
 * no larger item before it and no smaller one after it (Hoare's selection, median-of-three pivot).
 */
function select(ids: Uint32Array | Uint16Array, coords: Float32Array | Float64Array, k: number, left: number, right: number, axis: number): void {
  let lo = left;
  let hi = right;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // Median of three as the pivot, moved to lo: sorted runs (common in embeddings) stay linear.
    if (coords[2 * mid + axis] < coords[2 * lo + axis]) swap(ids, coords, mid, lo);
    if (coords[2 * hi + axis] < coords[2 * lo + axis]) swap(ids, coords, hi, lo);
    if (coords[2 * hi + axis] < coords[2 * mid + axis]) swap(ids, coords, hi, mid);
    swap(ids, coords, lo, mid);
    const pivot = coords[2 * lo + axis];
    let i = lo;
    let j = hi + 1;
    for (;;) {
      do i++;
      while (i <= hi && coords[2 * i + axis] < pivot);
      do j--;
      while (coords[2 * j + axis] > pivot);
      if (i >= j) break;
      swap(ids, coords, i, j);
    }
    swap(ids, coords, lo, j);
    if (j >= k) hi = j - 1;
    if (j <= k) lo = j + 1;
  }
}

function swap(ids: Uint32Array | Uint16Array, coords: Float32Array | Float64Array, i: number, j: number): void {
  const id = ids[i];
  ids[i] = ids[j];
  ids[j] = id;
  const x = coords[2 * i];
  const y = coords[2 * i + 1];
  coords[2 * i] = coords[2 * j];
  coords[2 * i + 1] = coords[2 * j + 1];
  coords[2 * j] = x;
  coords[2 * j + 1] = y;
}
