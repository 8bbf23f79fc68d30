/**
 * Heatmap maths, restating Zennit's image.py (docs/heatmap.md §3, §4): channel
 * reduction, imgify's normalisation to 8-bit palette indices, gridify, plus palette lookup and
 * the viewer's overlay on a grey input image. Pure functions on typed arrays; no I/O.
 */
export { encodeIndexedPng, replacePngPalette, type IndexedPngOptions, type PngFilter } from './png.js';

/** Axis order of one attribution sample. */
export type SampleLayout = 'chw' | 'hwc' | 'hw';

export interface HeatmapOptions {
  /** Symmetric bounds (−max|a|, +max|a|), so relevance 0 maps to index 127. Default false (min/max). */
  symmetric?: boolean;
  /** Explicit lower/upper bound; each overrides only its own side. */
  vmin?: number;
  vmax?: number;
  /** Channel reduction before colouring (Zennit's pipeline sums relevance over channels). */
  reduce?: 'sum';
  /** Axis order of `attribution` (default 'chw', as in the contract's `shape: [C, H, W]`). */
  layout?: SampleLayout;
}

/**
 * Guesses a sample's layout as ViRelAy does (docs/formats.md §3.3): channels-first when the smallest
 * dimension is axis 0, else channels-last; rank 2 is a single channel.
 */
export function guessLayout(sampleShape: readonly number[]): { layout: SampleLayout; channels: number; height: number; width: number } {
  if (sampleShape.length === 2) return { layout: 'hw', channels: 1, height: sampleShape[0], width: sampleShape[1] };
  if (sampleShape.length !== 3) throw new Error(`attribution samples must have 2 or 3 axes, got shape [${sampleShape.join(', ')}]`);
  const [a, b, c] = sampleShape;
  return a <= Math.min(b, c) ? { layout: 'chw', channels: a, height: b, width: c } : { layout: 'hwc', channels: c, height: a, width: b };
}

type Real = Float32Array | Float64Array;

/**
 * Sums channels into an H×W map. Float32 input is summed in float32 arithmetic in channel order
 * (as PyTorch/NumPy do for `rel.sum(channel_axis)`), float64 input in float64.
 */
export function reduceChannels(attribution: Real, channels: number, height: number, width: number, layout: SampleLayout, into?: Real): Real {
  const n = height * width;
  if (attribution.length !== channels * n) throw new Error(`attribution has ${attribution.length} values, expected ${channels}×${height}×${width}`);
  if (channels === 1) return attribution;
  const f32 = attribution instanceof Float32Array;
  // `into` (same element type, n values) lets batch loops reuse one buffer instead of churning the GC.
  const out = into && into.length === n && into instanceof attribution.constructor ? into : f32 ? new Float32Array(n) : new Float64Array(n);
  if (layout === 'hwc') {
    for (let i = 0; i < n; i++) {
      let s = attribution[i * channels];
      for (let c = 1; c < channels; c++) s = f32 ? Math.fround(s + attribution[i * channels + c]) : s + attribution[i * channels + c];
      out[i] = s;
    }
  } else if (channels === 3 && f32) {
    // The common case (RGB relevance) in one pass; fround after each add = float32 addition.
    const a = attribution as Float32Array;
    const o = out as Float32Array;
    for (let i = 0; i < n; i++) o[i] = Math.fround(a[i] + a[n + i]) + a[2 * n + i];
  } else {
    out.set(attribution.subarray(0, n));
    for (let c = 1; c < channels; c++) {
      const base = c * n;
      // Float32Array stores round every sum to float32, which is exactly float32 addition.
      for (let i = 0; i < n; i++) out[i] += attribution[base + i];
    }
  }
  return out;
}

