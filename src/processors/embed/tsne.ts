import type { KnnGraph } from '../linalg/knn.js';
import { Random } from '../random.js';
import { type Csr, csrFromTriplets } from '../linalg/sparse.js';
import { breadthFirstRank, renumberPairs } from './locality.js';
import { FftRepulsion, type FftRepulsionOptions } from './tsne-fft.js';

/** How the repulsive forces are summed: a quadtree, FFT interpolation, or by size ('auto'). */
export const TSNE_METHODS = ['auto', 'fft', 'barnes-hut'] as const;
export type TsneMethod = (typeof TSNE_METHODS)[number];

/**
 * From this many points 'auto' uses FFT interpolation: its cost per iteration is mostly the grid's
 * (fixed by the embedding's extent), Barnes–Hut's grows as n log n; see docs/spray.md §2.
 */
export const FFT_MIN_POINTS = 10_000;

export interface TsneOptions {
  perplexity?: number;
  earlyExaggeration?: number;
  /** 'auto' = max(n / earlyExaggeration / 4, 50), as sklearn ≥ 1.2. */
  learningRate?: number | 'auto';
  maxIter?: number;
  /** Barnes–Hut opening angle (0 = exact sums, slow). */
  angle?: number;
  seed?: number;
  /** Repulsion: 'auto' (default) = 'fft' from FFT_MIN_POINTS points on, else 'barnes-hut'. */
  method?: TsneMethod;
  /** Grid of the FFT repulsion (tests; defaults in tsne-fft.ts). */
  fft?: FftRepulsionOptions;
  checkpoint?: () => void;
}

/**
 * Conditional probabilities P(j|i) over each row's neighbours with the Gaussian bandwidth found by
 * bisection so that the row's perplexity matches (sklearn's `_binary_search_perplexity`, on squared
 * distances), then symmetrised P = (P + Pᵀ) / Σ. Sparse: n × k entries before symmetrisation.
 */
export function jointProbabilities(graph: KnnGraph, perplexity: number): { rows: Int32Array; cols: Int32Array; values: Float64Array } {
  const { n, k } = graph;
  const target = Math.log(perplexity);
  const conditional = new Float64Array(n * k);
  const p = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    for (let iter = 0; iter < 100; iter++) {
      let sum = 0;
      for (let r = 0; r < k; r++) {
        const d2 = graph.distances[i * k + r]! ** 2;
        p[r] = Math.exp(-d2 * beta);
        sum += p[r]!;
      }
      if (sum === 0) sum = 1e-8;
      let entropy = 0;
      for (let r = 0; r < k; r++) {
        p[r]! /= sum;
        const d2 = graph.distances[i * k + r]! ** 2;
        entropy += d2 * p[r]!;
      }
      entropy = Math.log(sum) + beta * entropy;
      const diff = entropy - target;
      if (Math.abs(diff) <= 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
    conditional.set(p, i * k);
  }
  // Symmetrise: P_ij ∝ P(j|i) + P(i|j) (P(i|j) = 0 where i is not among j's neighbours), summed
  // through a CSR build; each unordered pair is kept once (i < j).
  const count = n * k;
  const r = new Int32Array(2 * count);
  const c = new Int32Array(2 * count);
  const v = new Float64Array(2 * count);
  for (let e = 0; e < count; e++) {
    const i = Math.floor(e / k);
    const j = graph.indices[e]!;
    r[2 * e] = i;
    c[2 * e] = j;
    r[2 * e + 1] = j;
    c[2 * e + 1] = i;
    v[2 * e] = v[2 * e + 1] = conditional[e]!;
  }
  const joint = csrFromTriplets(n, n, r, c, v);
  const pairs = (joint.indices.length - countDiagonal(joint)) / 2;
  const rows = new Int32Array(pairs);
  const cols = new Int32Array(pairs);
  const values = new Float64Array(pairs);
  let total = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    for (let e = joint.indptr[i]!; e < joint.indptr[i + 1]!; e++) {
      const j = joint.indices[e]!;
      if (j <= i) continue;
      rows[at] = i;
      cols[at] = j;
      values[at] = joint.values[e]!;
      total += 2 * joint.values[e]!;
      at++;
    }
  }
  const scale = 1 / Math.max(total, 1e-300);
  for (let e = 0; e < at; e++) values[e]! *= scale;
  return { rows: rows.subarray(0, at), cols: cols.subarray(0, at), values: values.subarray(0, at) };
}

