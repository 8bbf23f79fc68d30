/**
 * The files of one analysis method must not contradict each other: `spray --shard` files must be
 * the complete, non-repeating set of shards of one run (same fingerprint, same N), and no category
 * may sit in two files (ViRelAy would show the first and silently hide the other). The overlap rule
 * applies to files `spray` wrote (they carry `spray_fingerprint`); projects made with ViRelAy's tools
 * keep ViRelAy's reading (first file holding a category wins), which such projects may rely on.
 */
import { UserError } from '../errors.js';
import type { AnalysisFileReader } from './analysis.js';

const fromSpray = (reader: AnalysisFileReader): boolean => reader.provenance?.fingerprint !== undefined;

/** Throws a one-line UserError naming the files at the first mismatch, repeat, missing shard or overlap. */
export function checkShardSet(method: string, readers: readonly AnalysisFileReader[]): void {
  const seen = new Set<string>();
  for (const reader of readers) {
    if (seen.has(reader.path) && fromSpray(reader)) throw new UserError(reader.path, `is listed twice in analysis '${method}'`);
    seen.add(reader.path);
  }
  checkShards(method, readers);
  const owner = new Map<string, AnalysisFileReader>();
  for (const reader of readers) {
    for (const category of reader.categories) {
      const other = owner.get(category);
      if (other === undefined) owner.set(category, reader);
      else if (fromSpray(reader) || fromSpray(other))
        throw new UserError(reader.path, `category '${category}' is also in ${other.path}; the files of analysis '${method}' must not overlap`);
    }
  }
}

/** The files with a `spray_shard` attribute: one run (fingerprint), one N, every index exactly once. */
function checkShards(method: string, readers: readonly AnalysisFileReader[]): void {
  const shards = readers.filter((r) => r.provenance?.shard);
  const first = shards[0];
  if (!first) return;
  const count = first.provenance!.shard!.count;
  const byIndex = new Map<number, string>();
  for (const reader of shards) {
    const { shard, fingerprint } = reader.provenance!;
    if (fingerprint !== first.provenance!.fingerprint)
      throw new UserError(reader.path, `was computed from other attribution files or spray parameters than ${first.path} (their spray_fingerprint differs)`);
    if (shard!.count !== count) throw new UserError(reader.path, `is shard ${shard!.index}/${shard!.count}, but ${first.path} is one of ${count} shards`);
    const twin = byIndex.get(shard!.index);
    if (twin !== undefined) throw new UserError(reader.path, `is shard ${shard!.index}/${count} again (so is ${twin})`);
    byIndex.set(shard!.index, reader.path);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    const list = missing.length > 5 ? `${missing.slice(0, 5).join(', ')}, …` : missing.join(', ');
    throw new UserError(
      first.path,
      `is shard ${first.provenance!.shard!.index}/${count}, but analysis '${method}' lacks shard${missing.length > 1 ? 's' : ''} ${list} of ${count}`,
    );
  }
}
