/**
 * Thin onnxruntime-node glue: open a session on an in-memory IR model and run it on Float32 inputs.
 * One intra-op thread: on these machines it is both the fastest and deterministic setting.
 */
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import { encodeModel } from './codec.js';
import type { Model } from './ir.js';

import { cudaInstallCommand, sessionOptions, type SessionOptions } from './session-options.js';

export { cudaInstallCommand, sessionOptions, type Device, type SessionOptions } from './session-options.js';

/** Creates an inference session for `model` (encoded in memory), with ORT's warnings silenced. */
export async function createSession(model: Model | Uint8Array, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(options));
  } catch (error) {
    // Missing libcudart/libcudnn surface here as a multi-line loader message: say what to do instead.
    if (options.device !== 'cuda') throw error;
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new UserError(
      '--device cuda',
      `onnxruntime could not start its CUDA provider (${first}); it needs CUDA 12 and cuDNN 9 and the provider from ` +
        `${cudaInstallCommand()}, or use --device cpu`,
    );
  }
}

/** Runs `model` once on float32 inputs (name → data and dims); returns every output as float32 data + dims. */
export async function runModel(
  model: Model | Uint8Array,
  inputs: Record<string, { data: Float32Array; dims: number[] }>,
  options: SessionOptions = {},
): Promise<Map<string, { data: Float32Array; dims: number[] }>> {
  const session = await createSession(model, options);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, { data, dims }] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', data, dims);
    const results = await session.run(feeds);
    const out = new Map<string, { data: Float32Array; dims: number[] }>();
    for (const [name, tensor] of Object.entries(results)) {
      const data = tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as ArrayLike<number>, Number);
      out.set(name, { data, dims: [...tensor.dims] });
    }
    return out;
  } finally {
    await session.release();
  }
}
