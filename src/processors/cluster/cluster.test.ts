import { describe, expect, it } from 'vitest';
import { knnSearch } from '../linalg/knn.js';
import { Random } from '../random.js';
import { dbscanLabels, hdbscanLabels, reachabilityTree } from './density.js';
import { kmeans } from './kmeans.js';
import { cutTree, wardTree } from './ward.js';

function blobs(perBlob: number, centres: number[][], spread: number, seed: number): { x: Float64Array; n: number; d: number; truth: number[] } {
  const random = new Random(seed);
  const d = centres[0]!.length;
  const rows: number[] = [];
  const truth: number[] = [];
  centres.forEach((c, b) => {
    for (let i = 0; i < perBlob; i++) {
      for (const v of c) rows.push(v + spread * random.gaussian());
      truth.push(b);
    }
  });
  return { x: Float64Array.from(rows), n: truth.length, d, truth };
}

/** Same partition up to renaming of the labels. */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]!) ?? b[i]) !== b[i] || (ba.get(b[i]!) ?? a[i]) !== a[i]) return false;
    ab.set(a[i]!, b[i]!);
    ba.set(b[i]!, a[i]!);
  }
  return true;
}

const threeBlobs = () =>
  blobs(
    40,
    [
      [0, 0, 0],
      [6, 0, 0],
      [0, 6, 3],
    ],
    0.5,
    1,
  );
const neighbours = (x: Float64Array, n: number, d: number, k: number) => knnSearch(Float32Array.from(x), n, d, k, { method: 'exact' });

describe('k-means', () => {
  it('separates well-separated blobs and is deterministic for a seed', () => {
    const { x, n, d, truth } = threeBlobs();
    const a = kmeans(x, n, d, 3, { seed: 1 });
    expect(samePartition(a, truth)).toBe(true);
    expect(Array.from(kmeans(x, n, d, 3, { seed: 1 }))).toEqual(Array.from(a));
    expect(new Set(kmeans(x, n, d, 7, { seed: 2 })).size).toBe(7);
  });
});

/** Textbook DBSCAN with a full distance scan (reference for the MST-based one). */
function naiveDbscan(x: Float64Array, n: number, d: number, eps: number, minSamples: number): { core: boolean[]; labels: number[] } {
  const dist = (i: number, j: number) => Math.sqrt(Array.from({ length: d }, (_, f) => (x[i * d + f]! - x[j * d + f]!) ** 2).reduce((s, v) => s + v, 0));
  const within = (i: number) => Array.from({ length: n }, (_, j) => j).filter((j) => dist(i, j) <= eps);
  const core = Array.from({ length: n }, (_, i) => within(i).length >= minSamples);
  const labels = new Array<number>(n).fill(-1);
  let next = 0;
  for (let i = 0; i < n; i++) {
    if (!core[i] || labels[i] !== -1) continue;
    const queue = [i];
    labels[i] = next;
    while (queue.length) {
      const p = queue.pop()!;
      if (!core[p]) continue;
      for (const q of within(p))
        if (labels[q] === -1) {
          labels[q] = next;
          queue.push(q);
        }
    }
    next++;
  }
  return { core, labels };
}

describe('DBSCAN from the reachability tree', () => {
  it('has the same core points and core clusters as textbook DBSCAN for every eps', () => {
    const { x, n, d } = blobs(
      30,
      [
        [0, 0],
        [3, 0],
        [0, 3],
      ],
      0.8,
      2,
    );
    const tree = reachabilityTree(x, n, d, 5, neighbours(x, n, d, 4));
    for (const eps of [0.2, 0.4, 0.6, 0.9, 1.5, 3]) {
      const ours = dbscanLabels(tree, eps);
      const ref = naiveDbscan(x, n, d, eps, 5);
      const coreIdx = ref.core.map((c, i) => (c ? i : -1)).filter((i) => i >= 0);
      expect(
        samePartition(
          coreIdx.map((i) => ours[i]!),
          coreIdx.map((i) => ref.labels[i]!),
        ),
      ).toBe(true);
      // Noise is exactly the same set; border points join a cluster of a core point within eps.
      for (let i = 0; i < n; i++) expect(ours[i] === -1).toBe(ref.labels[i] === -1);
      // Numbered by first core point, as sklearn.
      const firstSeen: number[] = [];
      coreIdx.forEach((i) => {
        if (!firstSeen.includes(ours[i]!)) firstSeen.push(ours[i]!);
      });
      expect(firstSeen).toEqual(firstSeen.map((_, j) => j));
    }
  });
});

describe('HDBSCAN', () => {
  it('finds dense blobs and marks far outliers as noise', () => {
    const { x, n, d, truth } = blobs(
      40,
      [
        [0, 0],
        [8, 0],
        [0, 8],
      ],
      0.6,
      3,
    );
    const withOutliers = Float64Array.from([...x, 30, 30, -30, 30]);
    const m = n + 2;
    const tree = reachabilityTree(withOutliers, m, d, 5, neighbours(withOutliers, m, d, 4));
    const labels = hdbscanLabels(tree, 5);
    expect(labels[n]).toBe(-1);
    expect(labels[n + 1]).toBe(-1);
    const clustered = Array.from(labels.subarray(0, n));
    expect(new Set(clustered.filter((l) => l >= 0)).size).toBe(3);
    // Almost every blob point is in its blob's cluster.
    const agree = clustered.filter((l, i) => l >= 0 && clustered.every((m2, j) => truth[j] !== truth[i] || m2 === l || m2 === -1)).length;
    expect(agree / n).toBeGreaterThan(0.9);
  });
});

/** Naive Ward (Lance–Williams on all pairs) for reference. */
function naiveWard(x: Float64Array, n: number, d: number, k: number): number[] {
  let clusters = Array.from({ length: n }, (_, i) => ({ members: [i], centroid: Array.from(x.subarray(i * d, i * d + d)) }));
  while (clusters.length > k) {
    let best = Infinity;
    let pair = [0, 1];
    for (let a = 0; a < clusters.length; a++)
      for (let b = a + 1; b < clusters.length; b++) {
        const ca = clusters[a]!;
        const cb = clusters[b]!;
        const s = ca.centroid.reduce((acc, v, t) => acc + (v - cb.centroid[t]!) ** 2, 0);
        const cost = ((ca.members.length * cb.members.length) / (ca.members.length + cb.members.length)) * s;
        if (cost < best) {
          best = cost;
          pair = [a, b];
        }
      }
    const [a, b] = pair as [number, number];
    const ca = clusters[a]!;
    const cb = clusters[b]!;
    const total = ca.members.length + cb.members.length;
    const merged = {
      members: [...ca.members, ...cb.members],
      centroid: ca.centroid.map((v, t) => (v * ca.members.length + cb.centroid[t]! * cb.members.length) / total),
    };
    clusters = clusters.filter((_, i) => i !== a && i !== b);
    clusters.push(merged);
  }
  const labels = new Array<number>(n);
  clusters.forEach((c, l) => c.members.forEach((m) => (labels[m] = l)));
  return labels;
}

describe('Ward agglomerative (nearest-neighbour chain)', () => {
  it('gives the same partitions as the naive greedy algorithm for every k', () => {
    const random = new Random(8);
    const n = 60;
    const d = 4;
    const x = new Float64Array(n * d).map(() => random.gaussian());
    const tree = wardTree(x, n, d);
    for (const k of [1, 2, 3, 5, 8, 13, 60]) expect(samePartition(cutTree(tree, k), naiveWard(x, n, d, k))).toBe(true);
  });
});