/** Zennit's interval_norm_bounds over a whole map: (min, max) or (−max|a|, max|a|). */
export function normBounds(map: Real, symmetric: boolean): { vmin: number; vmax: number } {
  if (symmetric) {
    let m = -Infinity;
    for (let i = 0; i < map.length; i++) {
      const v = Math.abs(map[i]);
      if (v > m || Number.isNaN(v)) m = v;
    }
    return { vmin: -m, vmax: m };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    if (v < lo || Number.isNaN(v)) lo = v;
    if (v > hi || Number.isNaN(v)) hi = v;
  }
  return { vmin: lo, vmax: hi };
}

/**
 * imgify's normalisation of one H×W map to palette indices:
 * `uint8(trunc(clip((a − vmin)/(vmax − vmin)·255, 0, 255)))`. Float32 maps use float32
 * arithmetic throughout (NumPy 1.x keeps float32 when combined with scalar bounds; explicit
 * vmin/vmax are rounded to float32), float64 maps float64. NaN (e.g. a constant map, 0/0) → 0.
 */
export function normalizeToIndices(
  map: Real,
  options: { symmetric?: boolean; vmin?: number; vmax?: number } = {},
  out = new Uint8Array(map.length),
): Uint8Array {
  let { vmin, vmax } = options;
  if (vmin === undefined || vmax === undefined) {
    const bounds = normBounds(map, options.symmetric ?? false);
    vmin ??= bounds.vmin;
    vmax ??= bounds.vmax;
  }
  // Two monomorphic loops: the float32 one rounds after every operation like NumPy's float32 ufuncs.
  if (map instanceof Float32Array) {
    const lo = Math.fround(vmin);
    const span = Math.fround(Math.fround(vmax) - lo);
    for (let i = 0; i < map.length; i++) {
      const scaled = Math.fround(Math.fround(Math.fround(map[i] - lo) / span) * 255);
      // NaN fails both comparisons and lands on 0, like the x86 float→uint8 cast.
      out[i] = scaled >= 255 ? 255 : scaled > 0 ? scaled : 0; // Uint8Array stores truncate
    }
  } else {
    const span = vmax - vmin;
    for (let i = 0; i < map.length; i++) {
      const scaled = ((map[i] - vmin) / span) * 255;
      out[i] = scaled >= 255 ? 255 : scaled > 0 ? scaled : 0;
    }
  }
  return out;
}

/**
 * Zennit's `imgify(rel.sum(channels), symmetric, vmin, vmax)` indices for one sample of shape
 * [C, H, W] (or the given layout): H×W bytes, row-major.
 */
export function heatmapIndices(attribution: Real, shape: readonly number[], options: HeatmapOptions = {}): Uint8Array {
  const layout = options.layout ?? (shape.length === 2 ? 'hw' : 'chw');
  const [channels, height, width] =
    layout === 'hw' ? [1, shape[0], shape[1]] : layout === 'chw' ? [shape[0], shape[1], shape[2]] : [shape[2], shape[0], shape[1]];
  const map = reduceChannels(attribution, channels, height, width, layout);
  return normalizeToIndices(map, options);
}

/** Palette lookup: H×W indices → H×W×3 RGB bytes. */
export function indicesToRgb(indices: Uint8Array, palette: Uint8Array, out = new Uint8Array(indices.length * 3)): Uint8Array {
  for (let i = 0; i < indices.length; i++) {
    const p = indices[i] * 3;
    out[i * 3] = palette[p];
    out[i * 3 + 1] = palette[p + 1];
    out[i * 3 + 2] = palette[p + 2];
  }
  return out;
}

/** Zennit's default grid shape for N tiles: floor(√N) columns, enough rows. */
export function defaultGridShape(count: number): { cols: number; rows: number } {
  const cols = Math.max(1, Math.floor(Math.sqrt(count)));
  return { cols, rows: Math.ceil(count / cols) };
}

/**
 * Zennit's gridify: tiles (each H×W×C bytes) placed row-major into a rows×cols sheet; tiles
 * beyond rows·cols are dropped; empty cells get `fill` (per channel) or, by default, the
 * per-channel minimum over all given tiles.
 */
