/**
 * A memory order for the points of a sparse affinity graph in which neighbours sit close together,
 * so the attractive-force loop over the graph's pairs reads and writes nearby entries of the
 * embedding instead of jumping across it (at n = 50 000 that loop was the largest share of an FFT
 * t-SNE iteration, mostly cache misses). Breadth-first order from the lowest unvisited index,
 * neighbours in ascending index: deterministic, O(pairs).
 */
export interface PairList {
  rows: Int32Array;
  cols: Int32Array;
  values: Float64Array;
}

/** rank[i] = the position of point i in breadth-first order over the pairs (each stored once). */
export function breadthFirstRank(n: number, pairs: PairList): Int32Array {
  const { rows, cols } = pairs;
  const start = new Int32Array(n + 1);
  for (let e = 0; e < rows.length; e++) {
    start[rows[e]! + 1]!++;
    start[cols[e]! + 1]!++;
  }
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const adjacent = new Int32Array(2 * rows.length);
  // Pairs come with rows ascending, so each list is filled in ascending order of the other end
  // for lower neighbours first, then higher ones: a fixed order either way.
  for (let e = 0; e < rows.length; e++) {
    adjacent[fill[rows[e]!]!++] = cols[e]!;
    adjacent[fill[cols[e]!]!++] = rows[e]!;
  }
  const rank = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let tail = 0;
  for (let seed = 0; seed < n; seed++) {
    if (rank[seed] !== -1) continue;
    let head = tail;
    rank[seed] = tail;
    queue[tail++] = seed;
    while (head < tail) {
      const i = queue[head++]!;
      for (let e = start[i]!; e < start[i + 1]!; e++) {
        const j = adjacent[e]!;
        if (rank[j] === -1) {
          rank[j] = tail;
          queue[tail++] = j;
        }
      }
    }
  }
  return rank;
}

/**
 * The pairs renumbered by `rank`, each stored under its lower new index with rows ascending
 * (the layout the attraction loop reads); pairs keep their relative order within a row.
 */
export function renumberPairs(n: number, pairs: PairList, rank: Int32Array): PairList {
  const count = pairs.rows.length;
  const start = new Int32Array(n + 1);
  for (let e = 0; e < count; e++) start[Math.min(rank[pairs.rows[e]!]!, rank[pairs.cols[e]!]!) + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const rows = new Int32Array(count);
  const cols = new Int32Array(count);
  const values = new Float64Array(count);
  for (let e = 0; e < count; e++) {
    const a = rank[pairs.rows[e]!]!;
    const b = rank[pairs.cols[e]!]!;
    const at = start[Math.min(a, b)]!++;
    rows[at] = Math.min(a, b);
    cols[at] = Math.max(a, b);
    values[at] = pairs.values[e]!;
  }
  return { rows, cols, values };
}
