/**
 * `attribute` over a whole dataset: opens the dataset (HDF5 or images, with the model's
 * preprocessing), selects and shards the samples, decides between a fresh run, a resume and a refusal,
 * starts the attributor in a worker thread and hands everything to the engine loop.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { openDataset, type Dataset } from '../io/dataset.js';
import { openImageDirectory, openImageFolder } from '../io/dataset-images.js';
import type { AttributorOptions } from '../lrp/engine.js';
import { openRowRangeSource, type RowRangeSource as RangeSource } from '../run/row-source.js';
import type { Dim } from '../onnx/ir.js';
import { interruptSignal } from '../util/interrupt.js';
import { createProgress } from '../util/progress.js';
import { runAttribution, type EngineSummary, type SampleBatch } from '../run/engine.js';
import { defaultZBoxBounds, hasPreprocessOptions, parseModelPreprocess, parseRunConfig, type RunConfig, type RunOptionValues } from '../run/options.js';
import { expandOutputPath, fingerprintOf, partialPathsFor, planOutput } from '../run/output.js';
import { describePreprocess, imagePreprocessFor, type PreprocessSpec } from '../run/preprocess.js';
import { openModelWorker, type ModelWorker } from '../run/remote-attributor.js';
import { findNonFinite } from '../io/non-finite.js';
import { shardSelection } from '../run/shard.js';
import { openAttributionSink } from '../run/sink.js';
import { indexedDataset, indexedRanges, sampleSource, type IndexedSamples } from '../run/source.js';
import { isWholeDataset, selectSamples } from '../run/subset.js';

export type TargetChoice = 'label' | 'prediction' | number;

export interface DatasetAttributionRequest {
  /** The ONNX model; read (and canonized, per `method`) in the worker thread that runs it. */
  modelPath: string;
  datasetPath: string;
  output: string;
  batchSize: number;
  target: TargetChoice;
  /** The dataset-scale options as commander parsed them. */
  values: RunOptionValues;
  /**
   * The attribution method for the compiler. `zBox` holds the default z-box bounds derived from the
   * preprocessing (normalised black and white), for the command to use when --low/--high are absent.
   */
  method: (zBox: { low: number[]; high: number[] } | undefined) => Pick<AttributorOptions, 'spec' | 'method' | 'canonize'>;
  /** Everything besides the data that decides the values (composite, rules, parameters): part of the resume check. */
  methodDescription: unknown;
}

/** [C, H, W] of an image model's input (H, W undefined when symbolic); undefined for other models. */
export function imageInput(shape: Dim[] | undefined): { channels: number; height?: number; width?: number } | undefined {
  if (!shape || shape.length !== 4) return undefined;
  const dim = (d: unknown): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);
  const channels = dim(shape[1]);
  return channels === undefined ? undefined : { channels, height: dim(shape[2]), width: dim(shape[3]) };
}

/** An opened input: samples by index, all labels (for --labels), and how to close it. */
export interface Input {
  count: number;
  samples: IndexedSamples;
  labels(): Int32Array | Promise<Int32Array>;
  close(): void;
}

function fromDataset(dataset: Dataset): Input {
  try {
    return { count: dataset.count, samples: indexedDataset(dataset), labels: () => dataset.labels(), close: () => dataset.close() };
  } catch (error) {
    dataset.close();
    throw error;
  }
}

/** Labels of a range-read source, a block at a time (only --labels needs them all). */
async function readAllLabels(source: RangeSource): Promise<Int32Array> {
  const labels = new Int32Array(source.count);
  for (let start = 0; start < source.count; start += 4096) {
    const end = Math.min(source.count, start + 4096);
    labels.set((await source.read(start, end)).labels, start);
  }
  return labels;
}

export async function openInput(config: RunConfig, path: string, preprocess: PreprocessSpec | undefined): Promise<Input> {
  const decoding = preprocess ? imagePreprocessFor(preprocess) : undefined;
  switch (config.datasetType) {
    case 'image_folder':
      return fromDataset(await openImageFolder({ type: 'image_folder', path, preprocess: decoding }));
    case 'image_directory':
      return fromDataset(await openImageDirectory({ type: 'image_directory', path, labelIndexRegex: config.labelRegex, preprocess: decoding }));
    case 'hdf5': {
      const source = await openRowRangeSource(path);
      if (source.sampleShape.length > 1) {
        // Images: the io reader reads by index and has the labels without reading pixels.
        source.close();
        return fromDataset(await openDataset({ type: 'hdf5', path }));
      }
      // Flat feature vectors (tabular models).
      return {
        count: source.count,
        samples: indexedRanges(source),
        labels: () => readAllLabels(source),
        close: () => source.close(),
      };
    }
  }
}

function targetsFor(choice: TargetChoice, batch: SampleBatch, numClasses: number, dataset: string): Int32Array | 'prediction' {
  if (choice === 'prediction') return 'prediction';
  if (choice === 'label') {
    const bad = batch.classes.findIndex((c) => c < 0 || c >= numClasses);
    if (bad >= 0) {
      throw new UserError(
        dataset,
        `sample ${batch.indices[bad]} has label ${batch.classes[bad]}, not a class of the model's ${numClasses}; use --target prediction or a class index`,
      );
    }
    return batch.classes;
  }
  return new Int32Array(batch.classes.length).fill(choice);
}

/** The engine's summary plus what the run wrote: the output path (shard expanded), samples planned, classes. */
export type AttributionSummary = EngineSummary & { output: string; samples: number; numClasses: number };

