/**
 * Issue 12 (items 4 and 5) through the real CLI on files made by h5py: sizes an HDF5 file declares
 * are checked against the file before anything is allocated; non-finite input pixels are refused;
 * integer pixel dtypes are read as docs/formats.md §3.3 says.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribution } from './attribute-data.js';
import { cliPath, repoRoot, runCli } from './helpers/cli.js';

const fixture = join(repoRoot, 'fixtures', 'clever-hans');

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
# 40 samples of the fixture: float32 with NaN/Inf, and the same uint8 pixels stored as other integer dtypes.
import numpy as np
with h5py.File('${join(fixture, 'dataset.h5')}', 'r') as f:
    pixels = f['data'][:40]
    label = f['label'][:40]
def write(name, data):
    with h5py.File(name, 'w') as f:
        f['data'] = data
        f['label'] = label
bad = pixels.astype('f4') / 255
bad[5, 0, 0, :3] = np.nan
bad[7, 1, 2, 3] = np.inf
write('nan.h5', bad)
for dtype in ['u1', 'i2', 'u2', 'i4', 'i8']:
    write(f'{dtype}.h5', pixels.astype(dtype))
signed = pixels.astype('i2') - 128
write('i1.h5', signed.astype('i1'))
# Compression filters: LZF (h5py's own plugin filter, not in HDF5 itself), the same file with the
# filter id patched to Blosc's (no Python plugin needed), and the built-in filters h5wasm decodes.
attr = np.round(np.random.default_rng(0).random((8, 1, 28, 28)), 1).astype('f4')  # compressible
def attribution_file(name, **filters):
    with h5py.File(name, 'w') as f:
        f.create_dataset('attribution', data=attr, chunks=(1, 1, 28, 28), **filters)
        f['label'] = np.arange(8) % 2
        f['prediction'] = np.eye(2, dtype='f4')[np.arange(8) % 2]
attribution_file('lzf.h5', compression='lzf')
blob = bytearray(open('lzf.h5', 'rb').read())
at = blob.find(b'lzf\\0')  # the pipeline message: id (2 bytes), name length, flags, #values, name
assert blob[at - 8:at - 6] == (32000).to_bytes(2, 'little')
blob[at - 8:at - 6] = (32001).to_bytes(2, 'little')
open('blosc.h5', 'wb').write(blob)
attribution_file('builtin-filters.h5', compression='szip', shuffle=True, fletcher32=True)
with h5py.File('lzf-data.h5', 'w') as f:
    f.create_dataset('data', data=pixels, chunks=(1,) + pixels.shape[1:], compression='lzf')
    f['label'] = label
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

describe('compression filters this build cannot decode are named, never read as garbage', () => {
  it.each([
    ['spray', 'lzf.h5', 'LZF', 32000, ['spray', 'lzf.h5', '-o', 'lzf-analysis.h5']],
    ['heatmap', 'lzf.h5', 'LZF', 32000, ['heatmap', 'lzf.h5', '--indices', '0:2', '-o', 'lzf-maps']],
    ['spray', 'blosc.h5', 'Blosc', 32001, ['spray', 'blosc.h5', '-o', 'blosc-analysis.h5']],
    ['heatmap', 'blosc.h5', 'Blosc', 32001, ['heatmap', 'blosc.h5', '--indices', '0:2', '-o', 'blosc-maps']],
  ])('%s on %s: one line naming the dataset, the filter and the fix; nothing written', async (_cmd, file, filter, id, args) => {
    const r = await runCli(args as string[], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toBe(
      `xai-tools: ${file}: 'attribution' uses the ${filter} compression filter (HDF5 filter ${id}), which xai-tools cannot decode;` +
        ` re-save it with gzip or no compression (h5py: compression='gzip')`,
    );
    expect(existsSync(join(dir, (args as string[]).at(-1)!))).toBe(false);
  });

  it('an LZF-compressed input dataset is refused by attribute before any work', async () => {
    const r = await attribute('lzf-data.h5', 'lzf-attr.h5');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(/^xai-tools: .*lzf-data\.h5: 'data' uses the LZF compression filter \(HDF5 filter 32000\)/);
    expect(existsSync(join(dir, 'lzf-attr.h5'))).toBe(false);
  });

  it('the built-in filters (szip, shuffle, fletcher32) are read exactly', async () => {
    const r = await runCli(['heatmap', 'builtin-filters.h5', '--indices', '0:2', '-o', 'builtin-maps', '--quiet'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const a = await readAttribution(join(dir, 'builtin-filters.h5'));
    // The fixture's values are multiples of 0.1 in [0, 1]: garbage from a skipped filter would not be.
    expect(a.attribution.length).toBe(8 * 28 * 28);
    expect(a.attribution.every((v) => v >= 0 && v <= 1 && Math.abs(v * 10 - Math.round(v * 10)) < 1e-5)).toBe(true);
  });
});

const attribute = (input: string, output: string) =>
  runCli(['attribute', '--model', join(fixture, 'model.onnx'), '--dataset', join(dir, input), '-o', join(dir, output), '--batch-size', '16', '--quiet']);

describe('model input', () => {
  it('non-finite pixels are refused by default with the file, the first sample and the count; nothing is written', async () => {
    const r = await attribute('nan.h5', 'nan-attr.h5');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr.trim()).toBe(
      `xai-tools: ${join(dir, 'nan.h5')}: input data holds 4 non-finite values (NaN or ±Inf) in 2 samples of the batch read, the first` +
        ` at sample 5; their attributions would be NaN`,
    );
    expect(existsSync(join(dir, 'nan-attr.h5'))).toBe(false);
  });

  it('int16, uint16, int32 and int64 pixels in 0..255 are read like uint8 (scaled by 1/255): the same attributions', async () => {
    expect((await attribute('u1.h5', 'u1-attr.h5')).stderr).toBe('');
    const reference = await readAttribution(join(dir, 'u1-attr.h5'));
    for (const dtype of ['i2', 'u2', 'i4', 'i8']) {
      const r = await attribute(`${dtype}.h5`, `${dtype}-attr.h5`);
      expect(r.stderr, dtype).toBe('');
      const a = await readAttribution(join(dir, `${dtype}-attr.h5`));
      expect(a.shape, dtype).toEqual(reference.shape);
      expect(Buffer.from(a.attribution.buffer).equals(Buffer.from(reference.attribution.buffer)), dtype).toBe(true);
    }
  }, 120_000);

  it('int8 pixels with negative values are refused with the sample and its range, never read as raw values', async () => {
    const r = await attribute('i1.h5', 'i1-attr.h5');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^xai-tools: .*i1\.h5: 'data' is int8 and sample 0 holds values in \[-\d+, \d+\], not pixels in 0\.\.255/);
    expect(existsSync(join(dir, 'i1-attr.h5'))).toBe(false);
  });
});
