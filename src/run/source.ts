import { UserError } from '../errors.js';
import type { Dataset } from '../io/dataset.js';
import type { RowRangeSource as RangeSource } from './row-source.js';
import type { SampleBatch, SampleSource, SkippedSample } from './engine.js';
import { normalizeBatch, type PreprocessSpec } from './preprocess.js';

/** Samples read by index: data [B, ...sampleShape], one class per row, n-hot rows for multi-label data. */
interface Rows {
  data: Float32Array;
  classes: Int32Array;
  multiLabels?: Uint8Array;
}

/** What the source needs from a dataset: reading rows by index. */
export interface IndexedSamples {
  readonly sampleShape: readonly number[];
  /** [] for one label per sample, [K] for n-hot labels. */
  readonly labelShape: readonly number[];
  read(indices: number[]): Promise<Rows>;
}

/** An io dataset (HDF5 images, image folders) read by index. */
export function indexedDataset(dataset: Dataset): IndexedSamples {
  if (!dataset.sampleShape) throw new UserError(dataset.path, 'samples differ in size; give image datasets a fixed --input-size');
  return {
    sampleShape: dataset.sampleShape,
    labelShape: dataset.labelShape,
    async read(indices) {
      const batch = await dataset.read(indices);
      return { data: batch.data, classes: batch.labels, multiLabels: batch.multiLabels };
    },
  };
}

/** Splits ascending indices into runs of consecutive ones ([start, end) each). */
export function consecutiveRuns(indices: readonly number[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const i of indices) {
    const last = runs[runs.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else runs.push([i, i + 1]);
  }
  return runs;
}

/** The attribute command's HDF5 reader (images and flat feature vectors), which reads ranges, read by index. */
export function indexedRanges(source: RangeSource): IndexedSamples {
  return {
    sampleShape: source.sampleShape,
    labelShape: source.labelShape,
    async read(indices) {
      const parts = [];
      for (const [start, end] of consecutiveRuns(indices)) parts.push(await source.read(start, end));
      if (parts.length === 1) return { data: parts[0]!.data, classes: parts[0]!.labels, multiLabels: parts[0]!.multiLabels };
      return {
        data: concat(
          parts.map((p) => p.data),
          (n) => new Float32Array(n),
        ),
        classes: concat(
          parts.map((p) => p.labels),
          (n) => new Int32Array(n),
        ),
        multiLabels: parts[0]!.multiLabels
          ? concat(
              parts.map((p) => p.multiLabels!),
              (n) => new Uint8Array(n),
            )
          : undefined,
      };
    },
  };
}

function concat<T extends Float32Array | Int32Array | Uint8Array>(pieces: T[], make: (n: number) => T): T {
  const out = make(pieces.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of pieces) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export interface SourceOptions {
  /** Per-channel normalisation applied to the read [0,1] pixels (geometry is the dataset's job). */
  preprocess?: PreprocessSpec;
  /** Leave unreadable samples out (reported with their path) instead of stopping the run. */
  skipBad: boolean;
}

/**
 * Reads batches for the engine. A sample that cannot be read makes the read throw a UserError naming
 * the file; with `skipBad` the batch is read again sample by sample and the bad ones are reported and
 * left out, so no row is ever written for a sample that was not read.
 */
export function sampleSource(samples: IndexedSamples, options: SourceOptions): SampleSource {
  const sampleSize = samples.sampleShape.reduce((a, b) => a * b, 1);
  const toBatch = (indices: number[], rows: Rows, skipped: SkippedSample[]): SampleBatch => {
    if (options.preprocess) {
      const [channels = 1, height = 1, width = 1] = samples.sampleShape;
      normalizeBatch(rows.data, [indices.length, channels, height, width], options.preprocess);
    }
    // Multi-label data keeps its n-hot rows in the output; the first label is the target class.
    const labels = samples.labelShape.length > 0 && rows.multiLabels ? Float32Array.from(rows.multiLabels) : rows.classes;
    return { indices, data: rows.data, labels, classes: rows.classes, skipped };
  };
  return {
    async load(indices) {
      try {
        return toBatch(indices, await samples.read(indices), []);
      } catch (error) {
        if (!options.skipBad || !(error instanceof UserError)) throw error;
      }
      const good: number[] = [];
      const rows: Rows[] = [];
      const skipped: SkippedSample[] = [];
      for (const index of indices) {
        try {
          rows.push(await samples.read([index]));
          good.push(index);
        } catch (error) {
          if (!(error instanceof UserError)) throw error;
          skipped.push({ index, reason: error.line });
        }
      }
      const merged: Rows = {
        data: concat(
          rows.map((r) => r.data),
          (n) => new Float32Array(n),
        ),
        classes: concat(
          rows.map((r) => r.classes),
          (n) => new Int32Array(n),
        ),
        multiLabels: rows[0]?.multiLabels
          ? concat(
              rows.map((r) => r.multiLabels!),
              (n) => new Uint8Array(n),
            )
          : undefined,
      };
      if (merged.data.length !== good.length * sampleSize) throw new Error('sample size changed between reads');
      return toBatch(good, merged, skipped);
    },
  };
}
