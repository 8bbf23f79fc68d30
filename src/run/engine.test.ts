import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InterruptedError, UserError } from '../errors.js';
import { silentProgress } from '../util/progress.js';
import { runAttribution, type RowSink, type SampleSource } from './engine.js';
import { partialPathsFor, readJournal, type PartialPaths } from './output.js';

/** A sink that keeps rows as JSON in the partial file, rewritten on every flush. */
function jsonSink(paths: PartialPaths, resumeRows: number | undefined): RowSink {
  const rows: Array<{ index: number; value: number; label: number }> =
    resumeRows !== undefined ? JSON.parse(readFileSync(paths.partial, 'utf8')).slice(0, resumeRows) : [];
  writeFileSync(paths.partial, JSON.stringify(rows));
  return {
    get rows() {
      return rows.length;
    },
    append(batch) {
      batch.index!.forEach((index, r) => rows.push({ index, value: batch.attribution[r]!, label: batch.label[r]! }));
    },
    flush() {
      writeFileSync(paths.partial, JSON.stringify(rows));
    },
    commit() {
      renameSync(paths.partial, paths.final);
    },
    suspend() {},
  };
}

/** Sample i has the value i; sample 5 is "corrupt". */
function source(skipBad: boolean): SampleSource {
  return {
    async load(indices) {
      const bad = indices.filter((i) => i === 5);
      if (bad.length && !skipBad) throw new UserError(`img-${bad[0]}.jpg`, 'cannot decode image');
      const good = indices.filter((i) => i !== 5);
      return {
        indices: good,
        data: Float32Array.from(good),
        labels: Int32Array.from(good, (i) => i % 3),
        classes: Int32Array.from(good, (i) => i % 3),
        skipped: bad.map((index) => ({ index, reason: `img-${index}.jpg: cannot decode image` })),
      };
    },
  };
}

const attributor = { run: async (b: { data: Float32Array }) => ({ relevance: b.data.map((v) => v * 10), logits: b.data }) };

function options(paths: PartialPaths, extra: Partial<Parameters<typeof runAttribution>[0]> = {}) {
  return {
    planned: [1, 3, 4, 5, 6, 8, 9],
    batchSize: 2,
    paths,
    fingerprint: 'fp',
    openSink: async (resumeRows: number | undefined) => jsonSink(paths, resumeRows),
    withIndex: true,
    source: source(false),
    attributor,
    progress: silentProgress,
    ...extra,
  };
}

const tempPaths = () => partialPathsFor(join(mkdtempSync(join(tmpdir(), 'xai-engine-')), 'out.json'));

describe('runAttribution', () => {
  it('writes every planned sample in order and removes the partial state', async () => {
    const paths = tempPaths();
    const summary = await runAttribution(options(paths, { planned: [1, 3, 4, 6, 8, 9] }));
    expect(summary).toMatchObject({ rows: 6, computed: 6, skipped: [] });
    expect(JSON.parse(readFileSync(paths.final, 'utf8')).map((r: { index: number; value: number }) => [r.index, r.value])).toEqual([
      [1, 10],
      [3, 30],
      [4, 40],
      [6, 60],
      [8, 80],
      [9, 90],
    ]);
    expect(existsSync(paths.partial) || existsSync(paths.journal)).toBe(false);
  });

  it('stops at an undecodable sample, keeping the finished batches for --resume', async () => {
    const paths = tempPaths();
    await expect(runAttribution(options(paths))).rejects.toMatchObject({ file: 'img-5.jpg', message: 'cannot decode image' });
    expect(readJournal(paths)).toMatchObject({ rows: 2, position: 2 });
    // Resume with skip-bad: continues after the two finished rows, reports the bad sample.
    const summary = await runAttribution(options(paths, { source: source(true), resumeFrom: readJournal(paths) }));
    expect(summary.rows).toBe(6);
    expect(summary.computed).toBe(4);
    expect(summary.skipped).toEqual([{ index: 5, reason: 'img-5.jpg: cannot decode image' }]);
    expect(JSON.parse(readFileSync(paths.final, 'utf8')).map((r: { index: number }) => r.index)).toEqual([1, 3, 4, 6, 8, 9]);
  });

  it('keeps the partial file on interrupt and resumes to the same result', async () => {
    const paths = tempPaths();
    const controller = new AbortController();
    let calls = 0;
    const slow = {
      run: async (b: { data: Float32Array }) => {
        if (++calls === 2) controller.abort(new InterruptedError('interrupted by SIGTERM'));
        return attributor.run(b);
      },
    };
    await expect(runAttribution(options(paths, { source: source(true), attributor: slow, signal: controller.signal }))).rejects.toBeInstanceOf(
      InterruptedError,
    );
    const journal = readJournal(paths);
    expect(journal.rows).toBe(2);
    const summary = await runAttribution(options(paths, { source: source(true), resumeFrom: journal }));
    expect(summary.rows).toBe(6);
    const fresh = tempPaths();
    await runAttribution(options(fresh, { source: source(true) }));
    expect(readFileSync(paths.final, 'utf8')).toBe(readFileSync(fresh.final, 'utf8'));
  });

  it('writes an empty file for a shard without samples', async () => {
    const paths = tempPaths();
    expect((await runAttribution(options(paths, { planned: [] }))).rows).toBe(0);
    expect(JSON.parse(readFileSync(paths.final, 'utf8'))).toEqual([]);
  });

  it('refuses a run in which every sample was skipped', async () => {
    const paths = tempPaths();
    await expect(runAttribution(options(paths, { planned: [5], source: source(true) }))).rejects.toThrow(/no sample could be attributed/);
    expect(existsSync(paths.final) || existsSync(paths.partial)).toBe(false);
  });
});
