/**
 * HDBSCAN against a naive implementation written from the definitions in Python
 * (test/helpers/hdbscan_reference.py: dense mutual reachability, Prim, condensed tree, excess of
 * mass without the root), on data with clusters of different densities, nested structure and
 * uniform noise (points that join the hierarchy at a tied height excepted). scikit-learn 1.2 (Debian's) has no HDBSCAN, hence the reference of our own.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { knnSearch } from '../linalg/knn.js';
import { Random } from '../random.js';
import { hdbscanLabels, reachabilityTree } from './density.js';

const script = join(import.meta.dirname, '..', '..', '..', 'test', 'helpers', 'hdbscan_reference.py');

/** Gaussian blobs (centre, spread, count) plus `noise` uniform points in [−10, 10]^d, float32-exact. */
function dataset(seed: number, d: number, blobs: Array<[number, number, number]>, noise: number): { x: Float64Array; n: number } {
  const random = new Random(seed);
  const rows: number[] = [];
  for (const [centre, spread, count] of blobs)
    for (let i = 0; i < count; i++) for (let k = 0; k < d; k++) rows.push((k === 0 ? centre : centre / 2) + spread * random.gaussian());
  for (let i = 0; i < noise * d; i++) rows.push(-10 + 20 * random.next());
  const x = Float64Array.from(Float32Array.from(rows));
  return { x, n: x.length / d };
}

/** Canonical labels: clusters renumbered by first appearance, noise stays −1. */
function canonical(labels: ArrayLike<number>): number[] {
  const map = new Map<number, number>();
  return Array.from(labels, (l) => (l < 0 ? -1 : (map.get(l) ?? map.set(l, map.size).get(l)!)));
}

function ours(x: Float64Array, n: number, d: number, minSamples: number, minClusterSize: number): number[] {
  const lists = knnSearch(Float32Array.from(x), n, d, Math.max(1, minSamples - 1), { method: 'exact' });
  return canonical(hdbscanLabels(reachabilityTree(x, n, d, minSamples, lists), minClusterSize));
}

function reference(x: Float64Array, n: number, d: number, minSamples: number, minClusterSize: number): { labels: number[]; ambiguous: number[] } {
  const rows = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, i * d + d)));
  const out = execFileSync('/usr/bin/python3', [script], {
    input: JSON.stringify({ x: rows, min_samples: minSamples, min_cluster_size: minClusterSize }),
    encoding: 'utf8',
  });
  const { labels, ambiguous } = JSON.parse(out) as { labels: number[]; ambiguous: number[] };
  return { labels: canonical(labels), ambiguous };
}

describe('HDBSCAN against the naive reference', () => {
  const cases: Array<[string, number, Array<[number, number, number]>, number, number, number]> = [
    [
      'three blobs of different density with noise, 2-D',
      2,
      [
        [0, 0.3, 40],
        [5, 1, 40],
        [-6, 0.6, 30],
      ],
      20,
      5,
      5,
    ],
    [
      'a tight blob inside a loose one, 2-D',
      2,
      [
        [0, 0.2, 25],
        [0.5, 2, 60],
        [8, 0.5, 30],
      ],
      10,
      5,
      5,
    ],
    [
      'five blobs in 5-D, min_samples 3, min_cluster_size 8',
      5,
      [
        [-8, 0.5, 20],
        [-4, 0.7, 20],
        [0, 0.4, 20],
        [4, 1, 20],
        [8, 0.6, 20],
      ],
      15,
      3,
      8,
    ],
    [
      'mostly noise, 3-D',
      3,
      [
        [0, 0.5, 15],
        [6, 0.5, 12],
      ],
      60,
      5,
      5,
    ],
    [
      'nested: sub-blobs in two groups, where excess of mass picks the level, 2-D',
      2,
      [
        [-6, 0.3, 12],
        [-5, 0.3, 12],
        [-4, 0.3, 12],
        [4, 0.5, 15],
        [5.5, 0.5, 15],
        [9, 0.2, 20],
      ],
      15,
      4,
      6,
    ],
    [
      'min_samples 2 (almost no ties), 2-D',
      2,
      [
        [0, 0.4, 30],
        [4, 0.8, 30],
        [-5, 0.3, 20],
      ],
      25,
      2,
      5,
    ],
  ];
  for (const [name, d, blobs, noise, minSamples, minClusterSize] of cases) {
    it(name, () => {
      const { x, n } = dataset(name.length, d, blobs, noise);
      const { labels: expected, ambiguous } = reference(x, n, d, minSamples, minClusterSize);
      expect(new Set(expected).size, 'the case has clusters and noise').toBeGreaterThan(2);
      // Points joining at a tied height may land on either side (see the script): compare the rest.
      expect(ambiguous.length).toBeLessThan(n / 5);
      const actual = ours(x, n, d, minSamples, minClusterSize);
      const mask = (labels: number[]) => labels.map((l, i) => (ambiguous.includes(i) ? 'tie' : l));
      expect(mask(actual)).toEqual(mask(expected));
    });
  }
});
