/**
 * Fixtures for the attribute tests: the conformance reference (Zennit) data and small HDF5 datasets
 * in ViRelAy's array layout (`data`, `label`) written from it.
 */
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { sharedDir } from './helpers/cli.js';

export const conformanceDir = join(sharedDir, 'conformance', 'lrp');

export interface ConformanceCase {
  case: string;
  composite: string | null;
  attributor?: string;
  params?: Record<string, unknown>;
  rules?: Array<{ match: string; rule: string; params?: Record<string, unknown> }>;
}
export interface ConformanceModel {
  model: string;
  folded_model: string;
  data: string;
  input_shape: number[];
  cases: ConformanceCase[];
}

export interface Reference {
  input: Float32Array;
  shape: number[];
  target: Int32Array;
  relevance: Map<string, Float32Array>;
}

export async function readReference(file: string): Promise<Reference> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'r');
  try {
    const input = f.get('input') as h5wasm.Dataset;
    const target = (f.get('target') as h5wasm.Dataset).value as BigInt64Array;
    const relevance = new Map<string, Float32Array>();
    const cases = f.get('cases') as h5wasm.Group;
    for (const key of cases.keys()) relevance.set(key, (f.get(`cases/${key}/relevance`) as h5wasm.Dataset).value as Float32Array);
    return { input: input.value as Float32Array, shape: input.shape!, target: Int32Array.from(target, Number), relevance };
  } finally {
    f.close();
  }
}

/** Writes `data` float32 and `label` uint16, the dataset layout `attribute` reads. */
export async function writeDataset(path: string, data: Float32Array, shape: number[], labels: ArrayLike<number>): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'w');
  try {
    f.create_dataset({ name: 'data', data, shape, dtype: '<f4' });
    f.create_dataset({ name: 'label', data: Uint16Array.from(labels), shape: [labels.length], dtype: '<H' });
  } finally {
    f.close();
  }
}

export async function readAttribution(path: string): Promise<{ attribution: Float32Array; shape: number[]; label: Uint16Array; prediction: Float32Array }> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'r');
  try {
    const a = f.get('attribution') as h5wasm.Dataset;
    return {
      attribution: a.value as Float32Array,
      shape: a.shape!,
      label: (f.get('label') as h5wasm.Dataset).value as Uint16Array,
      prediction: (f.get('prediction') as h5wasm.Dataset).value as Float32Array,
    };
  } finally {
    f.close();
  }
}

/** ‖a − b‖₂ / ‖b‖₂ for each of `rows` samples. */
export function relativeErrors(a: Float32Array, b: Float32Array, rows: number): number[] {
  const n = b.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let num = 0;
    let den = 0;
    for (let i = r * n; i < (r + 1) * n; i++) {
      num += (a[i]! - b[i]!) ** 2;
      den += b[i]! ** 2;
    }
    return Math.sqrt(num / den);
  });
}

/** The CLI arguments that reproduce one conformance case. */
export function caseArguments(c: ConformanceCase, rulesFile: (rules: NonNullable<ConformanceCase['rules']>) => string): string[] {
  const args: string[] = [];
  const p = (c.params ?? {}) as Record<string, number>;
  if (c.rules) args.push('--rules', rulesFile(c.rules));
  else args.push('--composite', c.composite ?? 'none');
  if (p.low !== undefined) args.push('--low', String(p.low));
  if (p.high !== undefined) args.push('--high', String(p.high));
  if (p.epsilon !== undefined) args.push('--epsilon', String(p.epsilon));
  if (p.gamma !== undefined) args.push('--gamma', String(p.gamma));
  switch (c.attributor) {
    case undefined:
    case 'gradient':
      break;
    case 'integrated-gradients':
      args.push('--attributor', 'integrated-gradients', '--steps', String(p.n_iter), '--baseline', String(p.baseline));
      break;
    case 'occlusion':
      // The reference seeds with the constant one-hot target, so every window scores 1 (docs/lrp.md §7).
      args.push('--attributor', 'occlusion', '--window', String(p.window), '--stride', String(p.stride), '--occlusion-score', 'seed');
      break;
    default:
      throw new Error(`unknown attributor ${c.attributor}`);
  }
  return args;
}
