import sharp from 'sharp';
import { encodeIndexedPng, type IndexedPngOptions } from './png.js';
import { indicesToRgb } from './heatmap.js';

import type { ImageFormat } from './formats.js';

export { EXTENSION, IMAGE_FORMATS, type ImageFormat } from './formats.js';

export interface EncodeOptions {
  png?: IndexedPngOptions;
  /** JPEG quality 1..100 (default 90). */
  quality?: number;
}

// One libvips thread per call: heatmaps are small and the machines have about one core.
sharp.concurrency(1);

/** RGB bytes (H×W×3) to PNG or JPEG through sharp. */
export async function encodeRgb(rgb: Uint8Array, width: number, height: number, format: 'rgb-png' | 'jpeg', options: EncodeOptions = {}): Promise<Uint8Array> {
  const image = sharp(rgb, { raw: { width, height, channels: 3 } });
  const out =
    format === 'jpeg'
      ? image.jpeg({ quality: options.quality ?? 90, chromaSubsampling: '4:4:4' })
      : image.png({ compressionLevel: options.png?.level ?? 1, adaptiveFiltering: false });
  return new Uint8Array(await out.toBuffer());
}

/** Palette indices to an image file's bytes in the requested format. */
export async function encodeIndices(
  indices: Uint8Array,
  width: number,
  height: number,
  palette: Uint8Array,
  format: ImageFormat,
  options: EncodeOptions = {},
): Promise<Uint8Array> {
  if (format === 'png') return encodeIndexedPng(indices, width, height, palette, options.png);
  return encodeRgb(indicesToRgb(indices, palette), width, height, format, options);
}
