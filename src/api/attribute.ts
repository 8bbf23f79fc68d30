/**
 * Library entry points for attributing a whole dataset from a script: the compiled attributor (one
 * onnxruntime graph per batch) fed batch by batch from any dataset, as an async iterator, with a progress
 * callback and an AbortSignal checked between batches. The CLI's `attribute` adds files, resume and shards.
 */
import { UserError } from '../errors.js';
import type { Batch, Dataset } from '../io/dataset.js';
import { compileAttributor, type AttributorOptions, type CompiledAttributor } from '../lrp/engine.js';
import { buildComposite, type CompositeParams, type RuleSpec } from '../lrp/composites.js';
import { readModel } from '../onnx/codec.js';
import type { Model } from '../onnx/ir.js';

export interface AttributedBatch {
  /** Sample index of each row. */
  indices: Int32Array;
  /** Relevance, rows × the attributor's input shape. */
  relevance: Float32Array;
  /** Model output, rows × classes. */
  logits: Float32Array;
  /** The class each row was explained for. */
  targets: Int32Array;
}

export interface AttributeDatasetOptions {
  /** Which class to explain: each sample's label (default), the predicted class, or one class for all. */
  target?: 'label' | 'prediction' | number;
  /** Sample indices (default: all, in order). */
  indices?: number[];
  /** Called after each batch with the samples done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Stops between batches; the iterator then throws the signal's reason. */
  signal?: AbortSignal;
}

/** Compiles an attributor for a model file, a decoded model or ONNX bytes, with a composite name or rule spec. */
export async function createAttributor(
  model: string | Model,
  options: Omit<AttributorOptions, 'spec'> & { composite?: string; compositeParams?: CompositeParams; rules?: RuleSpec | null },
): Promise<CompiledAttributor> {
  const decoded = typeof model === 'string' ? readModel(model) : model;
  const spec = options.rules !== undefined ? options.rules : options.composite ? buildComposite(options.composite, options.compositeParams ?? {}) : null;
  return compileAttributor(decoded, { ...options, spec, source: options.source ?? (typeof model === 'string' ? model : undefined) });
}

/** Attributes every selected sample of `dataset`, one batch of `attributor.batchSize` rows at a time. */
export async function* attributeBatches(
  attributor: CompiledAttributor,
  dataset: Dataset,
  options: AttributeDatasetOptions = {},
): AsyncGenerator<AttributedBatch> {
  const indices = options.indices ?? Array.from({ length: dataset.count }, (_, i) => i);
  const target = options.target ?? 'label';
  let done = 0;
  for await (const batch of dataset.batches(indices, attributor.batchSize)) {
    options.signal?.throwIfAborted();
    yield await attributeBatch(attributor, batch, target);
    done += batch.indices.length;
    options.onProgress?.(done, indices.length);
  }
}

async function attributeBatch(attributor: CompiledAttributor, batch: Batch, target: 'label' | 'prediction' | number): Promise<AttributedBatch> {
  const rows = batch.indices.length;
  const classes = target === 'label' ? batch.labels : typeof target === 'number' ? new Int32Array(rows).fill(target) : 'prediction';
  if (classes !== 'prediction' && classes.some((c) => c < 0))
    throw new UserError(undefined, 'a sample has no label; pass target: "prediction" or a class index');
  const { relevance, logits } = await attributor.run(batch.data, classes);
  const k = attributor.numClasses;
  const targets = classes === 'prediction' ? argmaxRows(logits, rows, k) : classes;
  return { indices: batch.indices, relevance, logits, targets };
}

function argmaxRows(logits: Float32Array, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (logits[r * k + c]! > logits[r * k + best]!) best = c;
    out[r] = best;
  }
  return out;
}
