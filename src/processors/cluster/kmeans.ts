import { Random } from '../random.js';

export interface KMeansOptions {
  maxIter?: number;
  /** Relative tolerance: stop when the total squared centre shift ≤ tol · mean feature variance (sklearn). */
  tol?: number;
  nInit?: number;
  seed?: number;
}

function sqDist(x: Float64Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  const xo = i * d;
  const co = j * d;
  for (let t = 0; t < d; t++) {
    const v = x[xo + t]! - c[co + t]!;
    s += v * v;
  }
  return s;
}

/**
 * Greedy k-means++ seeding (sklearn's variant: 2 + ⌊ln k⌋ candidates per step, the one that lowers
 * the potential most wins).
 */
function seedCentres(x: Float64Array, n: number, d: number, k: number, random: Random): Float64Array {
  const centres = new Float64Array(k * d);
  const first = random.int(n);
  centres.set(x.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(n);
  let potential = 0;
  for (let i = 0; i < n; i++) potential += closest[i] = sqDist(x, i, centres, 0, d);
  const trials = 2 + Math.floor(Math.log(k));
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let bestPotential = Infinity;
    let bestIndex = 0;
    for (let t = 0; t < trials; t++) {
      // Sample proportional to the current squared distance.
      let r = random.next() * potential;
      let pick = n - 1;
      for (let i = 0; i < n; i++) {
        r -= closest[i]!;
        if (r <= 0) {
          pick = i;
          break;
        }
      }
      let p = 0;
      for (let i = 0; i < n; i++) {
        const dd = Math.min(closest[i]!, sqDist(x, i, x, pick, d));
        candidateDist[i] = dd;
        p += dd;
      }
      if (p < bestPotential) {
        bestPotential = p;
        bestIndex = pick;
        bestDist.set(candidateDist);
      }
    }
    centres.set(x.subarray(bestIndex * d, bestIndex * d + d), c * d);
    closest.set(bestDist);
    potential = bestPotential;
  }
  return centres;
}

/** One Lloyd run; returns labels and inertia. */
function lloyd(x: Float64Array, n: number, d: number, k: number, centres: Float64Array, maxIter: number, tol: number): { labels: Int32Array; inertia: number } {
  const labels = new Int32Array(n);
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  const nearest = new Float64Array(n);
  const assign = (): number => {
    let inertia = 0;
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      let label = 0;
      for (let c = 0; c < k; c++) {
        const dd = sqDist(x, i, centres, c, d);
        if (dd < best) {
          best = dd;
          label = c;
        }
      }
      labels[i] = label;
      nearest[i] = best;
      inertia += best;
    }
    return inertia;
  };
  for (let iter = 0; iter < maxIter; iter++) {
    assign();
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      counts[c]!++;
      for (let t = 0; t < d; t++) sums[c * d + t]! += x[i * d + t]!;
    }
    let shift = 0;
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        // Empty cluster: move its centre to the point farthest from its own centre (sklearn does similar).
        let far = 0;
        for (let i = 1; i < n; i++) if (nearest[i]! > nearest[far]!) far = i;
        nearest[far] = 0;
        for (let t = 0; t < d; t++) {
          const v = x[far * d + t]!;
          shift += (v - centres[c * d + t]!) ** 2;
          centres[c * d + t] = v;
        }
        continue;
      }
      for (let t = 0; t < d; t++) {
        const v = sums[c * d + t]! / counts[c]!;
        shift += (v - centres[c * d + t]!) ** 2;
        centres[c * d + t] = v;
      }
    }
    if (shift <= tol) break;
  }
  const inertia = assign();
  return { labels, inertia };
}

/** k-means (k-means++ init, Lloyd), seeded; labels 0..k−1. `x` is row-major n × d. */
export function kmeans(x: Float64Array, n: number, d: number, k: number, options: KMeansOptions = {}): Int32Array {
  if (k < 1 || k > n) throw new Error(`k-means needs 1 ≤ k ≤ n (k=${k}, n=${n})`);
  const random = new Random(options.seed ?? 0);
  // sklearn scales tol by the mean per-feature variance.
  let variance = 0;
  for (let t = 0; t < d; t++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i * d + t]!;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * d + t]! - mean) ** 2;
    variance += v / n;
  }
  const tol = (options.tol ?? 1e-4) * (variance / d);
  let best: { labels: Int32Array; inertia: number } | undefined;
  for (let run = 0; run < (options.nInit ?? 1); run++) {
    const result = lloyd(x, n, d, k, seedCentres(x, n, d, k, random), options.maxIter ?? 300, tol);
    if (!best || result.inertia < best.inertia) best = result;
  }
  return best!.labels;
}
