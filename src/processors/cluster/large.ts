/**
 * The clusterings' trees for large inputs, built on the shared kNN graph instead of all pairs.
 *
 * The exact trees (Prim's MST of the mutual-reachability distance, Ward by the nearest-neighbour
 * chain) cost O(n²·d): about 6 s at n = 10 000 and d = 32 on this project's machines, so 2.5 min at
 * 50 000 and 40 min at 200 000. Above `QUADRATIC_BUDGET` the clusterings switch to these:
 *  - `knnReachabilityTree`: Borůvka's MST restricted to the edges of the kNN graph (what
 *    approximate HDBSCAN implementations do). It is the exact MST whenever every exact MST edge
 *    joins kNN neighbours, which holds for the short edges DBSCAN's radii and HDBSCAN's clusters
 *    are made of; components the graph leaves apart are joined at weight ∞ (they only split at the
 *    root, which HDBSCAN never selects and no finite DBSCAN radius merges).
 *  - `connectivityWardTree`: Ward restricted to merges between kNN-adjacent clusters (scikit-learn's
 *    AgglomerativeClustering with a kNN `connectivity`) up to a few thousand micro-clusters, then
 *    exact Ward on those: the local merges at the bottom are approximate, the top is Ward's.
 * Both are deterministic (ties broken by index) and O(n·k·d·log n)-ish with O(n·k) memory.
 */
import { type ReachabilityTree, type NeighbourLists, UnionFind } from './density.js';
import { type Dendrogram, wardMergeCost, wardTree } from './ward.js';

/**
 * n²·d multiply-adds up to which the exact trees are used (n = 20 000 at d = 32, about 25 s each).
 * Every conformance case (CoRelAy, scikit-learn) is far below it.
 */
export const QUADRATIC_BUDGET = 1.3e10;

export function exactTreeFits(n: number, d: number): boolean {
  return n * n * Math.max(d, 1) <= QUADRATIC_BUDGET;
}

/** Edges sorted by weight, ties in insertion order. */
function sortedEdges(from: Int32Array, to: Int32Array, weight: Float64Array): { from: Int32Array; to: Int32Array; weight: Float64Array } {
  const order = Array.from({ length: weight.length }, (_, i) => i).sort((a, b) => weight[a]! - weight[b]! || a - b);
  return { from: Int32Array.from(order, (i) => from[i]!), to: Int32Array.from(order, (i) => to[i]!), weight: Float64Array.from(order, (i) => weight[i]!) };
}

/**
 * The mutual-reachability spanning tree over the kNN graph `lists` (k ≥ minSamples − 1 nearest
 * others per row, ascending distances), by Borůvka rounds: every component takes its lightest
 * outgoing graph edge (ties: lower edge index), O(n·k) per round, at most log₂ n rounds.
 */