function countDiagonal(m: Csr): number {
  let d = 0;
  for (let i = 0; i < m.rows; i++) for (let e = m.indptr[i]!; e < m.indptr[i + 1]!; e++) if (m.indices[e] === i) d++;
  return d;
}

/**
 * A quadtree over the current embedding, rebuilt every iteration. Nodes live interleaved in one
 * Float64Array (centre of mass x/y, squared width, count, first child, resident point) so a
 * traversal touches one cache line per node. Points that coincide (still sharing a cell 48 levels
 * down) stay together in one leaf: the leaf's resident is the head of a chain (`nextPoint`) through
 * all of them, so every one of them is a member of its group and gets its repulsion.
 */
const STRIDE = 6;
const COM_X = 0;
const COM_Y = 1;
const WIDTH2 = 2;
const COUNT = 3;
const CHILD = 4;
const POINT = 5;

class QuadTree {
  nodes: Float64Array;
  /** nextPoint[i]: the next point sharing i's leaf, or −1 (chains only form in coincident leaves). */
  nextPoint = new Int32Array(0);
  /** Cell centres and widths, only needed while building. */
  private geometry: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.nodes = new Float64Array(capacity * STRIDE);
    this.geometry = new Float64Array(capacity * 3);
  }

  private node(cx: number, cy: number, w: number): number {
    if ((this.size + 1) * STRIDE > this.nodes.length) {
      const nodes = new Float64Array(this.nodes.length * 2);
      nodes.set(this.nodes);
      this.nodes = nodes;
      const geometry = new Float64Array(this.geometry.length * 2);
      geometry.set(this.geometry);
      this.geometry = geometry;
    }
    const id = this.size++;
    const o = id * STRIDE;
    this.nodes[o + COM_X] = 0;
    this.nodes[o + COM_Y] = 0;
    this.nodes[o + WIDTH2] = w * w;
    this.nodes[o + COUNT] = 0;
    this.nodes[o + CHILD] = -1;
    this.nodes[o + POINT] = -1;
    this.geometry[id * 3] = cx;
    this.geometry[id * 3 + 1] = cy;
    this.geometry[id * 3 + 2] = w;
    return id;
  }

  build(y: Float64Array, n: number): void {
    this.size = 0;
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      minX = Math.min(minX, y[2 * i]!);
      maxX = Math.max(maxX, y[2 * i]!);
      minY = Math.min(minY, y[2 * i + 1]!);
      maxY = Math.max(maxY, y[2 * i + 1]!);
    }
    const w = Math.max(maxX - minX, maxY - minY, 1e-12) * (1 + 1e-6);
    if (this.nextPoint.length < n) this.nextPoint = new Int32Array(n);
    this.nextPoint.fill(-1, 0, n);
    this.node((minX + maxX) / 2, (minY + maxY) / 2, w);
    for (let i = 0; i < n; i++) this.insert(i, y[2 * i]!, y[2 * i + 1]!);
    this.finish();
  }

  /** Room for four more nodes (one split). */
  private reserve(): void {
    if ((this.size + 4) * STRIDE <= this.nodes.length) return;
    const nodes = new Float64Array(this.nodes.length * 2);
    nodes.set(this.nodes);
    this.nodes = nodes;
    const geometry = new Float64Array(this.geometry.length * 2);
    geometry.set(this.geometry);
    this.geometry = geometry;
  }

  /** Four children of a cell (centre cx, cy; child width `half`), written in place; returns the first id. */
  private split(cx: number, cy: number, half: number): number {
    this.reserve();
    const nodes = this.nodes;
    const geometry = this.geometry;
    const first = this.size;
    this.size += 4;
    const w2 = half * half;
    const q = half / 2;
    for (let k = 0; k < 4; k++) {
      const id = first + k;
      const o = id * STRIDE;
      nodes[o + COM_X] = 0;
      nodes[o + COM_Y] = 0;
      nodes[o + WIDTH2] = w2;
      nodes[o + COUNT] = 0;
      nodes[o + CHILD] = -1;
      nodes[o + POINT] = -1;
      // Child order (as insert() descends): +1 for the right half, +2 for the upper half.
      geometry[id * 3] = (k & 1) === 0 ? cx - q : cx + q;
      geometry[id * 3 + 1] = (k & 2) === 0 ? cy - q : cy + q;
      geometry[id * 3 + 2] = half;
    }
    return first;
  }

  private insert(i: number, px: number, py: number): void {
    // During the build COM_X/COM_Y hold coordinate *sums*; finish() turns them into means.
    // Hot path (every point, every iteration): arrays are re-read only after a split may grow them.
    let nodes = this.nodes;
    let geometry = this.geometry;
    let id = 0;
    for (let depth = 0; ; depth++) {
      const o = id * STRIDE;
      const c = nodes[o + COUNT]!;
      let child = nodes[o + CHILD]!;
      if (child === -1) {
        if (c === 0) {
          nodes[o + COM_X] = px;
          nodes[o + COM_Y] = py;
          nodes[o + COUNT] = 1;
          nodes[o + POINT] = i;
          return;
        }
        if (depth > 48) {
          // Coincident points: keep them aggregated in this leaf, chained behind its resident.
          nodes[o + COM_X]! += px;
          nodes[o + COM_Y]! += py;
          nodes[o + COUNT] = c + 1;
          this.nextPoint[i] = this.nextPoint[nodes[o + POINT]!]!;
          this.nextPoint[nodes[o + POINT]!] = i;
          return;
        }
        // Split: create four children and move the resident point down.
        child = this.split(geometry[id * 3]!, geometry[id * 3 + 1]!, geometry[id * 3 + 2]! / 2);
        nodes = this.nodes;
        geometry = this.geometry;
        nodes[o + CHILD] = child;
        const resident = nodes[o + POINT]!;
        nodes[o + POINT] = -1;
        const rx = nodes[o + COM_X]! / c;
        const ry = nodes[o + COM_Y]! / c;
        const q = (child + (rx >= geometry[id * 3]! ? 1 : 0) + (ry >= geometry[id * 3 + 1]! ? 2 : 0)) * STRIDE;
        nodes[q + COUNT] = c;
        nodes[q + COM_X] = nodes[o + COM_X]!;
        nodes[q + COM_Y] = nodes[o + COM_Y]!;
        nodes[q + POINT] = resident;
      }
      nodes[o + COM_X]! += px;
      nodes[o + COM_Y]! += py;
      nodes[o + COUNT] = c + 1;
      id = child + (px >= geometry[id * 3]! ? 1 : 0) + (py >= geometry[id * 3 + 1]! ? 2 : 0);
    }
  }

  /** Coordinate sums → centres of mass. */
  private finish(): void {
    const nodes = this.nodes;
    for (let id = 0; id < this.size; id++) {
      const o = id * STRIDE;
      const c = nodes[o + COUNT]!;
      if (c > 0) {
        nodes[o + COM_X] = nodes[o + COM_X]! / c;
        nodes[o + COM_Y] = nodes[o + COM_Y]! / c;
      }
    }
  }

  /** Cell centres and widths (id*3: x, y, width). */
  geometryOf(): Float64Array {
    return this.geometry;
  }
}

