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
import type { Model } from '../onnx/ir.js';
import { interruptSignal } from '../util/interrupt.js';
import { createProgress } from '../util/progress.js';
import { runAttribution, type EngineSummary } from './engine.js';
import { defaultZBoxBounds, parseModelPreprocess, parseRunConfig, type RunConfig, type RunOptionValues } from './options.js';
import { expandOutputPath, fingerprintOf, partialPathsFor, planOutput } from './output.js';
import { describePreprocess, imagePreprocessFor, type PreprocessSpec } from './preprocess.js';
import { startAttributorWorker, type BatchModel } from './remote-attributor.js';
import { shardSelection } from './shard.js';
import { openAttributionSink } from './sink.js';
import { datasetSource } from './source.js';
import { isWholeDataset, selectSamples } from './subset.js';

export type TargetChoice = 'label' | 'prediction' | number;

export interface DatasetAttributionRequest {
  modelPath: string;
  /** The model as it will be compiled (already canonized unless the user said not to). */
  model: Model;
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
  method: (zBox: { low: number[]; high: number[] } | undefined) => Pick<AttributorOptions, 'spec' | 'method'>;
  /** Everything besides the data that decides the values (composite, rules, parameters): part of the resume check. */
  methodDescription: unknown;
}

/** [C, H, W] of the model input; H and W undefined when symbolic. */
function modelInput(model: Model, source: string): { channels: number; height?: number; width?: number } {
  const shape = model.graph.inputs[0]?.shape;
  if (!shape || shape.length !== 4) {
    throw new UserError(source, `dataset-scale attribution needs an image model with input (N, C, H, W); this input has shape (${shape?.join(', ') ?? '?'})`);
  }
  const dim = (d: unknown): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);
  const channels = dim(shape[1]);
  if (channels === undefined) throw new UserError(source, 'the model input has no fixed channel count');
  return { channels, height: dim(shape[2]), width: dim(shape[3]) };
}

async function openInput(config: RunConfig, path: string, preprocess: PreprocessSpec | undefined): Promise<Dataset> {
  const decoding = preprocess ? imagePreprocessFor(preprocess) : undefined;
  switch (config.datasetType) {
    case 'hdf5':
      return openDataset({ type: 'hdf5', path });
    case 'image_folder':
      return openImageFolder({ type: 'image_folder', path, preprocess: decoding });
    case 'image_directory':
      return openImageDirectory({ type: 'image_directory', path, labelIndexRegex: config.labelRegex, preprocess: decoding });
  }
}

function targetsFor(choice: TargetChoice, classes: Int32Array, numClasses: number): Int32Array | 'prediction' {
  if (choice === 'prediction') return 'prediction';
  if (choice === 'label') {
    for (const c of classes) {
      if (c < 0 || c >= numClasses) throw new UserError('--target', `label ${c} is not one of the model's ${numClasses} classes; use --target prediction or a class index`);
    }
    return classes;
  }
  return new Int32Array(classes.length).fill(choice);
}

/** Runs the whole thing; resolves to the engine's summary, or undefined when `--resume` found the run finished. */
export async function attributeDataset(request: DatasetAttributionRequest): Promise<EngineSummary | undefined> {
  const config = parseRunConfig(request.values, request.datasetPath);
  const input = modelInput(request.model, request.modelPath);
  const preprocess = parseModelPreprocess(request.values, config.datasetType, input);
  const progress = await createProgress({ quiet: config.quiet });
  const dataset = await openInput(config, request.datasetPath, preprocess);
  let model: BatchModel | undefined;
  try {
    const sampleShape = dataset.sampleShape;
    if (!sampleShape) throw new UserError(request.datasetPath, 'samples differ in size; give image datasets a fixed --input-size');
    if (sampleShape[0] !== input.channels) {
      throw new UserError(request.datasetPath, `samples have ${sampleShape[0]} channels, the model expects ${input.channels}`);
    }
    const selected = selectSamples(dataset.count, config.subset, () => dataset.labels());
    const planned = config.shard ? shardSelection(selected, config.shard, config.shardBlock) : selected;
    const withIndex = config.shard !== undefined || !isWholeDataset(planned, dataset.count);
    const output = expandOutputPath(request.output, config.shard);
    const paths = partialPathsFor(output);
    const modelStat = statSync(request.modelPath);
    const fingerprint = fingerprintOf({
      model: { path: resolve(request.modelPath), size: modelStat.size, modified: modelStat.mtimeMs },
      dataset: { path: resolve(request.datasetPath), type: config.datasetType, count: dataset.count, labelRegex: config.labelRegex },
      preprocess: preprocess ?? null,
      planned: fingerprintOf(planned),
      target: request.target,
      method: request.methodDescription,
    });
    const plan = planOutput(paths, { resume: config.resume, overwrite: config.overwrite, fingerprint });
    if (plan.action === 'done') {
      progress.log(`${output}: already complete; nothing to resume`);
      return undefined;
    }
    if (preprocess && config.datasetType !== 'hdf5') progress.log(`preprocessing: ${describePreprocess(preprocess)}`);
    if (config.shard) progress.log(`shard ${config.shard.index}/${config.shard.count}: ${planned.length} of ${selected.length} samples`);

    const zBox = defaultZBoxBounds(preprocess, config.datasetType, input.channels);
    model = await startAttributorWorker(request.model, {
      ...request.method(zBox),
      batchSize: request.batchSize,
      sampleShape: [...sampleShape],
      threads: config.threads,
      source: request.modelPath,
    });
    const numClasses = model.numClasses;
    const attributor = model;
    const summary = await runAttribution({
      planned,
      batchSize: request.batchSize,
      paths,
      fingerprint,
      resumeFrom: plan.action === 'resume' ? plan.journal : undefined,
      openSink: (rows) =>
        openAttributionSink(paths, { sampleShape: [...sampleShape], numClasses, withIndex, labelShape: dataset.labelShape }, rows),
      withIndex,
      source: datasetSource(dataset, { preprocess, skipBad: config.skipBad }),
      attributor: { run: (batch) => attributor.run(batch.data, targetsFor(request.target, batch.classes, numClasses)) },
      progress,
      signal: interruptSignal,
      prefetch: config.prefetch,
    });
    const skipped = summary.skipped.length > 0 ? `; skipped ${summary.skipped.length} unreadable sample(s)` : '';
    progress.log(`wrote ${summary.rows} rows to ${output} in ${summary.seconds.toFixed(1)} s${skipped}`);
    return summary;
  } finally {
    progress.finish();
    await model?.close();
    dataset.close();
  }
}
