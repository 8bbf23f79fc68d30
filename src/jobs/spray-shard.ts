/**
 * `spray --shard I/N`: which categories one array task analyses, and the fingerprint that ties the
 * shard files of one run together (project init and serve refuse shards whose fingerprints differ).
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { AttributionReader } from '../io/attribution.js';
import type { Shard } from '../run/shard.js';

/**
 * The categories of shard I of N (K categories, sorted): the contiguous run of positions
 * floor(I·K/N) … floor((I+1)·K/N) − 1, so the shards differ by at most one category. Contiguous, not
 * round-robin: ViRelAy lists the categories of a method file after file, so the shard files in
 * shard order show exactly the order (and the default first category) of an unsharded file.
 * Every shard derives the same list from the same inputs, so the shards never overlap and together
 * hold all. A shard left with nothing (N > K) is an error, not an empty file: an analysis file
 * without categories cannot be opened by ViRelAy.
 */
export function shardCategories<T>(sorted: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...sorted];
  if (shard.count > sorted.length) {
    throw new UserError(
      '--shard',
      `shard ${shard.index}/${shard.count} gets no category: there are only ${sorted.length} (use at most ${sorted.length} shards)`,
    );
  }
  const start = Math.floor((shard.index * sorted.length) / shard.count);
  const end = Math.floor(((shard.index + 1) * sorted.length) / shard.count);
  return sorted.slice(start, end);
}

/**
 * A hash of what decides a spray result, identical in every shard of one run: the attribution rows
 * (count, shape, classes, sample indices, categories of all rows, and the first and last row's
 * values, which tell files of another model or method apart without reading everything), the
 * category list and every parameter. Paths are left out: array tasks may mount the files elsewhere.
 */
export function sprayFingerprint(reader: AttributionReader, rowCategory: Int32Array, parameters: unknown): string {
  const hash = createHash('sha256');
  const bytes = (array: ArrayBufferView): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  hash.update(JSON.stringify({ rows: reader.count, shape: reader.sampleShape, classes: reader.numClasses, parameters }));
  hash.update(bytes(reader.indices()));
  hash.update(bytes(rowCategory));
  if (reader.count > 0) {
    hash.update(bytes(reader.read(0, 1).attribution));
    hash.update(bytes(reader.read(reader.count - 1, reader.count).attribution));
  }
  return hash.digest('hex');
}