export function knnReachabilityTree(n: number, minSamples: number, lists: NeighbourLists, checkpoint: () => void = () => {}): ReachabilityTree {
  const kCore = Math.min(Math.max(minSamples - 1, 0), n - 1);
  if (kCore > lists.k) throw new Error(`reachability tree needs ${kCore} neighbours per row, the graph has ${lists.k}`);
  const { k } = lists;
  const core = new Float64Array(n);
  const neighbours = new Int32Array(n * kCore);
  const neighbourDistances = new Float64Array(n * kCore);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < kCore; r++) {
      neighbours[i * kCore + r] = lists.indices[i * k + r]!;
      neighbourDistances[i * kCore + r] = lists.distances[i * k + r]!;
    }
    core[i] = kCore === 0 ? 0 : lists.distances[i * k + kCore - 1]!;
  }
  const edges = n * k;
  const w = new Float64Array(edges);
  for (let e = 0; e < edges; e++) {
    const i = Math.floor(e / k);
    const j = lists.indices[e]!;
    const dist = lists.distances[e]!;
    w[e] = Math.max(core[i]!, core[j]!, dist);
  }
  const from = new Int32Array(Math.max(0, n - 1));
  const to = new Int32Array(Math.max(0, n - 1));
  const weight = new Float64Array(Math.max(0, n - 1));
  let count = 0;
  const uf = new UnionFind(n);
  const component = new Int32Array(n);
  const best = new Int32Array(n);
  for (;;) {
    checkpoint();
    for (let i = 0; i < n; i++) component[i] = uf.find(i);
    best.fill(-1);
    let found = false;
    for (let e = 0; e < edges; e++) {
      const ci = component[Math.floor(e / k)]!;
      const cj = component[lists.indices[e]!]!;
      if (ci === cj) continue;
      found = true;
      const we = w[e]!;
      // Edges are scanned in ascending index, so "strictly lighter" keeps the lowest index on ties.
      const bi = best[ci]!;
      if (bi < 0 || we < w[bi]!) best[ci] = e;
      const bj = best[cj]!;
      if (bj < 0 || we < w[bj]!) best[cj] = e;
    }
    if (!found) break;
    for (let c = 0; c < n; c++) {
      const e = best[c]!;
      if (e < 0) continue;
      const i = Math.floor(e / k);
      const j = lists.indices[e]!;
      if (uf.find(i) === uf.find(j)) continue;
      uf.union(i, j);
      from[count] = i;
      to[count] = j;
      weight[count++] = w[e]!;
    }
  }
  // Components the graph does not connect: joined in index order at infinite distance.
  let previous = -1;
  for (let i = 0; i < n; i++) {
    if (uf.find(i) !== i) continue;
    if (previous >= 0) {
      from[count] = previous;
      to[count] = i;
      weight[count++] = Infinity;
    }
    previous = i;
  }
  const sorted = sortedEdges(from, to, weight);
  return { n, core, ...sorted, neighbours, neighbourDistances, neighbourCount: kCore };
}

/** A binary min-heap of candidate merges (cost, a, b) with the versions of a and b when pushed. */
class MergeHeap {
  cost = new Float64Array(1024);
  a = new Int32Array(1024);
  b = new Int32Array(1024);
  va = new Int32Array(1024);
  vb = new Int32Array(1024);
  size = 0;

  private less(p: number, q: number): boolean {
    return (
      this.cost[p]! < this.cost[q]! || (this.cost[p] === this.cost[q] && (this.a[p]! < this.a[q]! || (this.a[p] === this.a[q] && this.b[p]! < this.b[q]!)))
    );
  }

  private swap(p: number, q: number): void {
    for (const array of [this.cost, this.a, this.b, this.va, this.vb]) {
      const t = array[p]!;
      array[p] = array[q]!;
      array[q] = t;
    }
  }

  push(cost: number, a: number, b: number, va: number, vb: number): void {
    if (this.size === this.cost.length) {
      const grow = <T extends Float64Array | Int32Array>(x: T): T => {
        const y = new (x.constructor as new (n: number) => T)(x.length * 2);
        y.set(x);
        return y;
      };
      this.cost = grow(this.cost);
      this.a = grow(this.a);
      this.b = grow(this.b);
      this.va = grow(this.va);
      this.vb = grow(this.vb);
    }
    let at = this.size++;
    this.cost[at] = cost;
    this.a[at] = a;
    this.b[at] = b;
    this.va[at] = va;
    this.vb[at] = vb;
    while (at > 0) {
      const up = (at - 1) >> 1;
      if (!this.less(at, up)) break;
      this.swap(at, up);
      at = up;
    }
  }

  /** Removes the minimum into slot `size` (read it there). */
  pop(): void {
    const last = --this.size;
    this.swap(0, last);
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= last) break;
      const r = l + 1;
      const child = r < last && this.less(r, l) ? r : l;
      if (!this.less(child, at)) break;
      this.swap(child, at);
      at = child;
    }
  }
}

/** Clusters left for the exact nearest-neighbour chain (about 1 s at d = 32). */
export const EXACT_TAIL = 4096;

/**
 * Ward's agglomeration where only clusters joined by a kNN edge may merge (the lightest such merge
 * first, by a heap with lazily discarded stale entries) until EXACT_TAIL clusters are left, then
 * exact Ward (nearest-neighbour chain) on those clusters. Heights are made monotone (running maximum) so that the
 * cut of the n − k lowest merges is the cut after the first n − k merges.
 */
