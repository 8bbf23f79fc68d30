/**
 * DBSCAN and HDBSCAN share one structure: the minimum spanning tree of the mutual-reachability
 * distance mrd(p, q) = max(core(p), core(q), ‖p − q‖), where core(p) is the distance to p's
 * (minSamples − 1)-th nearest other point (minSamples counts the point itself, as in sklearn).
 * DBSCAN at radius eps = the MST cut at eps (core points: core(p) ≤ eps); HDBSCAN condenses the
 * whole MST hierarchy. Prim's algorithm on the fly: O(n²·d) time, O(n) memory, no n × n matrix.
 */
export interface ReachabilityTree {
  n: number;
  /** core distance of every point. */
  core: Float64Array;
  /** MST edges (n − 1) sorted by weight ascending. */
  from: Int32Array;
  to: Int32Array;
  weight: Float64Array;
  /** The (minSamples − 1) nearest other points of each row, ascending (for DBSCAN border points). */
  neighbours: Int32Array;
  neighbourDistances: Float64Array;
  neighbourCount: number;
}

export interface NeighbourLists {
  k: number;
  indices: Int32Array;
  distances: Float64Array;
}

/**
 * Builds the tree from the data and its neighbour lists (k ≥ minSamples − 1 nearest others per row,
 * ascending). `checkpoint` is called every few hundred Prim steps.
 */
export function reachabilityTree(
  x: Float64Array,
  n: number,
  d: number,
  minSamples: number,
  lists: NeighbourLists,
  checkpoint: () => void = () => {},
): ReachabilityTree {
  const kCore = Math.min(Math.max(minSamples - 1, 0), n - 1);
  const core = new Float64Array(n);
  const neighbours = new Int32Array(n * kCore);
  const neighbourDistances = new Float64Array(n * kCore);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < kCore; r++) {
      neighbours[i * kCore + r] = lists.indices[i * lists.k + r]!;
      neighbourDistances[i * kCore + r] = lists.distances[i * lists.k + r]!;
    }
    core[i] = kCore === 0 ? 0 : lists.distances[i * lists.k + kCore - 1]!;
  }
  const best = new Float64Array(n).fill(Infinity);
  const parent = new Int32Array(n).fill(-1);
  const from = new Int32Array(Math.max(0, n - 1));
  const to = new Int32Array(Math.max(0, n - 1));
  const weight = new Float64Array(Math.max(0, n - 1));
  // Vertices not yet in the tree, compacted (swap-remove) so each step scans only those.
  const rest = Int32Array.from({ length: n - 1 }, (_, i) => i + 1);
  let restCount = n - 1;
  let current = 0;
  for (let step = 0; step < n - 1; step++) {
    if ((step & 255) === 0) checkpoint();
    const cc = core[current]!;
    const a = current * d;
    let nextAt = -1;
    let nextWeight = Infinity;
    for (let r = 0; r < restCount; r++) {
      const j = rest[r]!;
      const w = cc > core[j]! ? cc : core[j]!;
      const bj = best[j]!;
      if (w < bj) {
        // Partial sums stop as soon as the squared distance cannot beat best[j] any more.
        const limit = bj === Infinity ? Infinity : bj * bj;
        let s = 0;
        const b = j * d;
        for (let t = 0; t < d && s < limit; t++) {
          const v = x[a + t]! - x[b + t]!;
          s += v * v;
        }
        if (s < limit) {
          const dd = Math.sqrt(s);
          best[j] = dd > w ? dd : w;
          parent[j] = current;
        }
      }
      if (best[j]! < nextWeight || (best[j] === nextWeight && nextAt >= 0 && j < rest[nextAt]!)) {
        nextWeight = best[j]!;
        nextAt = r;
      }
    }
    const next = rest[nextAt]!;
    rest[nextAt] = rest[--restCount]!;
    from[step] = parent[next]!;
    to[step] = next;
    weight[step] = nextWeight;
    current = next;
  }
  // Sort edges by weight (stable on ties by insertion order).
  const order = Array.from({ length: n - 1 }, (_, i) => i).sort((a, b) => weight[a]! - weight[b]! || a - b);
  return {
    n,
    core,
    from: Int32Array.from(order, (i) => from[i]!),
    to: Int32Array.from(order, (i) => to[i]!),
    weight: Float64Array.from(order, (i) => weight[i]!),
    neighbours,
    neighbourDistances,
    neighbourCount: kCore,
  };
}

export class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(a: number): number {
    let r = a;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[a] !== r) {
      const next = this.parent[a]!;
      this.parent[a] = r;
      a = next;
    }
    return r;
  }
  union(a: number, b: number): number {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[rb] = ra;
    return ra;
  }
}

/**
 * DBSCAN labels at radius `eps` (−1 = noise). Clusters are numbered by their smallest core point,
 * as sklearn discovers them; a border point joins the cluster of its nearest core point within eps
 * (sklearn: whichever cluster reached it first). Border candidates are exact: a non-core point has
 * fewer than minSamples − 1 others within eps, so all of them are in its neighbour list.
 */
export function dbscanLabels(tree: ReachabilityTree, eps: number): Int32Array {
  const { n, core } = tree;
  const uf = new UnionFind(n);
  for (let e = 0; e < tree.weight.length && tree.weight[e]! <= eps; e++) uf.union(tree.from[e]!, tree.to[e]!);
  const labels = new Int32Array(n).fill(-1);
  const clusterOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (core[i]! > eps) continue;
    const root = uf.find(i);
    let label = clusterOf.get(root);
    if (label === undefined) {
      label = clusterOf.size;
      clusterOf.set(root, label);
    }
    labels[i] = label;
  }
  const k = tree.neighbourCount;
  for (let i = 0; i < n; i++) {
    if (core[i]! <= eps) continue;
    for (let r = 0; r < k; r++) {
      const j = tree.neighbours[i * k + r]!;
      if (tree.neighbourDistances[i * k + r]! > eps) break;
      if (core[j]! <= eps) {
        labels[i] = labels[j]!;
        break;
      }
    }
  }
  return labels;
}

