import { Worker } from 'node:worker_threads';
import { UserError } from '../errors.js';
import type { AttributorOptions, Target } from '../lrp/engine.js';
import type { Model } from '../onnx/ir.js';
import type { SerializedError, WorkerReply, WorkerRequest } from './attributor-worker.js';

/** The attributor as the run engine uses it, wherever it runs. */
export interface BatchModel {
  readonly inputShape: number[];
  readonly numClasses: number;
  run(batch: Float32Array, target: Target): Promise<{ relevance: Float32Array; logits: Float32Array }>;
  close(): Promise<void>;
}

function revive(error: SerializedError): Error {
  const revived = error.userError ? new UserError(error.file, error.message) : new Error(error.message);
  if (error.stack) revived.stack = error.stack;
  return revived;
}

/**
 * Compiles the attributor in a worker thread and runs batches there, so that onnxruntime's blocking
 * `run` leaves the main thread free to decode the next batch (the overlap the pipeline relies on).
 * Errors keep their kind: a UserError in the worker is a UserError here.
 */
export async function startAttributorWorker(model: Model, options: AttributorOptions): Promise<BatchModel> {
  const worker = new Worker(new URL('./attributor-worker.js', import.meta.url), { workerData: { model, options } });
  const pending = new Map<number, { resolve: (r: { relevance: Float32Array; logits: Float32Array }) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error): void => {
    failure ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };

  // Named handlers, removed one by one: removeAllListeners() would also drop Node's own hooks that
  // keep the worker's message port referenced.
  let onReadyError: (error: Error) => void = () => undefined;
  let onEarlyExit: (code: number) => void = () => undefined;
  let onFirstMessage: (reply: WorkerReply) => void = () => undefined;
  const ready = await new Promise<Extract<WorkerReply, { kind: 'ready' }>>((resolve, reject) => {
    onReadyError = reject;
    onEarlyExit = (code) => reject(new Error(`the attribution worker exited (${code}) before it was ready`));
    onFirstMessage = (reply) => {
      if (reply.kind === 'ready') resolve(reply);
      else if (reply.kind === 'error') reject(revive(reply.error));
      else reject(new Error(`unexpected reply ${reply.kind} from the attribution worker`));
    };
    worker.once('error', onReadyError);
    worker.once('exit', onEarlyExit);
    worker.once('message', onFirstMessage);
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  worker.off('error', onReadyError);
  worker.off('exit', onEarlyExit);
  worker.off('message', onFirstMessage);
  worker.on('message', (reply: WorkerReply) => {
    if (reply.kind === 'result') {
      pending.get(reply.id)?.resolve({ relevance: reply.relevance, logits: reply.logits });
      pending.delete(reply.id);
    } else if (reply.kind === 'error') {
      const error = revive(reply.error);
      if (reply.id === undefined) failAll(error);
      else {
        pending.get(reply.id)?.reject(error);
        pending.delete(reply.id);
      }
    }
  });
  worker.on('error', (error) => failAll(error));
  let exited = false;
  worker.on('exit', (code) => {
    exited = true;
    failAll(new Error(`the attribution worker exited (${code})`));
  });

  return {
    inputShape: ready.inputShape,
    numClasses: ready.numClasses,
    run(batch, target) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ kind: 'run', id, batch, target } satisfies WorkerRequest);
      });
    },
    async close() {
      // Not terminate(): tearing the worker down while onnxruntime runs aborts the process. The worker
      // handles `close` after the batch in flight (whose result is then dropped) and exits by itself.
      if (exited) return;
      const gone = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ kind: 'close' } satisfies WorkerRequest);
      await gone;
    },
  };
}
