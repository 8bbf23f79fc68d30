/**
 * Worker-thread side of `openModelWorker`: reads the model, compiles the attributor and runs batches.
 * It exists because onnxruntime-node's `session.run` blocks the thread that calls it for the whole
 * batch; in a worker, the main thread stays free to decode and preprocess the next batch meanwhile.
 * The model is read here, not passed in, so the main thread never holds a copy of its weights.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { compileAttributor, type AttributorOptions, type CompiledAttributor, type Target } from '../lrp/engine.js';
import { readModel } from '../onnx/codec.js';
import type { Dim, Model } from '../onnx/ir.js';

export type WorkerRequest =
  | { kind: 'compile'; options: AttributorOptions }
  | { kind: 'run'; id: number; batch: Float32Array; target: Target }
  | { kind: 'close' };

export type WorkerReply =
  | { kind: 'model'; inputShape: Dim[] | undefined }
  | { kind: 'ready'; inputShape: number[]; numClasses: number; batchSize: number }
  | { kind: 'result'; id: number; relevance: Float32Array; logits: Float32Array }
  | { kind: 'error'; id?: number; error: SerializedError };

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

function serve(port: NonNullable<typeof parentPort>, modelPath: string): void {
  const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  let model: Model | undefined;
  try {
    model = readModel(modelPath);
  } catch (error) {
    reply({ kind: 'error', error: serializeError(error) });
    port.close();
    return;
  }
  reply({ kind: 'model', inputShape: model.graph.inputs[0]?.shape });
  let attributor: CompiledAttributor | undefined;
  port.on('message', async (request: WorkerRequest) => {
    try {
      switch (request.kind) {
        case 'compile': {
          attributor = await compileAttributor(model!, request.options);
          model = undefined; // the compiled graph holds what it needs
          reply({ kind: 'ready', inputShape: attributor.inputShape, numClasses: attributor.numClasses, batchSize: attributor.batchSize });
          return;
        }
        case 'run': {
          const { relevance, logits } = await attributor!.run(request.batch, request.target);
          // Copies that own their buffers, so they are transferred rather than cloned.
          const r = relevance.slice();
          const l = logits.slice();
          reply({ kind: 'result', id: request.id, relevance: r, logits: l }, [r.buffer, l.buffer]);
          return;
        }
        case 'close':
          await attributor?.close();
          port.close();
          return;
      }
    } catch (error) {
      reply({ kind: 'error', id: request.kind === 'run' ? request.id : undefined, error: serializeError(error) });
    }
  });
}

if (parentPort) serve(parentPort, (workerData as { modelPath: string }).modelPath);
