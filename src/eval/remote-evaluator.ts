/**
 * The evaluator in a worker thread. onnxruntime-node runs a session synchronously on the thread that
 * calls it, so in-process evaluation serialised everything: reading each batch's samples and stored
 * relevance, ranking, inference, writing curves. With the sessions in a worker, the main thread reads
 * and writes while the worker runs the model; `submit` queues a batch as soon as it is loaded, so the
 * worker goes on to the next batch while the main thread still writes the last one.
 */
import { Worker } from 'node:worker_threads';
import { InterruptedError, UserError } from '../errors.js';
import { patchGrid } from './graphs.js';
import type { EvaluationBatch, Evaluator, EvaluatorGraphs, EvaluatorOptions } from './evaluator.js';
import type { EvaluatorReply, EvaluatorRequest, EvaluatorWorkerData, SerializedError } from './evaluator-worker.js';

function revive(error: SerializedError): Error {
  const revived = error.interrupted
    ? new InterruptedError(error.message)
    : error.userError
      ? new UserError(error.file, error.message)
      : new Error(error.message);
  if (error.stack) revived.stack = error.stack;
  return revived;
}

/**
 * Opens the sessions on `graphs` (from `buildEvaluatorGraphs` with the same options; their buffers
 * move to the worker) in a new worker and resolves once they are ready. `run` may be called again
 * before an earlier batch finished: batches queue up and run in call order. `close` must follow.
 */
export async function startEvaluatorWorker(graphs: EvaluatorGraphs, options: EvaluatorOptions): Promise<Evaluator> {
  const grid = patchGrid(options.sampleShape, options.patch);
  const { signal, ...plain } = options;
  const workerData: EvaluatorWorkerData = { graphs, options: plain };
  const worker = new Worker(new URL('./evaluator-worker.js', import.meta.url), {
    workerData,
    transferList: [graphs.ranking.buffer as ArrayBuffer, graphs.perturbation.buffer as ArrayBuffer],
  });
  const runs = new Map<number, { resolve: (curves: Float32Array) => void; reject: (error: Error) => void }>();
  let ready: { resolve: () => void; reject: (error: Error) => void } | undefined;
  let failure: Error | undefined;
  let exited = false;
  const failAll = (error: Error): void => {
    failure ??= error;
    ready?.reject(error);
    ready = undefined;
    for (const run of runs.values()) run.reject(error);
    runs.clear();
  };
  const opened = new Promise<void>((resolve, reject) => (ready = { resolve, reject }));
  worker.on('message', (reply: EvaluatorReply) => {
    if (reply.kind === 'ready') {
      ready?.resolve();
      ready = undefined;
    } else if (reply.kind === 'result') {
      runs.get(reply.id)?.resolve(reply.curves);
      runs.delete(reply.id);
    } else if (reply.id !== undefined) {
      runs.get(reply.id)?.reject(revive(reply.error));
      runs.delete(reply.id);
    } else {
      failAll(revive(reply.error));
    }
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => {
    exited = true;
    failAll(new Error(`the evaluation worker exited (${code})`));
  });
  const post = (request: EvaluatorRequest): void => worker.postMessage(request);
  const onAbort = (): void => {
    if (!exited) post({ kind: 'abort' });
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const close = async (): Promise<void> => {
    signal?.removeEventListener('abort', onAbort);
    // Not terminate(): tearing a worker down while onnxruntime runs aborts the process. The worker
    // closes after the run in flight (an abort has already stopped its batch) and exits by itself.
    if (exited) return;
    const gone = new Promise((resolve) => worker.once('exit', resolve));
    post({ kind: 'close' });
    await gone;
  };
  try {
    await opened;
  } catch (error) {
    await close();
    throw error;
  }

  let nextId = 0;
  return {
    grid,
    steps: options.steps,
    perStep: options.perStep,
    run(batch: EvaluationBatch) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        runs.set(id, { resolve, reject });
        post({ kind: 'run', id, batch });
      });
    },
    close,
  };
}
