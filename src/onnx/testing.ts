/**
 * Test-only helpers for ONNX tests (imported by *.test.ts files and test/canonize.test.ts only):
 * the conformance models and their stored inputs/logits, and a deterministic random input.
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import h5wasm, { type Dataset } from 'h5wasm/node';
import { mulberry32 } from '../util/mulberry32.js';

/** `../shared/conformance/lrp` beside the checkout. */
export const conformanceDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'conformance', 'lrp');

/** The conformance models: base name, input shape of one sample. */
export const conformanceModels: Array<{ name: string; sampleShape: number[] }> = [
  { name: 'cnn_bn', sampleShape: [3, 32, 32] },
  { name: 'mlp_bn', sampleShape: [20] },
  { name: 'resnet_basic', sampleShape: [3, 32, 32] },
];

/** The stored `input` [4, …] and `logits` [4, classes] of a conformance model. */
export async function conformanceData(name: string): Promise<{ input: Float32Array; inputDims: number[]; logits: Float32Array; logitsDims: number[] }> {
  await h5wasm.ready;
  const file = new h5wasm.File(join(conformanceDir, `${name}.h5`), 'r');
  try {
    const input = file.get('input') as Dataset;
    const logits = file.get('logits') as Dataset;
    return {
      input: Float32Array.from(input.value as Float32Array),
      inputDims: [...(input.shape ?? [])],
      logits: Float32Array.from(logits.value as Float32Array),
      logitsDims: [...(logits.shape ?? [])],
    };
  } finally {
    file.close();
  }
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
export function randomFloats(length: number, seed = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = next() * 2 - 1;
  return out;
}

/** Largest |a − b| / (max |b| + tiny) over two arrays of equal length. */
export function maxRelativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** The repository's `fixtures/onnx` directory (small torch exports, see make_fixtures.py). */
export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'onnx');

/** A fixture's sample input and torch's output (`<name>.io.json`). */
export function fixtureIo(name: string): { inputShape: number[]; input: Float32Array; output: Float32Array } {
  const io = JSON.parse(readFileSync(join(fixturesDir, `${name}.io.json`), 'utf8')) as { input_shape: number[]; input: number[]; output: number[] };
  return { inputShape: io.input_shape, input: Float32Array.from(io.input), output: Float32Array.from(io.output) };
}
