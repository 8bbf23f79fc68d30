import { closeSync, existsSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Temporary paths that are still being written; removed if the process is interrupted. */
const pending = new Set<string>();

/**
 * The temporary name used beside `finalPath` while it is being written. Asking for it also removes
 * the temporaries of earlier runs that died without cleaning up (SIGKILL, power loss): their pid is
 * part of the name, and a pid that no longer runs cannot still be writing.
 */
export function temporaryPathFor(finalPath: string): string {
  removeStaleTemporaries(finalPath);
  return join(temporaryDirFor(finalPath), `.${basename(finalPath)}.tmp-${process.pid}`);
}

/**
 * Where the temporary of `finalPath` lives: beside it, so the rename is atomic; for a FIFO or a
 * device (written into, never renamed over) in the system's temporary directory, since /dev is
 * not writable by users.
 */
function temporaryDirFor(finalPath: string): string {
  return isSpecialOutput(finalPath) ? tmpdir() : dirname(finalPath);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.<name>.tmp-<pid>` beside `finalPath` for every pid that is not running. */
export function removeStaleTemporaries(finalPath: string): void {
  const dir = temporaryDirFor(finalPath);
  const prefix = `.${basename(finalPath)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processIsAlive(pid)) continue;
    rmSync(join(dir, name), { force: true, recursive: true });
  }
}

/** Removes the temporaries process `pid` writes for `finalPath`: beside it, and inside it when it is a directory. */
export function removeTemporariesOf(pid: number, finalPath: string): void {
  rmSync(join(temporaryDirFor(finalPath), `.${basename(finalPath)}.tmp-${pid}`), { force: true, recursive: true });
  let names: string[];
  try {
    names = statSync(finalPath).isDirectory() ? readdirSync(finalPath) : [];
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith('.') && name.endsWith(`.tmp-${pid}`)) rmSync(join(finalPath, name), { force: true, recursive: true });
}

/** Removes every `.<name>.tmp-<pid>` in `dir` whose pid is not running (heatmap's output directory). */
export function removeStaleTemporariesIn(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\..+\.tmp-(\d+)$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processIsAlive(pid)) continue;
    rmSync(join(dir, name), { force: true, recursive: true });
  }
}

/**
 * True when `path` exists and is neither a regular file nor a directory (a FIFO, a character
 * device such as /dev/stdout): such outputs are written into, never renamed over, since a rename
 * would replace the device node or pipe by a regular file.
 */
export function isSpecialOutput(path: string): boolean {
  try {
    const s = statSync(path);
    return !s.isFile() && !s.isDirectory();
  } catch {
    return false;
  }
}

/** Copies the finished temporary into a special file (FIFO, device) in 1 MiB chunks. */
function copyInto(tmp: string, target: string): void {
  const buffer = Buffer.allocUnsafe(1 << 20);
  const from = openSync(tmp, 'r');
  try {
    const to = openSync(target, 'w');
    try {
      for (let n = readSync(from, buffer); n > 0; n = readSync(from, buffer)) {
        for (let off = 0; off < n; ) off += writeSync(to, buffer, off, n - off);
      }
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}

/**
 * Puts a finished temporary file in place: renamed over a regular (or missing) `finalPath`,
 * copied into a FIFO or device. The temporary is gone afterwards either way.
 */
export function commitTemporary(tmp: string, finalPath: string): void {
  if (isSpecialOutput(finalPath)) {
    try {
      copyInto(tmp, finalPath);
    } catch (error) {
      // writeSync's errors (ENOSPC on /dev/full, EPIPE) carry no path: they are about the output.
      const errno = error as NodeJS.ErrnoException;
      if (errno && typeof errno === 'object' && errno.code && !errno.path) errno.path = finalPath;
      throw error;
    } finally {
      rmSync(tmp, { force: true });
    }
    return;
  }
  renameSync(tmp, finalPath);
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
    commitTemporary(tmp, finalPath);
    return result;
  } catch (error) {
    rmSync(tmp, { force: true, recursive: true });
    // A system error about the temporary is the user's output's problem: name the output.
    const errno = error as NodeJS.ErrnoException;
    if (errno && typeof errno === 'object' && errno.path === tmp) errno.path = finalPath;
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
