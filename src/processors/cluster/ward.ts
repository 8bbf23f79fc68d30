/**
 * Agglomerative clustering with Ward linkage by the nearest-neighbour-chain algorithm: O(n²·d)
 * time, O(n·d) memory (centroids and sizes only, no n × n distance matrix). Ward's merge cost of
 * clusters a, b is 2·|a||b|/(|a|+|b|) · ‖c_a − c_b‖² (sklearn/scipy report its square root as the
 * height). Ward is reducible, so the chain finds exactly the merges of the greedy algorithm.
 */
export interface Dendrogram {
  n: number;
  /** Merges sorted by height: the i-th joins clusters containing points mergeA[i] and mergeB[i]. */
  mergeA: Int32Array;
  mergeB: Int32Array;
  height: Float64Array;
}

/**
 * Ward's merge cost of clusters a and b (rows of `centroid`, d columns): the increase in within-cluster
 * sum of squares, 2·|a|·|b|/(|a|+|b|)·‖c_a − c_b‖² in the scale the trees use as heights.
 */
export function wardMergeCost(centroid: Float64Array, size: ArrayLike<number>, d: number, a: number, b: number): number {
  let s = 0;
  const ao = a * d;
  const bo = b * d;
  for (let t = 0; t < d; t++) {
    const v = centroid[ao + t]! - centroid[bo + t]!;
    s += v * v;
  }
  return ((2 * size[a]! * size[b]!) / (size[a]! + size[b]!)) * s;
}

/** `sizes`: the number of points each row stands for (a cluster's centroid; default 1 each). */
export function wardTree(x: Float64Array, n: number, d: number, checkpoint: () => void = () => {}, sizes?: ArrayLike<number>): Dendrogram {
  const centroid = Float64Array.from(x.subarray(0, n * d));
  const size = sizes ? Float64Array.from(sizes) : new Float64Array(n).fill(1);
  const active = new Uint8Array(n).fill(1);
  // Each cluster is represented by one of its points (the slot its centroid lives in).
  const activeList: number[] = Array.from({ length: n }, (_, i) => i);
  const positionInList = Int32Array.from({ length: n }, (_, i) => i);
  const mergeA = new Int32Array(Math.max(0, n - 1));
  const mergeB = new Int32Array(Math.max(0, n - 1));
  const height = new Float64Array(Math.max(0, n - 1));
  const cost = (a: number, b: number): number => wardMergeCost(centroid, size, d, a, b);
  const chain: number[] = [];
  let merges = 0;
  while (merges < n - 1) {
    if ((merges & 127) === 0) checkpoint();
    if (chain.length === 0) chain.push(activeList[0]!);
    const a = chain[chain.length - 1]!;
    const previous = chain.length > 1 ? chain[chain.length - 2]! : -1;
    // Nearest active neighbour of a; prefer the previous chain element on ties (guarantees termination).
    let best = previous;
    let bestCost = previous >= 0 ? cost(a, previous) : Infinity;
    const ao = a * d;
    const sa = size[a]!;
    for (const b of activeList) {
      if (b === a || b === previous) continue;
      // Partial sums stop once the cost can no longer beat (or tie) the best so far.
      const factor = (2 * sa * size[b]!) / (sa + size[b]!);
      const limit = bestCost / factor;
      let s = 0;
      const bo = b * d;
      for (let t = 0; t < d && s <= limit; t++) {
        const v = centroid[ao + t]! - centroid[bo + t]!;
        s += v * v;
      }
      if (s > limit) continue;
      const c = factor * s;
      if (c < bestCost || (c === bestCost && best !== previous && b < best)) {
        bestCost = c;
        best = b;
      }
    }
    if (best === previous) {
      // Reciprocal nearest neighbours: merge b into a's slot (the smaller index keeps the slot).
      chain.pop();
      chain.pop();
      const keep = Math.min(a, best);
      const drop = Math.max(a, best);
      const total = size[keep]! + size[drop]!;
      for (let t = 0; t < d; t++) centroid[keep * d + t] = (size[keep]! * centroid[keep * d + t]! + size[drop]! * centroid[drop * d + t]!) / total;
      size[keep] = total;
      active[drop] = 0;
      const at = positionInList[drop]!;
      const last = activeList.pop()!;
      if (last !== drop) {
        activeList[at] = last;
        positionInList[last] = at;
      }
      mergeA[merges] = keep;
      mergeB[merges] = drop;
      height[merges] = Math.sqrt(bestCost);
      merges++;
    } else chain.push(best);
  }
  const order = Array.from({ length: n - 1 }, (_, i) => i).sort((p, q) => height[p]! - height[q]! || p - q);
  return {
    n,
    mergeA: Int32Array.from(order, (i) => mergeA[i]!),
    mergeB: Int32Array.from(order, (i) => mergeB[i]!),
    height: Float64Array.from(order, (i) => height[i]!),
  };
}

/** Flat labels with `k` clusters: apply the n − k lowest merges; clusters numbered by first appearance. */
export function cutTree(tree: Dendrogram, k: number): Int32Array {
  const { n } = tree;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]!]!;
      a = parent[a]!;
    }
    return a;
  };
  for (let i = 0; i < n - Math.max(1, Math.min(k, n)); i++) {
    const ra = find(tree.mergeA[i]!);
    const rb = find(tree.mergeB[i]!);
    if (ra !== rb) parent[rb] = ra;
  }
  const labels = new Int32Array(n);
  const id = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    let label = id.get(r);
    if (label === undefined) {
      label = id.size;
      id.set(r, label);
    }
    labels[i] = label;
  }
  return labels;
}
