/**
 * Region perturbation at the speed of inference: compile the ranking graph and the perturbation
 * graph once, then turn batches of (sample, relevance, order, target) into perturbation curves.
 *
 *   const evaluator = await compileEvaluator(model, { sampleShape: [3, 28, 28], patch: 4, steps: 20, perStep: 2, rows: 64, baseline: 'zero' });
 *   const curves = await evaluator.run({ x, relevance, orders, keys, targets });   // [n, steps + 1]
 *
 * A batch of n samples becomes n·(K+1) perturbed images, packed into runs of exactly `rows` images
 * (the last run padded); the model never sees one image at a time.
 */
import * as ort from 'onnxruntime-node';
import { InterruptedError } from '../errors.js';
import { encodeModel } from '../onnx/codec.js';
import { createSession, type Device } from '../onnx/ort.js';
import type { Model } from '../onnx/ir.js';
import { mulberry32 } from '../util/mulberry32.js';
import {
  buildPerturbationModel,
  buildRankingGraph,
  patchGrid,
  PERTURB_INPUTS,
  RANK_INPUTS,
  RANK_OUTPUTS,
  TARGET_LOGIT,
  type Baseline,
  type PatchGrid,
} from './graphs.js';

export { ORDERS, type Order } from './orders.js';
import type { Order } from './orders.js';

export interface EvaluatorOptions {
  /** [C, H, W] of one sample. */
  sampleShape: number[];
  patch: number;
  /** K: perturbation steps after the unperturbed one. */
  steps: number;
  /** Patches replaced per step. */
  perStep: number;
  baseline: Baseline;
  /** σ of the blur baseline in pixels (default: patch / 2). */
  blurSigma?: number;
  /** Seeds the random order and the uniform baseline. */
  seed?: number;
  /** Perturbed images per onnxruntime run (the model's batch). */
  rows: number;
  threads?: number;
  /** onnxruntime execution provider (default cpu). */
  device?: Device;
  /** Names the model in error messages. */
  source?: string;
  /** Stops between runs when aborted. */
  signal?: AbortSignal;
}

export interface EvaluationBatch {
  /** [n, C, H, W] model inputs. */
  x: Float32Array;
  /** [n, C, H, W] relevance (ignored for rows in random order). */
  relevance: Float32Array;
  orders: readonly Order[];
  /** Seeds each row's random order (the dataset index): the same sample gets the same order wherever it runs. */
  keys: ArrayLike<number>;
  /** The class whose logit is recorded, per row. */
  targets: ArrayLike<number>;
}

