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

/** The name messages use for an input path: `<stdin>` for `-`. */
export function inputName(path: string): string {
  return isStdin(path) ? STDIN_NAME : path;
}

/** What standard input was read as (stdin is one stream: it can be one input of a run, read once). */
let stdinText: { what: string; text: string } | undefined;

/** All of standard input as UTF-8 text for a `-` input; the same text again when asked for the same input twice. */
export function readStdinText(what: string): string {
  if (stdinText) {
    if (stdinText.what !== what) throw new UserError(STDIN_NAME, `is already read as ${stdinText.what}; only one input can come from stdin`);
    return stdinText.text;
  }
  stdinText = { what, text: readStdin(what).toString('utf8') };
  return stdinText.text;
}
