/**
 * The two ONNX graphs of region perturbation (Samek et al. 2017). JavaScript only decides which
 * (sample, step) pairs go into a run; every per-pixel operation — summing relevance per patch, sorting
 * the patches, building the masks, blending in the baseline — runs inside onnxruntime.
 *
 * - The ranking graph (once per batch of samples): patch scores = relevance summed over channels and
 *   P×P patches, mixed with per-patch noise (`score·w_rel + noise·w_noise`: MoRF w_rel = 1, LeRF
 *   w_rel = −1, random w_rel = 0, w_noise = 1), sorted by TopK; it outputs each patch's rank and the
 *   baseline image each sample is perturbed towards.
 * - The perturbation graph (the model with a prefix and a suffix, compiled for exactly G rows): row r
 *   takes sample `row_sample[r]`, replaces every patch whose rank is below `row_threshold[r]` by the
 *   baseline and runs the model; the suffix picks the logit of `row_target[r]`.
 */
import { attr, GraphBuilder, emptyGraph, modelOf } from '../onnx/builder.js';
import { cloneModel, defaultOpset } from '../onnx/graph.js';
import type { Model } from '../onnx/ir.js';
import { UserError } from '../errors.js';
import { mulberry32 } from '../util/mulberry32.js';

export const BASELINES = ['zero', 'mean', 'blur', 'uniform'] as const;
export type Baseline = (typeof BASELINES)[number];

/** How an image of C×H×W splits into P×P patches (the last row/column of patches may be cut off). */
export interface PatchGrid {
  channels: number;
  height: number;
  width: number;
  patch: number;
  rows: number;
  columns: number;
  /** rows · columns */
  count: number;
}

export function patchGrid(sampleShape: readonly number[], patch: number): PatchGrid {
  if (sampleShape.length !== 3) throw new UserError('--model', `region perturbation needs image samples (C, H, W), got (${sampleShape.join(', ')})`);
  const [channels, height, width] = sampleShape as [number, number, number];
  if (!Number.isInteger(patch) || patch < 1) throw new UserError('--patch', `must be a positive integer, got ${patch}`);
  if (patch > Math.max(height, width)) throw new UserError('--patch', `${patch} is larger than the ${height}×${width} image`);
  const rows = Math.ceil(height / patch);
  const columns = Math.ceil(width / patch);
  return { channels, height, width, patch, rows, columns, count: rows * columns };
}

export const RANK_INPUTS = { relevance: 'relevance', sample: 'sample', relWeight: 'rel_weight', noise: 'patch_noise', noiseWeight: 'noise_weight' } as const;
export const RANK_OUTPUTS = { rank: 'patch_rank', baseline: 'baseline' } as const;
export const PERTURB_INPUTS = {
  sample: 'eval_sample',
  baseline: 'eval_baseline',
  rank: 'eval_rank',
  rowSample: 'eval_row_sample',
  rowThreshold: 'eval_row_threshold',
  rowTarget: 'eval_row_target',
} as const;
export const TARGET_LOGIT = 'eval_target_logit';

const RANK_OPSET = 13;

/** 1-D Gaussian weights of standard deviation `sigma`, radius ⌈3σ⌉, summing to 1. */
export function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const w = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = w.reduce((a, b) => a + b, 0);
  return Float32Array.from(w, (v) => v / sum);
}

/** The fixed uniform field in [0, 1) of the `uniform` baseline: C·H·W numbers drawn once from `seed`. */
export function uniformField(grid: PatchGrid, seed: number): Float32Array {
  const next = mulberry32(seed ^ 0x5eed);
  return Float32Array.from({ length: grid.channels * grid.height * grid.width }, next);
}

export interface RankingGraphOptions {
  baseline: Baseline;
  /** Standard deviation of the `blur` baseline, in pixels. */
  blurSigma: number;
  seed: number;
}

