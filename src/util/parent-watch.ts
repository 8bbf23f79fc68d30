/**
 * Worker thread of a supervised child (see supervise.ts): when the supervising parent dies without
 * passing a signal on (SIGKILL, OOM killer), the child is re-parented and would run on to the end,
 * writing an output nobody waits for. The child's main thread may be inside synchronous work for
 * seconds, so the watch runs here: it polls the parent, and once it is gone removes the child's
 * temporaries beside (and inside) each output and kills the process.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { removeTemporariesOf } from './atomic.js';

interface ParentWatchData {
  parentPid: number;
  outputs: string[];
  intervalMs: number;
}

const { parentPid, outputs, intervalMs } = workerData as ParentWatchData;

function parentGone(): boolean {
  // Re-parenting changes ppid at once; the kill(0) probe covers a parent that is a zombie's reaper.
  if (process.ppid !== parentPid) return true;
  try {
    process.kill(parentPid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

setInterval(() => {
  if (!parentGone()) return;
  for (const output of outputs) removeTemporariesOf(process.pid, output);
  process.kill(process.pid, 'SIGKILL');
}, intervalMs);
parentPort?.unref();
