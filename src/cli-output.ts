/**
 * Unix conventions shared by the commands: `--json` (one JSON document on stdout, logs on stderr) and
 * `-` as the output name for stdout where the output is one stream. Commands call these with a few lines
 * so each behaves the same way.
 */
import { Option } from 'commander';
import { UserError } from './errors.js';

/** The file name that means standard output (or input). */
export const STDIO = '-';

export function jsonOption(): Option {
  return new Option('--json', 'print the report as one JSON document on stdout (progress and logs stay on stderr)');
}

/**
 * Prints a command's report: the JSON document when asked for, else the human lines. When stdout carries
 * the output itself (`-o -`), the human lines go to stderr and `--json` is refused (two documents on one stream).
 */
export function report(options: { json?: boolean; outputOnStdout?: boolean }, value: unknown, lines: string[]): void {
  if (options.json && options.outputOnStdout) throw new UserError('--json', 'cannot be combined with -o - (stdout already carries the output)');
  if (options.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else (options.outputOnStdout ? process.stderr : process.stdout).write(lines.map((l) => `${l}\n`).join(''));
}

/** Writes text to stdout, waiting until it is flushed (so a following exit loses nothing). */
export function writeStdout(text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())));
}