/** Reusable buffers of the grouped traversal. */
class InteractionLists {
  x = new Float64Array(1024);
  y = new Float64Array(1024);
  count = new Float64Array(1024);
  size = 0;
  members = new Int32Array(64);
  memberCount = 0;
  stack = new Int32Array(256);

  push(x: number, y: number, count: number): void {
    if (this.size === this.x.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.x = grow(this.x);
      this.y = grow(this.y);
      this.count = grow(this.count);
    }
    this.x[this.size] = x;
    this.y[this.size] = y;
    this.count[this.size++] = count;
  }

  pushStack(top: number, value: number): number {
    if (top === this.stack.length) {
      const b = new Int32Array(this.stack.length * 2);
      b.set(this.stack);
      this.stack = b;
    }
    this.stack[top] = value;
    return top + 1;
  }
}

/** Points per group: the tree walk is done once per group instead of once per point. */
const GROUP = 64;

/**
 * Barnes–Hut repulsion with grouped traversal: points are grouped by the highest tree cells holding
 * at most GROUP points; for each group one walk collects an interaction list of cells that are far
 * enough from the *whole group's cell* (width < θ · distance from the cell's centre of mass to the
 * group's box — at least as strict as the per-point criterion) plus single points, and then every
 * point of the group sums over that flat list. Same accuracy guarantee as per-point Barnes–Hut,
 * far fewer branches. Returns Σ_i Σ_j q_ij including the i = j terms (each 1).
 */