/** Runs the whole thing; resolves to the engine's summary, or undefined when `--resume` found the run finished. */
export async function runAttributeJob(request: DatasetAttributionRequest): Promise<AttributionSummary | undefined> {
  const config = parseRunConfig(request.values, request.datasetPath);
  const worker = await openModelWorker(request.modelPath);
  try {
    return await attributeWith(worker, config, request);
  } finally {
    await worker.close();
  }
}

async function attributeWith(worker: ModelWorker, config: RunConfig, request: DatasetAttributionRequest): Promise<AttributionSummary | undefined> {
  const image = imageInput(worker.inputShape);
  if (!image && config.datasetType !== 'hdf5') {
    throw new UserError(request.modelPath, 'image datasets need an image model with input (N, C, H, W)');
  }
  if (!image && hasPreprocessOptions(request.values)) {
    throw new UserError('--normalize', 'resizing, cropping and normalisation apply to image models (input N, C, H, W)');
  }
  const preprocess = image ? parseModelPreprocess(request.values, config.datasetType, image) : undefined;
  const progress = await createProgress({ quiet: config.quiet });
  const input = await openInput(config, request.datasetPath, preprocess);
  try {
    const sampleShape = [...input.samples.sampleShape];
    if (input.count === 0) throw new UserError(request.datasetPath, 'the dataset has no samples');
    const needsLabels = config.subset.labels !== undefined;
    const allLabels = needsLabels ? await input.labels() : undefined;
    const selected = selectSamples(input.count, config.subset, () => allLabels!);
    const planned = config.shard ? shardSelection(selected, config.shard, config.shardBlock) : selected;
    // With --skip-bad a row may go missing, so rows must say which sample they hold.
    const withIndex = config.shard !== undefined || config.skipBad || !isWholeDataset(planned, input.count);
    const output = expandOutputPath(request.output, config.shard);
    const paths = partialPathsFor(output);
    const modelStat = statSync(request.modelPath);
    const fingerprint = fingerprintOf({
      model: { path: resolve(request.modelPath), size: modelStat.size, modified: modelStat.mtimeMs },
      dataset: { path: resolve(request.datasetPath), type: config.datasetType, count: input.count, labelRegex: config.labelRegex },
      preprocess: preprocess ?? null,
      planned: fingerprintOf(planned),
      target: request.target,
      // Decides whether rows carry an index, so a resume must keep it.
      skipBad: config.skipBad,
      method: request.methodDescription,
    });
    const plan = planOutput(paths, { resume: config.resume, overwrite: config.overwrite, fingerprint });
    if (plan.action === 'done') {
      progress.log(`${output}: already complete; nothing to resume`);
      return undefined;
    }
    if (preprocess && config.datasetType !== 'hdf5') progress.log(`preprocessing: ${describePreprocess(preprocess)}`);
    if (config.shard) progress.log(`shard ${config.shard.index}/${config.shard.count}: ${planned.length} of ${selected.length} samples`);

    const zBox = image ? defaultZBoxBounds(preprocess, config.datasetType, image.channels) : undefined;
    // A graph compiled for more samples than the run has would only compute padding.
    const batchSize = Math.max(1, Math.min(request.batchSize, planned.length));
    const model = await worker.compile({
      ...request.method(zBox),
      batchSize,
      sampleShape,
      threads: config.threads,
      device: config.device,
      source: request.modelPath,
    });
    const numClasses = model.numClasses;
    if (typeof request.target === 'number' && request.target >= numClasses) {
      throw new UserError('--target', `class ${request.target} is outside the model's ${numClasses} classes`);
    }
    const summary = await runAttribution({
      planned,
      batchSize,
      paths,
      fingerprint,
      resumeFrom: plan.action === 'resume' ? plan.journal : undefined,
      openSink: (rows) => openAttributionSink(paths, { sampleShape, numClasses, withIndex, labelShape: [...input.samples.labelShape] }, rows),
      withIndex,
      source: sampleSource(input.samples, { preprocess, skipBad: config.skipBad }),
      attributor: {
        run: async (batch) => {
          const result = await model.run(batch.data, targetsFor(request.target, batch, numClasses, request.datasetPath));
          refuseNonFiniteRelevance(request.modelPath, result.relevance, batch.indices);
          return result;
        },
      },
      progress,
      unit: image ? 'images' : 'samples',
      signal: interruptSignal,
      prefetch: config.prefetch,
    });
    const skipped = summary.skipped.length > 0 ? `; skipped ${summary.skipped.length} unreadable sample(s)` : '';
    progress.log(`wrote ${summary.rows} rows to ${output} in ${summary.seconds.toFixed(1)} s${skipped}`);
    return { ...summary, output, samples: planned.length, numClasses };
  } finally {
    progress.finish();
    input.close();
  }
}

/**
 * NaN/±Inf relevance is never written: it comes from a rule dividing by zero (`--epsilon 0` or
 * `--stabilizer 0` where a layer's output is exactly 0) and would poison every analysis downstream.
 */
function refuseNonFiniteRelevance(modelPath: string, relevance: Float32Array, indices: readonly number[]): void {
  if (indices.length === 0) return;
  const found = findNonFinite(relevance, relevance.length / indices.length);
  if (found.rows.length === 0) return;
  throw new UserError(
    modelPath,
    `the relevance of ${found.rows.length} of the batch's ${indices.length} samples is not finite (${found.values} NaN or ±Inf values, the ` +
      `first at sample ${indices[found.rows[0]!]}): a rule divided by zero; give --epsilon (or --stabilizer) a positive value`,
  );
}
