/**
 * The one parser of numeric command-line options. Every numeric option names its range here, so it
 * is checked (and stated in the message) before any work starts; commander turns the error into the
 * one-line usage error `xai-tools: --opt: must be … (got 'x') (see xai-tools <cmd> --help)`, exit 2.
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { UserError } from '../errors.js';

export interface Range {
  min?: number;
  max?: number;
}

function describe(kind: string, { min, max }: Range): string {
  if (min !== undefined && max !== undefined) return `must be ${kind} from ${min} to ${max}`;
  if (min !== undefined)
    return min === 0
      ? `must be a non-negative ${kind.replace(/^an? /, '')}`
      : min === 1 && kind === 'an integer'
        ? 'must be a positive integer'
        : `must be ${kind} ≥ ${min}`;
  if (max !== undefined) return `must be ${kind} ≤ ${max}`;
  return `must be ${kind}`;
}

/** Parses a decimal integer within `range` (throws a message without the value; commander adds it). */
export function parseInteger(text: string, range: Range = {}): number {
  const t = text.trim();
  const v = Number(t);
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(v) || (range.min !== undefined && v < range.min) || (range.max !== undefined && v > range.max)) {
    throw new InvalidArgumentError(describe('an integer', range));
  }
  return v;
}

/** Parses a finite number within `range`; `exclusiveMin` makes the lower bound strict (> 0). */
export function parseNumber(text: string, range: Range & { exclusiveMin?: boolean } = {}): number {
  const t = text.trim();
  const v = Number(t);
  const low = range.min === undefined ? true : range.exclusiveMin ? v > range.min : v >= range.min;
  if (t === '' || !Number.isFinite(v) || !low || (range.max !== undefined && v > range.max)) {
    throw new InvalidArgumentError(
      range.exclusiveMin && range.min === 0 && range.max === undefined ? 'must be a positive number' : describe('a number', range),
    );
  }
  return v;
}

/** A commander argParser for an integer option in `range`. */
export const integerOption =
  (range: Range = {}) =>
  (text: string): number =>
    parseInteger(text, range);
/** A commander argParser for a number option in `range`. */
export const numberOption =
  (range: Range & { exclusiveMin?: boolean } = {}) =>
  (text: string): number =>
    parseNumber(text, range);

/** The same check for options parsed after commander (their error names the option itself). */
export function integerFor(option: string, text: string, range: Range = {}): number {
  try {
    return parseInteger(text, range);
  } catch (error) {
    throw new UserError(option, `${(error as Error).message} (got '${text}')`);
  }
}

/**
 * `--threads`: 1 … available parallelism. More threads than cores only slow onnxruntime down
 * (83 s instead of 2 s for 1000 threads on 2 cores), so a larger value is lowered with a warning.
 */
export function threadsFor(text: string, cores = availableParallelism(), warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): number {
  const n = integerFor('--threads', text, { min: 1 });
  if (n <= cores) return n;
  warn(`xai-tools: --threads: ${n} is more than the ${cores} available cores; using ${cores}`);
  return cores;
}

/** Refuses `--low` ≥ `--high` (per channel when both are lists of equal length). */
export function checkLowHigh(low: number[] | undefined, high: number[] | undefined): void {
  if (!low || !high) return;
  const n = Math.max(low.length, high.length);
  for (let i = 0; i < n; i++) {
    const lo = low[low.length === 1 ? 0 : i];
    const hi = high[high.length === 1 ? 0 : i];
    if (lo === undefined || hi === undefined) continue;
    if (!(lo < hi)) throw new UserError('--low', `must be smaller than --high (got ${lo} and ${hi}${n > 1 ? ` for channel ${i}` : ''})`);
  }
}
