import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors.js';

/**
 * Where a long run keeps its unfinished output. Rows go to `<out>.partial` (flushed after every
 * batch) and `<out>.partial.json` records how many rows are complete; the partial file is renamed to
 * `<out>` only when the run finishes. A SIGKILL therefore leaves the final name untouched and a
 * partial file that `--resume` continues from its last complete batch.
 */
export interface PartialPaths {
  final: string;
  partial: string;
  journal: string;
}

export function partialPathsFor(final: string): PartialPaths {
  return { final, partial: `${final}.partial`, journal: `${final}.partial.json` };
}

/** What the journal records after each flushed batch. */
export interface Journal {
  format: typeof JOURNAL_FORMAT;
  /** Hash of everything that decides the rows (model, dataset, selection, method, preprocessing). */
  fingerprint: string;
  /** Rows complete in the partial file; rows beyond this (a batch cut off by a kill) are dropped. */
  rows: number;
  /** Entries of the planned sample list handled so far (written or skipped as undecodable). */
  position: number;
  /** Samples skipped with --skip-bad, so the final report still lists them after a resume. */
  skipped: Array<{ index: number; reason: string }>;
}

const JOURNAL_FORMAT = 'xai-tools/attribute-partial/1';

/** A stable hash of a JSON-able description of the run. */
export function fingerprintOf(description: unknown): string {
  return createHash('sha256').update(JSON.stringify(description)).digest('hex');
}

/** Writes the journal through a temporary file and a rename, so a kill leaves the old or the new one. */
export function writeJournal(paths: PartialPaths, journal: Omit<Journal, 'format'>): void {
  const tmp = `${paths.journal}.tmp`;
  writeFileSync(tmp, JSON.stringify({ format: JOURNAL_FORMAT, ...journal }));
  renameSync(tmp, paths.journal);
}

export function readJournal(paths: PartialPaths): Journal {
  let parsed: Partial<Journal>;
  try {
    parsed = JSON.parse(readFileSync(paths.journal, 'utf8')) as Partial<Journal>;
  } catch {
    throw new UserError(paths.journal, 'cannot read the record of the interrupted run; start over with --overwrite');
  }
  const valid =
    parsed.format === JOURNAL_FORMAT &&
    typeof parsed.fingerprint === 'string' &&
    Number.isInteger(parsed.rows) &&
    Number.isInteger(parsed.position) &&
    Array.isArray(parsed.skipped);
  if (!valid) throw new UserError(paths.journal, 'is not a record of an interrupted xai-tools run; start over with --overwrite');
  return parsed as Journal;
}

export function removePartial(paths: PartialPaths): void {
  rmSync(paths.partial, { force: true });
  rmSync(paths.journal, { force: true });
  rmSync(`${paths.journal}.tmp`, { force: true });
}

/** What to do about existing files before a run starts. */
export type OutputPlan =
  | { action: 'fresh' }
  | { action: 'resume'; journal: Journal }
  /** `--resume` on a run that already finished: nothing to do. */
  | { action: 'done' };

/**
 * Decides between starting fresh, resuming and refusing, from what exists on disk:
 * an existing output is refused unless `--overwrite` (or `--resume`, which then has nothing to do);
 * a partial file from an interrupted run is continued with `--resume`, discarded with `--overwrite`,
 * and otherwise refused so that hours of work are never thrown away by accident.
 */
export function planOutput(paths: PartialPaths, options: { resume: boolean; overwrite: boolean; fingerprint: string }): OutputPlan {
  const hasPartial = existsSync(paths.partial) || existsSync(paths.journal);
  if (options.resume && options.overwrite) throw new UserError('--resume', 'cannot be combined with --overwrite');
  if (options.resume) {
    if (!existsSync(paths.partial) && existsSync(paths.journal) && existsSync(paths.final)) {
      // Killed between renaming the finished file into place and removing the journal.
      removePartial(paths);
      return { action: 'done' };
    }
    if (hasPartial) {
      if (!existsSync(paths.partial) || !existsSync(paths.journal)) {
        throw new UserError(paths.partial, 'the interrupted run left an incomplete partial output; start over with --overwrite');
      }
      const journal = readJournal(paths);
      if (journal.fingerprint !== options.fingerprint) {
        throw new UserError(
          paths.partial,
          'was written with a different model, dataset, selection or method; resume with the same options, or start over with --overwrite',
        );
      }
      return { action: 'resume', journal };
    }
    if (existsSync(paths.final)) return { action: 'done' };
    return { action: 'fresh' };
  }
  if (hasPartial && !options.overwrite) {
    throw new UserError(paths.partial, 'an interrupted run left this partial output; continue it with --resume or start over with --overwrite');
  }
  if (existsSync(paths.final) && !options.overwrite) {
    throw new UserError(paths.final, 'already exists; use --overwrite to replace it or --resume to continue an interrupted run');
  }
  if (hasPartial) removePartial(paths);
  return { action: 'fresh' };
}

/** Expands `{shard}` and `{shards}` in an output path, so one command line serves every array task. */
export function expandOutputPath(path: string, shard: { index: number; count: number } | undefined): string {
  if (!/\{shards?\}/.test(path)) return path;
  if (!shard) throw new UserError('-o', `'${path}' uses {shard} but no --shard was given`);
  const width = String(shard.count - 1).length;
  return path.replaceAll('{shards}', String(shard.count)).replaceAll('{shard}', String(shard.index).padStart(width, '0'));
}
