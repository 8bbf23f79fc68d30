/**
 * Runs the Clever-Hans demo chain (`examples/clever-hans/demo.sh --no-serve`: canonize → attribute →
 * spray → heatmap → project init) once per output directory, for the tests that need its outputs
 * (test/demo.test.ts checks the finding, test/browser/demo.test.ts browses it).
 *
 * The chain takes about a minute, and vitest runs each test file in its own worker process, so the
 * sharing goes through the file system: the first worker to create the directory runs the chain and
 * writes `result.json` when it is done; the others wait for that file. The shared directory belongs
 * to one vitest run (it is named after the run's process and a fingerprint of what the chain is
 * computed from) and a small detached watcher removes it when that process ends.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

export const demoScript = join(repoRoot, 'examples', 'clever-hans', 'demo.sh');

export interface DemoChainRun {
  /** The demo's output directory (OUT): model.canonical.onnx, attribution.h5, analysis.h5, heatmaps/, project.yaml. */
  out: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The chain is slow on a busy one-core machine (about a minute when idle): give it room. */
export const DEMO_CHAIN_TIMEOUT_MS = 15 * 60_000;

const POLL_MS = 1_000;

function runScript(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Omit<DemoChainRun, 'out'>> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Newest modification time under `path` (a file or a directory tree). */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let t = stat.mtimeMs;
  for (const entry of readdirSync(path)) t = Math.max(t, newest(join(path, entry)));
  return t;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The directory this vitest run shares between its test files: named after the vitest process (the
 * parent of every worker) and the newest input of the chain (compiled CLI, fixture, script), so a
 * watch-mode re-run after a rebuild gets fresh outputs.
 */
export function sharedDemoDir(): string {
  const inputs = [join(repoRoot, 'dist'), join(repoRoot, 'fixtures', 'clever-hans'), demoScript].filter(existsSync);
  const fingerprint = Math.round(Math.max(...inputs.map(newest))).toString(36);
  return join(tmpdir(), `xai-demo-chain-${process.ppid}-${fingerprint}`);
}

/** Removes `dir` once process `pid` has ended, from a detached shell that outlives this worker. */
function removeWhenGone(pid: number, dir: string): void {
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 5; done; rm -rf "$2"';
  spawn('/bin/sh', ['-c', script, 'demo-chain-cleanup', String(pid), dir], { detached: true, stdio: 'ignore' }).unref();
}

async function waitForResult(base: string, timeoutMs: number): Promise<void> {
  const result = join(base, 'result.json');
  const ownerFile = join(base, 'owner.pid');
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(result)) {
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : 0;
    if (owner && !alive(owner) && !existsSync(result)) throw new Error(`the process running the demo chain into ${base} (pid ${owner}) ended without a result`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for the demo chain in ${base}`);
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

async function runOnce(base: string, options: { removeWithPid?: number; timeoutMs: number }): Promise<DemoChainRun> {
  const out = join(base, 'out');
  const result = join(base, 'result.json');
  let owner = false;
  try {
    mkdirSync(base); // atomic: exactly one worker creates it and runs the chain
    owner = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (owner) {
    if (options.removeWithPid) removeWhenGone(options.removeWithPid, base);
    writeFileSync(join(base, 'owner.pid'), String(process.pid));
    const run = await runScript('bash', [demoScript, '--no-serve'], { OUT: out, NO_COLOR: '1' });
    writeFileSync(`${result}.tmp`, JSON.stringify(run));
    renameSync(`${result}.tmp`, result);
  } else {
    await waitForResult(base, options.timeoutMs);
  }
  return { out, ...(JSON.parse(readFileSync(result, 'utf8')) as Omit<DemoChainRun, 'out'>) };
}

const runs = new Map<string, Promise<DemoChainRun>>();

/**
 * The demo chain's outputs under `base` (default: this vitest run's shared directory), running the
 * chain if no test file has yet. Throws with the script's output when the chain failed.
 */
export async function demoChain(base?: string, timeoutMs = DEMO_CHAIN_TIMEOUT_MS): Promise<DemoChainRun> {
  const dir = base ?? sharedDemoDir();
  let run = runs.get(dir);
  if (!run) {
    run = runOnce(dir, { removeWithPid: base ? undefined : process.ppid, timeoutMs });
    runs.set(dir, run);
  }
  const done = await run;
  if (done.code !== 0) throw new Error(`demo.sh failed (exit ${done.code}):\n${done.stdout.slice(-3000)}\n${done.stderr.slice(-3000)}`);
  return done;
}