function repulsion(tree: QuadTree, y: Float64Array, theta: number, negX: Float64Array, negY: Float64Array, lists: InteractionLists): number {
  const nodes = tree.nodes;
  const geometry = tree.geometryOf();
  const theta2 = theta * theta;
  let z = 0;
  // Find the groups: walk down until a cell holds ≤ GROUP points.
  let groupTop = 0;
  const groups: number[] = [];
  groupTop = lists.pushStack(groupTop, 0);
  while (groupTop > 0) {
    const id = lists.stack[--groupTop]!;
    const o = id * STRIDE;
    const child = nodes[o + CHILD]!;
    if (nodes[o + COUNT]! <= GROUP || child === -1) groups.push(id);
    else for (let c = child; c < child + 4; c++) if (nodes[c * STRIDE + COUNT]! > 0) groupTop = lists.pushStack(groupTop, c);
  }
  for (const group of groups) {
    // Members of the group (leaves under it).
    lists.memberCount = 0;
    let top = lists.pushStack(0, group);
    while (top > 0) {
      const id = lists.stack[--top]!;
      const o = id * STRIDE;
      const child = nodes[o + CHILD]!;
      if (child === -1) {
        // The resident and, in a leaf of coincident points, the chain of the others.
        for (let p = nodes[o + POINT]!; p >= 0; p = tree.nextPoint[p]!) {
          if (lists.memberCount === lists.members.length) {
            const b = new Int32Array(lists.members.length * 2);
            b.set(lists.members);
            lists.members = b;
          }
          lists.members[lists.memberCount++] = p;
        }
      } else for (let c = child; c < child + 4; c++) if (nodes[c * STRIDE + COUNT]! > 0) top = lists.pushStack(top, c);
    }
    const gx = geometry[group * 3]!;
    const gy = geometry[group * 3 + 1]!;
    const gh = geometry[group * 3 + 2]! / 2;
    const x0 = gx - gh;
    const x1 = gx + gh;
    const y0 = gy - gh;
    const y1 = gy + gh;
    // Interaction list for the group's box.
    lists.size = 0;
    top = lists.pushStack(0, 0);
    while (top > 0) {
      const id = lists.stack[--top]!;
      const o = id * STRIDE;
      const child = nodes[o + CHILD]!;
      const cx = nodes[o + COM_X]!;
      const cy = nodes[o + COM_Y]!;
      if (child === -1) {
        lists.push(cx, cy, nodes[o + COUNT]!);
        continue;
      }
      const ddx = cx < x0 ? x0 - cx : cx > x1 ? cx - x1 : 0;
      const ddy = cy < y0 ? y0 - cy : cy > y1 ? cy - y1 : 0;
      if (nodes[o + WIDTH2]! < theta2 * (ddx * ddx + ddy * ddy)) lists.push(cx, cy, nodes[o + COUNT]!);
      else for (let c = child; c < child + 4; c++) if (nodes[c * STRIDE + COUNT]! > 0) top = lists.pushStack(top, c);
    }
    const ex = lists.x;
    const ey = lists.y;
    const ec = lists.count;
    const size = lists.size;
    // Members in pairs: each list entry is loaded once for two points and the two sums run as
    // independent chains (more instruction-level parallelism around the division). Each point's
    // terms are still added in list order, so the sums are the same as one point at a time.
    const members = lists.members;
    const memberCount = lists.memberCount;
    let m = 0;
    for (; m + 1 < memberCount; m += 2) {
      const i = members[m]!;
      const k = members[m + 1]!;
      const px = y[2 * i]!;
      const py = y[2 * i + 1]!;
      const sx = y[2 * k]!;
      const sy = y[2 * k + 1]!;
      let fx = 0;
      let fy = 0;
      let zi = 0;
      let gx = 0;
      let gy = 0;
      let zk = 0;
      for (let e = 0; e < size; e++) {
        const cx = ex[e]!;
        const cy = ey[e]!;
        const cc = ec[e]!;
        const dx = px - cx;
        const dy = py - cy;
        const q = 1 / (1 + dx * dx + dy * dy);
        const w = cc * q;
        zi += w;
        fx += w * q * dx;
        fy += w * q * dy;
        const ux = sx - cx;
        const uy = sy - cy;
        const r = 1 / (1 + ux * ux + uy * uy);
        const v = cc * r;
        zk += v;
        gx += v * r * ux;
        gy += v * r * uy;
      }
      z += zi;
      negX[i] = fx;
      negY[i] = fy;
      z += zk;
      negX[k] = gx;
      negY[k] = gy;
    }
    for (; m < memberCount; m++) {
      const i = members[m]!;
      const px = y[2 * i]!;
      const py = y[2 * i + 1]!;
      let fx = 0;
      let fy = 0;
      let zi = 0;
      for (let e = 0; e < size; e++) {
        const dx = px - ex[e]!;
        const dy = py - ey[e]!;
        const q = 1 / (1 + dx * dx + dy * dy);
        const w = ec[e]! * q;
        zi += w;
        fx += w * q * dx;
        fy += w * q * dy;
      }
      z += zi;
      negX[i] = fx;
      negY[i] = fy;
    }
  }
  return z;
}