export function connectivityWardTree(
  x: Float64Array,
  n: number,
  d: number,
  lists: { k: number; indices: Int32Array },
  checkpoint: () => void = () => {},
  exactTail = EXACT_TAIL,
): Dendrogram {
  const centroid = Float64Array.from(x.subarray(0, n * d));
  const size = new Float64Array(n).fill(1);
  const version = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  const slotOf = new UnionFind(n);
  // Symmetric adjacency as per-cluster lists of point slots (resolved through slotOf when read).
  const degree = new Int32Array(n);
  for (let e = 0; e < n * lists.k; e++) {
    degree[Math.floor(e / lists.k)]!++;
    degree[lists.indices[e]!]!++;
  }
  const adjacency: Int32Array[] = Array.from({ length: n }, (_, i) => new Int32Array(degree[i]!));
  degree.fill(0);
  for (let e = 0; e < n * lists.k; e++) {
    const i = Math.floor(e / lists.k);
    const j = lists.indices[e]!;
    adjacency[i]![degree[i]!++] = j;
    adjacency[j]![degree[j]!++] = i;
  }
  const cost = (a: number, b: number): number => wardMergeCost(centroid, size, d, a, b);
  const heap = new MergeHeap();
  for (let i = 0; i < n; i++) for (const j of adjacency[i]!) if (i < j) heap.push(cost(i, j), i, j, 0, 0);
  const mergeA = new Int32Array(Math.max(0, n - 1));
  const mergeB = new Int32Array(Math.max(0, n - 1));
  const height = new Float64Array(Math.max(0, n - 1));
  let merges = 0;
  const stamp = new Int32Array(n).fill(-1);
  let clusters = n;
  while (heap.size > 0 && clusters > exactTail) {
    heap.pop();
    const at = heap.size;
    const a = heap.a[at]!;
    const b = heap.b[at]!;
    if (!alive[a] || !alive[b] || heap.va[at] !== version[a] || heap.vb[at] !== version[b]) continue;
    if ((merges & 255) === 0) checkpoint();
    const keep = Math.min(a, b);
    const drop = Math.max(a, b);
    const total = size[keep]! + size[drop]!;
    for (let t = 0; t < d; t++) centroid[keep * d + t] = (size[keep]! * centroid[keep * d + t]! + size[drop]! * centroid[drop * d + t]!) / total;
    size[keep] = total;
    alive[drop] = 0;
    version[keep]!++;
    slotOf.parent[drop] = keep;
    mergeA[merges] = keep;
    mergeB[merges] = drop;
    height[merges] = Math.sqrt(heap.cost[at]!);
    merges++;
    clusters--;
    // The merged cluster's neighbours: both lists, resolved to live slots, without duplicates.
    const joined: number[] = [];
    stamp[keep] = merges;
    for (const list of [adjacency[keep]!, adjacency[drop]!]) {
      for (const slot of list) {
        const c = slotOf.find(slot);
        if (stamp[c] === merges) continue;
        stamp[c] = merges;
        joined.push(c);
      }
    }
    adjacency[keep] = Int32Array.from(joined);
    adjacency[drop] = new Int32Array(0);
    for (const c of joined)
      heap.push(cost(Math.min(keep, c), Math.max(keep, c)), Math.min(keep, c), Math.max(keep, c), version[Math.min(keep, c)]!, version[Math.max(keep, c)]!);
  }
  // The last EXACT_TAIL clusters (and any the graph does not connect): exact Ward on their
  // centroids and sizes, so the top of the tree (every cut users look at) is Ward's own.
  const rest: number[] = [];
  for (let i = 0; i < n; i++) if (alive[i]) rest.push(i);
  if (rest.length > 1) {
    const centres = new Float64Array(rest.length * d);
    rest.forEach((slot, r) => centres.set(centroid.subarray(slot * d, slot * d + d), r * d));
    const tail = wardTree(
      centres,
      rest.length,
      d,
      checkpoint,
      rest.map((slot) => size[slot]!),
    );
    for (let m = 0; m < tail.height.length; m++) {
      mergeA[merges] = rest[tail.mergeA[m]!]!;
      mergeB[merges] = rest[tail.mergeB[m]!]!;
      height[merges++] = tail.height[m]!;
    }
  }
  for (let m = 1; m < merges; m++) if (height[m]! < height[m - 1]!) height[m] = height[m - 1]!;
  return { n, mergeA, mergeB, height };
}
