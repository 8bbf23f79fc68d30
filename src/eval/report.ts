/**
 * What `evaluate` shows of an evaluation file: the perturbation-curve chart and the JSON document.
 */
import { resolve } from 'node:path';
import type { EvaluationFile, StoredCascade } from '../io/evaluation.js';
import { meanCurve, rankMethods, type MethodSummary } from './metrics.js';
import type { Chart } from './plot.js';

/** Mean curve ± SE of every group, best method first, the random order as the dashed baseline. */
export function curvesChart(file: EvaluationFile, summaries: MethodSummary[]): Chart {
  const ranked = rankMethods(summaries);
  const perStep = Number(file.attrs.per_step ?? 1);
  const patch = file.attrs.patch ?? '?';
  const series = ranked.map((s) => {
    const group = file.groups.find((g) => g.name === s.name)!;
    const width = group.steps + 1;
    const { mean, se } = meanCurve(group.curve, width);
    return {
      name: `${s.name} (${s.order}) AOPC ${s.aopc.mean.toFixed(3)} ± ${s.aopc.se.toFixed(3)}`,
      x: Array.from({ length: width }, (_, k) => k * perStep),
      y: mean,
      band: se,
      baseline: s.order === 'random',
    };
  });
  return {
    title: `Region perturbation (${String(file.attrs.baseline ?? '?')} baseline, ${patch}×${patch} patches)`,
    xLabel: 'patches replaced',
    yLabel: 'target logit (mean ± SE)',
    series,
  };
}

/** Mean similarity with the original heatmap per randomisation depth: Spearman ρ solid, SSIM dashed. */
export function cascadeChart(cascade: StoredCascade): Chart {
  const x = Array.from({ length: cascade.layers.length + 1 }, (_, d) => d);
  return {
    title: `Cascading randomisation (${cascade.samples} samples)`,
    xLabel: 'layers randomised from the top',
    yLabel: 'similarity with the original heatmap',
    series: cascade.methods.flatMap((m) => [
      { name: `${m.name} Spearman ρ${m.flagged ? ' (FLAGGED)' : ''}`, x, y: [1, ...m.meanSpearman] },
      { name: `${m.name} SSIM`, x, y: [1, ...m.meanSsim], companion: true },
    ]),
  };
}

/** The summaries and settings as one JSON-able document (what --json prints). */
export function reportDocument(file: EvaluationFile, summaries: MethodSummary[]): unknown {
  return {
    // Absolute, as in every command's --json (src/cli-output.ts).
    output: resolve(file.path),
    settings: file.attrs,
    methods: rankMethods(summaries).map((s, i) => ({ rank: i + 1, ...s })),
    cascade: file.cascade
      ? {
          layers: file.cascade.layers,
          samples: file.cascade.samples,
          threshold: file.cascade.threshold,
          methods: file.cascade.methods.map((m) => ({ name: m.name, flagged: m.flagged, spearman: m.meanSpearman, ssim: m.meanSsim })),
        }
      : undefined,
  };
}
