/**
 * Ctrl-C within a second for commands whose heavy work is synchronous JavaScript (spray's
 * eigensolvers and t-SNE, heatmap's PNG encoding, canonize of a large model). A signal handler only
 * runs when the event loop gets a turn, which synchronous work never gives it; so these commands
 * run in a child process and this parent, which only waits, stays responsive:
 *
 * - first SIGINT/SIGTERM: passed on to the child, which stops at its next checkpoint (exit 130,
 *   temporaries removed); if it has not exited after GRACE_MS, it is killed;
 * - second signal: the child is killed at once;
 * - after a kill, the child's temporaries (`.<name>.tmp-<childpid>` beside each output) are removed
 *   here, so the previous output stays and no temporary is left; the exit code is 130;
 * - if this parent is killed outright (SIGKILL), the child notices within PARENT_POLL_MS (a watch
 *   thread, parent-watch.ts), removes its temporaries and exits.
 *
 * Decision (README, "Outputs, interruption and errors"): one extra Node process (about 40 ms) for these commands,
 * instead of moving the SpRAy pipeline into a worker thread (its cache and progress live in the
 * main thread).
 */
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeStaleTemporaries, removeStaleTemporariesIn } from './atomic.js';

export const SUPERVISED_COMMANDS = new Set(['spray', 'heatmap', 'canonize']);
const CHILD_ENV = 'XAI_TOOLS_SUPERVISED_CHILD';
const GRACE_MS = 400;
const PARENT_POLL_MS = 200;

/** The subcommand named by argv (after node and the script), skipping global options. */
function subcommandOf(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}

/** True when this process should supervise a child instead of running the command itself. */
export function shouldSupervise(argv: readonly string[]): boolean {
  if (process.env[CHILD_ENV] === '1') return false;
  const command = subcommandOf(argv);
  if (!command || !SUPERVISED_COMMANDS.has(command)) return false;
  return !argv.includes('--help') && !argv.includes('-h');
}

/** The output paths named on the command line (-o/--output, --colorbar), for cleanup after a kill. */
function outputsOf(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = /^(--output|--colorbar)=(.*)$/.exec(a);
    if (eq) out.push(eq[2]!);
    else if ((a === '-o' || a === '--output' || a === '--colorbar') && i + 1 < argv.length) out.push(argv[i + 1]!);
  }
  return out;
}

/** After the child was killed: its temporaries beside each output (and inside an output directory). */
function cleanUpAfter(argv: readonly string[]): void {
  for (const output of outputsOf(argv)) {
    removeStaleTemporaries(output);
    try {
      if (existsSync(output) && statSync(output).isDirectory()) removeStaleTemporariesIn(output);
    } catch {
      // nothing to clean
    }
  }
}

/**
 * In the supervised child: starts the thread that ends this process when its parent dies. The
 * thread is unreferenced, so it never keeps the process alive.
 */
export function watchParentIfSupervised(argv: readonly string[]): void {
  if (process.env[CHILD_ENV] !== '1') return;
  const worker = new Worker(new URL('./parent-watch.js', import.meta.url), {
    workerData: { parentPid: process.ppid, outputs: outputsOf(argv), intervalMs: PARENT_POLL_MS },
  });
  worker.unref();
}

/** Runs the CLI again as a child with the same arguments; resolves to the exit code to use. */
export function runSupervised(argv: readonly string[]): Promise<number> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'xai-tools.js');
  const child = spawn(process.execPath, [...process.execArgv, cli, ...argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  let signalled: NodeJS.Signals | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      child.kill('SIGKILL');
      return;
    }
    signalled = signal;
    child.kill(signal);
    killTimer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`xai-tools: cannot start the worker process: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (signal) {
        cleanUpAfter(argv);
        process.stderr.write(`xai-tools: interrupted by ${signalled ?? signal}; no partial output was left under the final name\n`);
        resolve(130);
        return;
      }
      resolve(code ?? 1);
    });
  });
}
