import { describe, expect, it } from 'vitest';
import { knnSearch } from '../linalg/knn.js';
import { Random } from '../random.js';
import { GridFft, transpose } from './fft.js';
import { FFT_MIN_POINTS, repulsiveForces, tsne } from './tsne.js';
import { FftRepulsion, fftRepulsiveForces } from './tsne-fft.js';
import { exactRepulsion, nearestSharesGroup } from './testing.js';

/** ‖F − F*‖ / ‖F*‖ over all points and both axes, and |Z − Z*| / Z*. */
function relativeErrors(got: { negX: Float64Array; negY: Float64Array; z: number }, want: ReturnType<typeof exactRepulsion>): { force: number; z: number } {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.negX.length; i++) {
    num += (got.negX[i]! - want.negX[i]!) ** 2 + (got.negY[i]! - want.negY[i]!) ** 2;
    den += want.negX[i]! ** 2 + want.negY[i]! ** 2;
  }
  return { force: Math.sqrt(num / den), z: Math.abs(got.z - want.z) / want.z };
}

/** n points in five Gaussian clumps (as a t-SNE embedding looks) spanning about `extent` units. */
function clumps(n: number, extent: number, seed = 3): Float64Array {
  const random = new Random(seed);
  const y = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = i % 5;
    y[2 * i] = (extent / 4) * (1.2 * Math.cos(c) + 0.3 * random.gaussian());
    y[2 * i + 1] = (extent / 4) * (1.2 * Math.sin(c) + 0.3 * random.gaussian());
  }
  return y;
}

describe('GridFft', () => {
  it('matches the 2-D DFT and inverts (odd and even powers of two: radix-2 + radix-4 stages)', () => {
    for (const size of [8, 16]) {
      const fft = new GridFft(size);
      const re = new Float64Array(size * size);
      const im = new Float64Array(size * size);
      for (let e = 0; e < size * size; e++) {
        re[e] = Math.sin(0.37 * e) + ((0.1 * e) % 3);
        im[e] = Math.cos(0.11 * e);
      }
      const re0 = re.slice();
      const im0 = im.slice();
      const tRe = new Float64Array(size * size);
      const tIm = new Float64Array(size * size);
      // Along y, transpose, along x: the spectrum comes out transposed (row k_x, column k_y).
      fft.columns(re, im, 0, size, false);
      transpose(re, im, tRe, tIm, size, size, size);
      fft.columns(tRe, tIm, 0, size, false);
      let worst = 0;
      for (let ky = 0; ky < size; ky++) {
        for (let kx = 0; kx < size; kx++) {
          let sr = 0;
          let si = 0;
          for (let r = 0; r < size; r++) {
            for (let c = 0; c < size; c++) {
              const a = (-2 * Math.PI * (kx * c + ky * r)) / size;
              sr += re0[r * size + c]! * Math.cos(a) - im0[r * size + c]! * Math.sin(a);
              si += re0[r * size + c]! * Math.sin(a) + im0[r * size + c]! * Math.cos(a);
            }
          }
          worst = Math.max(worst, Math.abs(sr - tRe[kx * size + ky]!), Math.abs(si - tIm[kx * size + ky]!));
        }
      }
      expect(worst).toBeLessThan(1e-11);
      fft.columns(tRe, tIm, 0, size, true);
      transpose(tRe, tIm, re, im, size, size, size);
      fft.columns(re, im, 0, size, true);
      for (let e = 0; e < size * size; e++) {
        expect(re[e]! / (size * size)).toBeCloseTo(re0[e]!, 12);
        expect(im[e]! / (size * size)).toBeCloseTo(im0[e]!, 12);
      }
    }
  });
});

