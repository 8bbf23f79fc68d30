import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { isStdin, readStdinText } from './stdin.js';

/**
 * Reads a UTF-8 input file, turning the usual failures into the one-line UserError every reader
 * gives: "no such file", "is a directory, not <what>", or "cannot read (<errno code>)" (the CLI
 * spells the code out in words). `what` names the expected content: "a label map", "a project file".
 * `-` reads standard input (messages about it then name `<stdin>`: see `inputName`).
 */
export function readTextFile(path: string, what: string): string {
  if (isStdin(path)) return readStdinText(what);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(path, 'no such file');
    if (code === 'EISDIR') throw new UserError(path, `is a directory, not ${what}`);
    throw new UserError(path, `cannot read (${code ?? (error as Error).message})`);
  }
}
