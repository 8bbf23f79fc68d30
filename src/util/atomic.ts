import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Temporary paths that are still being written; removed if the process is interrupted. */
const pending = new Set<string>();

/** The temporary name used beside `finalPath` while it is being written. */
export function temporaryPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}`);
}

/**
 * Writes an output through a temporary file beside it and renames it into place only when
 * `write` succeeds, so a crash, an error or Ctrl-C never leaves a half-written file under the
 * final name. The temporary file is removed when `write` throws.
 */
export async function writeAtomically<T>(finalPath: string, write: (tmpPath: string) => Promise<T> | T): Promise<T> {
  const tmp = temporaryPathFor(finalPath);
  pending.add(tmp);
  try {
    const result = await write(tmp);
    renameSync(tmp, finalPath);
    return result;
  } catch (error) {
    rmSync(tmp, { force: true, recursive: true });
    throw error;
  } finally {
    pending.delete(tmp);
  }
}

/** Removes every temporary file still being written (called on SIGINT/SIGTERM before exiting). */
export function removePendingTemporaries(): void {
  for (const tmp of pending) {
    if (existsSync(tmp)) rmSync(tmp, { force: true, recursive: true });
  }
  pending.clear();
}

/**
 * For writers with an explicit open/commit/abort lifecycle (streaming HDF5 writers) that cannot wrap
 * their work in `writeAtomically`: registers a temporary path so an interrupt still removes it.
 */
export function trackTemporary(tmp: string): void {
  pending.add(tmp);
}

/** Forgets a temporary registered with `trackTemporary` (after it was renamed or removed). */
export function untrackTemporary(tmp: string): void {
  pending.delete(tmp);
}
