import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../errors.js';
import { runPipeline } from './pipeline.js';

/** A promise the test settles by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The stages' calls in order; `when(name)` resolves once that call has happened (no timers anywhere). */
class Log {
  readonly events: string[] = [];
  private readonly waiters = new Map<string, () => void>();

  push(event: string): void {
    this.events.push(event);
    this.waiters.get(event)?.();
  }

  when(event: string): Promise<void> {
    if (this.events.includes(event)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(event, resolve));
  }
}

const gates = <T>(n: number) => Array.from({ length: n }, () => deferred<T>());

describe('runPipeline', () => {
  it('writes every batch in order and overlaps loading with computing', async () => {
    const log = new Log();
    const loads = gates<number>(4);
    const computes = gates<number>(4);
    const written: number[] = [];
    const run = runPipeline([0, 1, 2, 3], {
      load: (j) => {
        log.push(`load ${j}`);
        return loads[j]!.promise;
      },
      compute: (x) => {
        log.push(`compute ${x / 10}`);
        return computes[x / 10]!.promise;
      },
      write: (r) => {
        written.push(r);
      },
    });
    await log.when('load 1');
    // Batch 1 is loading before batch 0 is even loaded, let alone computed.
    expect(log.events).toEqual(['load 0', 'load 1']);
    loads[0]!.resolve(0);
    await log.when('compute 0');
    expect(written).toEqual([]);
    computes[0]!.resolve(1);
    await log.when('load 2');
    loads[1]!.resolve(10);
    await log.when('compute 1');
    computes[1]!.resolve(11);
    await log.when('load 3');
    // A slow decode must not reorder the output: batch 3 finishes loading before batch 2.
    loads[3]!.resolve(30);
    loads[2]!.resolve(20);
    await log.when('compute 2');
    expect(log.events.indexOf('compute 3')).toBe(-1);
    computes[2]!.resolve(21);
    await log.when('compute 3');
    computes[3]!.resolve(31);
    await run;
    expect(written).toEqual([1, 11, 21, 31]);
  });

  it('holds at most prefetch + 1 loaded batches, and does prefetch that many', async () => {
    const log = new Log();
    const computes = gates<number>(12);
    let live = 0;
    let peak = 0;
    const run = runPipeline(
      Array.from({ length: 12 }, (_, i) => i),
      {
        load: async (j) => {
          live++;
          peak = Math.max(peak, live);
          return j;
        },
        compute: (x) => {
          log.push(`compute ${x}`);
          return computes[x]!.promise;
        },
        write: () => {
          live--;
        },
      },
      { prefetch: 2 },
    );
    for (let i = 0; i < 12; i++) {
      await log.when(`compute ${i}`);
      expect(live).toBeLessThanOrEqual(3);
      computes[i]!.resolve(i);
    }
    await run;
    expect(peak).toBe(3);
    expect(live).toBe(0);
  });

  it('writes the batches before a failed load, then throws its error', async () => {
    const written: number[] = [];
    await expect(
      runPipeline([0, 1, 2, 3], {
        load: async (j) => {
          if (j === 2) throw new Error('bad sample in batch 2');
          return j;
        },
        compute: async (x) => x,
        write: (r) => {
          written.push(r);
        },
      }),
    ).rejects.toThrow('bad sample in batch 2');
    expect(written).toEqual([0, 1]);
  });

  it('drops the batch in flight when the signal aborts', async () => {
    const controller = new AbortController();
    const log = new Log();
    const written: number[] = [];
    const run = runPipeline(
      [0, 1, 2, 3],
      {
        load: async (j) => j,
        compute: (x) => {
          log.push(`compute ${x}`);
          // Batch 1 never finishes by itself: only the abort can end the run.
          return x === 1 ? new Promise<number>(() => {}) : Promise.resolve(x);
        },
        write: (r) => {
          written.push(r);
        },
      },
      { signal: controller.signal },
    );
    await log.when('compute 1');
    controller.abort(new InterruptedError('interrupted by SIGINT'));
    await expect(run).rejects.toBeInstanceOf(InterruptedError);
    expect(written).toEqual([0]);
  });
});
