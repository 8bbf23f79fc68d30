/**
 * Shared by the benchmarks that time the CLI end to end and run the reference tools beside it:
 * running `xai-tools` (the built dist/, as a user runs it) in a child process with its wall time and
 * peak RSS, and finding the Python reference checkouts (Zennit, CoRelAy).
 *
 * References: PyPI is not reachable on these machines, so Zennit and CoRelAy come from their public
 * sources, checked out anywhere outside this repository, and are named by environment variables:
 *   ZENNIT_SRC=/path/to/zennit     (a checkout of chr5tphr/zennit at tag 0.5.1)
 *   CORELAY_SRC=/path/to/corelay   (a checkout of virelay/corelay)
 * (the checkout root or its src/ folder). Their dependencies come from Debian: python3-torch,
 * python3-torchvision for Zennit; python3-numpy, python3-scipy, python3-sklearn, python3-skimage,
 * python3-matplotlib, python3-h5py for CoRelAy. CoRelAy imports `metrohash` (only used to hash
 * memoised results, which the benchmark does not use); Debian has no Python binding for it, so when
 * `import metrohash` fails bench/shims/ is appended to PYTHONPATH (a stand-in on hashlib).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = fileURLToPath(new URL('..', import.meta.url));
export const root = join(benchDir, '..');
export const python = '/usr/bin/python3';

export interface CliRun {
  code: number | null;
  seconds: number;
  peakRssMiB: number;
  /** User + system CPU seconds of the whole process (worker threads included). */
  cpuSeconds: number;
  stdout: string;
  stderr: string;
}

/** Newest modification time under `dir` (recursively), in ms. */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/** Undefined when dist/ is built and newer than src/; else why the CLI cannot be timed. */
export function distProblem(): string | undefined {
  const cli = join(root, 'dist', 'cli.js');
  if (!existsSync(cli)) return 'dist/cli.js is missing: run `npm run build` first';
  if (newest(join(root, 'src')) > statSync(cli).mtimeMs) return 'dist/ is older than src/: run `npm run build` first';
  return undefined;
}

/** Runs `xai-tools ...args` to completion; `nodeArgs` go to node (e.g. --cpu-prof). */
export function runCli(args: string[], nodeArgs: string[] = []): Promise<CliRun> {
  const began = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, join(benchDir, 'lib', 'cli-with-rss.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const seconds = (performance.now() - began) / 1000;
      const m = /BENCH_MAXRSS_KB (\d+) BENCH_CPU_US (\d+)/.exec(stderr);
      resolve({
        code,
        seconds,
        peakRssMiB: Number(m?.[1] ?? NaN) / 1024,
        cpuSeconds: Number(m?.[2] ?? NaN) / 1e6,
        stdout,
        stderr: stderr.replace(/\nBENCH_MAXRSS_KB .*\n/, ''),
      });
    });
  });
}

/** The last lines of a failed run's stderr, on one line. */
export function failure(run: CliRun): string {
  return `exit ${run.code}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`;
}

function sourceDir(variable: string): string | undefined {
  const dir = process.env[variable];
  if (!dir) return undefined;
  return existsSync(join(dir, 'src')) ? join(dir, 'src') : dir;
}

/**
 * Environment for the Python reference scripts: PYTHONPATH with the checkouts named by ZENNIT_SRC /
 * CORELAY_SRC, plus the metrohash stand-in when the interpreter has no metrohash module; BLAS and
 * OpenMP held to one thread.
 */
export function referenceEnv(): NodeJS.ProcessEnv {
  const paths = [sourceDir('ZENNIT_SRC'), sourceDir('CORELAY_SRC'), process.env.PYTHONPATH].filter((p): p is string => !!p);
  if (sourceDir('CORELAY_SRC') && existsSync(python)) {
    const probe = spawnSync(python, ['-c', 'import metrohash'], { stdio: 'ignore' });
    if (probe.status !== 0) paths.push(join(benchDir, 'shims'));
  }
  // One thread, like the xai-tools side (torch sets its own with set_num_threads as well).
  return { ...process.env, PYTHONPATH: paths.join(':'), OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', PYTHONWARNINGS: 'ignore' };
}

/** Runs a Python reference script; resolves to the JSON objects it printed, one per line. */
export function runPython(script: string, args: string[]): Promise<{ code: number | null; results: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(python, [join(benchDir, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: referenceEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => {
      const results = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, results, stderr });
    });
  });
}

/** `uptime`'s three load averages, for every printed figure. */
export function loadAverage(): string {
  try {
    const [a, b, c] = (spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout ?? '').split(' ');
    return `${a} ${b} ${c}`;
  } catch {
    return 'unknown';
  }
}
