/**
 * `evaluate` over whole attribution files. The dataset machinery is attribute's (src/run): the same
 * dataset readers and preprocessing, subset selection and sharding, the batch pipeline with its
 * prefetching, progress, Ctrl-C handling and resumable partial output. Evaluation plugs into that
 * loop as three parts: a source that reads each row's sample *and* its stored relevance, an
 * "attributor" that turns a batch into perturbation curves, and a sink that writes evaluation groups.
 *
 * Rows of every group (one per attribution file, then the random-order baseline) are numbered one
 * after another ("global rows"); the engine plans and resumes over those numbers.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { openAttributionReader, type AttributionReader } from '../io/attribution.js';
import { EvaluationWriter, readEvaluation, type EvaluationFile, type EvaluationGroupPlan } from '../io/evaluation.js';
import { readModel } from '../onnx/codec.js';
import { interruptSignal } from '../util/interrupt.js';
import { createProgress } from '../util/progress.js';
import { imageInput, openInput } from './attribute.js';
import { runAttribution, type RowSink, type SampleBatch, type SampleSource } from '../run/engine.js';
import { defaultZBoxBounds, parseModelPreprocess, parseRunConfig, type RunOptionValues } from '../run/options.js';
import { expandOutputPath, fingerprintOf, partialPathsFor, planOutput } from '../run/output.js';
import { shardSelection } from '../run/shard.js';
import { consecutiveRuns, sampleSource } from '../run/source.js';
import { selectSamples } from '../run/subset.js';
import { runCascade, type CascadeMethod, type CascadeResult } from '../eval/cascade.js';
import { buildEvaluatorGraphs, type EvaluatorOptions, type Order } from '../eval/evaluator.js';
import { startEvaluatorWorker } from '../eval/remote-evaluator.js';
import type { Baseline } from '../eval/graphs.js';
import { patchGrid } from '../eval/graphs.js';
import { curveScores, summarize, type MethodSummary } from '../eval/metrics.js';

export type EvaluationTarget = 'label' | 'prediction' | number;

/** The name of the random-order baseline group. */
export const RANDOM_GROUP = 'random';

export interface PerturbationSettings {
  patch: number;
  /** K; default: enough steps to replace every patch, at most 100. */
  steps?: number;
  perStep: number;
  order: Order;
  baseline: Baseline;
  blurSigma?: number;
  seed: number;
}

export interface EvaluationRequest extends PerturbationSettings {
  modelPath: string;
  datasetPath: string;
  /** Attribution files and the method names their groups get. */
  attributions: Array<{ name: string; path: string }>;
  output: string;
  /** Perturbed images per onnxruntime run. */
  batchSize: number;
  target: EvaluationTarget;
  /** Also evaluate the random order (on the first file's rows), the baseline of the table and plot. */
  randomBaseline: boolean;
  perClass: boolean;
  values: RunOptionValues;
  /** `--randomize cascade`: re-attribute the first `samples` rows of the first file with each method. */
  cascade?: CascadeRequest;
}

export interface CascadeRequest {
  samples: number;
  depth?: number;
  threshold: number;
  canonize: boolean;
  /** The attribution method behind a group (its name), given the default z-box bounds of the preprocessing. */
  methodOf: (name: string, zBox: { low: number[]; high: number[] } | undefined) => CascadeMethod;
}

export interface EvaluationResult {
  file: EvaluationFile;
  summaries: MethodSummary[];
  /** The sanity check, when this invocation ran it. */
  cascade?: CascadeResult;
  /** Perturbed forward passes this invocation ran, and how long the loop took. */
  forwardPasses: number;
  seconds: number;
}

/** One row of one group: which attribution row, which sample, which class. */
interface PlannedGroup {
  plan: EvaluationGroupPlan;
  order: Order;
  reader: AttributionReader;
  /** Attribution rows, dataset indices, targets and labels of the group's rows, in row order. */
  rows: Int32Array;
  indices: Int32Array;
  targets: Int32Array;
  labels: Int32Array;
  /** First global row of the group. */
  start: number;
}

/** Default K: every patch replaced by the last step, but at most 100 steps. */
export function defaultSteps(patches: number, perStep: number): number {
  return Math.min(100, Math.ceil(patches / perStep));
}

