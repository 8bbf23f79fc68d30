/**
 * Cascading model-parameter randomisation (Adebayo et al. 2018, "Sanity checks for saliency maps"):
 * the weights of the top 1, 2, …, L layers (counted from the output) are replaced by seeded random
 * values and a few samples are attributed again with the same method, through the same attributor
 * compiler as `attribute` (the randomised model is just a model with other initializers). A method
 * whose heatmaps barely change while the model is destroyed explains the input, not the model.
 *
 * Similarity of each randomised heatmap with the original one (both summed over channels):
 * Spearman rank correlation of the pixel values, and SSIM (7×7 windows) of the maps min-max scaled to [0, 1].
 */
import { compileAttributor } from '../lrp/engine.js';
import type { MethodOptions } from '../lrp/attributors.js';
import type { RuleSpec } from '../lrp/composites.js';
import { cloneModel, topologicalSort } from '../onnx/graph.js';
import type { Model, Tensor } from '../onnx/ir.js';
import type { Device } from '../onnx/ort.js';
import { mulberry32 } from '../util/mulberry32.js';
import type { Progress } from '../util/progress.js';

/** Ops whose weight initializers are randomised (one "layer" each). */
const WEIGHT_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

export interface WeightLayer {
  node: string;
  /** Float initializers the node reads (weight, bias). */
  initializers: string[];
}

/** Layers with weights, from the output backwards (index 0 = the top layer). */
export function weightLayers(model: Model): WeightLayer[] {
  const g = model.graph;
  const layers: WeightLayer[] = [];
  for (const node of topologicalSort(g)) {
    if (!WEIGHT_OPS.has(node.opType)) continue;
    const initializers = node.inputs.filter((name) => g.initializers.get(name)?.dataType === 'float32');
    if (initializers.length > 0) layers.push({ node: node.name, initializers });
  }
  return layers.reverse();
}

/** Standard normal numbers from a seeded generator (Box–Muller). */
function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/**
 * A copy of `model` whose top `depth` layers have fresh weights: normal with the original tensor's
 * standard deviation (so activations keep their scale), seeded per layer. Other tensors are shared.
 */
export function randomizeTop(model: Model, layers: WeightLayer[], depth: number, seed: number): Model {
  const m = cloneModel(model);
  layers.slice(0, depth).forEach((layer, l) => {
    layer.initializers.forEach((name, t) => {
      const original = m.graph.initializers.get(name)!;
      const values = original.data as Float32Array;
      let sum = 0;
      for (const v of values) sum += v;
      const mean = sum / values.length;
      let sq = 0;
      for (const v of values) sq += (v - mean) ** 2;
      const std = Math.sqrt(sq / Math.max(1, values.length)) || 0.01;
      const normal = gaussian(mulberry32(Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(l * 16 + t + 1, 0x85ebca77)));
      const fresh: Tensor = { ...original, data: Float32Array.from({ length: values.length }, () => normal() * std) };
      m.graph.initializers.set(name, fresh);
    });
  });
  return m;
}

