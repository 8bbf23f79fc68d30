import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import type * as ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import { threadsFor } from '../util/options.js';

import { cudaInstallCommand, sessionOptions, type Device } from '../onnx/session-options.js';

export type { Device };

/** What onnxruntime-node reports about its execution providers (`bundled: false` = binaries not installed). */
type BackendInfo = { name: string; bundled: boolean };

function installedBackends(): BackendInfo[] {
  // Loaded here, not at the top: `--help` and option parsing must not pay for onnxruntime's start-up.
  const runtime: unknown = createRequire(import.meta.url)('onnxruntime-node');
  const list = (runtime as { listSupportedBackends?: () => BackendInfo[] }).listSupportedBackends;
  return list ? list() : [{ name: 'cpu', bundled: true }];
}

/**
 * Parses `--device` and checks that the installed onnxruntime-node can use it. The npm package bundles
 * only the CPU provider; its CUDA provider is a separate download made by the package's install script
 * (skipped in this project), so `cuda` is refused with the way to get it rather than silently running on CPU.
 */
export function resolveDevice(text: string, backends: BackendInfo[] = installedBackends()): Device {
  if (text !== 'cpu' && text !== 'cuda') throw new UserError('--device', `expected cpu or cuda, got '${text}'`);
  if (text === 'cuda') {
    const cuda = backends.find((b) => b.name === 'cuda');
    if (!cuda || !cuda.bundled) {
      throw new UserError(
        '--device',
        'this onnxruntime-node has no CUDA execution provider (only the CPU build is installed); ' +
          `fetch its CUDA 12 binaries with \`${cudaInstallCommand()}\` (needs network and CUDA 12) or use --device cpu`,
      );
    }
  }
  return text;
}

/** Parses `--threads`; the default is every core the process may use. */
export function parseThreads(text: string | undefined): number {
  if (text === undefined) return availableParallelism();
  return threadsFor(text);
}

/** Session options for a device and thread count (the compiler merges them into its own). */
export function sessionOptionsFor(device: Device, threads: number): ort.InferenceSession.SessionOptions {
  return sessionOptions({ device, threads });
}
