/**
 * The render engine's public surface, plus two conveniences for the viewer: a heatmap PNG for one
 * attribution, and a colour-map preview strip.
 */
import { getColorMap, palette, type ColorMap } from './cmap.js';
import { colorbarIndices, heatmapIndices, indicesToRgb, overlayOnGrey, reduceChannels, type HeatmapOptions } from './heatmap.js';
import { encodeIndexedPng } from './png.js';

export * from './cmap.js';
export * from './heatmap.js';

export interface HeatmapPngOptions extends HeatmapOptions {
  /** Colour map name or CMSL source (default 'coldnhot'). */
  cmap?: string | ColorMap;
  level?: number;
}

/** One attribution ([C, H, W] float32) as an indexed PNG, exactly as `xai-tools heatmap` writes it. */
export function renderHeatmapPng(attribution: Float32Array | Float64Array, shape: readonly number[], options: HeatmapPngOptions = {}): Uint8Array {
  const indices = heatmapIndices(attribution, shape, options);
  const [height, width] = shape.length === 2 ? shape : options.layout === 'hwc' ? [shape[0], shape[1]] : [shape[1], shape[2]];
  return encodeIndexedPng(indices, width, height, palette(getColorMap(options.cmap ?? 'coldnhot'), options.level ?? 1));
}

/**
 * The viewer's overlay for one sample: RGB bytes (image size) of the heatmap blended over the grey
 * input. `image` is what `Dataset.readImageForDisplay` returns.
 */
export function renderOverlayRgb(
  attribution: Float32Array,
  shape: [number, number, number],
  image: { data: Uint8Array; width: number; height: number },
  options: HeatmapPngOptions = {},
): Uint8Array {
  const [channels, height, width] = shape;
  const map = reduceChannels(attribution, channels, height, width, 'chw');
  const indices = heatmapIndices(map, [height, width], { ...options, layout: 'hw' });
  const rgb = indicesToRgb(indices, palette(getColorMap(options.cmap ?? 'coldnhot'), options.level ?? 1));
  return overlayOnGrey(rgb, map, { width, height }, { ...image, channels: 3 });
}

/** A `width`×`height` indexed PNG ramp of the map (left = palette index 0). */
export function colorMapPreviewPng(cmap: string | ColorMap, level = 1, width = 256, height = 16): Uint8Array {
  return encodeIndexedPng(colorbarIndices(width, height), width, height, palette(getColorMap(cmap), level), { level: 9 });
}