/** Spearman rank correlation (average ranks for ties). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const out = new Float64Array(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2;
    for (let k = i; k <= j; k++) out[order[k]!] = rank;
    i = j + 1;
  }
  return out;
}

function pearson(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0,
    mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma,
      db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : saa === sbb ? 1 : 0;
}

function minMax(map: Float64Array): Float64Array {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of map) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return map.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
}

/** Mean SSIM over all 7×7 windows (uniform weights, data range 1) of two H×W maps. */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number): number {
  const x = minMax(Float64Array.from(a));
  const y = minMax(Float64Array.from(b));
  const win = Math.min(7, height, width);
  const c1 = 0.01 ** 2,
    c2 = 0.03 ** 2;
  let total = 0,
    count = 0;
  for (let r = 0; r + win <= height; r++) {
    for (let c = 0; c + win <= width; c++) {
      let sx = 0,
        sy = 0,
        sxx = 0,
        syy = 0,
        sxy = 0;
      for (let i = r; i < r + win; i++) {
        for (let j = c; j < c + win; j++) {
          const u = x[i * width + j]!,
            v = y[i * width + j]!;
          sx += u;
          sy += v;
          sxx += u * u;
          syy += v * v;
          sxy += u * v;
        }
      }
      const n = win * win;
      const mx = sx / n,
        my = sy / n;
      const vx = sxx / n - mx * mx,
        vy = syy / n - my * my,
        cov = sxy / n - mx * my;
      total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return count > 0 ? total / count : 1;
}

/** Sums [n, C, H, W] relevance over channels into n maps of H·W. */
function channelSums(relevance: Float32Array, n: number, shape: number[]): Float64Array[] {
  const [C = 1, H = 1, W = 1] = shape;
  return Array.from({ length: n }, (_, i) => {
    const map = new Float64Array(H * W);
    for (let c = 0; c < C; c++) {
      const plane = relevance.subarray((i * C + c) * H * W, (i * C + c + 1) * H * W);
      for (let p = 0; p < H * W; p++) map[p] += plane[p]!;
    }
    return map;
  });
}

export interface CascadeMethod {
  name: string;
  spec: RuleSpec | null;
  method: MethodOptions;
}

export interface CascadeOptions {
  /** [n, ...sampleShape] samples and their target classes. */
  x: Float32Array;
  targets: Int32Array;
  sampleShape: number[];
  batchSize: number;
  /** Deepest randomisation (default: every weight layer). */
  depth?: number;
  seed: number;
  canonize: boolean;
  threads?: number;
  device?: Device;
  source?: string;
  /** A method is flagged when its mean Spearman correlation at the deepest level is at least this. */
  threshold: number;
}

export interface CascadeMethodResult {
  name: string;
  /** [n, L]: similarity of sample i's heatmap at depth d+1 with its original. */
  spearman: Float32Array;
  ssim: Float32Array;
  /** Mean per depth (L values). */
  meanSpearman: number[];
  meanSsim: number[];
  flagged: boolean;
}

export interface CascadeResult {
  /** Names of the randomised layers, top first (depth d randomises the first d). */
  layers: string[];
  samples: number;
  threshold: number;
  methods: CascadeMethodResult[];
}

async function attribute(model: Model, m: CascadeMethod, options: CascadeOptions): Promise<Float32Array> {
  const n = options.targets.length;
  const size = options.sampleShape.reduce((a, b) => a * b, 1);
  const batchSize = Math.max(1, Math.min(options.batchSize, n));
  const attributor = await compileAttributor(model, {
    batchSize,
    sampleShape: options.sampleShape,
    spec: m.spec,
    method: m.method,
    canonize: options.canonize,
    threads: options.threads,
    device: options.device,
    source: options.source,
  });
  try {
    const out = new Float32Array(n * size);
    for (let s = 0; s < n; s += batchSize) {
      const e = Math.min(n, s + batchSize);
      const { relevance } = await attributor.run(options.x.subarray(s * size, e * size), options.targets.subarray(s, e));
      out.set(relevance, s * size);
    }
    return out;
  } finally {
    await attributor.close();
  }
}

export async function runCascade(model: Model, methods: CascadeMethod[], options: CascadeOptions, progress: Progress): Promise<CascadeResult> {
  const layers = weightLayers(model);
  const depth = Math.min(options.depth ?? layers.length, layers.length);
  const n = options.targets.length;
  const [, H = 1, W = 1] = options.sampleShape;
  progress.start('randomize', (depth + 1) * methods.length, 'attributions');
  const results: CascadeMethodResult[] = methods.map((m) => ({
    name: m.name,
    spearman: new Float32Array(n * depth),
    ssim: new Float32Array(n * depth),
    meanSpearman: [],
    meanSsim: [],
    flagged: false,
  }));
  const originals: Float64Array[][] = [];
  for (let d = 0; d <= depth; d++) {
    const randomized = d === 0 ? model : randomizeTop(model, layers, d, options.seed);
    for (const [k, m] of methods.entries()) {
      const maps = channelSums(await attribute(randomized, m, options), n, options.sampleShape);
      if (d === 0) originals[k] = maps;
      else {
        const r = results[k]!;
        let s1 = 0,
          s2 = 0;
        maps.forEach((map, i) => {
          const rho = spearman(originals[k]![i]!, map);
          const q = ssim(originals[k]![i]!, map, H, W);
          r.spearman[i * depth + d - 1] = rho;
          r.ssim[i * depth + d - 1] = q;
          s1 += rho;
          s2 += q;
        });
        r.meanSpearman.push(s1 / n);
        r.meanSsim.push(s2 / n);
      }
      progress.advance(1);
    }
  }
  progress.finish();
  for (const r of results) r.flagged = depth > 0 && r.meanSpearman[depth - 1]! >= options.threshold;
  return { layers: layers.slice(0, depth).map((l) => l.node), samples: n, threshold: options.threshold, methods: results };
}

/** The cascade as a table: one row per depth, Spearman and SSIM per method; flagged methods marked. */
export function formatCascade(result: Pick<CascadeResult, 'layers' | 'samples' | 'threshold' | 'methods'>): string {
  const head = ['depth', 'layer', ...result.methods.flatMap((m) => [`${m.name} ρ`, `${m.name} SSIM`])];
  const rows = result.layers.map((layer, d) => [
    String(d + 1),
    layer,
    ...result.methods.flatMap((m) => [m.meanSpearman[d]!.toFixed(3), m.meanSsim[d]!.toFixed(3)]),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [`cascading randomisation (${result.samples} samples; Spearman ρ and SSIM with the original heatmap)`, line(head), ...rows.map(line)];
  for (const m of result.methods) {
    if (m.flagged)
      out.push(
        `FLAGGED: ${m.name}: its heatmaps hardly change with every weight layer randomised (mean ρ ` +
          `${m.meanSpearman[m.meanSpearman.length - 1]!.toFixed(3)} ≥ ${result.threshold})`,
      );
  }
  return out.join('\n');
}
