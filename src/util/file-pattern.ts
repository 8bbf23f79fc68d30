/**
 * `*` and `?` in the last path component, expanded by the tool itself: a Kubernetes Job passes its
 * arguments without a shell, and a shell leaves `NAME=dir/spray-*.h5` unexpanded anyway (the word
 * starts with `NAME=`). Directories are not matched by patterns; a name that exists as written is used as is.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';

/** The files `path` names: itself when it exists or has no wildcard, else the matches in byte order (none: a UserError). */
export function expandFilePattern(path: string): string[] {
  const name = basename(path);
  if (existsSync(path) || !/[*?]/.test(name)) return [path];
  const directory = dirname(path);
  if (/[*?]/.test(directory)) throw new UserError(path, 'wildcards are only expanded in the file name, not in directories');
  const pattern = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    's',
  );
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch {
    throw new UserError(path, `no such directory ${directory}`);
  }
  const matches = entries
    .filter((entry) => pattern.test(entry) && statSync(join(directory, entry)).isFile())
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((entry) => join(directory, entry));
  if (matches.length === 0) throw new UserError(path, 'no file matches this pattern');
  return matches;
}
