/**
 * Unix conventions shared by the commands: `--json` (one JSON document on stdout, logs on stderr) and
 * `-` as the output name for stdout where the output is one stream. Commands call these with a few lines
 * so each behaves the same way.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option } from 'commander';
import { UserError } from './errors.js';
import { trackTemporary, untrackTemporary } from './util/atomic.js';

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

/** How an error on stdout is named in messages. */
export const STDOUT_NAME = '<stdout>';

/** Errors already handed to a caller of `writeStdout` (the stream emits them again as 'error'). */
const reportedStdoutErrors = new WeakSet<object>();

/** Writes text to stdout, waiting until it is flushed (so a following exit loses nothing). */
export function writeStdout(text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(text, (error) => {
      if (!error) return resolve();
      reportedStdoutErrors.add(error);
      const errno = error as NodeJS.ErrnoException;
      if (!errno.path) errno.path = STDOUT_NAME;
      reject(error);
    }),
  );
}

/**
 * What happens when stdout fails (Node would print a stack trace for the unhandled 'error' event):
 * the reader went away (EPIPE, `xai-tools … | head`) → stop at once and quietly with 141, as a Unix
 * tool killed by SIGPIPE does; anything else (ENOSPC on a full disk) → one line and exit 1. Pending
 * temporaries are removed first (`cleanUp`).
 */
export function handleStdoutErrors(cleanUp: () => void, describe: (error: NodeJS.ErrnoException) => string): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') {
      cleanUp();
      process.exit(141);
    }
    if (reportedStdoutErrors.has(error)) return;
    cleanUp();
    process.stderr.write(`xai-tools: ${STDOUT_NAME}: ${describe(error)}\n`);
    process.exit(1);
  });
}

/** Whether `-o` names standard output. `-` is never a file, so the output guard and --overwrite do not apply to it. */
export function toStdout(options: { output?: string }): boolean {
  return options.output === STDIO;
}

/** Refuses `--json` with `-o -` before any work starts (the same error `report` gives at the end). */
export function checkJsonWithStdout(options: { json?: boolean; output?: string }): void {
  if (options.json && toStdout(options)) report({ json: true, outputOnStdout: true }, null, []);
}

/** `-o -` carries one file: refuses, before any work, a run that would write `count` of them. */
export function refuseSeveralOnStdout(count: number, what: string, hint: string): void {
  if (count !== 1) throw new UserError('-o', `- writes one file to stdout, but this run would write ${count} ${what}; ${hint}`);
}

/**
 * For a command that writes a directory of files: with `-o -`, renders into a temporary directory and
 * sends its one file to stdout, so the engine keeps writing files and knows nothing about stdout.
 */
export async function oneFileToStdout<T>(render: (dir: string) => Promise<T>, fileOf: (result: T) => string[]): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'xai-tools-stdout-'));
  // Tracked, so that an exit on a signal or a broken pipe removes it too.
  trackTemporary(dir);
  try {
    const result = await render(dir);
    const files = fileOf(result);
    refuseSeveralOnStdout(files.length, 'files', 'give a directory');
    await writeStdout(readFileSync(files[0]!));
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    untrackTemporary(dir);
  }
}
