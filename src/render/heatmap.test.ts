import { readFileSync } from 'node:fs';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { palette } from './cmap.js';
import {
  colorbarIndices,
  defaultGridShape,
  encodeIndexedPng,
  gridify,
  guessLayout,
  heatmapIndices,
  indicesToRgb,
  overlayOnGrey,
  reduceChannels,
  replacePngPalette,
} from './heatmap.js';

const list = (x: Uint8Array): number[] => Array.from(x);
const a = Float64Array.from([-2, -1, 0, 0.5, 1, 4]);

describe('imgify normalisation (Zennit vectors, docs/heatmap.md §3)', () => {
  it('min/max, symmetric, vmin, vmax', () => {
    expect(list(heatmapIndices(a, [2, 3]))).toEqual([0, 42, 85, 106, 127, 255]);
    expect(list(heatmapIndices(a, [2, 3], { symmetric: true }))).toEqual([63, 95, 127, 143, 159, 255]);
    expect(list(heatmapIndices(a, [2, 3], { vmin: 0 }))).toEqual([0, 0, 0, 31, 63, 255]);
    expect(list(heatmapIndices(a, [2, 3], { symmetric: true, vmax: 2 }))).toEqual([85, 127, 170, 191, 212, 255]);
  });

  it('maps a constant input to 0 (NaN cast)', () => {
    expect(list(heatmapIndices(new Float32Array(4).fill(1), [2, 2]))).toEqual([0, 0, 0, 0]);
  });

  it('sums channels first, in CHW and HWC layouts alike', () => {
    const chw = Float32Array.from([1, 2, 3, 4, /* c1 */ 10, 20, 30, 40]);
    const hwc = Float32Array.from([1, 10, 2, 20, 3, 30, 4, 40]);
    expect(list(reduceChannels(chw, 2, 2, 2, 'chw') as unknown as Uint8Array)).toEqual([11, 22, 33, 44]);
    expect(list(heatmapIndices(hwc, [2, 2, 2], { layout: 'hwc' }))).toEqual(list(heatmapIndices(chw, [2, 2, 2])));
  });

  // Expected indices from fixtures/make_fixtures.py: NumPy float32 sums and float32 normalisation.
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/imgify-float32.json', import.meta.url), 'utf8')) as {
    cases: Array<{ name: string; shape: number[]; options: { symmetric?: boolean; vmax?: number }; attribution: string; indices: string }>;
  };
  for (const c of fixture.cases) {
    it(`float32 ${c.name} equals NumPy's indices exactly`, () => {
      const bytes = Buffer.from(c.attribution, 'base64');
      const attribution = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const got = heatmapIndices(attribution, c.shape, c.options);
      expect(Buffer.from(got).toString('hex')).toBe(c.indices);
    });
  }
});

describe('gridify (docs/heatmap.md §4)', () => {
  const tiles = [a, a.map((v) => -v), a.map((v) => 2 * v), a.map((v) => v + 1), a.map(() => 3)].map((s) =>
    heatmapIndices(Float64Array.from(s), [2, 3], { symmetric: true }),
  );

  it('places 5 tiles in 3 rows × 2 columns and fills with the batch minimum', () => {
    const shape = defaultGridShape(5);
    expect(shape).toEqual({ cols: 2, rows: 3 });
    const g = gridify(tiles, { width: 3, height: 2, channels: 1 }, shape);
    expect([g.width, g.height]).toEqual([6, 6]);
    const rows = Array.from({ length: 6 }, (_, r) => list(g.data.subarray(r * 6, r * 6 + 6)));
    expect(rows).toEqual([
      [63, 95, 127, 191, 159, 127],
      [143, 159, 255, 111, 95, 0],
      [63, 95, 127, 102, 127, 153],
      [143, 159, 255, 165, 178, 255],
      [255, 255, 255, 0, 0, 0],
      [255, 255, 255, 0, 0, 0],
    ]);
  });

  it('honours an explicit shape and fill value, dropping surplus tiles', () => {
    const g = gridify(tiles, { width: 3, height: 2, channels: 1 }, { cols: 3, rows: 2 });
    expect([g.width, g.height]).toEqual([9, 4]);
    const small = gridify(tiles, { width: 3, height: 2, channels: 1 }, { cols: 2, rows: 2 }, 7);
    expect(small.data.length).toBe(24); // 4 of 5 tiles kept, no empty cell
    const filled = gridify(tiles.slice(0, 1), { width: 3, height: 2, channels: 1 }, { cols: 2, rows: 1 }, 7);
    expect(list(filled.data.subarray(3, 6))).toEqual([7, 7, 7]);
    expect(defaultGridShape(3)).toEqual({ cols: 1, rows: 3 });
  });
});

