import type { ColorMap } from './cmap.js';
import type { Rgb } from './cmsl.js';

/**
 * ViRelAy's colour maps (its image_processing module), restated as functions of the palette
 * position p ∈ [0, 1]. ViRelAy scales each heatmap to x = a / max|a| ∈ [−1, 1]; here x = 2p − 1,
 * so index 127/128 of a symmetric heatmap is relevance ≈ 0 just as with Zennit's signed maps.
 *
 * - Four maps are piecewise-linear formulas of x (ViRelAy's own: black-fire-red, gray-red,
 *   black-green, black-yellow). ViRelAy divides by max(a) for three of them (a quirk that
 *   overflows for negative-only inputs); here x is always clipped to [−1, 1].
 * - Four are Matplotlib maps (blue-white-red = bwr, afm-hot = afmhot, jet, virelay-seismic =
 *   Matplotlib's seismic), reproduced as Matplotlib builds them: a 256-entry lookup table
 *   interpolated from segment data at j/255, looked up at ⌊p·256⌋ (clamped to 255).
 *
 * ViRelAy's `seismic` is registered as `virelay-seismic`; the plain name `seismic` is Zennit's
 * (blue–grey d0–red), because Zennit users pass that name to the same `--cmap` option.
 */

type Channel = (x: number) => number;

const clip = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);
const toX = (p: number): number => clip(2 * p - 1, -1, 1);

/** A ViRelAy map defined on x ∈ [−1, 1] with channels in [0, 1]. */
function formulaMap(name: string, description: string, channels: [Channel, Channel, Channel]): ColorMap {
  return {
    name,
    origin: 'virelay',
    description,
    signed: true,
    color: (p: number): Rgb => {
      const x = toX(p);
      return channels.map((f) => clip(f(x), 0, 1) * 255) as Rgb;
    },
  };
}

/** Segment data (x, y) per channel, continuous (Matplotlib's y0 = y1 everywhere used here). */
type Segments = Array<[number, number]>;

/** Matplotlib's _create_lookup_table for N = 256 with continuous segments. */
function lookupTable(segments: Segments): Float64Array {
  const n = 256;
  const xs = segments.map(([x]) => x * (n - 1));
  const ys = segments.map(([, y]) => y);
  const lut = new Float64Array(n);
  lut[0] = ys[0];
  lut[n - 1] = ys[ys.length - 1];
  for (let j = 1; j < n - 1; j++) {
    const xi = (n - 1) * (j * (1 / (n - 1))); // (N−1)·linspace(0, 1, N)[j]
    let k = 0;
    while (k < xs.length && xs[k] < xi) k++; // searchsorted, side='left'
    const distance = (xi - xs[k - 1]) / (xs[k] - xs[k - 1]);
    lut[j] = distance * (ys[k] - ys[k - 1]) + ys[k - 1];
  }
  return lut.map((v) => clip(v, 0, 1));
}

/** Matplotlib's lookup for a function-defined map (afmhot): clip(f(j/255), 0, 1). */
function functionTable(f: Channel): Float64Array {
  return Float64Array.from({ length: 256 }, (_, j) => clip(f(j === 255 ? 1 : j * (1 / 255)), 0, 1));
}

function matplotlibMap(name: string, description: string, tables: [Float64Array, Float64Array, Float64Array]): ColorMap {
  return {
    name,
    origin: 'virelay',
    description,
    signed: true,
    color: (p: number): Rgb => {
      const j = Math.min(255, Math.trunc(clip(p, 0, 1) * 256));
      return tables.map((t) => t[j] * 255) as Rgb;
    },
  };
}

/** Evenly spaced colours (LinearSegmentedColormap.from_list). */
function fromList(colors: Rgb[]): [Segments, Segments, Segments] {
  const at = (i: number): number => i / (colors.length - 1);
  return [0, 1, 2].map((c) => colors.map((rgb, i) => [at(i), rgb[c]] as [number, number])) as [Segments, Segments, Segments];
}

const tablesOf = (segs: [Segments, Segments, Segments]): [Float64Array, Float64Array, Float64Array] =>
  segs.map(lookupTable) as [Float64Array, Float64Array, Float64Array];

const BASE_GRAY = 0.8;

export const VIRELAY_MAPS: ColorMap[] = [
  formulaMap('black-fire-red', "ViRelAy's default: black centre, red→yellow→white for positive, blue→cyan→white for negative", [
    (x) => clip(x, 0, 0.25) / 0.25 + clip(-x - 0.5, 0, 0.5) / 0.5,
    (x) => clip(x - 0.25, 0, 0.25) / 0.25 + clip(-x - 0.25, 0, 0.25) / 0.25,
    (x) => clip(x - 0.5, 0, 0.5) / 0.5 + clip(-x, 0, 0.25) / 0.25,
  ]),
  formulaMap('gray-red', 'grey 0.8 centre, red for positive, blue for negative', [
    (x) => (x < 0 ? BASE_GRAY + x * BASE_GRAY : BASE_GRAY + x * (1 - BASE_GRAY)),
    (x) => (x < 0 ? BASE_GRAY + x * BASE_GRAY : BASE_GRAY - x * BASE_GRAY),
    (x) => (x < 0 ? BASE_GRAY - x * (1 - BASE_GRAY) : BASE_GRAY - x * BASE_GRAY),
  ]),
  formulaMap('black-green', 'black centre, green for positive, blue for negative', [() => 0, (x) => (x >= 0 ? x : 0), (x) => (x < 0 ? -x : 0)]),
  formulaMap('black-yellow', 'black centre, yellow for positive, blue for negative', [
    (x) => (x >= 0 ? x : 0),
    (x) => (x >= 0 ? x : 0),
    (x) => (x < 0 ? -x : 0),
  ]),
  matplotlibMap(
    'blue-white-red',
    "Matplotlib's bwr (ViRelAy's blue-white-red)",
    tablesOf(
      fromList([
        [0, 0, 1],
        [1, 1, 1],
        [1, 0, 0],
      ]),
    ),
  ),
  matplotlibMap('afm-hot', "Matplotlib's afmhot", [functionTable((x) => 2 * x), functionTable((x) => 2 * x - 0.5), functionTable((x) => 2 * x - 1)]),
  matplotlibMap(
    'jet',
    "Matplotlib's jet",
    tablesOf([
      [
        [0, 0],
        [0.35, 0],
        [0.66, 1],
        [0.89, 1],
        [1, 0.5],
      ],
      [
        [0, 0],
        [0.125, 0],
        [0.375, 1],
        [0.64, 1],
        [0.91, 0],
        [1, 0],
      ],
      [
        [0, 0.5],
        [0.11, 1],
        [0.34, 1],
        [0.65, 0],
        [1, 0],
      ],
    ]),
  ),
  matplotlibMap(
    'virelay-seismic',
    "ViRelAy's seismic (Matplotlib's): dark blue→blue→white→red→dark red",
    tablesOf(
      fromList([
        [0, 0, 0.3],
        [0, 0, 1],
        [1, 1, 1],
        [1, 0, 0],
        [0.5, 0, 0],
      ]),
    ),
  ),
];