/**
 * Values (sample values × perturbed images) one loaded batch should hold. Each batch costs a fixed
 * amount besides inference — reading its samples and stored relevance, one ranking run, appending
 * its rows to the HDF5 file, the journal — all on the main thread that onnxruntime also runs on, so
 * small batches showed up directly in the wall time (5 samples per batch: 2.8× onnxruntime alone on
 * the Clever-Hans CNN). Inference cost grows with the image size, so the batch is sized by values:
 * ≈3 500 perturbed 3×28×28 images, ≈56 at 3×224×224 (resume and progress stay fine-grained).
 */
export const VALUES_PER_BATCH = 2 ** 23;

/**
 * Samples per loaded batch: the fewest whose n·(K+1) perturbed images hold at least
 * `VALUES_PER_BATCH` values (and at least one run of `rows` images), with at most 5 % of the last
 * run left as padding.
 */
export function samplesPerBatch(rows: number, width: number, sampleValues: number): number {
  const images = Math.max(rows, Math.ceil(VALUES_PER_BATCH / Math.max(1, sampleValues)));
  const first = Math.max(1, Math.ceil(images / width));
  // Some n below first + rows/gcd is a multiple of rows/gcd, i.e. fills its runs exactly.
  for (let n = first; ; n++) {
    const perturbed = n * width;
    if (Math.ceil(perturbed / rows) * rows - perturbed <= 0.05 * perturbed) return n;
  }
}

function targetsOf(reader: AttributionReader, target: EvaluationTarget, rows: Int32Array): Int32Array {
  if (typeof target === 'number') {
    if (target >= reader.numClasses) throw new UserError('--target', `class ${target} is outside the ${reader.numClasses} classes of ${reader.paths[0]}`);
    return new Int32Array(rows.length).fill(target);
  }
  if (target === 'label') {
    const labels = reader.labels();
    const out = Int32Array.from(rows, (r) => labels[r]!);
    const bad = out.findIndex((c) => c < 0 || c >= reader.numClasses);
    if (bad >= 0)
      throw new UserError(reader.paths[0], `row ${rows[bad]} has label ${out[bad]}, not one of the ${reader.numClasses} classes; use --target prediction`);
    return out;
  }
  // The class the stored prediction (the logits written by `attribute`) ranks first.
  const K = reader.numClasses;
  const out = new Int32Array(rows.length);
  let position = 0;
  for (const [start, end] of consecutiveRuns(Array.from(rows))) {
    const logits = reader.predictions(start, end);
    for (let r = 0; r < end - start; r++) {
      let best = 0;
      for (let c = 1; c < K; c++) if (logits[r * K + c]! > logits[r * K + best]!) best = c;
      out[position++] = best;
    }
  }
  return out;
}

function fileStamp(path: string): { path: string; size: number; modified: number } {
  const stat = statSync(path);
  return { path: resolve(path), size: stat.size, modified: stat.mtimeMs };
}

