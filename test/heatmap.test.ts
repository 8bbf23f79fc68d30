import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttributionWriter } from '../src/io/attribution.js';
import { openH5 } from '../src/io/hdf5.js';
import { listColorMaps, palette } from '../src/render/cmap.js';
import { heatmapIndices } from '../src/render/heatmap.js';
import { runCli } from './helpers/cli.js';

const C = 3;
const H = 8;
const W = 10;
const N = 7;
const SAMPLE = C * H * W;

/** Deterministic relevance of mixed sign, different per row. */
function attributionOf(row: number): Float32Array {
  return Float32Array.from({ length: SAMPLE }, (_, i) => Math.sin(i * 0.37 + row) * (row + 1) + (i % 11 === 0 ? -2 : 0));
}

const dir = mkdtempSync(join(tmpdir(), 'heatmap-cli-'));
const attrPath = join(dir, 'attribution.h5');
const datasetPath = join(dir, 'dataset.h5');
// Rows hold samples 10..16 (an `index` dataset), labels alternate 0/1/2.
const sampleIndex = (row: number): number => 10 + row;
const labelOf = (row: number): number => row % 3;

beforeAll(async () => {
  const writer = await AttributionWriter.create(attrPath, { sampleShape: [C, H, W], numClasses: 3, withIndex: true });
  const attribution = new Float32Array(N * SAMPLE);
  for (let r = 0; r < N; r++) attribution.set(attributionOf(r), r * SAMPLE);
  writer.append({
    attribution,
    label: Int32Array.from({ length: N }, (_, r) => labelOf(r)),
    prediction: Float32Array.from({ length: N * 3 }, (_, i) => (i % 3 === (Math.floor(i / 3) + 1) % 3 ? 1 : 0)),
    index: Int32Array.from({ length: N }, (_, r) => sampleIndex(r)),
  });
  writer.commit();

  // Input images for overlays: 20 samples in [0, 1], CHW.
  const file = await openH5(datasetPath, 'w');
  const data = Float32Array.from({ length: 20 * SAMPLE }, (_, i) => ((i * 13) % 256) / 255);
  file.create_dataset({ name: 'data', data, shape: [20, C, H, W], dtype: '<f4' });
  file.create_dataset({ name: 'label', data: new Uint16Array(20), shape: [20], dtype: '<H' });
  file.close();
});

const indicesOf = (png: ReturnType<typeof decode>): number[] => Array.from(png.data as Uint8Array);
const paletteOf = (png: ReturnType<typeof decode>): number[] => (png.palette ?? []).flat();