/**
 * The repulsive terms of every point, Σ_j q_ij² (y_i − y_j), and Z = Σ_ij q_ij including the
 * i = j terms, as one iteration computes them (exported for tests: theta 0 gives exact sums).
 */
export function repulsiveForces(y: Float64Array, n: number, theta: number): { negX: Float64Array; negY: Float64Array; z: number } {
  const tree = new QuadTree(4 * n + 16);
  tree.build(y, n);
  const negX = new Float64Array(n);
  const negY = new Float64Array(n);
  const z = repulsion(tree, y, theta, negX, negY, new InteractionLists());
  return { negX, negY, z };
}

/**
 * Attractive forces Σ_j w_ij q_ij (y_i − y_j) over the sparse P (each stored pair once, applied to
 * both ends; rows ascend) into `grad`. A function of its own so the hot loop is optimised on its
 * own rather than on-stack-replaced inside the long optimiser loop.
 */
function attraction(n: number, rowStart: Int32Array, pCols: Int32Array, weights: Float64Array, y: Float64Array, grad: Float64Array): void {
  grad.fill(0);
  for (let i = 0; i < n; i++) {
    const yi = y[2 * i]!;
    const yj0 = y[2 * i + 1]!;
    let gx = 0;
    let gy = 0;
    const end = rowStart[i + 1]!;
    for (let e = rowStart[i]!; e < end; e++) {
      const j2 = 2 * pCols[e]!;
      const dx = yi - y[j2]!;
      const dy = yj0 - y[j2 + 1]!;
      const f = weights[e]! / (1 + dx * dx + dy * dy);
      const fx = f * dx;
      const fy = f * dy;
      gx += fx;
      gy += fy;
      grad[j2]! -= fx;
      grad[j2 + 1]! -= fy;
    }
    grad[2 * i]! += gx;
    grad[2 * i + 1]! += gy;
  }
}

/** One coordinate's gains / momentum update (sklearn's rule); returns g² for the gradient norm. */
function step(idx: number, g: number, momentum: number, learningRate: number, update: Float64Array, gains: Float64Array, y: Float64Array): number {
  if (update[idx]! * g < 0) gains[idx]! += 0.2;
  else gains[idx] = Math.max(gains[idx]! * 0.8, 0.01);
  update[idx] = momentum * update[idx]! - learningRate * gains[idx]! * g;
  y[idx]! += update[idx]!;
  return g * g;
}

/**
 * t-SNE (van der Maaten 2014) into two dimensions, with sklearn's optimiser: random
 * N(0, 1e-4²) start, early exaggeration for 250 iterations at momentum 0.5, then momentum 0.8,
 * per-coordinate gains (+0.2 / ×0.8, ≥ 0.01). Attractive forces use the sparse kNN P, repulsive
 * forces the Barnes–Hut quadtree (O(n log n) per iteration) or, for large n, FFT interpolation on a
 * grid (`tsne-fft.ts`: O(n) plus the grid's FFT); O(n·k) memory.
 */
