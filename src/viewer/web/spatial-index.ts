/**
 * The spatial index regl-scatterplot searches for hover, click and lasso, built straight from our
 * typed coordinate columns. Handed to `draw({ spatialIndex })`, it spares regl-scatterplot its own
 * build, which for a million points posts a million small [x, y, z] arrays to a worker (over a
 * second of structured cloning on the page's thread) before the first frame can be drawn.
 *
 * The layout is KDBush's serialised form (version 1), which regl-scatterplot reads back:
 *   byte 0 0xdb, byte 1 (version << 4) | coordinate type (7 = Float32Array),
 *   bytes 2..3 uint16 node size, bytes 4..7 uint32 n,
 *   then uint32 ids[n] (uint16 below 65 536 items), padding to 8 bytes, float32 coords[2n] (x, y, …;
 * the page's own float32 columns, so no precision is lost and the sort moves half the bytes of float64),
 * both sorted as a k-d tree: the item at the middle of a range splits it on the range's axis (x, then
 * y, alternating), down to ranges of at most `nodeSize` items, which are searched linearly.
 */
const HEADER_BYTES = 8;
const VERSION = 1;
const FLOAT32_TYPE = 7;

export function buildSpatialIndex(xs: Float32Array, ys: Float32Array, nodeSize = 64): ArrayBuffer {
  const n = xs.length;
  const wide = n >= 65536;
  const idBytes = n * (wide ? 4 : 2);
  const pad = (8 - (idBytes % 8)) % 8;
  const data = new ArrayBuffer(HEADER_BYTES + idBytes + pad + n * 8);
  new Uint8Array(data, 0, 2).set([0xdb, (VERSION << 4) + FLOAT32_TYPE]);
  new Uint16Array(data, 2, 1)[0] = nodeSize;
  new Uint32Array(data, 4, 1)[0] = n;
  const ids = wide ? new Uint32Array(data, HEADER_BYTES, n) : new Uint16Array(data, HEADER_BYTES, n);
  const coords = new Float32Array(data, HEADER_BYTES + idBytes + pad, n * 2);
  for (let i = 0; i < n; i++) {
    ids[i] = i;
    coords[2 * i] = xs[i];
    coords[2 * i + 1] = ys[i];
  }
  if (n > 0) kdSort(ids, coords, nodeSize);
  return data;
}

/** Orders ids and coords as a k-d tree (iteratively: a million points would nest 20 levels of calls anyway). */
function kdSort(ids: Uint32Array | Uint16Array, coords: Float32Array, nodeSize: number): void {
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

/**
 * Rearranges [left, right] so that the k-th item is where a full sort on `axis` would put it, with
 * no larger item before it and no smaller one after it (Hoare's selection with a median-of-three pivot).
 */
function select(ids: Uint32Array | Uint16Array, coords: Float32Array, k: number, left: number, right: number, axis: number): void {
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

function swap(ids: Uint32Array | Uint16Array, coords: Float32Array, i: number, j: number): void {
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
