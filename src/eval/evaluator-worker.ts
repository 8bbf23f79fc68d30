/**
 * Worker-thread side of `startEvaluatorWorker` (remote-evaluator.ts): opens the evaluator's sessions
 * on the graphs the main thread built and runs batches in the order they arrive. It exists because
 * onnxruntime-node's `session.run` blocks the calling thread for the whole run; here, the main thread
 * meanwhile reads the next batch's samples and relevance and writes the last batch's curves.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InterruptedError, UserError } from '../errors.js';
import { openEvaluator, type EvaluationBatch, type Evaluator, type EvaluatorGraphs, type EvaluatorOptions } from './evaluator.js';

/** EvaluatorOptions that can cross a thread boundary (the abort signal becomes an `abort` message). */
export type WorkerEvaluatorOptions = Omit<EvaluatorOptions, 'signal'>;

export interface EvaluatorWorkerData {
  graphs: EvaluatorGraphs;
  options: WorkerEvaluatorOptions;
}

/** An error as it crosses back to the main thread (importing run/attributor-worker.ts here would start its worker code). */
export interface SerializedError {
  userError: boolean;
  interrupted: boolean;
  file?: string;
  message: string;
  stack?: string;
}

function serializeError(error: unknown): SerializedError {
  return {
    userError: error instanceof UserError,
    interrupted: error instanceof InterruptedError,
    file: error instanceof UserError ? error.file : undefined,
    message: error instanceof Error ? error.message : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  };
}

export type EvaluatorRequest = { kind: 'run'; id: number; batch: EvaluationBatch } | { kind: 'abort' } | { kind: 'close' };

export type EvaluatorReply = { kind: 'ready' } | { kind: 'result'; id: number; curves: Float32Array } | { kind: 'error'; id?: number; error: SerializedError };

function serve(port: NonNullable<typeof parentPort>, data: EvaluatorWorkerData): void {
  const reply = (message: EvaluatorReply, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  const failed = (error: unknown, id?: number): void => reply({ kind: 'error', id, error: serializeError(error) });
  // session.run yields to the event loop between runs, so an `abort` message stops a batch between runs.
  const stop = new AbortController();
  // Batches run one at a time, in arrival order, however the main thread queues them.
  let queue: Promise<unknown> = Promise.resolve();
  const opened: Promise<Evaluator> = openEvaluator(data.graphs, { ...data.options, signal: stop.signal });
  opened.then(
    () => reply({ kind: 'ready' }),
    (error: unknown) => failed(error),
  );
  port.on('message', (request: EvaluatorRequest) => {
    switch (request.kind) {
      case 'run':
        queue = queue.then(async () => {
          try {
            const curves = await (await opened).run(request.batch);
            reply({ kind: 'result', id: request.id, curves }, [curves.buffer as ArrayBuffer]);
          } catch (error) {
            failed(error, request.id);
          }
        });
        return;
      case 'abort':
        stop.abort(new InterruptedError());
        return;
      case 'close':
        queue = queue.then(async () => {
          await (await opened.catch(() => undefined))?.close();
          port.close();
        });
        return;
    }
  });
}

if (parentPort) serve(parentPort, workerData as EvaluatorWorkerData);