/**
 * HDBSCAN* labels (−1 = noise): single-linkage hierarchy of the reachability MST, condensed with
 * `minClusterSize`, clusters chosen by excess of mass (the root is never chosen, as in hdbscan's
 * default allow_single_cluster=False). Labels follow the condensed-tree order of the clusters.
 */
export function hdbscanLabels(tree: ReachabilityTree, minClusterSize: number): Int32Array {
  const { n } = tree;
  const labels = new Int32Array(n).fill(-1);
  if (n < 2) return labels;
  // 1. Single-linkage dendrogram: nodes 0..n−1 are points, n..2n−2 merges.
  const total = 2 * n - 1;
  const left = new Int32Array(total).fill(-1);
  const right = new Int32Array(total).fill(-1);
  const height = new Float64Array(total);
  const size = new Int32Array(total).fill(1);
  const uf = new UnionFind(total);
  const nodeOf = Int32Array.from({ length: total }, (_, i) => i);
  for (let e = 0; e < n - 1; e++) {
    const a = nodeOf[uf.find(tree.from[e]!)]!;
    const b = nodeOf[uf.find(tree.to[e]!)]!;
    const node = n + e;
    left[node] = a;
    right[node] = b;
    height[node] = tree.weight[e]!;
    size[node] = size[a]! + size[b]!;
    const root = uf.union(tree.from[e]!, tree.to[e]!);
    nodeOf[root] = node;
  }
  const rootNode = total - 1;
  // 2. Condense: walk top-down; a split where both sides have ≥ minClusterSize points creates two
  // child clusters, otherwise the small side's points "fall out" of the current cluster.
  const lambdaOf = (h: number): number => (h > 0 ? 1 / h : Infinity);
  interface Cluster {
    parent: number;
    birth: number;
    stability: number;
    children: number[];
    /** points that fell out directly (point, lambda). */
    points: number[];
    pointLambda: number[];
  }
  const clusters: Cluster[] = [{ parent: -1, birth: 0, stability: 0, children: [], points: [], pointLambda: [] }];
  const stack: Array<{ node: number; cluster: number }> = [{ node: rootNode, cluster: 0 }];
  const fallOut = (node: number, cluster: number, lambda: number): void => {
    const pending = [node];
    while (pending.length) {
      const v = pending.pop()!;
      if (v < n) {
        clusters[cluster]!.points.push(v);
        clusters[cluster]!.pointLambda.push(lambda);
      } else {
        pending.push(left[v]!, right[v]!);
      }
    }
  };
  while (stack.length) {
    const { node, cluster } = stack.pop()!;
    if (node < n) {
      // A single point reached while still inside a cluster (minClusterSize ≤ 1).
      fallOut(node, cluster, clusters[cluster]!.birth);
      continue;
    }
    const lambda = lambdaOf(height[node]!);
    const a = left[node]!;
    const b = right[node]!;
    const bigA = size[a]! >= minClusterSize;
    const bigB = size[b]! >= minClusterSize;
    if (bigA && bigB) {
      for (const child of [a, b]) {
        clusters.push({ parent: cluster, birth: lambda, stability: 0, children: [], points: [], pointLambda: [] });
        const id = clusters.length - 1;
        clusters[cluster]!.children.push(id);
        stack.push({ node: child, cluster: id });
      }
    } else {
      for (const [child, big] of [
        [a, bigA],
        [b, bigB],
      ] as Array<[number, boolean]>) {
        if (big) stack.push({ node: child, cluster });
        else fallOut(child, cluster, lambda);
      }
    }
  }
  // 3. Stability = Σ over points leaving the cluster of (λ_leave − λ_birth), plus the children's
  // birth λ for points that left through a child cluster.
  const subtreeSize = new Map<number, number>();
  const sizeOf = (c: number): number => {
    const cached = subtreeSize.get(c);
    if (cached !== undefined) return cached;
    const s = clusters[c]!.points.length + clusters[c]!.children.reduce((acc, ch) => acc + sizeOf(ch), 0);
    subtreeSize.set(c, s);
    return s;
  };
  clusters.forEach((c) => {
    let s = 0;
    const finite = (l: number): number => (Number.isFinite(l) ? l : 0);
    for (const l of c.pointLambda) s += finite(l) - c.birth;
    for (const ch of c.children) s += (finite(clusters[ch]!.birth) - c.birth) * sizeOf(ch);
    c.stability = s;
  });
  // 4. Excess of mass, bottom-up (children have larger ids than parents).
  const selected = new Uint8Array(clusters.length);
  const best = new Float64Array(clusters.length);
  for (let c = clusters.length - 1; c >= 1; c--) {
    const cl = clusters[c]!;
    const childSum = cl.children.reduce((acc, ch) => acc + best[ch]!, 0);
    if (cl.children.length === 0 || cl.stability >= childSum) {
      selected[c] = 1;
      best[c] = cl.stability;
      // Deselect descendants.
      const pending = [...cl.children];
      while (pending.length) {
        const d = pending.pop()!;
        selected[d] = 0;
        pending.push(...clusters[d]!.children);
      }
    } else best[c] = childSum;
  }
  let label = 0;
  for (let c = 1; c < clusters.length; c++) {
    if (!selected[c]) continue;
    const pending = [c];
    while (pending.length) {
      const d = pending.pop()!;
      for (const p of clusters[d]!.points) labels[p] = label;
      pending.push(...clusters[d]!.children);
    }
    label++;
  }
  return labels;
}
