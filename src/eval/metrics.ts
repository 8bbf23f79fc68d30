/**
 * Scores of perturbation curves and their dataset-wide summaries. A curve holds the target logit
 * f(x_k) after k = 0..K steps (k = 0: the unperturbed sample).
 *
 * - AOPC = 1/(K+1) · Σ_{k=0..K} (f(x₀) − f(x_k))   (Samek et al. 2017, eq. 12, one sample)
 * - AUC  = area under k/K ↦ f(x_k)/f(x₀) by the trapezoidal rule: 1/K · Σ_{k=1..K} (f(x_{k−1}) + f(x_k)) / (2 f(x₀))
 */

/** AOPC and normalised AUC of every curve of `curves` ([rows, K+1], row-major). */
export function curveScores(curves: Float32Array, width: number): { aopc: Float32Array; auc: Float32Array } {
  const rows = curves.length / width;
  const aopc = new Float32Array(rows);
  const auc = new Float32Array(rows);
  const steps = width - 1;
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    const f0 = curves[o]!;
    let drop = 0;
    let area = 0;
    for (let k = 0; k < width; k++) {
      drop += f0 - curves[o + k]!;
      if (k > 0) area += (curves[o + k - 1]! + curves[o + k]!) / 2;
    }
    aopc[r] = drop / width;
    auc[r] = steps > 0 ? area / (steps * f0) : 1;
  }
  return { aopc, auc };
}

export interface MeanSe {
  mean: number;
  /** Standard error of the mean: sample standard deviation / √n (0 for one value). */
  se: number;
  n: number;
}

/** Mean and standard error of the finite values of `values` (optionally only where `keep`). */
export function meanSe(values: ArrayLike<number>, keep?: (i: number) => boolean): MeanSe {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v) && (!keep || keep(i))) {
      n++;
      sum += v;
    }
  }
  const mean = n > 0 ? sum / n : Number.NaN;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v) && (!keep || keep(i))) squares += (v - mean) ** 2;
  }
  const se = n > 1 ? Math.sqrt(squares / (n - 1)) / Math.sqrt(n) : 0;
  return { mean, se, n };
}

/** Mean curve and its standard error at every step ([K+1] each). */
export function meanCurve(curves: Float32Array, width: number): { mean: Float64Array; se: Float64Array } {
  const rows = curves.length / width;
  const mean = new Float64Array(width);
  const se = new Float64Array(width);
  for (let k = 0; k < width; k++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += curves[r * width + k]!;
    const m = sum / Math.max(1, rows);
    let sq = 0;
    for (let r = 0; r < rows; r++) sq += (curves[r * width + k]! - m) ** 2;
    mean[k] = m;
    se[k] = rows > 1 ? Math.sqrt(sq / (rows - 1)) / Math.sqrt(rows) : 0;
  }
  return { mean, se };
}

/** One method's row of the summary. */
export interface MethodSummary {
  name: string;
  order: string;
  aopc: MeanSe;
  auc: MeanSe;
  /** Per target class (with --per-class), keyed by class index. */
  perClass?: Record<string, { aopc: MeanSe; auc: MeanSe }>;
}

export function summarize(name: string, order: string, scores: { aopc: Float32Array; auc: Float32Array }, classes?: Int32Array): MethodSummary {
  const summary: MethodSummary = { name, order, aopc: meanSe(scores.aopc), auc: meanSe(scores.auc) };
  if (classes) {
    summary.perClass = {};
    for (const c of [...new Set(classes)].sort((a, b) => a - b)) {
      const keep = (i: number): boolean => classes[i] === c;
      summary.perClass[String(c)] = { aopc: meanSe(scores.aopc, keep), auc: meanSe(scores.auc, keep) };
    }
  }
  return summary;
}

/**
 * Methods best first: for MoRF and random order a higher AOPC means the ranking found what the model
 * needs sooner; for LeRF a lower one is better (removing the least relevant patches should change little).
 */
export function rankMethods(methods: MethodSummary[]): MethodSummary[] {
  return [...methods].sort((a, b) => {
    const sign = a.order === 'lerf' && b.order === 'lerf' ? 1 : -1;
    return sign * (a.aopc.mean - b.aopc.mean);
  });
}

const fmt = (v: number, digits = 4): string => (Number.isFinite(v) ? v.toFixed(digits) : 'nan');

/** The ranked table as text (one line per method; per-class lines indented below with --per-class). */
export function formatTable(methods: MethodSummary[], labelName: (c: number) => string = String): string {
  const ranked = rankMethods(methods);
  const nameWidth = Math.max(
    6,
    ...ranked.map((m) => m.name.length),
    ...ranked.flatMap((m) => Object.keys(m.perClass ?? {}).map((c) => labelName(Number(c)).length + 2)),
  );
  const head =
    `${'rank'.padEnd(4)}  ${'method'.padEnd(nameWidth)}  ${'order'.padEnd(6)}  ${'n'.padStart(6)}  ${'AOPC ± SE'.padStart(19)}  ` +
    `${'AUC ± SE'.padStart(17)}`;
  const lines = [head, '-'.repeat(head.length)];
  const cell = (s: MeanSe, width: number): string => `${fmt(s.mean)} ± ${fmt(s.se)}`.padStart(width);
  ranked.forEach((m, i) => {
    lines.push(
      `${String(i + 1).padEnd(4)}  ${m.name.padEnd(nameWidth)}  ${m.order.padEnd(6)}  ${String(m.aopc.n).padStart(6)}  ${cell(m.aopc, 19)}  ${cell(m.auc, 17)}`,
    );
    for (const [c, s] of Object.entries(m.perClass ?? {})) {
      lines.push(
        `${''.padEnd(4)}  ${`  ${labelName(Number(c))}`.padEnd(nameWidth)}  ${''.padEnd(6)}  ${String(s.aopc.n).padStart(6)}  ` +
          `${cell(s.aopc, 19)}  ${cell(s.auc, 17)}`,
      );
    }
  });
  return lines.join('\n');
}
