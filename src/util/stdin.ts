import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';

/** How a `-` input is named in messages; paths inside it are relative to the working directory. */
export const STDIN_NAME = '<stdin>';

/** `-` as an input path means standard input (Unix convention), where the input is one stream. */
export function isStdin(path: string): boolean {
  return path === '-';
}

/** All of standard input, for a `-` input. A terminal is refused: the command would sit waiting for typing. */
export function readStdin(what: string): Buffer {
  if (process.stdin.isTTY) throw new UserError(STDIN_NAME, `is a terminal; pipe ${what} into it, or name a file`);
  try {
    return readFileSync(0);
  } catch (error) {
    throw new UserError(STDIN_NAME, `cannot read ${what} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
