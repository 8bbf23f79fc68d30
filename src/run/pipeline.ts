import { InterruptedError } from '../errors.js';

export interface PipelineStages<Job, Loaded, Result> {
  /** Reads and preprocesses one batch (decoding runs on libuv's thread pool, off the main thread). */
  load: (job: Job) => Promise<Loaded>;
  /** Runs the model on a loaded batch (onnxruntime runs it on its own threads). */
  compute: (loaded: Loaded) => Promise<Result>;
  /** Stores the result; runs strictly in job order, one at a time. */
  write: (result: Result, loaded: Loaded, job: Job) => void | Promise<void>;
}

export interface PipelineOptions {
  /**
   * How many batches may be loaded ahead of the one being computed (1 or 2). Memory holds at most
   * `prefetch + 1` loaded batches, whatever the dataset size.
   */
  prefetch?: number;
  /** Aborted on Ctrl-C/SIGTERM: the batch being computed is dropped (not written) and the loop stops. */
  signal?: AbortSignal;
}

/** A promise whose rejection is observed now (no unhandled-rejection warning) but rethrown when awaited. */
function settled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function interrupted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new InterruptedError();
}

/** Rejects as soon as `signal` aborts, so a long model run does not delay stopping. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(interrupted(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(interrupted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Runs load → compute → write over `jobs` with loading overlapped: while batch i is computed, batches
 * i+1 … i+prefetch are decoded. Results are written in order. A failed load surfaces when its batch
 * is reached (earlier batches are still written), so a bad sample stops the run at a clean boundary.
 * On abort the batch in flight is dropped and the signal's reason is thrown after every write done
 * so far has completed.
 */
export async function runPipeline<Job, Loaded, Result>(
  jobs: readonly Job[],
  stages: PipelineStages<Job, Loaded, Result>,
  options: PipelineOptions = {},
): Promise<void> {
  const prefetch = Math.max(1, Math.min(2, options.prefetch ?? 1));
  const { signal } = options;
  const loads: Array<Promise<Loaded> | undefined> = [];
  let next = 0;
  const fillQueue = (current: number): void => {
    // Only the batch being computed plus `prefetch` more may be held at once.
    while (next < jobs.length && next <= current + prefetch) {
      loads[next] = settled(stages.load(jobs[next]!));
      next++;
    }
  };
  for (let i = 0; i < jobs.length; i++) {
    if (signal?.aborted) throw interrupted(signal);
    fillQueue(i);
    const loaded = await raceAbort(loads[i]!, signal);
    loads[i] = undefined; // let the batch be collected once written
    fillQueue(i);
    const result = await raceAbort(settled(stages.compute(loaded)), signal);
    await stages.write(result, loaded, jobs[i]!);
  }
}