describe('FFT-interpolated repulsion', () => {
  const n = 2000;

  it('is within 1e-3 of the exact O(n²) forces and Z on 2000 points at the extent of a 2000-point t-SNE', () => {
    // Tolerance: ‖F − F*‖/‖F*‖ < 1e-3 and |Z − Z*|/Z* < 1e-3 with the default grid (p = 3,
    // ≥ 50 intervals, here 85 intervals of 0.3 units). Barnes–Hut at θ = 0.5 is at 8e-3 / 4e-3 here.
    const y = clumps(n, 25);
    const want = exactRepulsion(y, n);
    const fft = relativeErrors(fftRepulsiveForces(y, n), want);
    expect(fft.force).toBeLessThan(1e-3);
    expect(fft.z).toBeLessThan(1e-3);
    const bh = relativeErrors(repulsiveForces(y, n, 0.5), want);
    expect(fft.force).toBeLessThan(bh.force);
    expect(fft.z).toBeLessThan(bh.z);
  });

  it('at the extent of a 50 000-point t-SNE: FIt-SNE’s grid is coarser, and a finer one converges', () => {
    // 150 units: the default (intervals ≤ 1 unit wide, FIt-SNE's setting; here 170 of 0.9 units,
    // nodes 0.3 apart) gives force error ≈ 5.6e-2 and Z error ≈ 3e-3 (Barnes–Hut θ = 0.5:
    // 4e-3 / 2.4e-3) — the accuracy FIt-SNE and openTSNE run with. Halving the interval width
    // twice must cut the force error by about 8× per halving (third-order interpolation).
    const y = clumps(n, 150);
    const want = exactRepulsion(y, n);
    const coarse = relativeErrors(fftRepulsiveForces(y, n), want);
    expect(coarse.force).toBeLessThan(0.08);
    expect(coarse.z).toBeLessThan(5e-3);
    const fine = relativeErrors(fftRepulsiveForces(y, n, { maxIntervalWidth: 0.25 }), want);
    expect(fine.force).toBeLessThan(1e-3);
    expect(fine.z).toBeLessThan(1e-4);
  });

  it('is exact to rounding for a tight cloud (the grid resolves the kernel) and keeps coincident points', () => {
    const y = clumps(300, 0.05, 8);
    // Points 1..4 on point 0.
    for (let t = 1; t < 5; t++) {
      y[2 * t] = y[0]!;
      y[2 * t + 1] = y[1]!;
    }
    const got = fftRepulsiveForces(y, 300);
    const want = exactRepulsion(y, 300);
    const e = relativeErrors(got, want);
    expect(e.force).toBeLessThan(1e-8);
    expect(e.z).toBeLessThan(1e-12);
    expect(got.negX[3]).toBe(got.negX[0]);
  });

  it('reuses the kernel spectra while the grid spacing stays on the same rung, and gives the same result', () => {
    const y = clumps(n, 40);
    const repulsion = new FftRepulsion(n);
    const a = { negX: new Float64Array(n), negY: new Float64Array(n), z: 0 };
    a.z = repulsion.compute(y, n, a.negX, a.negY);
    // A shift leaves the extent (and so δ) unchanged: no kernel update, forces shift-invariant.
    const shifted = y.map((v) => v + 0.125);
    const b = { negX: new Float64Array(n), negY: new Float64Array(n), z: 0 };
    b.z = repulsion.compute(shifted, n, b.negX, b.negY);
    expect(repulsion.lastGrid.kernelUpdates).toBe(1);
    // Both are approximations (3.4e-3 and 5e-5 from exact here) on differently placed nodes.
    const e = relativeErrors(b, a);
    expect(e.z).toBeLessThan(1e-4);
    expect(e.force).toBeLessThan(1e-2);
    // Doubling the extent moves δ to another rung: the spectra are recomputed.
    repulsion.compute(
      y.map((v) => 2 * v),
      n,
      b.negX,
      b.negY,
    );
    expect(repulsion.lastGrid.kernelUpdates).toBe(2);
  });
});

describe('t-SNE with FFT repulsion', () => {
  const random = new Random(4);
  const n = 800;
  const d = 10;
  const groups = 5;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) x[i * d + f] = (f === i % groups ? 8 : 0) + random.gaussian();
  const graph = knnSearch(x, n, d, 31);

  /** Fraction of each point's 10 nearest neighbours in the input that stay among its 10 in 2-D. */
  function knnPreservation(y: Float64Array): number {
    const k = 10;
    const low = knnSearch(Float32Array.from(y), n, 2, k, { method: 'exact' });
    const high = knnSearch(x, n, d, k, { method: 'exact' });
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const mine = new Set(Array.from(high.indices.subarray(i * k, (i + 1) * k)));
      for (let r = 0; r < k; r++) if (mine.has(low.indices[i * k + r]!)) kept++;
    }
    return kept / (n * k);
  }

  it('separates the groups and preserves neighbourhoods as well as Barnes–Hut; same seed, same bits', () => {
    const fft = tsne(graph, { perplexity: 10, maxIter: 500, seed: 1, method: 'fft' });
    const again = tsne(graph, { perplexity: 10, maxIter: 500, seed: 1, method: 'fft' });
    const bh = tsne(graph, { perplexity: 10, maxIter: 500, seed: 1, method: 'barnes-hut' });
    expect(nearestSharesGroup(fft, n, groups)).toBeGreaterThan(0.97);
    const kept = knnPreservation(fft);
    expect(kept).toBeGreaterThan(knnPreservation(bh) - 0.03);
    // Bitwise reproducible (every sum in a fixed order); a different seed gives another layout.
    expect(Buffer.from(again.buffer).equals(Buffer.from(fft.buffer))).toBe(true);
    const other = tsne(graph, { perplexity: 10, maxIter: 500, seed: 2, method: 'fft' });
    expect(Buffer.from(other.buffer).equals(Buffer.from(fft.buffer))).toBe(false);
    // And it is a different method from Barnes–Hut, not the same code path.
    expect(Buffer.from(bh.buffer).equals(Buffer.from(fft.buffer))).toBe(false);
  });

  it(`'auto' is Barnes–Hut below ${FFT_MIN_POINTS} points and FFT from there on`, () => {
    const small = tsne(graph, { perplexity: 10, maxIter: 20, seed: 1 });
    expect(Array.from(small)).toEqual(Array.from(tsne(graph, { perplexity: 10, maxIter: 20, seed: 1, method: 'barnes-hut' })));
    const big = FFT_MIN_POINTS;
    const r = new Random(5);
    const xb = new Float32Array(big * 2);
    for (let e = 0; e < xb.length; e++) xb[e] = r.gaussian();
    const g = knnSearch(xb, big, 2, 6);
    const auto = tsne(g, { perplexity: 2, maxIter: 3, seed: 1 });
    expect(Array.from(auto)).toEqual(Array.from(tsne(g, { perplexity: 2, maxIter: 3, seed: 1, method: 'fft' })));
    expect(Array.from(auto)).not.toEqual(Array.from(tsne(g, { perplexity: 2, maxIter: 3, seed: 1, method: 'barnes-hut' })));
  });
});
