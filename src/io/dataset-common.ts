import { UserError } from '../errors.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import type { Batch, Dataset } from './dataset.js';

/** Refuses sample indices outside [0, count). */
export function checkIndices(path: string, indices: readonly number[], count: number): void {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new UserError(path, `sample index ${i} is outside the dataset (0..${count - 1})`);
  }
}

/** Reads `indices` (default: every sample) in batches of `batchSize`, checking for Ctrl-C between batches. */
export async function* batchesOf(dataset: Dataset, indices: number[] | undefined, batchSize: number): AsyncGenerator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(undefined, `batch size must be a positive integer, got ${batchSize}`);
  const all = indices ?? Array.from({ length: dataset.count }, (_, i) => i);
  for (let start = 0; start < all.length; start += batchSize) {
    throwIfInterrupted();
    yield await dataset.read(all.slice(start, start + batchSize));
  }
}