function baselineNodes(b: GraphBuilder, grid: PatchGrid, options: RankingGraphOptions): void {
  const { channels: C, height: H, width: W } = grid;
  const x = RANK_INPUTS.sample;
  const out = { outputs: [RANK_OUTPUTS.baseline] };
  const [shape] = b.addNode('Shape', [x]);
  switch (options.baseline) {
    case 'zero':
      b.addNode('ConstantOfShape', [shape!], { value: attr.tensor({ name: 'zero', dataType: 'float32', dims: [1], data: new Float32Array(1) }) }, 1, out);
      return;
    case 'mean': {
      // Each channel of each sample replaced by its mean over the image.
      const [mean] = b.addNode('ReduceMean', [x], { axes: attr.ints([2, 3]), keepdims: attr.int(1) });
      b.addNode('Expand', [mean!, shape!], {}, 1, out);
      return;
    }
    case 'blur': {
      // Separable Gaussian blur per channel (depthwise convolutions), edges replicated.
      const k = gaussianKernel(options.blurSigma);
      const r = (k.length - 1) / 2;
      const [padded] = b.addNode('Pad', [x, b.constantInt64([0, 0, r, r, 0, 0, r, r])], { mode: attr.string('edge') });
      const rowsW = b.constant(Array.from({ length: C }, () => Array.from(k)).flat(), [C, 1, k.length, 1]);
      const colsW = b.constant(Array.from({ length: C }, () => Array.from(k)).flat(), [C, 1, 1, k.length]);
      const [vertical] = b.addNode('Conv', [padded!, rowsW], { group: attr.int(C) });
      b.addNode('Conv', [vertical!, colsW], { group: attr.int(C) }, 1, out);
      return;
    }
    case 'uniform': {
      // Uniform noise over each sample's value range: lo + (hi − lo)·U, one seeded field U for all.
      const lo = b.addNode('ReduceMin', [x], { axes: attr.ints([1, 2, 3]), keepdims: attr.int(1) })[0]!;
      const hi = b.addNode('ReduceMax', [x], { axes: attr.ints([1, 2, 3]), keepdims: attr.int(1) })[0]!;
      const [range] = b.addNode('Sub', [hi, lo]);
      const [scaled] = b.addNode('Mul', [range!, b.constant(uniformField(grid, options.seed), [1, C, H, W], 'uniform_field')]);
      b.addNode('Add', [lo, scaled!], {}, 1, out);
      return;
    }
  }
}

/** The ranking graph: relevance → each patch's rank (0 = removed first) and the baseline images. */
export function buildRankingGraph(grid: PatchGrid, options: RankingGraphOptions): Model {
  const { channels: C, height: H, width: W, patch: P, rows, columns, count: N } = grid;
  const b = new GraphBuilder(emptyGraph('region_ranking'));
  b.addInput(RANK_INPUTS.relevance, 'float32', ['n', C, H, W]);
  b.addInput(RANK_INPUTS.sample, 'float32', ['n', C, H, W]);
  b.addInput(RANK_INPUTS.relWeight, 'float32', ['n', 1]);
  b.addInput(RANK_INPUTS.noise, 'float32', ['n', N]);
  b.addInput(RANK_INPUTS.noiseWeight, 'float32', ['n', 1]);

  // Patch sums: one all-ones P×P convolution over every channel, stride P (zero padding at the far edges).
  let relevance: string = RANK_INPUTS.relevance;
  const padH = rows * P - H;
  const padW = columns * P - W;
  if (padH > 0 || padW > 0) {
    [relevance] = b.addNode('Pad', [relevance, b.constantInt64([0, 0, 0, 0, 0, 0, padH, padW])], { mode: attr.string('constant') }) as [string];
  }
  const ones = b.constant(new Float32Array(C * P * P).fill(1), [1, C, P, P], 'patch_sum');
  const [sums] = b.addNode('Conv', [relevance, ones], { strides: attr.ints([P, P]) });
  const [flat] = b.addNode('Reshape', [sums!, b.constantInt64([-1, N])]);
  const [relPart] = b.addNode('Mul', [flat!, RANK_INPUTS.relWeight]);
  const [noisePart] = b.addNode('Mul', [RANK_INPUTS.noise, RANK_INPUTS.noiseWeight]);
  const [score] = b.addNode('Add', [relPart!, noisePart!]);
  // TopK sorts descending; equal scores keep the lower patch index first.
  const [, order] = b.addNode('TopK', [score!, b.constantInt64([N])], { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(1) }, 2);
  const [shape] = b.addNode('Shape', [score!]);
  const [zeros] = b.addNode('ConstantOfShape', [shape!], { value: attr.tensor({ name: 'zero', dataType: 'float32', dims: [1], data: new Float32Array(1) }) });
  const [positions] = b.addNode('Expand', [
    b.constant(
      Float32Array.from({ length: N }, (_, i) => i),
      [1, N],
      'rank_position',
    ),
    shape!,
  ]);
  b.addNode('ScatterElements', [zeros!, order!, positions!], { axis: attr.int(1) }, 1, { outputs: [RANK_OUTPUTS.rank] });
  baselineNodes(b, grid, options);
  b.addOutput(RANK_OUTPUTS.rank, 'float32', ['n', N]);
  b.addOutput(RANK_OUTPUTS.baseline, 'float32', ['n', C, H, W]);
  return modelOf(b.graph, RANK_OPSET);
}

/**
 * The model behind a perturbation prefix, for exactly `rows` rows per run; its only output is the
 * target logit of every row, [rows, 1]. With the zero baseline (`baselineKind` 'zero') the graph has
 * no baseline input: a removed pixel is the sample times 0.
 */
