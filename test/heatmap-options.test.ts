/**
 * heatmap options the main heatmap test leaves out: the open-ended and stepped --indices forms,
 * --grid auto, --grid-fill, --quality, --compression, --recolor in place and CMSL --cmap sources.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributionWriter } from '../src/io/attribution.js';
import { palette } from '../src/render/cmap.js';
import { heatmapIndices } from '../src/render/heatmap.js';
import { runCli } from './helpers/cli.js';

// Seven 1×6×8 samples stored for dataset indices 20..26, label = row mod 2.
const SHAPE = [1, 6, 8];
const ROWS = 7;
const relevance = (row: number): Float32Array => Float32Array.from({ length: 48 }, (_, i) => Math.cos(i * 0.5 + row * 1.3) * (1 + row));

let dir: string;
let attributions: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'heatmap-options-'));
  attributions = join(dir, 'a.h5');
  const writer = await AttributionWriter.create(attributions, { sampleShape: SHAPE, numClasses: 2, withIndex: true });
  const all = new Float32Array(ROWS * 48);
  for (let r = 0; r < ROWS; r++) all.set(relevance(r), r * 48);
  writer.append({
    attribution: all,
    label: Int32Array.from({ length: ROWS }, (_, r) => r % 2),
    prediction: new Float32Array(ROWS * 2),
    index: Int32Array.from({ length: ROWS }, (_, r) => 20 + r),
  });
  writer.commit();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function heatmap(name: string, args: string[]): Promise<string> {
  const out = join(dir, name);
  const r = await runCli(['heatmap', attributions, '-o', out, '-q', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return out;
}
const pngs = (out: string): string[] =>
  readdirSync(out)
    .filter((f) => f.endsWith('.png'))
    .sort();
const indices = (file: string): number[] => Array.from(decode(readFileSync(file)).data as Uint8Array);

describe('--indices', () => {
  it('`22:` is every sample from 22 on; `20:27:3` every third', async () => {
    expect(pngs(await heatmap('open', ['--indices', '22:']))).toEqual(['22-label0.png', '23-label1.png', '24-label0.png', '25-label1.png', '26-label0.png']);
    expect(pngs(await heatmap('step', ['--indices', '20:27:3']))).toEqual(['20-label0.png', '23-label1.png', '26-label0.png']);
  });
});

describe('--grid auto and --grid-fill', () => {
  it('auto is one sheet of floor(√7) = 2 columns; the empty cell takes the --grid-fill index', async () => {
    const out = await heatmap('auto', ['--grid', 'auto', '--grid-fill', '7']);
    expect(pngs(out)).toEqual(['grid-0000.png']);
    const sheet = decode(readFileSync(join(out, 'grid-0000.png')));
    expect([sheet.width, sheet.height]).toEqual([2 * 8, 4 * 6]);
    const data = Array.from(sheet.data as Uint8Array);
    // Cell (row 3, column 1) is empty; cell (row 3, column 0) holds the 7th sample.
    for (let y = 18; y < 24; y++) expect(data.slice(y * 16 + 8, y * 16 + 16)).toEqual(new Array(8).fill(7));
    const seventh = Array.from(heatmapIndices(relevance(6), SHAPE, {}));
    expect(data.slice(18 * 16, 18 * 16 + 8)).toEqual(seventh.slice(0, 8));
  });
});

describe('encodings', () => {
  it('--quality trades JPEG size for fidelity', async () => {
    const low = await heatmap('q20', ['--format', 'jpeg', '--quality', '20', '--indices', '21']);
    const high = await heatmap('q95', ['--format', 'jpeg', '--quality', '95', '--indices', '21']);
    const exact = await heatmap('rgb', ['--format', 'rgb-png', '--indices', '21']);
    const pixels = async (file: string) => Array.from((await sharp(file).raw().toBuffer()) as Uint8Array);
    const truth = await pixels(join(exact, '21-label1.png'));
    const error = async (file: string) => (await pixels(file)).reduce((s, v, i) => s + Math.abs(v - truth[i]!), 0);
    expect(statSync(join(low, '21-label1.jpg')).size).toBeLessThan(statSync(join(high, '21-label1.jpg')).size);
    expect(await error(join(high, '21-label1.jpg'))).toBeLessThan(await error(join(low, '21-label1.jpg')));
  });

  it('--compression changes the PNG size, never its pixels', async () => {
    // Bounds far above every value: one flat colour, so deflate has something to squeeze.
    const stored = await heatmap('c0', ['--compression', '0', '--indices', '20', '--grid', '7x1', '--vmin', '100', '--vmax', '101']);
    const packed = await heatmap('c9', ['--compression', '9', '--indices', '20', '--grid', '7x1', '--vmin', '100', '--vmax', '101']);
    expect(statSync(join(stored, 'grid-0000.png')).size).toBeGreaterThan(statSync(join(packed, 'grid-0000.png')).size);
    expect(indices(join(packed, 'grid-0000.png'))).toEqual(indices(join(stored, 'grid-0000.png')));
  });
});

describe('--recolor in place', () => {
  it('replaces the file’s palette, keeps its indices and leaves no temporary file', async () => {
    const out = await heatmap('inplace', ['--indices', '24']);
    const file = join(out, '24-label0.png');
    const before = indices(file);
    const r = await runCli(['heatmap', '--recolor', file, '--cmap', 'bwr']);
    expect(r.code, r.stderr).toBe(0);
    const after = decode(readFileSync(file));
    expect(Array.from(after.data as Uint8Array)).toEqual(before);
    expect((after.palette ?? []).flat()).toEqual(Array.from(palette('bwr')));
    expect(readdirSync(out).sort()).toEqual(['24-label0.png', 'heatmaps.csv']);
  });
});

describe('CMSL --cmap sources', () => {
  it('"00f,80:fff,f00": blue at 0, white at 0x80, red at 0xff, linear in between', async () => {
    const out = await heatmap('cmsl', ['--cmap', '00f,80:fff,f00', '--indices', '20']);
    const pal = (decode(readFileSync(join(out, '20-label0.png'))).palette ?? []).map((c) => Array.from(c).slice(0, 3));
    expect(pal).toHaveLength(256);
    expect(pal[0]).toEqual([0, 0, 255]);
    expect(pal[0x80]).toEqual([255, 255, 255]);
    expect(pal[255]).toEqual([255, 0, 0]);
    // Linear in the index between neighbouring control points: 64/128 of the way from blue to
    // white, 64/127 of the way from white to red.
    const between = (a: number[], b: number[], t: number) => a.map((v, c) => v + (b[c]! - v) * t);
    pal[0x40]!.forEach((v, c) => expect(Math.abs(v - between([0, 0, 255], [255, 255, 255], 64 / 128)[c]!)).toBeLessThanOrEqual(1));
    pal[0xc0]!.forEach((v, c) => expect(Math.abs(v - between([255, 255, 255], [255, 0, 0], 64 / 127)[c]!)).toBeLessThanOrEqual(1));
  });
});
