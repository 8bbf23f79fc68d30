import { describe, expect, it } from 'vitest';
import { curveScores, formatTable, meanCurve, meanSe, rankMethods, summarize } from './metrics.js';
import { defaultSteps, samplesPerBatch, VALUES_PER_BATCH } from '../jobs/evaluate.js';
import { gaussianKernel, patchGrid } from './graphs.js';
import { stepThresholds } from './evaluator.js';
import { ticks } from './plot.js';

describe('perturbation metrics', () => {
  it('AOPC averages the drop over K+1 steps; AUC is the trapezoid under f/f0 over [0, 1]', () => {
    // f = 4, 2, 0: drops 0, 2, 4 → AOPC 2; f/f0 = 1, .5, 0 → AUC (0.75 + 0.25) / 2 = 0.5.
    const { aopc, auc } = curveScores(Float32Array.of(4, 2, 0, 1, 1, 1), 3);
    expect(Array.from(aopc)).toEqual([2, 0]);
    expect(Array.from(auc)).toEqual([0.5, 1]);
  });

  it('mean ± standard error (sample standard deviation / √n), NaN ignored', () => {
    const s = meanSe([1, 2, 3, 4, Number.NaN]);
    expect(s.n).toBe(4);
    expect(s.mean).toBe(2.5);
    expect(s.se).toBeCloseTo(Math.sqrt(5 / 3) / 2, 12);
    const c = meanCurve(Float32Array.of(1, 3, 3, 5), 2);
    expect(Array.from(c.mean)).toEqual([2, 4]);
    expect(Array.from(c.se)).toEqual([1, 1]);
  });

  it('ranks MoRF methods by higher AOPC, LeRF ones by lower, and prints per-class lines', () => {
    const a = summarize('a', 'morf', { aopc: Float32Array.of(1, 1), auc: Float32Array.of(0, 0) });
    const b = summarize('b', 'morf', { aopc: Float32Array.of(3, 1), auc: Float32Array.of(0, 0) }, Int32Array.of(0, 1));
    expect(rankMethods([a, b]).map((m) => m.name)).toEqual(['b', 'a']);
    const la = { ...a, order: 'lerf' },
      lb = { ...b, order: 'lerf' };
    expect(rankMethods([lb, la]).map((m) => m.name)).toEqual(['a', 'b']);
    const table = formatTable([a, b], (c) => `class-${c}`).split('\n');
    expect(table[2]).toMatch(/^1\s+b\s+morf\s+2\s+2\.0000 ± 1\.0000/);
    expect(table[3]).toMatch(/class-0\s+1\s+3\.0000 ± 0\.0000/);
    expect(table[5]).toMatch(/^2\s+a\s/);
  });
});

describe('perturbation plan', () => {
  it('patch grids cut off partial patches; thresholds replace perStep patches per step', () => {
    expect(patchGrid([3, 10, 9], 4)).toMatchObject({ rows: 3, columns: 3, count: 9 });
    expect(() => patchGrid([10], 2)).toThrow(/image samples/);
    expect(Array.from(stepThresholds(3, 2))).toEqual([0, 2, 4, 6]);
    expect(defaultSteps(49, 1)).toBe(49);
    expect(defaultSteps(784, 1)).toBe(100);
    expect(defaultSteps(49, 5)).toBe(10);
  });

  it('packs samples into batches of about VALUES_PER_BATCH values whose runs of `rows` images waste at most 5 %', () => {
    // 3×28×28: 2^23 / 2352 → at least 3567 images → 72 samples of 50 steps (57 runs of 64, 48 images of padding).
    const hans = samplesPerBatch(64, 50, 3 * 28 * 28);
    expect(hans).toBe(72);
    expect(hans * 50).toBeGreaterThanOrEqual(VALUES_PER_BATCH / (3 * 28 * 28));
    expect((hans - 1) * 50).toBeLessThan(VALUES_PER_BATCH / (3 * 28 * 28));
    // 3×224×224: 56 images → 4 samples of 16 steps, exactly 4 runs of 16.
    expect(samplesPerBatch(16, 16, 3 * 224 * 224)).toBe(4);
    // Huge samples: at least one run of `rows` images, and a padded run is avoided (101 → 2 samples, 13 runs of 16).
    expect(samplesPerBatch(16, 101, 1e8)).toBe(2);
    expect(samplesPerBatch(64, 50, 1e8)).toBe(5); // 250 images → 4 runs of 64 (256)
    for (const [rows, width, values] of [
      [7, 5, 1e6],
      [64, 101, 3000],
      [1, 9, 10],
      [1000, 3, 1e9],
    ]) {
      const n = samplesPerBatch(rows!, width!, values!);
      const images = n * width!;
      expect(images).toBeGreaterThanOrEqual(Math.min(rows!, VALUES_PER_BATCH / values!));
      expect(Math.ceil(images / rows!) * rows! - images).toBeLessThanOrEqual(0.05 * images);
    }
  });

  it('blur kernels are normalised Gaussians of radius ⌈3σ⌉; plot ticks are round', () => {
    const k = gaussianKernel(2);
    expect(k.length).toBe(13);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(k[6]).toBeGreaterThan(k[5]!);
    expect(ticks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(ticks(-0.3, 0.9)).toEqual([-0.25, 0, 0.25, 0.5, 0.75]);
  });
});
