/**
 * Sizes an HDF5 file declares are checked before anything is allocated: a 2 KB file can declare a
 * dataset of 1e8 rows (chunked storage that was never written reads as fill values), and reading it
 * whole would take gigabytes before failing. Two bounds:
 * - against the file: an unfiltered dataset cannot hold more bytes than the file has; a dataset
 *   compressed with deflate (optionally shuffled and checksummed) cannot expand more than deflate's
 *   maximum ratio (about 1032:1). The other built-in filters (szip, nbit, scale-offset) have no
 *   such bound and are left to the second check; plugin filters are refused (hdf5-filters.ts).
 *   Unwritten chunks that read as the fill value count as missing data: a dataset file whose rows were never written is not one the formats describe.
 * - against memory: one read never asks for more than the memory that is available now.
 */
import { freemem } from 'node:os';
import { statSync } from 'node:fs';
import type { Dataset } from 'h5wasm';
import { UserError } from '../errors.js';
import { checkFiltersDecodable } from './hdf5-filters.js';

/** Deflate's largest possible expansion (RFC 1951: 258 bytes from about 2 bits) with some margin. */
const DEFLATE_MAX_RATIO = 1100;
/** HDF5 filter ids whose output is bounded by deflate's ratio: deflate, shuffle, fletcher32. */
const BOUNDED_FILTERS = new Set([1, 2, 3]);

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function declaredElements(dataset: Dataset): number {
  return (dataset.shape ?? []).reduce((a, b) => a * b, 1);
}

/** Memory a process may still take: the system's available memory, or the cgroup's limit if lower. */
export function availableMemory(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const limit = constrained && constrained > 0 && constrained < Number.MAX_SAFE_INTEGER ? constrained - process.memoryUsage().rss : Number.POSITIVE_INFINITY;
  return Math.min(freemem(), limit);
}

/** Refuses a dataset that declares more data than the file `path` can hold (see above), or that no filter here can decode. */
export function checkDeclaredAgainstFile(path: string, dataset: Dataset): void {
  checkFiltersDecodable(path, dataset);
  const declared = declaredElements(dataset) * dataset.metadata.size;
  if (declared <= 0) return;
  const filters = (() => {
    try {
      return dataset.filters.map((f) => f.id);
    } catch {
      return [];
    }
  })();
  if (filters.some((id) => !BOUNDED_FILTERS.has(id))) return;
  const fileSize = statSync(path).size;
  const bound = filters.includes(1) ? fileSize * DEFLATE_MAX_RATIO : fileSize;
  if (declared <= bound) return;
  const shape = (dataset.shape ?? []).join(', ');
  throw new UserError(
    path,
    `'${dataset.path.replace(/^\//, '')}' declares shape (${shape}), ${formatBytes(declared)} of data, but the file is only ` +
      `${formatBytes(fileSize)}${filters.includes(1) ? ' (even compressed)' : ''}: truncated or corrupt`,
  );
}

/** Refuses one read of `elements` values that, with the copies it takes (`bytesPerElement`), exceeds available memory. */
export function checkReadFitsMemory(path: string, dataset: Dataset, elements: number, bytesPerElement: number): void {
  const needed = elements * bytesPerElement;
  const available = availableMemory();
  if (needed <= available) return;
  throw new UserError(
    path,
    `reading '${dataset.path.replace(/^\//, '')}' (${elements} values) needs ${formatBytes(needed)}, more than the ` +
      `${formatBytes(available)} of memory available`,
  );
}

/** Both checks for a read of `ranges` (all of the dataset when undefined) of `dataset`. */
export function checkRead(path: string, dataset: Dataset, ranges?: Array<[] | [number, number]>): void {
  checkDeclaredAgainstFile(path, dataset);
  const shape = dataset.shape ?? [];
  const elements = shape.reduce((n, d, i) => {
    const r = ranges?.[i];
    return n * (r && r.length === 2 ? Math.max(0, Math.min(d, r[1]) - Math.max(0, r[0])) : d);
  }, 1);
  // The raw read plus a float copy (BigInt data goes through Float64 first).
  checkReadFitsMemory(path, dataset, elements, dataset.metadata.size + 8);
}