export function tsne(graph: KnnGraph, options: TsneOptions = {}): Float64Array {
  const n = graph.n;
  const perplexity = options.perplexity ?? 30;
  const exaggeration = options.earlyExaggeration ?? 12;
  const learningRate = options.learningRate === undefined || options.learningRate === 'auto' ? Math.max(n / exaggeration / 4, 50) : options.learningRate;
  const maxIter = options.maxIter ?? 1000;
  const theta = options.angle ?? 0.5;
  const random = new Random(options.seed ?? 0);
  const y = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) y[i] = 1e-4 * random.gaussian();
  if (n < 2) return y;
  const method = options.method === undefined || options.method === 'auto' ? (n >= FFT_MIN_POINTS ? 'fft' : 'barnes-hut') : options.method;
  // The FFT path works on the points in breadth-first order over P (neighbours close in memory;
  // see locality.ts) and hands the embedding back in input order. Barnes–Hut keeps input order,
  // so its results are those of before.
  const joint = jointProbabilities(graph, perplexity);
  const rank = method === 'fft' ? breadthFirstRank(n, joint) : undefined;
  const p = rank ? renumberPairs(n, joint, rank) : joint;
  if (rank) {
    const start = y.slice();
    for (let i = 0; i < n; i++) {
      y[2 * rank[i]!] = start[2 * i]!;
      y[2 * rank[i]! + 1] = start[2 * i + 1]!;
    }
  }
  const rowStart = new Int32Array(n + 1);
  for (let e = 0; e < p.rows.length; e++) rowStart[p.rows[e]! + 1]!++;
  for (let i = 0; i < n; i++) rowStart[i + 1]! += rowStart[i]!;
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const grad = new Float64Array(2 * n);
  const negX = new Float64Array(n);
  const negY = new Float64Array(n);
  const fft = method === 'fft' ? new FftRepulsion(n, options.fft) : undefined;
  const tree = fft ? undefined : new QuadTree(4 * n + 16);
  const lists = new InteractionLists();
  const pCols = p.cols;
  const pValues = p.values;
  const weights = new Float64Array(pValues.length);
  const exploration = Math.min(250, maxIter);
  for (let iter = 0; iter < maxIter; iter++) {
    if ((iter & 31) === 0) options.checkpoint?.();
    const exag = iter < exploration ? exaggeration : 1;
    const momentum = iter < exploration ? 0.5 : 0.8;
    // Repulsion: Σ_j q_ij² (y_i − y_j) and Z = Σ_ij q_ij, by FFT interpolation or the quadtree;
    // minus the n self-pairs (q_ii = 1).
    let z: number;
    if (fft) z = fft.compute(y, n, negX, negY) - n;
    else {
      tree!.build(y, n);
      z = repulsion(tree!, y, theta, negX, negY, lists) - n;
    }
    // Attraction over the sparse P (each stored pair once, applied to both ends; rows ascend).
    // `weights` holds exag·p_ij precomputed per phase (the same product the formula needs, so the
    // result is bit-identical); arrays are hoisted into locals for the hot loop.
    if (iter === 0 || iter === exploration) for (let e = 0; e < pValues.length; e++) weights[e] = exag * pValues[e]!;
    attraction(n, rowStart, pCols, weights, y, grad);
    let gradNorm = 0;
    const zInv = 1 / Math.max(z, 1e-300);
    // Gradient step, x and y coordinates written out (no per-coordinate branch on which force).
    for (let i = 0; i < n; i++) {
      gradNorm += step(2 * i, 4 * (grad[2 * i]! - negX[i]! * zInv), momentum, learningRate, update, gains, y);
      gradNorm += step(2 * i + 1, 4 * (grad[2 * i + 1]! - negY[i]! * zInv), momentum, learningRate, update, gains, y);
    }
    if (iter >= exploration && Math.sqrt(gradNorm) < 1e-7) break;
  }
  if (!rank) return y;
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = y[2 * rank[i]!]!;
    out[2 * i + 1] = y[2 * rank[i]! + 1]!;
  }
  return out;
}