describe('indexed PNG', () => {
  it('round-trips the palette and the indices', () => {
    const w = 37;
    const h = 11;
    const indices = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) % 256);
    const pal = palette('coldnhot', 1.5);
    for (const filter of ['none', 'sub', 'up'] as const) {
      const png = decode(encodeIndexedPng(indices, w, h, pal, { filter, level: 6 }));
      expect([png.width, png.height, png.depth, png.channels]).toEqual([w, h, 8, 1]);
      expect(list(png.data as Uint8Array)).toEqual(list(indices));
      expect(png.palette?.flat()).toEqual(list(pal));
    }
  });

  it('recolouring swaps only the palette', () => {
    const indices = heatmapIndices(
      Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
      [8, 8],
      { symmetric: true },
    );
    const before = encodeIndexedPng(indices, 8, 8, palette('bwr'));
    const after = replacePngPalette('x.png', before, palette('hot'));
    const d0 = decode(before);
    const d1 = decode(after);
    expect(list(d1.data as Uint8Array)).toEqual(list(d0.data as Uint8Array));
    expect(d1.palette?.flat()).toEqual(list(palette('hot')));
    // Same size, and every byte outside the PLTE chunk is unchanged.
    expect(after.length).toBe(before.length);
    const plte = Buffer.from(before).indexOf('PLTE') - 4;
    const end = plte + 12 + 768;
    expect(Buffer.from(after.subarray(0, plte)).equals(Buffer.from(before.subarray(0, plte)))).toBe(true);
    expect(Buffer.from(after.subarray(end)).equals(Buffer.from(before.subarray(end)))).toBe(true);
  });

  it('refuses to recolour a PNG that is not indexed', () => {
    const rgb = encodeIndexedPng(new Uint8Array(4), 2, 2, palette('gray'));
    rgb[8 + 8 + 9] = 2; // IHDR colour type → RGB (CRC now wrong, but the type check comes first)
    expect(() => replacePngPalette('rgb.png', rgb, palette('hot'))).toThrow(/not an indexed/);
    expect(() => replacePngPalette('junk.png', new Uint8Array(10), palette('hot'))).toThrow(/not a PNG/);
  });
});

describe('helpers', () => {
  it('guesses channels-first when the smallest axis comes first', () => {
    expect(guessLayout([3, 224, 224]).layout).toBe('chw');
    expect(guessLayout([224, 224, 3]).layout).toBe('hwc');
    expect(guessLayout([28, 28])).toEqual({ layout: 'hw', channels: 1, height: 28, width: 28 });
  });

  it('looks up palette colours', () => {
    const pal = palette('gray');
    expect(list(indicesToRgb(Uint8Array.from([0, 128, 255]), pal))).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
  });

  it('overlays with alpha 0.9·|a|/max|a| on grey', () => {
    const map = Float32Array.from([0, 1, -1, 0.5]);
    const heat = indicesToRgb(Uint8Array.from([127, 255, 0, 191]), palette('bwr'));
    const image = { data: Uint8Array.from([200, 100, 50, 10, 10, 10, 0, 0, 0, 255, 255, 255]), width: 2, height: 2, channels: 3 };
    const out = overlayOnGrey(heat, map, { width: 2, height: 2 }, image);
    // pixel 0: alpha 0 → grey of (200,100,50) = 124
    expect(list(out.subarray(0, 3))).toEqual([124, 124, 124]);
    // pixel 1: alpha trunc(0.9·255) = 229 of red (255,0,0) over grey 10: (255·229 + 10·26)/255 ≈ 230
    expect(list(out.subarray(3, 6))).toEqual([230, 1, 1]);
  });

  it('draws a colour bar from 0 to 255', () => {
    const bar = colorbarIndices(256, 2);
    expect(bar[0]).toBe(0);
    expect(bar[255]).toBe(255);
    expect(bar[256 + 100]).toBe(100);
  });
});

describe('viewer conveniences', async () => {
  const { renderHeatmapPng, colorMapPreviewPng, renderOverlayRgb } = await import('./index.js');
  it('renders the same PNG as the pieces', () => {
    const attribution = Float32Array.from({ length: 3 * 4 * 5 }, (_, i) => Math.cos(i));
    const png = decode(renderHeatmapPng(attribution, [3, 4, 5], { cmap: 'bwr', symmetric: true }));
    expect([png.width, png.height]).toEqual([5, 4]);
    expect(list(png.data as Uint8Array)).toEqual(list(heatmapIndices(attribution, [3, 4, 5], { symmetric: true })));
    expect(png.palette?.flat()).toEqual(list(palette('bwr')));
    const preview = decode(colorMapPreviewPng('jet'));
    expect([preview.width, preview.height]).toEqual([256, 16]);
    const rgb = renderOverlayRgb(attribution, [3, 4, 5], { data: new Uint8Array(4 * 5 * 3).fill(90), width: 5, height: 4 });
    expect(rgb.length).toBe(60);
  });
});
