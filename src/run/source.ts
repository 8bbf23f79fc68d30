import { UserError } from '../errors.js';
import type { Batch, Dataset } from '../io/dataset.js';
import type { SampleBatch, SampleSource, SkippedSample } from './engine.js';
import { normalizeBatch, type PreprocessSpec } from './preprocess.js';

export interface SourceOptions {
  /** Per-channel normalisation applied to the decoded [0,1] pixels (geometry is the dataset's job). */
  preprocess?: PreprocessSpec;
  /** Leave undecodable samples out (reported with their path) instead of stopping the run. */
  skipBad: boolean;
}

function rowsOf(dataset: Dataset, batch: Batch): Int32Array | Float32Array {
  // Multi-label datasets keep their n-hot rows; the writer stores them as (M, K).
  return dataset.labelShape.length > 0 && batch.multiLabels ? Float32Array.from(batch.multiLabels) : batch.labels;
}

function toSampleBatch(dataset: Dataset, batch: Batch, skipped: SkippedSample[], options: SourceOptions): SampleBatch {
  if (options.preprocess) normalizeBatch(batch.data, batch.shape, options.preprocess);
  return { indices: Array.from(batch.indices), data: batch.data, labels: rowsOf(dataset, batch), classes: batch.labels, skipped };
}

/** Concatenates single-sample batches (all of one shape) into one. */
function concatenate(parts: Batch[]): Batch {
  const first = parts[0]!;
  const rowSize = first.data.length;
  const data = new Float32Array(rowSize * parts.length);
  parts.forEach((p, i) => data.set(p.data, i * rowSize));
  const multi = first.multiLabels ? new Uint8Array(first.multiLabels.length * parts.length) : undefined;
  if (multi) parts.forEach((p, i) => multi.set(p.multiLabels!, i * first.multiLabels!.length));
  return {
    indices: Int32Array.from(parts.map((p) => p.indices[0]!)),
    data,
    shape: [parts.length, first.shape[1], first.shape[2], first.shape[3]],
    labels: Int32Array.from(parts.map((p) => p.labels[0]!)),
    multiLabels: multi,
  };
}

/**
 * Reads batches from a dataset for the engine. A sample the dataset cannot decode makes the read
 * throw a UserError naming the file; with `skipBad` the batch is read again sample by sample and the
 * bad ones are reported and left out, so no row is ever written for an image that was not read.
 */
export function datasetSource(dataset: Dataset, options: SourceOptions): SampleSource {
  return {
    async load(indices: number[]): Promise<SampleBatch> {
      try {
        return toSampleBatch(dataset, await dataset.read(indices), [], options);
      } catch (error) {
        if (!options.skipBad || !(error instanceof UserError)) throw error;
      }
      const good: Batch[] = [];
      const skipped: SkippedSample[] = [];
      for (const index of indices) {
        try {
          good.push(await dataset.read([index]));
        } catch (error) {
          if (!(error instanceof UserError)) throw error;
          skipped.push({ index, reason: error.line });
        }
      }
      if (good.length === 0) return { indices: [], data: new Float32Array(0), labels: new Int32Array(0), classes: new Int32Array(0), skipped };
      return toSampleBatch(dataset, concatenate(good), skipped, options);
    },
  };
}