describe('xai-tools heatmap', () => {
  it('writes one indexed PNG per sample, named by index and label, with the colour map as palette', async () => {
    const out = join(dir, 'single');
    const r = await runCli(['heatmap', attrPath, '-o', out, '--cmap', 'bwr', '--level', '2', '--symmetric', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = readdirSync(out)
      .filter((f) => f.endsWith('.png'))
      .sort();
    expect(files).toEqual(Array.from({ length: N }, (_, row) => `${sampleIndex(row)}-label${labelOf(row)}.png`));
    for (let row = 0; row < N; row++) {
      const png = decode(readFileSync(join(out, files[row])));
      expect([png.width, png.height, png.channels, png.depth]).toEqual([W, H, 1, 8]);
      expect(indicesOf(png)).toEqual(Array.from(heatmapIndices(attributionOf(row), [C, H, W], { symmetric: true })));
      expect(paletteOf(png)).toEqual(Array.from(palette('bwr', 2)));
    }
    const csv = readFileSync(join(out, 'heatmaps.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('file,cell,index,label,predicted');
    expect(csv[1]).toBe('10-label0.png,,10,0,1');
    expect(csv).toHaveLength(N + 1);
  });

  it('selects by dataset index range and by label', async () => {
    const out = join(dir, 'select');
    const r = await runCli(['heatmap', attrPath, '-o', out, '--indices', '11:16', '--labels', '1,2', '-q']);
    expect(r.code).toBe(0);
    expect(
      readdirSync(out)
        .filter((f) => f.endsWith('.png'))
        .sort(),
    ).toEqual(['11-label1.png', '12-label2.png', '14-label1.png', '15-label2.png']);
  });

  it('applies --vmin/--vmax like imgify', async () => {
    const out = join(dir, 'bounds');
    const r = await runCli(['heatmap', attrPath, '-o', out, '--indices', '12', '--vmin', '-1', '--vmax', '0.5', '-q']);
    expect(r.code).toBe(0);
    const png = decode(readFileSync(join(out, '12-label2.png')));
    expect(indicesOf(png)).toEqual(Array.from(heatmapIndices(attributionOf(2), [C, H, W], { vmin: -1, vmax: 0.5 })));
  });

  it("writes grid sheets with Zennit's fill rule", async () => {
    const out = join(dir, 'grid');
    const r = await runCli(['heatmap', attrPath, '-o', out, '--grid', '2x2', '--symmetric', '-q']);
    expect(r.code).toBe(0);
    expect(
      readdirSync(out)
        .filter((f) => f.endsWith('.png'))
        .sort(),
    ).toEqual(['grid-0000.png', 'grid-0001.png']);
    const second = decode(readFileSync(join(out, 'grid-0001.png')));
    expect([second.width, second.height]).toEqual([2 * W, 2 * H]);
    const idx = indicesOf(second);
    const tiles = [4, 5, 6].map((row) => Array.from(heatmapIndices(attributionOf(row), [C, H, W], { symmetric: true })));
    const min = Math.min(...tiles.flat());
    // cell (1, 1) is empty: filled with the sheet's minimum index
    expect(idx[H * 2 * W + W]).toBe(min);
    expect(idx[(2 * H - 1) * 2 * W + 2 * W - 1]).toBe(min);
    // cell (0, 1) holds row 5
    expect(idx.slice(W, 2 * W)).toEqual(tiles[1].slice(0, W));
    expect(readFileSync(join(out, 'heatmaps.csv'), 'utf8')).toContain('grid-0001.png,1:0,16,0,');
  });

  it('recolours an indexed PNG by swapping only its palette', async () => {
    const out = join(dir, 'recolor');
    await runCli(['heatmap', attrPath, '-o', out, '--indices', '10', '--cmap', 'coldnhot', '-q']);
    const source = join(out, '10-label0.png');
    const target = join(dir, 'recolored.png');
    const r = await runCli(['heatmap', '--recolor', source, '--cmap', 'france', '--level', '0.5', '-o', target]);
    expect(r.code).toBe(0);
    const before = decode(readFileSync(source));
    const after = decode(readFileSync(target));
    expect(indicesOf(after)).toEqual(indicesOf(before));
    expect(paletteOf(after)).toEqual(Array.from(palette('france', 0.5)));
    expect(paletteOf(before)).toEqual(Array.from(palette('coldnhot')));
  });

  it('writes RGB PNG and JPEG through sharp', async () => {
    for (const [format, ext] of [
      ['rgb-png', 'png'],
      ['jpeg', 'jpg'],
    ]) {
      const out = join(dir, `fmt-${format}`);
      const r = await runCli(['heatmap', attrPath, '-o', out, '--indices', '10:12', '--format', format, '-q']);
      expect(r.code).toBe(0);
      const meta = await sharp(join(out, `10-label0.${ext}`)).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual([format === 'jpeg' ? 'jpeg' : 'png', W, H, 3]);
    }
    const { data } = await sharp(join(dir, 'fmt-rgb-png', '10-label0.png'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const idx = heatmapIndices(attributionOf(0), [C, H, W]);
    const pal = palette('coldnhot');
    expect(Array.from(data.subarray(0, 3))).toEqual(Array.from(pal.subarray(idx[0] * 3, idx[0] * 3 + 3)));
  });

  it('overlays heatmaps on grey input images', async () => {
    const out = join(dir, 'overlay');
    const r = await runCli(['heatmap', attrPath, '-o', out, '--overlay', '--dataset', datasetPath, '--indices', '10:12', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { data, info } = await sharp(join(out, '10-label0.png')).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([W, H, 3]);
    // not a plain heatmap: the grey image shows through where |relevance| is small
    const plain = palette('coldnhot');
    const idx = heatmapIndices(attributionOf(0), [C, H, W]);
    const differs = Array.from({ length: H * W }, (_, p) => data[p * 3] !== plain[idx[p] * 3]).filter(Boolean).length;
    expect(differs).toBeGreaterThan((H * W) / 2);
  });

  it('writes a colour bar on its own', async () => {
    const bar = join(dir, 'bar', 'coldnhot.png');
    const r = await runCli(['heatmap', '--colorbar', bar, '--cmap', 'coldnhot']);
    expect(r.code).toBe(0);
    const png = decode(readFileSync(bar));
    expect([png.width, png.height]).toEqual([256, 24]);
    expect(indicesOf(png).slice(0, 256)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(paletteOf(png)).toEqual(Array.from(palette('coldnhot')));
  });

  it('lists the colour maps, with a preview only when colour is supported', async () => {
    const plain = await runCli(['heatmap', '--list-cmaps'], { env: { NO_COLOR: '1', FORCE_COLOR: undefined } });
    expect(plain.code).toBe(0);
    for (const name of listColorMaps()) expect(plain.stdout).toContain(name);
    expect(plain.stdout).not.toContain('\x1b[');
    const colored = await runCli(['heatmap', '--list-cmaps'], { env: { FORCE_COLOR: '1', NO_COLOR: undefined } });
    expect(colored.stdout).toContain('\x1b[48;2;');
  });
});

describe('xai-tools heatmap: bad input gives one line and exit 1', () => {
  // An error about an option's value (--cmap) is a usage error: exit 2.
  const oneLine = (r: { code: number | null; stderr: string }, code = 1): string => {
    expect(r.code).toBe(code);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^xai-tools: /);
    return lines[0];
  };

  it('unknown colour map lists the valid ones', async () => {
    const line = oneLine(await runCli(['heatmap', attrPath, '-o', join(dir, 'x'), '--cmap', 'viridis']), 2);
    expect(line).toMatch(/unknown colour map "viridis"; valid names: gray, wred/);
    expect(line).toContain('black-fire-red');
  });

  it('a CMSL error gives the column', async () => {
    const line = oneLine(await runCli(['heatmap', attrPath, '-o', join(dir, 'x'), '--cmap', '00f,80:fxf,f00']), 2);
    expect(line).toMatch(/column 8/);
  });

  it('attribution file without `attribution`', async () => {
    const bad = join(dir, 'no-attribution.h5');
    const file = await openH5(bad, 'w');
    file.create_dataset({ name: 'label', data: new Uint16Array(3), shape: [3], dtype: '<H' });
    file.close();
    const line = oneLine(await runCli(['heatmap', bad, '-o', join(dir, 'x')]));
    expect(line).toContain('attribution');
    expect(line).toContain(bad);
  });

  it('index out of range', async () => {
    const line = oneLine(await runCli(['heatmap', attrPath, '-o', join(dir, 'x'), '--indices', '3']));
    expect(line).toMatch(/sample index 3 is out of range/);
    oneLine(await runCli(['heatmap', attrPath, '-o', join(dir, 'x'), '--indices', '10:40']));
  });

  it('output directory not writable', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const line = oneLine(await runCli(['heatmap', attrPath, '-o', join(blocker, 'sub')]));
    expect(line).toMatch(/not writable/);
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      expect(oneLine(await runCli(['heatmap', attrPath, '-o', locked]))).toMatch(/not writable/);
    }
    expect(existsSync(join(blocker, 'sub'))).toBe(false);
  });

  it('overlay dataset without the attributed samples (checked before writing anything)', async () => {
    const small = join(dir, 'small-dataset.h5');
    const file = await openH5(small, 'w');
    file.create_dataset({ name: 'data', data: new Float32Array(12 * SAMPLE), shape: [12, C, H, W], dtype: '<f4' });
    file.create_dataset({ name: 'label', data: new Uint16Array(12), shape: [12], dtype: '<H' });
    file.close();
    const out = join(dir, 'overlay-small');
    const line = oneLine(await runCli(['heatmap', attrPath, '-o', out, '--overlay', '--dataset', small]));
    expect(line).toMatch(/has 12 samples, but the attribution file refers to sample 12/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('recolouring a PNG that is not indexed', async () => {
    const rgb = join(dir, 'fmt-rgb-png', '10-label0.png');
    const line = oneLine(await runCli(['heatmap', '--recolor', rgb, '--cmap', 'hot', '-o', join(dir, 'r.png')]));
    expect(line).toMatch(/not an indexed/);
  });
});
