import { InterruptedError } from '../errors.js';

/**
 * One process-wide abort signal raised by SIGINT/SIGTERM. Long loops call `throwIfInterrupted()`
 * between batches so they stop at a consistent point; the CLI then removes temporaries and exits 130.
 */
const controller = new AbortController();
let installed = false;

export const interruptSignal: AbortSignal = controller.signal;

/** Installs the handlers (the CLI calls this once; engines only read the signal). */
export function installInterruptHandlers(onSecondSignal: () => void): void {
  if (installed) return;
  installed = true;
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      onSecondSignal();
      process.exit(130);
    }
    controller.abort(new InterruptedError(`interrupted by ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export function throwIfInterrupted(): void {
  if (controller.signal.aborted) throw controller.signal.reason instanceof Error ? controller.signal.reason : new InterruptedError();
}
