/**
 * Shared pieces of the fuzz suite: seeded fast-check sampling, byte mutations of real files, a
 * CLI runner with a hang timeout, and the property every run must hold (no crash, no stack trace,
 * exit 0/1/2, every stderr line one `xai-tools: …` message).
 *
 * Cases are drawn with `fc.sample` from a fixed seed and run two at a time: each one spawns the
 * real CLI (hundreds of milliseconds of start-up), so shrinking is not worth its cost; a failure
 * reports the case itself, which the seed reproduces.
 */
import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { cliPath } from '../helpers/cli.js';

/** One seed for the whole suite (override with FUZZ_SEED to explore; the committed run is fixed). */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261202);
/** Scales every case count (FUZZ_SCALE=10 for a long local run). */
export const FUZZ_SCALE = Number(process.env.FUZZ_SCALE ?? 1);
export const cases = (n: number): number => Math.max(1, Math.round(n * FUZZ_SCALE));

/** A byte-level mutation of a file: what a bad disk, a bad download or a hostile user produce. */
export type Mutation =
  | { kind: 'flip'; at: number; xor: number }[]
  | { kind: 'truncate'; at: number }
  | { kind: 'zero'; at: number; length: number }
  | { kind: 'splice'; at: number; bytes: number[] };

/** Positions are fractions of the file length, so one arbitrary fits any file (uniform: fc.double favours tiny values). */
const fraction = fc.integer({ min: 0, max: 999_999 }).map((n) => n / 1_000_000);
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.array(fc.record({ kind: fc.constant('flip' as const), at: fraction, xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 16 }),
  fc.record({ kind: fc.constant('truncate' as const), at: fraction }),
  fc.record({ kind: fc.constant('zero' as const), at: fraction, length: fc.integer({ min: 1, max: 4096 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: fraction, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }) }),
);

export function mutate(bytes: Uint8Array, mutation: Mutation): Buffer {
  const out = Buffer.from(bytes);
  const pos = (f: number) => Math.min(out.length - 1, Math.floor(f * out.length));
  if (Array.isArray(mutation)) {
    for (const m of mutation) out[pos(m.at)] ^= m.xor;
    return out;
  }
  if (mutation.kind === 'truncate') return out.subarray(0, pos(mutation.at));
  if (mutation.kind === 'zero') {
    out.fill(0, pos(mutation.at), Math.min(out.length, pos(mutation.at) + mutation.length));
    return out;
  }
  return Buffer.concat([out.subarray(0, pos(mutation.at)), Buffer.from(mutation.bytes), out.subarray(pos(mutation.at) + mutation.bytes.length)]);
}

export interface Run {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs the compiled CLI; a run past `timeoutMs` is killed and counts as a hang. */
export function runCliBounded(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Why a run breaks the property, or undefined when it holds. */
export function violation(run: Run): string | undefined {
  if (run.timedOut) return 'hang (killed after the timeout)';
  if (run.signal) return `killed by ${run.signal}`;
  if (run.code === null || ![0, 1, 2].includes(run.code)) return `exit code ${run.code}`;
  if (/internal error/i.test(run.stderr)) return 'internal error';
  if (/^\s+at .+[:(]\d+/m.test(run.stderr) || /^\w*Error: /m.test(run.stderr)) return 'stack trace or raw error';
  if (run.code !== 0) {
    const lines = run.stderr.trimEnd().split('\n');
    if (lines.length === 0 || lines[0] === '') return 'non-zero exit without a message';
    const bad = lines.find((l) => !l.startsWith('xai-tools: '));
    if (bad !== undefined) return `stderr line not an xai-tools message: ${JSON.stringify(bad.slice(0, 200))}`;
  }
  return undefined;
}

/** Runs `work` over `items` with at most `parallel` at once, in order of the items. */
export async function pool<T, R>(items: T[], parallel: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

/** Seeded cases from an arbitrary (each suite gets its own stream through `offset`). */
export function draw<T>(arb: fc.Arbitrary<T>, count: number, offset: number): T[] {
  return fc.sample(arb, { seed: FUZZ_SEED + offset, numRuns: count });
}
