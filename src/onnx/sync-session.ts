/**
 * A blocking onnxruntime session, for engines whose steps are synchronous (the processors follow
 * CoRelAy's `__call__` model: `compute` returns its result). onnxruntime-node's native `run` and
 * `loadModel` are synchronous; its public API only defers them with `setImmediate` behind a Promise,
 * so calling the native binding directly costs nothing extra and blocks exactly as long as the public
 * `run` would block the event loop anyway.
 *
 * The binding is not public API (checked against onnxruntime-node 1.30). `openSyncSession` returns
 * undefined when it is missing or looks different, and callers keep a path without onnxruntime.
 */
import { createRequire } from 'node:module';
import type * as ort from 'onnxruntime-node';

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, null>, options: object): Record<string, SyncOutput>;
  dispose(): void;
  readonly outputMetadata: ReadonlyArray<{ name: string }>;
}

interface NativeBinding {
  initOrt(): void;
  binding: { InferenceSession: new () => NativeSession };
}

/** One output as the binding returns it (an ort.Tensor or a plain object of the same fields). */
export interface SyncOutput {
  readonly type: string;
  readonly data: ort.Tensor['data'];
  readonly dims: readonly number[];
}

export interface SyncSession {
  /** Runs the graph on `feeds`; returns every output. */
  run(feeds: Record<string, ort.Tensor>): Record<string, SyncOutput>;
  release(): void;
}

let native: NativeBinding | null | undefined;

function loadBinding(): NativeBinding | null {
  if (native !== undefined) return native;
  try {
    const candidate = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js') as Partial<NativeBinding>;
    native = typeof candidate.initOrt === 'function' && typeof candidate.binding?.InferenceSession === 'function' ? (candidate as NativeBinding) : null;
  } catch {
    native = null;
  }
  return native;
}

/** Opens `model` (encoded ONNX) on the CPU at `threads` intra-op threads, or undefined where the binding is unavailable. */
export function openSyncSession(model: Uint8Array, threads = 1): SyncSession | undefined {
  const binding = loadBinding();
  if (!binding) return undefined;
  binding.initOrt();
  const session = new binding.binding.InferenceSession();
  session.loadModel(model.buffer, model.byteOffset, model.byteLength, { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
  const outputs = session.outputMetadata.map((m) => m.name);
  return {
    run(feeds) {
      const fetches: Record<string, null> = {};
      for (const name of outputs) fetches[name] = null;
      return session.run(feeds, fetches, {});
    },
    release() {
      session.dispose();
    },
  };
}