export function buildPerturbationModel(model: Model, grid: PatchGrid, rows: number, source?: string, baselineKind?: Baseline): Model {
  const m = cloneModel(model);
  const g = m.graph;
  const input = g.inputs[0];
  const output = g.outputs[0];
  if (!input || !output) throw new UserError(source, 'the model has no input or no output');
  if (g.inputs.length !== 1) throw new UserError(source, 'evaluation needs a model with exactly one input');
  const batchDim = input.shape?.[0];
  if (typeof batchDim === 'number' && batchDim !== rows) {
    throw new UserError(source, `the model's batch axis is fixed at ${batchDim}; export it with a dynamic batch axis or use --batch-size ${batchDim}`);
  }
  if (defaultOpset(m) < 11) throw new UserError(source, 'evaluation needs opset 11 or newer');
  const { channels: C, height: H, width: W, patch: P, rows: R, columns: Q, count: N } = grid;
  // Recorded intermediate shapes carry the exported batch size; onnxruntime infers them anew.
  g.valueInfo = new Map();
  const b = new GraphBuilder(g);
  const body = g.nodes;
  g.nodes = [];
  g.inputs = g.inputs.filter((i) => i.name !== input.name);
  const zero = baselineKind === 'zero';
  b.addInput(PERTURB_INPUTS.sample, 'float32', ['n', C, H, W]);
  if (!zero) b.addInput(PERTURB_INPUTS.baseline, 'float32', ['n', C, H, W]);
  b.addInput(PERTURB_INPUTS.rank, 'float32', ['n', N]);
  b.addInput(PERTURB_INPUTS.rowSample, 'int64', [rows]);
  b.addInput(PERTURB_INPUTS.rowThreshold, 'float32', [rows, 1]);
  b.addInput(PERTURB_INPUTS.rowTarget, 'int64', [rows, 1]);

  const gather = (name: string): string => b.addNode('Gather', [name, PERTURB_INPUTS.rowSample], { axis: attr.int(0) })[0]!;
  const x = gather(PERTURB_INPUTS.sample);
  const rank = gather(PERTURB_INPUTS.rank);
  const [removedFlags] = b.addNode('Less', [rank, PERTURB_INPUTS.rowThreshold]);
  const [removedPatches] = b.addNode('Cast', [removedFlags!], { to: attr.int(1) });
  // [rows, N] 0/1 patch flags → [rows, 1, H, W] pixel flags by two one-hot products, rows (H×R) ·
  // flags (R×Q) · columns (Q×W): each pixel's sum has a single non-zero term, so the flags stay exactly
  // 0 and 1 (and patches cut off at the far edges simply have fewer pixels).
  const rowOfPixel = Float32Array.from({ length: H * R }, (_, i) => (Math.floor(Math.floor(i / R) / P) === i % R ? 1 : 0));
  const columnOfPixel = Float32Array.from({ length: Q * W }, (_, i) => (Math.floor((i % W) / P) === Math.floor(i / W) ? 1 : 0));
  const [patchGrid2d] = b.addNode('Reshape', [removedPatches!, b.constantInt64([rows, 1, R, Q])]);
  const [removedColumns] = b.addNode('MatMul', [patchGrid2d!, b.constant(columnOfPixel, [Q, W], 'pixel_column_patch')]);
  const [removed] = b.addNode('MatMul', [b.constant(rowOfPixel, [H, R], 'pixel_row_patch'), removedColumns!]);
  const [kept] = b.addNode('Sub', [b.constant([1], [1], 'one'), removed!]);
  // x·kept + baseline·removed, broadcast over channels: with flags of exactly 0 and 1 this is x or the
  // baseline bit for bit (up to the sign of a zero), and these plain Mul/Add passes cost onnxruntime
  // a fraction of Where (which makes several passes) and of expanding the mask over channels.
  if (zero) {
    b.addNode('Mul', [x, kept!], {}, 1, { outputs: [input.name] });
  } else {
    const [xKept] = b.addNode('Mul', [x, kept!]);
    const [baselineRemoved] = b.addNode('Mul', [gather(PERTURB_INPUTS.baseline), removed!]);
    b.addNode('Add', [xKept!, baselineRemoved!], {}, 1, { outputs: [input.name] });
  }
  g.nodes.push(...body);
  b.addNode('GatherElements', [output.name, PERTURB_INPUTS.rowTarget], { axis: attr.int(1) }, 1, { outputs: [TARGET_LOGIT] });
  g.outputs = [{ name: TARGET_LOGIT, dataType: 'float32', shape: [rows, 1] }];
  return m;
}