export async function runEvaluateJob(request: EvaluationRequest): Promise<EvaluationResult | undefined> {
  const config = parseRunConfig(request.values, request.datasetPath);
  if (config.skipBad) throw new UserError('--skip-bad', 'evaluate needs every sample its attribution files hold; it does not skip samples');
  if (request.attributions.length === 0) throw new UserError(undefined, 'give at least one attribution file to evaluate');
  const names = new Set<string>();
  for (const { name } of request.attributions) {
    if (names.has(name) || (request.randomBaseline && name === RANDOM_GROUP))
      throw new UserError(name, 'two evaluated groups have this name; name them with NAME=FILE');
    names.add(name);
  }
  const model = readModel(request.modelPath);
  const image = imageInput(model.graph.inputs[0]?.shape);
  if (!image) throw new UserError(request.modelPath, 'region perturbation needs an image model with input (N, C, H, W)');
  const preprocess = parseModelPreprocess(request.values, config.datasetType, image);
  const progress = await createProgress({ quiet: config.quiet });
  const input = await openInput(config, request.datasetPath, preprocess);
  const readers: AttributionReader[] = [];
  try {
    for (const a of request.attributions) readers.push(await openAttributionReader(a.path));
    const sampleShape = [...input.samples.sampleShape];
    const grid = patchGrid(sampleShape, request.patch);
    if (!Number.isInteger(request.perStep) || request.perStep < 1) throw new UserError('--per-step', `must be a positive integer, got ${request.perStep}`);
    const steps = request.steps ?? defaultSteps(grid.count, request.perStep);
    const width = steps + 1;
    for (const reader of readers) {
      const shape = reader.sampleShape;
      if (shape.length !== 3 || shape.some((d, i) => d !== sampleShape[i])) {
        throw new UserError(reader.paths[0], `attributions have shape (${shape.join(', ')}), the dataset's samples (${sampleShape.join(', ')})`);
      }
    }

    // Rows to evaluate: the attribution rows whose sample is selected, then this shard's part of them.
    const allLabels = config.subset.labels !== undefined ? await input.labels() : undefined;
    const chosen = new Uint8Array(input.count);
    for (const i of selectSamples(input.count, config.subset, () => allLabels!)) chosen[i] = 1;
    const groupsIn: Array<{ name: string; order: Order; reader: AttributionReader; source: string }> = request.attributions.map((a, i) => ({
      name: a.name,
      order: request.order,
      reader: readers[i]!,
      source: a.path,
    }));
    if (request.randomBaseline && request.order !== 'random') {
      groupsIn.push({ name: RANDOM_GROUP, order: 'random', reader: readers[0]!, source: request.attributions[0]!.path });
    }
    let start = 0;
    const groups: PlannedGroup[] = groupsIn.map((g) => {
      const indices = g.reader.indices();
      const positions: number[] = [];
      for (let r = 0; r < indices.length; r++) {
        const index = indices[r]!;
        if (index >= input.count) throw new UserError(g.source, `row ${r} holds sample ${index}, but the dataset has ${input.count} samples`);
        if (chosen[index]) positions.push(r);
      }
      const mine = config.shard ? shardSelection(positions, config.shard, config.shardBlock) : positions;
      const rows = Int32Array.from(mine);
      const labels = g.reader.labels();
      const planned: PlannedGroup = {
        plan: { name: g.name, rows: rows.length, attrs: { order: g.order, source: resolve(g.source) } },
        order: g.order,
        reader: g.reader,
        rows,
        indices: Int32Array.from(rows, (r) => indices[r]!),
        targets: targetsOf(g.reader, request.target, rows),
        labels: Int32Array.from(rows, (r) => labels[r]!),
        start,
      };
      start += rows.length;
      return planned;
    });
    const totalRows = start;
    if (totalRows === 0) throw new UserError(request.attributions[0]!.path, 'no attribution rows are left to evaluate after --indices/--labels/--shard');

    const output = expandOutputPath(request.output, config.shard);
    const paths = partialPathsFor(output);
    const settings = {
      patch: request.patch,
      steps,
      per_step: request.perStep,
      order: request.order,
      baseline: request.baseline,
      blur_sigma: request.blurSigma ?? request.patch / 2,
      seed: request.seed,
      target: String(request.target),
      batch_size: request.batchSize,
    };
    const fingerprint = fingerprintOf({
      format: 'evaluate/1',
      model: fileStamp(request.modelPath),
      dataset: { ...fileStamp(request.datasetPath), type: config.datasetType, labelRegex: config.labelRegex },
      preprocess: preprocess ?? null,
      groups: groups.map((g) => ({ ...g.plan, file: fileStamp(g.plan.attrs.source as string), rows: fingerprintOf(Array.from(g.rows)) })),
      settings,
      cascade: request.cascade ? { ...request.cascade, methods: request.attributions.map((a) => a.name) } : null,
    });
    const plan = planOutput(paths, { resume: config.resume, overwrite: config.overwrite, fingerprint });
    if (plan.action === 'done') {
      progress.log(`${output}: already complete; nothing to resume`);
      const file = await readEvaluation(output);
      return { file, summaries: summariesOf(file, request.perClass), forwardPasses: 0, seconds: 0 };
    }
    if (config.shard) progress.log(`shard ${config.shard.index}/${config.shard.count}: ${totalRows} rows`);

    // Built (and the model checked) before the sanity check, which can take long; run after it.
    const evaluatorOptions: EvaluatorOptions = {
      sampleShape,
      patch: request.patch,
      steps,
      perStep: request.perStep,
      baseline: request.baseline,
      blurSigma: request.blurSigma,
      seed: request.seed,
      rows: request.batchSize,
      threads: config.threads,
      device: config.device,
      source: request.modelPath,
      signal: interruptSignal,
    };
    const graphs = buildEvaluatorGraphs(model, evaluatorOptions);
    const groupOf = (row: number): PlannedGroup => groups.find((g) => row < g.start + g.rows.length)!;
    const extras = new WeakMap<SampleBatch, { relevance: Float32Array; orders: Order[]; keys: Int32Array; targets: Int32Array }>();
    const samples = sampleSource(input.samples, { preprocess, skipBad: false });
    const sampleSize = sampleShape.reduce((a, b) => a * b, 1);

    const source: SampleSource = {
      async load(globalRows) {
        const n = globalRows.length;
        const located = globalRows.map((row) => {
          const g = groupOf(row);
          return { g, at: row - g.start };
        });
        const datasetIndices = located.map(({ g, at }) => g.indices[at]!);
        // Each sample read once, in ascending order, then placed where its rows want it.
        const unique = [...new Set(datasetIndices)].sort((a, b) => a - b);
        const read = await samples.load(unique);
        const slot = new Map(unique.map((index, i) => [index, i]));
        const data = new Float32Array(n * sampleSize);
        const relevance = new Float32Array(n * sampleSize);
        const classes = new Int32Array(n);
        datasetIndices.forEach((index, i) => {
          const s = slot.get(index)!;
          data.set(read.data.subarray(s * sampleSize, (s + 1) * sampleSize), i * sampleSize);
          classes[i] = read.classes[s]!;
        });
        // Stored relevance, read in runs of consecutive attribution rows of the same file.
        for (let i = 0; i < n; ) {
          const { g } = located[i]!;
          let j = i;
          while (j + 1 < n && located[j + 1]!.g === g && g.rows[located[j + 1]!.at] === g.rows[located[j]!.at]! + 1) j++;
          if (g.order !== 'random') {
            const first = g.rows[located[i]!.at]!;
            relevance.set(g.reader.read(first, first + j - i + 1).attribution, i * sampleSize);
          }
          i = j + 1;
        }
        located.forEach(({ g, at }, i) => {
          if (g.reader.labelShape.length === 0 && input.samples.labelShape.length === 0 && g.labels[at] !== classes[i]) {
            throw new UserError(
              g.plan.attrs.source as string,
              `row ${g.rows[at]} holds sample ${g.indices[at]} with label ${g.labels[at]}, but that sample of ${request.datasetPath} has ` +
                `label ${classes[i]}; evaluate on the dataset the attributions were computed from`,
            );
          }
        });
        const batch: SampleBatch = { indices: globalRows, data, labels: classes, classes, skipped: [] };
        extras.set(batch, {
          relevance,
          orders: located.map(({ g }) => g.order),
          keys: Int32Array.from(datasetIndices),
          targets: Int32Array.from(located, ({ g, at }) => g.targets[at]!),
        });
        return batch;
      },
    };

    const openSink = async (resumeRows: number | undefined): Promise<RowSink> => {
      const plans = groups.map((g) => g.plan);
      const writer =
        resumeRows === undefined
          ? await EvaluationWriter.create(
              paths.final,
              paths.partial,
              width,
              plans,
              { ...settings, model: resolve(request.modelPath), dataset: resolve(request.datasetPath) },
              storedCascade,
            )
          : await EvaluationWriter.reopen(paths.final, paths.partial, width, plans, resumeRows);
      return {
        get rows() {
          return writer.rows;
        },
        append({ attribution: curves, index }) {
          const rows = Array.from(index!);
          const located = rows.map((row) => ({ g: groupOf(row), at: row - groupOf(row).start }));
          const scores = curveScores(curves, width);
          writer.append({
            curve: curves,
            ...scores,
            index: Int32Array.from(located, ({ g, at }) => g.indices[at]!),
            row: Int32Array.from(located, ({ g, at }) => g.rows[at]!),
            target: Int32Array.from(located, ({ g, at }) => g.targets[at]!),
            label: Int32Array.from(located, ({ g, at }) => g.labels[at]!),
          });
        },
        flush: () => writer.flush(),
        commit: () => writer.commit(),
        suspend: () => writer.suspend(),
      };
    };

    let cascade: CascadeResult | undefined;
    let cascadeIndex: Int32Array | undefined;
    if (request.cascade && plan.action === 'fresh') {
      // The first rows of the first file, attributed again with every method on ever more random models.
      const first = groups[0]!;
      const count = Math.min(request.cascade.samples, first.rows.length);
      const batch = await source.load(Array.from({ length: count }, (_, i) => first.start + i));
      const zBox = defaultZBoxBounds(preprocess, config.datasetType, image.channels);
      const methods = request.attributions.map((a) => request.cascade!.methodOf(a.name, zBox));
      cascade = await runCascade(
        model,
        methods,
        {
          x: batch.data,
          targets: first.targets.slice(0, count),
          sampleShape,
          batchSize: request.batchSize,
          depth: request.cascade.depth,
          seed: request.seed,
          canonize: request.cascade.canonize,
          threads: config.threads,
          device: config.device,
          source: request.modelPath,
          threshold: request.cascade.threshold,
        },
        progress,
      );
      cascadeIndex = first.indices.slice(0, count);
    }
    const storedCascade = cascade ? { ...cascade, index: cascadeIndex! } : undefined;

    // Started only now, so that nothing before can fail with a worker left open (it keeps the process alive).
    const evaluator = await startEvaluatorWorker(graphs, evaluatorOptions);
    const perBatch = samplesPerBatch(request.batchSize, width, sampleSize);
    // The evaluator runs in a worker thread. A batch goes to it the moment it is loaded, not when the
    // engine asks for its curves, and loading waits for the next turn of the event loop: the engine
    // starts loading batch i+1 just before it hands over batch i, so this way the main thread reads
    // batch i+1 and writes batch i−1 while the worker computes batch i, and the worker never waits
    // for a write. (In one thread, reading and writing came on top of inference: 1.4× onnxruntime
    // alone on the Clever-Hans CNN.)
    const submitted = new Map<SampleBatch, Promise<Float32Array>>();
    const submitting: SampleSource = {
      async load(globalRows) {
        await new Promise((resolve) => setImmediate(resolve));
        const batch = await source.load(globalRows);
        const curves = evaluator.run({ x: batch.data, ...extras.get(batch)! });
        // Observed now, rethrown when the engine awaits it (a batch dropped on Ctrl-C is never awaited).
        curves.catch(() => undefined);
        submitted.set(batch, curves);
        return batch;
      },
    };
    try {
      const summary = await runAttribution({
        planned: Array.from({ length: totalRows }, (_, i) => i),
        batchSize: perBatch,
        paths,
        fingerprint,
        resumeFrom: plan.action === 'resume' ? plan.journal : undefined,
        openSink,
        withIndex: true,
        source: submitting,
        attributor: {
          async run(batch) {
            const curves = await submitted.get(batch)!;
            submitted.delete(batch);
            return { relevance: curves, logits: new Float32Array(0) };
          },
        },
        progress,
        unit: 'samples',
        phase: 'evaluate',
        signal: interruptSignal,
        prefetch: config.prefetch,
      });
      const forwardPasses = summary.computed * width;
      progress.log(
        `wrote ${summary.rows} rows (${groups.length} groups × up to ${width} steps) to ${output} in ${summary.seconds.toFixed(2)} s: ` +
          `${(forwardPasses / Math.max(summary.seconds, 1e-9)).toFixed(1)} images·steps/s`,
      );
      const file = await readEvaluation(output);
      return { file, summaries: summariesOf(file, request.perClass), cascade, forwardPasses, seconds: summary.seconds };
    } finally {
      await evaluator.close();
    }
  } finally {
    progress.finish();
    for (const reader of readers) reader.close();
    input.close();
  }
}

/** The table's rows from an evaluation file: one per group. */
export function summariesOf(file: EvaluationFile, perClass: boolean): MethodSummary[] {
  return file.groups.map((g) => summarize(g.name, g.order, { aopc: g.aopc, auc: g.auc }, perClass ? g.target : undefined));
}
