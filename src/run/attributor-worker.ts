/**
 * Worker-thread side of `startAttributorWorker`: compiles the attributor and runs batches. It exists
 * because onnxruntime-node's `session.run` blocks the thread that calls it for the whole batch; in a
 * worker, the main thread stays free to decode and preprocess the next batch meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { compileAttributor, type AttributorOptions, type CompiledAttributor, type Target } from '../lrp/engine.js';
import type { Model } from '../onnx/ir.js';

export type WorkerRequest = { kind: 'run'; id: number; batch: Float32Array; target: Target } | { kind: 'close' };

export type WorkerReply =
  | { kind: 'ready'; inputShape: number[]; numClasses: number; batchSize: number }
  | { kind: 'result'; id: number; relevance: Float32Array; logits: Float32Array }
  | { kind: 'error'; id?: number; error: SerializedError }
  | { kind: 'closed' };

export interface SerializedError {
  userError: boolean;
  file?: string;
  message: string;
  stack?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof UserError) return { userError: true, file: error.file, message: error.message, stack: error.stack };
  return { userError: false, message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined };
}

async function serve(port: NonNullable<typeof parentPort>, init: { model: Model; options: AttributorOptions }): Promise<void> {
  let attributor: CompiledAttributor;
  try {
    attributor = await compileAttributor(init.model, init.options);
  } catch (error) {
    port.postMessage({ kind: 'error', error: serializeError(error) } satisfies WorkerReply);
    return;
  }
  port.postMessage({ kind: 'ready', inputShape: attributor.inputShape, numClasses: attributor.numClasses, batchSize: attributor.batchSize } satisfies WorkerReply);
  port.on('message', async (request: WorkerRequest) => {
    if (request.kind === 'close') {
      await attributor.close();
      port.postMessage({ kind: 'closed' } satisfies WorkerReply);
      port.close();
      return;
    }
    try {
      const { relevance, logits } = await attributor.run(request.batch, request.target);
      // Copies that own their buffers, so they can be transferred instead of cloned.
      const r = relevance.slice();
      const l = logits.slice();
      port.postMessage({ kind: 'result', id: request.id, relevance: r, logits: l } satisfies WorkerReply, [r.buffer, l.buffer]);
    } catch (error) {
      port.postMessage({ kind: 'error', id: request.id, error: serializeError(error) } satisfies WorkerReply);
    }
  });
}

if (parentPort) void serve(parentPort, workerData as { model: Model; options: AttributorOptions });
