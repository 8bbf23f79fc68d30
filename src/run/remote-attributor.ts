import { Worker } from 'node:worker_threads';
import { UserError } from '../errors.js';
import type { AttributorOptions, Target } from '../lrp/engine.js';
import type { Dim } from '../onnx/ir.js';
import type { SerializedError, WorkerReply, WorkerRequest } from './attributor-worker.js';

/** The attributor as the run engine uses it, wherever it runs. */
export interface BatchModel {
  readonly inputShape: number[];
  readonly numClasses: number;
  run(batch: Float32Array, target: Target): Promise<{ relevance: Float32Array; logits: Float32Array }>;
}

/** A model opened in a worker thread: its declared input, then one compiled attributor. */
export interface ModelWorker {
  /** The model's declared input shape (batch axis included), as read from the file. */
  readonly inputShape: Dim[] | undefined;
  compile(options: AttributorOptions): Promise<BatchModel>;
  /** Waits for a batch still running in onnxruntime (its result is dropped), then stops the worker. */
  close(): Promise<void>;
}

type Result = { relevance: Float32Array; logits: Float32Array };

function revive(error: SerializedError): Error {
  const revived = error.userError ? new UserError(error.file, error.message) : new Error(error.message);
  if (error.stack) revived.stack = error.stack;
  return revived;
}

/**
 * Reads the model in a worker thread, where the attributor is later compiled and run, so that
 * onnxruntime's blocking `run` leaves the main thread free to decode the next batch (the overlap the
 * pipeline relies on) and the main thread never holds the weights. A UserError in the worker (not an
 * ONNX file, an unsupported op) is a UserError here.
 */
export async function openModelWorker(modelPath: string): Promise<ModelWorker> {
  const worker = new Worker(new URL('./attributor-worker.js', import.meta.url), { workerData: { modelPath } });
  const runs = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();
  /** The reply awaited by `compile` (or the first one, the model's input). */
  let awaiting: { resolve: (reply: WorkerReply) => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  let exited = false;
  const failAll = (error: Error): void => {
    failure ??= error;
    awaiting?.reject(error);
    awaiting = undefined;
    for (const p of runs.values()) p.reject(error);
    runs.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    if (reply.kind === 'result') {
      runs.get(reply.id)?.resolve({ relevance: reply.relevance, logits: reply.logits });
      runs.delete(reply.id);
    } else if (reply.kind === 'error' && reply.id !== undefined) {
      runs.get(reply.id)?.reject(revive(reply.error));
      runs.delete(reply.id);
    } else if (reply.kind === 'error') {
      const waiter = awaiting;
      awaiting = undefined;
      if (waiter) waiter.reject(revive(reply.error));
      else failAll(revive(reply.error));
    } else {
      const waiter = awaiting;
      awaiting = undefined;
      waiter?.resolve(reply);
    }
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => {
    exited = true;
    failAll(new Error(`the attribution worker exited (${code})`));
  });
  const next = (): Promise<WorkerReply> => (failure ? Promise.reject(failure) : new Promise((resolve, reject) => (awaiting = { resolve, reject })));

  const close = async (): Promise<void> => {
    // Not terminate(): tearing the worker down while onnxruntime runs aborts the process. The worker
    // handles `close` after the batch in flight and then exits by itself.
    if (exited) return;
    const gone = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ kind: 'close' } satisfies WorkerRequest);
    await gone;
  };

  const first = await next().catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  if (first.kind !== 'model') throw new Error(`unexpected reply ${first.kind} from the attribution worker`);
  let nextId = 0;
  return {
    inputShape: first.inputShape,
    close,
    async compile(options) {
      const reply = next();
      worker.postMessage({ kind: 'compile', options } satisfies WorkerRequest);
      const ready = await reply;
      if (ready.kind !== 'ready') throw new Error(`unexpected reply ${ready.kind} from the attribution worker`);
      return {
        inputShape: ready.inputShape,
        numClasses: ready.numClasses,
        run(batch, target) {
          if (failure) return Promise.reject(failure);
          const id = nextId++;
          return new Promise<Result>((resolve, reject) => {
            runs.set(id, { resolve, reject });
            worker.postMessage({ kind: 'run', id, batch, target } satisfies WorkerRequest);
          });
        },
      };
    },
  };
}
