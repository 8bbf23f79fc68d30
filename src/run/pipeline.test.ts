import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../errors.js';
import { runPipeline } from './pipeline.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runPipeline', () => {
  it('writes every batch in order and overlaps loading with computing', async () => {
    const events: string[] = [];
    const written: number[] = [];
    await runPipeline([0, 1, 2, 3], {
      load: async (j) => {
        events.push(`load ${j}`);
        await tick(j === 2 ? 30 : 5); // a slow decode must not reorder the output
        return j * 10;
      },
      compute: async (x) => {
        events.push(`compute ${x / 10}`);
        await tick(20);
        return x + 1;
      },
      write: (r) => {
        written.push(r);
      },
    });
    expect(written).toEqual([1, 11, 21, 31]);
    // Batch 1 is loading before batch 0's computation finishes.
    expect(events.indexOf('load 1')).toBeLessThan(events.indexOf('compute 1'));
    expect(events.indexOf('load 1')).toBeLessThan(events.indexOf('compute 0') + 2);
  });

  it('holds at most prefetch + 1 loaded batches', async () => {
    let live = 0;
    let peak = 0;
    await runPipeline(
      Array.from({ length: 12 }, (_, i) => i),
      {
        load: async (j) => {
          live++;
          peak = Math.max(peak, live);
          await tick(1);
          return j;
        },
        compute: async (x) => {
          await tick(5);
          return x;
        },
        write: () => {
          live--;
        },
      },
      { prefetch: 2 },
    );
    expect(peak).toBeLessThanOrEqual(3);
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
    const written: number[] = [];
    const run = runPipeline(
      [0, 1, 2, 3],
      {
        load: async (j) => j,
        compute: async (x) => {
          if (x === 1) setTimeout(() => controller.abort(new InterruptedError('interrupted by SIGINT')), 5);
          await tick(x === 1 ? 200 : 1);
          return x;
        },
        write: (r) => {
          written.push(r);
        },
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toBeInstanceOf(InterruptedError);
    expect(written).toEqual([0]);
  });
});
