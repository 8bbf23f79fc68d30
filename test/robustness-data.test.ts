/**
 * Issue 12 (items 4 and 5) through the real CLI on files made by h5py: sizes an HDF5 file declares
 * are checked against the file before anything is allocated.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from './helpers/cli.js';

let dir: string;

function python(script: string): void {
  const result = spawnSync('/usr/bin/python3', ['-c', script], { cwd: dir, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
}

/** Runs the CLI under GNU time: exit code, stderr without time's report, wall seconds and peak RSS in KB. */
function timedCli(args: string[]): { code: number | null; stderr: string; seconds: number; peakKb: number } {
  const result = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, cliPath, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const lines = result.stderr.trim().split('\n');
  const report = lines.pop()!.match(/^TIME ([\d.]+) (\d+)$/);
  expect(report, result.stderr).not.toBeNull();
  // GNU time prints "Command exited with non-zero status N" before its report.
  const stderr = lines.filter((l) => !l.startsWith('Command exited with')).join('\n');
  return { code: result.status, stderr, seconds: Number(report![1]), peakKb: Number(report![2]) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-robust-data-'));
  // Chunked storage that was never written: 1e8 rows declared (876 GB), a file of a few KB.
  python(`
import h5py
with h5py.File('huge.h5', 'w') as f:
    f.create_dataset('attribution', shape=(10**8, 3, 28, 28), dtype='f4', chunks=(1, 3, 28, 28))
    f.create_dataset('label', shape=(10**8,), dtype='u2', chunks=(4096,))
    f.create_dataset('prediction', shape=(10**8, 10), dtype='f4', chunks=(4096, 10))
with h5py.File('huge-gzip.h5', 'w') as f:
    f.create_dataset('attribution', shape=(10**8, 3, 28, 28), dtype='f4', chunks=(1, 3, 28, 28), compression='gzip')
    f.create_dataset('label', shape=(10**8,), dtype='u2', chunks=(4096,), compression='gzip')
    f.create_dataset('prediction', shape=(10**8, 10), dtype='f4', chunks=(4096, 10), compression='gzip')
`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sizes declared by an HDF5 file are checked before anything is allocated', () => {
  it.each([
    ['heatmap --indices 0:4', 'huge.h5', ['heatmap', 'huge.h5', '--indices', '0:4', '-o', 'maps']],
    ['spray', 'huge.h5', ['spray', 'huge.h5', '-o', 'analysis.h5']],
    ['heatmap on a gzip-compressed file', 'huge-gzip.h5', ['heatmap', 'huge-gzip.h5', '--indices', '0:4', '-o', 'maps']],
    ['spray on a gzip-compressed file', 'huge-gzip.h5', ['spray', 'huge-gzip.h5', '-o', 'analysis.h5']],
  ])('%s fails fast with one line naming the file and the declared size', (_name, file, args) => {
    expect(statSync(join(dir, file)).size).toBeLessThan(30_000);
    const run = timedCli(args);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr.split('\n'), run.stderr).toHaveLength(1);
    expect(run.stderr).toMatch(new RegExp(`^xai-tools: ${file.replace('.', '\\.')}: 'attribution' declares shape \\(100000000, 3, 28, 28\\), 876\\.2 GB`));
    expect(run.stderr).toContain('but the file is only');
    // Before the check, heatmap reached 1.7 GB and spray 3.7 GB; the CLI alone takes about 130 MB.
    expect(run.peakKb).toBeLessThan(400_000);
    expect(run.seconds).toBeLessThan(15);
  });
});