export interface Evaluator {
  readonly grid: PatchGrid;
  readonly steps: number;
  readonly perStep: number;
  /** Target logit after each step, [n, steps + 1] (step 0: the unperturbed sample). */
  run(batch: EvaluationBatch): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Step thresholds: after step k, every patch whose rank is below k·perStep is replaced. */
export function stepThresholds(steps: number, perStep: number): Float32Array {
  return Float32Array.from({ length: steps + 1 }, (_, k) => k * perStep);
}

/** The random patch scores of one sample: seeded by (seed, key), so sharding and batching never change them. */
export function randomPatchScores(seed: number, key: number, count: number, out: Float32Array, offset = 0): void {
  const next = mulberry32(Math.imul(seed + 0x632be5ab, 0x9e3779b1) ^ Math.imul(key + 1, 0x85ebca77));
  for (let p = 0; p < count; p++) out[offset + p] = next();
}

/** The two encoded graphs an evaluator runs: what crosses to a worker thread (see remote-evaluator.ts). */
export interface EvaluatorGraphs {
  ranking: Uint8Array;
  perturbation: Uint8Array;
}

/** Builds and encodes the ranking and perturbation graphs for `model`. */
export function buildEvaluatorGraphs(model: Model, options: EvaluatorOptions): EvaluatorGraphs {
  const grid = patchGrid(options.sampleShape, options.patch);
  const ranking = buildRankingGraph(grid, { baseline: options.baseline, blurSigma: options.blurSigma ?? options.patch / 2, seed: options.seed ?? 0 });
  return {
    ranking: encodeModel(ranking),
    perturbation: encodeModel(buildPerturbationModel(model, grid, options.rows, options.source, options.baseline)),
  };
}

/** Compiles the evaluator on this thread (onnxruntime's runs then block it; the CLI runs it in a worker). */
export async function compileEvaluator(model: Model, options: EvaluatorOptions): Promise<Evaluator> {
  return openEvaluator(buildEvaluatorGraphs(model, options), options);
}

/** Opens sessions on graphs from `buildEvaluatorGraphs` (built with the same options). */
export async function openEvaluator(graphs: EvaluatorGraphs, options: EvaluatorOptions): Promise<Evaluator> {
  const grid = patchGrid(options.sampleShape, options.patch);
  const { steps, perStep, rows } = options;
  const seed = options.seed ?? 0;
  const ranking = await createSession(graphs.ranking, { threads: options.threads, device: options.device });
  const perturb = await createSession(graphs.perturbation, { threads: options.threads, device: options.device });
  const thresholds = stepThresholds(steps, perStep);
  const sampleSize = grid.channels * grid.height * grid.width;
  const N = grid.count;
  const width = steps + 1;

  return {
    grid,
    steps,
    perStep,
    async run(batch) {
      const n = batch.x.length / sampleSize;
      if (!Number.isInteger(n) || n < 1 || batch.relevance.length !== batch.x.length || batch.orders.length !== n) {
        throw new Error(`evaluation batch of ${batch.x.length} values is not ${batch.orders.length} samples of ${sampleSize}`);
      }
      const relWeight = new Float32Array(n);
      const noiseWeight = new Float32Array(n);
      const noise = new Float32Array(n * N);
      batch.orders.forEach((order, i) => {
        if (order === 'random') {
          noiseWeight[i] = 1;
          randomPatchScores(seed, batch.keys[i]!, N, noise, i * N);
        } else {
          relWeight[i] = order === 'morf' ? 1 : -1;
        }
      });
      const dims = [n, grid.channels, grid.height, grid.width];
      const x = new ort.Tensor('float32', batch.x, dims);
      const ranked = await ranking.run({
        [RANK_INPUTS.relevance]: new ort.Tensor('float32', batch.relevance, dims),
        [RANK_INPUTS.sample]: x,
        [RANK_INPUTS.relWeight]: new ort.Tensor('float32', relWeight, [n, 1]),
        [RANK_INPUTS.noise]: new ort.Tensor('float32', noise, [n, N]),
        [RANK_INPUTS.noiseWeight]: new ort.Tensor('float32', noiseWeight, [n, 1]),
      });
      const baseline = ranked[RANK_OUTPUTS.baseline]!.data as Float32Array;
      const rank = ranked[RANK_OUTPUTS.rank]!.data as Float32Array;
      // Each run gets only the samples its rows touch (views, no copies): onnxruntime binds every
      // input anew per run, and binding the whole batch each time cost more than the perturbation.
      const samplesOf = (first: number, end: number): Record<string, ort.Tensor> => {
        const count = end - first;
        const view = (data: Float32Array, size: number): Float32Array => data.subarray(first * size, end * size);
        return {
          [PERTURB_INPUTS.sample]: new ort.Tensor('float32', view(batch.x, sampleSize), [count, grid.channels, grid.height, grid.width]),
          [PERTURB_INPUTS.rank]: new ort.Tensor('float32', view(rank, N), [count, N]),
          // The zero baseline is built into the graph (a removed pixel is x·0).
          ...(options.baseline === 'zero'
            ? {}
            : { [PERTURB_INPUTS.baseline]: new ort.Tensor('float32', view(baseline, sampleSize), [count, grid.channels, grid.height, grid.width]) }),
        };
      };
      const total = n * width;
      const curves = new Float32Array(total);
      const rowSample = new BigInt64Array(rows);
      const rowThreshold = new Float32Array(rows);
      const rowTarget = new BigInt64Array(rows);
      for (let start = 0; start < total; start += rows) {
        if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new InterruptedError();
        const used = Math.min(rows, total - start);
        const first = Math.floor(start / width);
        const end = Math.floor((start + used - 1) / width) + 1;
        // Padding rows repeat the run's first row; their outputs are dropped.
        for (let r = 0; r < rows; r++) {
          const at = start + (r < used ? r : 0);
          const i = Math.floor(at / width);
          rowSample[r] = BigInt(i - first);
          rowThreshold[r] = thresholds[at % width]!;
          rowTarget[r] = BigInt(batch.targets[i]!);
        }
        const out = await perturb.run({
          ...samplesOf(first, end),
          [PERTURB_INPUTS.rowSample]: new ort.Tensor('int64', rowSample, [rows]),
          [PERTURB_INPUTS.rowThreshold]: new ort.Tensor('float32', rowThreshold, [rows, 1]),
          [PERTURB_INPUTS.rowTarget]: new ort.Tensor('int64', rowTarget, [rows, 1]),
        });
        curves.set((out[TARGET_LOGIT]!.data as Float32Array).subarray(0, used), start);
      }
      return curves;
    },
    async close() {
      await ranking.release();
      await perturb.release();
    },
  };
}