export function gridify(
  tiles: Uint8Array[],
  tile: { width: number; height: number; channels: number },
  grid: { cols: number; rows: number },
  fill?: number | number[],
): { data: Uint8Array; width: number; height: number } {
  const { width, height, channels } = tile;
  const { cols, rows } = grid;
  const sheetW = cols * width;
  const sheetH = rows * height;
  const data = new Uint8Array(sheetW * sheetH * channels);
  const placed = Math.min(tiles.length, rows * cols);
  if (placed < rows * cols) {
    const fillValues = fill === undefined ? channelMinimum(tiles, channels) : Array.isArray(fill) ? fill : new Array(channels).fill(fill);
    // Cast like NumPy's astype(uint8): wrap modulo 256.
    const bytes = fillValues.map((v) => ((Math.trunc(v) % 256) + 256) % 256);
    if (channels === 1) data.fill(bytes[0]);
    else for (let i = 0; i < data.length; i += channels) for (let c = 0; c < channels; c++) data[i + c] = bytes[c];
  }
  const rowBytes = width * channels;
  for (let k = 0; k < placed; k++) {
    const src = tiles[k];
    if (src.length !== width * height * channels) throw new Error(`grid tile ${k} has ${src.length} bytes, expected ${width * height * channels}`);
    const x0 = (k % cols) * rowBytes;
    const y0 = Math.floor(k / cols) * height;
    for (let y = 0; y < height; y++) data.set(src.subarray(y * rowBytes, (y + 1) * rowBytes), (y0 + y) * sheetW * channels + x0);
  }
  return { data, width: sheetW, height: sheetH };
}

function channelMinimum(tiles: Uint8Array[], channels: number): number[] {
  const min = new Array<number>(channels).fill(255);
  for (const t of tiles) for (let i = 0; i < t.length; i++) if (t[i] < min[i % channels]) min[i % channels] = t[i];
  return min;
}

/** PIL's "L" conversion (ITU-R 601-2 luma, fixed point): grey level of an RGB pixel. */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/**
 * The viewer's overlay (ViRelAy's superimposed heatmap): the coloured heatmap blended over a grey
 * version of the input with alpha = 0.9·|a|/max|a| (positive and negative parts alike), alpha
 * quantised to 8 bits and blended like PIL's composite. The heatmap and map are resized to the
 * image with nearest-neighbour sampling when their sizes differ.
 */
export function overlayOnGrey(
  heatmapRgb: Uint8Array,
  map: Real,
  mapSize: { width: number; height: number },
  image: { data: Uint8Array; width: number; height: number; channels: number },
): Uint8Array {
  const { width, height, channels } = image;
  let maxAbs = 0;
  for (let i = 0; i < map.length; i++) maxAbs = Math.max(maxAbs, Math.abs(map[i]));
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const my = Math.min(mapSize.height - 1, Math.floor(((y + 0.5) * mapSize.height) / height));
    for (let x = 0; x < width; x++) {
      const mx = Math.min(mapSize.width - 1, Math.floor(((x + 0.5) * mapSize.width) / width));
      const m = my * mapSize.width + mx;
      const px = (y * width + x) * channels;
      const grey = channels >= 3 ? luma(image.data[px], image.data[px + 1], image.data[px + 2]) : image.data[px];
      const alpha = maxAbs > 0 ? Math.trunc((Math.abs(map[m]) / maxAbs) * 0.9 * 255) : 0;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const blended = heatmapRgb[m * 3 + c] * alpha + grey * (255 - alpha);
        out[o + c] = Math.floor((blended + 127) / 255); // rounded division by 255
      }
    }
  }
  return out;
}

/** A horizontal colour bar: `width`×`height` indices running 0..255 left to right. */
export function colorbarIndices(width = 256, height = 24): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let x = 0; x < width; x++) {
    const v = width === 1 ? 0 : Math.round((x * 255) / (width - 1));
    for (let y = 0; y < height; y++) out[y * width + x] = v;
  }
  return out;
}
