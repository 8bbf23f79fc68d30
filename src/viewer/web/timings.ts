/**
 * Durations of the phases of the last points load (fetch, decode, colour slots, plot upload, first
 * frame, …), in milliseconds, readable as `window.__timings` by the benchmark (bench/viewer.ts),
 * so a slow first paint can be traced to its phase. Cheap: a few performance.now() calls per load.
 */
export type Timings = Record<string, number>;

let current: Timings = {};

/** Starts a fresh record (each `apply` of the page does). */
export function resetTimings(): void {
  current = {};
}

/** Exposes the current record on window (after an apply that drew a new points set). */
export function publishTimings(): void {
  (window as unknown as { __timings: Timings }).__timings = current;
}

/** Adds `ms` to the phase `name` (phases may be entered more than once). */
export function addTiming(name: string, ms: number): void {
  current[name] = (current[name] ?? 0) + ms;
}

/** Runs `fn`, adding its duration to the phase `name`. */
export async function timed<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    addTiming(name, performance.now() - t0);
  }
}

export function timedSync<T>(name: string, fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    addTiming(name, performance.now() - t0);
  }
}
