import { describe, expect, it } from 'vitest';
import { knnSearch } from '../linalg/knn.js';
import { Random } from '../random.js';
import { dbscanLabels, hdbscanLabels, reachabilityTree } from './density.js';
import { connectivityWardTree, knnReachabilityTree, exactTreeFits } from './large.js';
import { cutTree, wardTree } from './ward.js';

/** `perBlob` points around each centre, spread `spread` per coordinate; truth = blob index. */
function blobs(perBlob: number, centres: number[][], spread: number, seed: number): { x: Float64Array; n: number; d: number; truth: Int32Array } {
  const random = new Random(seed);
  const d = centres[0]!.length;
  const x = new Float64Array(perBlob * centres.length * d);
  const truth = new Int32Array(perBlob * centres.length);
  let i = 0;
  centres.forEach((c, b) => {
    for (let p = 0; p < perBlob; p++, i++) {
      c.forEach((v, t) => (x[i * d + t] = v + spread * random.gaussian()));
      truth[i] = b;
    }
  });
  return { x, n: truth.length, d, truth };
}

const graph = (x: Float64Array, n: number, d: number, k: number) => knnSearch(Float32Array.from(x), n, d, k, { method: 'exact' });

describe('large-input trees', () => {
  it('switches to them only above n²·d = 1.3e10 (every conformance case stays exact)', () => {
    expect(exactTreeFits(20000, 32)).toBe(true);
    expect(exactTreeFits(21000, 32)).toBe(false);
    expect(exactTreeFits(50000, 2)).toBe(true);
  });

  it('kNN-graph MST: the exact mutual-reachability MST on connected data, hence the same DBSCAN labels (and nearly the same HDBSCAN ones)', () => {
    // One elongated cloud with two dense knots: connected through its kNN graph.
    const { x, n, d } = blobs(
      150,
      [
        [0, 0, 0],
        [1.5, 0, 0],
        [3, 0.3, 0],
      ],
      0.6,
      2,
    );
    const lists = graph(x, n, d, 24);
    const exact = reachabilityTree(x, n, d, 5, lists);
    const large = knnReachabilityTree(n, 5, lists);
    expect(Array.from(large.weight).every(Number.isFinite)).toBe(true);
    // The sorted weights of two MSTs are equal (up to float32 rounding: the kNN distances come from
    // the float32 rows the neighbour search sees, Prim's from the float64 ones).
    expect(large.weight.length).toBe(exact.weight.length);
    large.weight.forEach((w, e) => expect(w).toBeCloseTo(exact.weight[e]!, 6));
    for (const eps of [0.3, 0.5, 0.8]) expect(Array.from(dbscanLabels(large, eps))).toEqual(Array.from(dbscanLabels(exact, eps)));
    // HDBSCAN's condensed tree follows the order of (nearly) equal MST weights, which float32
    // rounding of the kNN distances may swap: as many clusters, and almost every pair of points
    // grouped alike (Rand index).
    const [a, b] = [hdbscanLabels(large, 5), hdbscanLabels(exact, 5)];
    expect(new Set(a).size).toBe(new Set(b).size);
    expect(new Set(b).size).toBeGreaterThan(2);
    let agree = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if ((a[i] === a[j]) === (b[i] === b[j])) agree++;
    expect(agree / ((n * (n - 1)) / 2)).toBeGreaterThan(0.99);
  });

  it('kNN-graph MST: components the graph leaves apart join at weight ∞, and finite radii still see them apart', () => {
    const { x, n, d, truth } = blobs(
      60,
      [
        [0, 0],
        [40, 0],
        [0, 40],
      ],
      0.5,
      3,
    );
    const lists = graph(x, n, d, 8);
    const large = knnReachabilityTree(n, 5, lists);
    expect(large.weight.length).toBe(n - 1);
    expect(Array.from(large.weight.slice(-2))).toEqual([Infinity, Infinity]);
    expect(Number.isFinite(large.weight[n - 4]!)).toBe(true);
    const labels = dbscanLabels(large, 3);
    expect(Array.from(labels)).toEqual(Array.from(dbscanLabels(reachabilityTree(x, n, d, 5, lists), 3)));
    expect(new Set(labels).size).toBe(3);
    for (let i = 0; i < n; i++) expect(labels[i]).toBe(truth[i]);
  });

  it('connectivity Ward: exact Ward when the exact tail holds every point', () => {
    const { x, n, d } = blobs(
      40,
      [
        [0, 0, 0],
        [5, 0, 0],
        [0, 5, 2],
      ],
      0.8,
      4,
    );
    const exact = wardTree(x, n, d);
    const large = connectivityWardTree(x, n, d, graph(x, n, d, 10), undefined, n);
    expect(Array.from(large.height)).toEqual(Array.from(exact.height));
    for (const k of [2, 3, 5, 9]) expect(Array.from(cutTree(large, k))).toEqual(Array.from(cutTree(exact, k)));
  });

  it('connectivity Ward: graph-restricted merges below a small exact tail keep the top cuts of exact Ward', () => {
    const { x, n, d, truth } = blobs(
      200,
      [
        [0, 0, 0],
        [6, 0, 0],
        [0, 6, 3],
        [6, 6, 6],
      ],
      0.7,
      5,
    );
    const exact = wardTree(x, n, d);
    const large = connectivityWardTree(x, n, d, graph(x, n, d, 10), undefined, 40);
    expect(large.height.length).toBe(n - 1);
    for (let m = 1; m < n - 1; m++) expect(large.height[m]!).toBeGreaterThanOrEqual(large.height[m - 1]!);
    for (const k of [2, 3, 4]) expect(Array.from(cutTree(large, k))).toEqual(Array.from(cutTree(exact, k)));
    expect(Array.from(cutTree(large, 4))).toEqual(Array.from(truth));
  });
});
