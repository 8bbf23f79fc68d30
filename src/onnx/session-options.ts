/**
 * Session options and the CUDA opt-in command, apart from src/onnx/ort.ts so that parsing `--device`
 * does not load onnxruntime (only its types are used here).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as ort from 'onnxruntime-node';

/** Where onnxruntime runs: its CPU provider (always installed) or CUDA (an opt-in download). */
export type Device = 'cpu' | 'cuda';

export interface SessionOptions {
  /** Intra-op threads; default 1. */
  threads?: number;
  /** Execution provider; default cpu. */
  device?: Device;
}

/**
 * The one place session options are made, so `--device` reaches every session. With cuda, the CPU provider
 * follows only for the few ops CUDA lacks; a CUDA provider that cannot load fails session creation.
 */
export function sessionOptions(options: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    executionProviders: options.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
  };
}

/** The command that fetches onnxruntime-node's CUDA 12 provider into the copy this process loads. */
export function cudaInstallCommand(): string {
  const script = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'script', 'install.js');
  return `ONNXRUNTIME_NODE_INSTALL=cuda12 node ${JSON.stringify(script)}`;
}
