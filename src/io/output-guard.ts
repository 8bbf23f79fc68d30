/**
 * The one output policy of every command, checked before any work starts (a commander preAction
 * hook in cli.ts, so command files need no code for it):
 *
 * - an output is never one of the command's inputs: compared by device and inode after following
 *   symlinks, so `-o ./link-to-input` is caught as well as `-o input`;
 * - an existing output is refused unless `--overwrite` (attribute and evaluate apply the same rule
 *   themselves, together with `--resume`);
 * - FIFOs and character devices count as "not existing" for the second rule: they are written into,
 *   never replaced (src/util/atomic.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { isSpecialOutput } from '../util/atomic.js';

/** Commands whose existing -o the hook refuses without --overwrite (the others check it themselves). */
export const OVERWRITE_GUARDED = new Set(['spray', 'canonize', 'project init', 'heatmap']);

/** The full name of a (sub)command: `project init`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every string an option or argument holds that might name a file (NAME=FILE counts its FILE). */
function candidatePaths(value: unknown, out: string[]): void {
  if (typeof value === 'string') {
    out.push(value);
    const at = value.indexOf('=');
    if (at > 0) out.push(value.slice(at + 1));
  } else if (Array.isArray(value)) {
    for (const v of value) candidatePaths(v, out);
  } else if (value && typeof value === 'object' && 'path' in value) {
    candidatePaths((value as { path: unknown }).path, out);
  }
}

function identity(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/** Throws when `output` is the same file as one of `inputs` (by device and inode). */
export function refuseInputAsOutput(output: string, inputs: readonly string[]): void {
  const id = identity(output);
  if (id === undefined) return;
  for (const input of inputs) {
    if (identity(input) === id) {
      throw new UserError(
        output,
        `is also an input of this command${resolve(input) === resolve(output) ? '' : ` (${input})`}; it would be overwritten — write to another file`,
      );
    }
  }
}

/** The preAction check: see the module comment. */
export function guardOutputs(command: Command): void {
  const options = command.opts() as Record<string, unknown>;
  const output = options.output;
  if (typeof output !== 'string' || output === '' || output === '-') return;
  const inputs: string[] = [];
  for (const [key, value] of Object.entries(options)) if (key !== 'output') candidatePaths(value, inputs);
  candidatePaths(command.processedArgs, inputs);
  refuseInputAsOutput(output, inputs);

  const name = commandPath(command);
  if (!OVERWRITE_GUARDED.has(name) || options.overwrite === true) return;
  if (!existsSync(output) || isSpecialOutput(output)) return;
  if (statSync(output).isDirectory()) {
    // heatmap writes into a directory (and recolor may write into one): its manifest marks an earlier run.
    if (name === 'heatmap' && options.recolor === undefined && existsSync(join(output, 'heatmaps.csv'))) {
      throw new UserError(output, 'holds the heatmaps of an earlier run (heatmaps.csv); use --overwrite to replace them');
    }
    return;
  }
  throw new UserError(output, 'already exists; use --overwrite to replace it');
}
