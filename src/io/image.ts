/**
 * Image decoding and resampling with sharp. Two users:
 *  - ViRelAy-compatible sample pictures (docs/formats.md §6: pad/crop/resize rules of image_directory);
 *  - model preprocessing (`decodeImageChw`: resize exact or by the shorter side, then a centre crop).
 */
import { existsSync, readFileSync } from 'node:fs';
import sharp from 'sharp';

/** sharp's resampling kernels ('nearest', 'linear', 'cubic', 'lanczos3', …). */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3' | 'mks2013' | 'mks2021';
import { UserError } from '../errors.js';
import type { RgbImage } from './pixels.js';
import { decodeFallback } from './image-formats.js';
import type { DownSamplingMethod, UpSamplingMethod } from './dataset.js';

export type { RgbImage };

/** Decodes any image sharp reads, plus Netpbm and BMP, into RGB bytes (alpha dropped, grey and palette expanded, like Pillow's convert('RGB')). */
export async function decodeImageRgb(path: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(path, { failOn: 'error' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels === 3) return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    // A single-channel result (some grey inputs): replicate it.
    const out = new Uint8Array(info.width * info.height * 3);
    for (let p = 0; p < info.width * info.height; p++) out.fill(data[p * info.channels]!, p * 3, p * 3 + 3);
    return { width: info.width, height: info.height, data: out };
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (/no such file|ENOENT|missing/i.test(message) && !existsSync(path)) throw new UserError(path, 'no such file');
    // sharp's libvips has no BMP or Netpbm loader; those are decoded here.
    if (/unsupported image format/i.test(message)) {
      try {
        const decoded = decodeFallback(readFileSync(path));
        if (decoded) return decoded;
      } catch (fallbackError) {
        throw new UserError(path, `cannot decode image (${(fallbackError as Error).message})`);
      }
    }
    throw new UserError(path, `cannot decode image (${message.split('\n')[0]})`);
  }
}

/** Resizes RGB bytes to exactly width × height (bicubic, as Pillow's default `resize`). */
export async function resizeRgb(image: RgbImage, width: number, height: number, kernel: ResizeKernel = 'cubic'): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

type Padding = 'fill_zeros' | 'fill_ones' | 'edge_repeat' | 'mirror_edge' | 'wrap_around';

/** Maps an out-of-range source coordinate back into [0, n) for each padding method (numpy.pad modes). */
const sourceCoordinate: Record<Padding, (i: number, n: number) => number | undefined> = {
  fill_zeros: (i, n) => (i >= 0 && i < n ? i : undefined),
  fill_ones: (i, n) => (i >= 0 && i < n ? i : undefined),
  edge_repeat: (i, n) => Math.min(n - 1, Math.max(0, i)),
  mirror_edge: (i, n) => {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    const m = ((i % period) + period) % period;
    return m < n ? m : period - m;
  },
  wrap_around: (i, n) => ((i % n) + n) % n,
};

/**
 * Pads to at least `rows` × `cols` with the extra pixel of an odd padding on the top/left
 * (ViRelAy's add_border). fill_ones pads with the byte value 1, as ViRelAy does on uint8 images.
 */
export function padRgb(image: RgbImage, rows: number, cols: number, method: Padding): RgbImage {
  const padRows = Math.max(0, rows - image.height);
  const padCols = Math.max(0, cols - image.width);
  if (padRows === 0 && padCols === 0) return image;
  const top = Math.ceil(padRows / 2);
  const left = Math.ceil(padCols / 2);
  const height = image.height + padRows;
  const width = image.width + padCols;
  const fill = method === 'fill_ones' ? 1 : 0;
  const map = sourceCoordinate[method];
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = map(y - top, image.height);
    for (let x = 0; x < width; x++) {
      const sx = map(x - left, image.width);
      const o = (y * width + x) * 3;
      if (sy === undefined || sx === undefined) out.fill(fill, o, o + 3);
      else out.set(image.data.subarray((sy * image.width + sx) * 3, (sy * image.width + sx) * 3 + 3), o);
    }
  }
  return { width, height, data: out };
}

/** Cuts the centre rows × cols (odd remainder removed on the top/left); dimensions already small enough are kept. */
export function centerCropRgb(image: RgbImage, rows: number, cols: number): RgbImage {
  const top = Math.ceil(Math.max(0, image.height - rows) / 2);
  const left = Math.ceil(Math.max(0, image.width - cols) / 2);
  const height = Math.min(rows, image.height);
  const width = Math.min(cols, image.width);
  if (height === image.height && width === image.width) return image;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const src = ((y + top) * image.width + left) * 3;
    out.set(image.data.subarray(src, src + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}

/**
 * ViRelAy's image_directory resampling (docs/formats.md §6). Note ViRelAy compares `inputWidth` with *rows* and
 * `inputHeight` with *columns* when padding and cropping, but its resize makes an image `inputWidth`
 * wide and `inputHeight` tall; both agree for square inputs. Down-sampling is judged on the original size.
 */
export async function resampleLikeViRelAy(
  image: RgbImage,
  inputWidth: number,
  inputHeight: number,
  up: UpSamplingMethod,
  down: DownSamplingMethod,
): Promise<RgbImage> {
  const rows = image.height;
  const cols = image.width;
  let out = image;
  if (rows < inputWidth || cols < inputHeight) {
    if (up === 'resize') out = await resizeRgb(out, inputWidth, inputHeight);
    else if (up !== 'none') out = padRgb(out, inputWidth, inputHeight, up);
  }
  if (rows > inputWidth || cols > inputHeight) {
    if (down === 'resize') out = await resizeRgb(out, inputWidth, inputHeight);
    else if (down === 'center_crop') out = centerCropRgb(out, inputWidth, inputHeight);
  }
  return out;
}

/** RGB bytes → float32 CHW in [0, 1]. */
export function rgbToChwFloat(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    out[p] = image.data[p * 3]! / 255;
    out[plane + p] = image.data[p * 3 + 1]! / 255;
    out[2 * plane + p] = image.data[p * 3 + 2]! / 255;
  }
  return out;
}

/** Model preprocessing of one image file: resize, then centre crop (zero-padded when the image is smaller). */
export interface ImagePreprocess {
  /** 'exact': to width × height; 'shorter': scale so the shorter side is `size` (aspect kept); omitted: no resize. */
  resize?: { mode: 'exact'; width: number; height: number } | { mode: 'shorter'; size: number };
  /** Centre crop to width × height after resizing. */
  crop?: { width: number; height: number };
  /** sharp resampling kernel (default 'cubic'; torchvision's default is bilinear with antialiasing, sharp's 'linear' is closest). */
  kernel?: ResizeKernel;
}

/** Decodes one image file to float32 CHW RGB in [0, 1] after the given resize and crop. */
export async function decodeImageChw(path: string, preprocess: ImagePreprocess = {}): Promise<{ data: Float32Array; shape: [3, number, number] }> {
  let image = await decodeImageRgb(path);
  const { resize, crop, kernel = 'cubic' } = preprocess;
  if (resize?.mode === 'exact') image = await resizeRgb(image, resize.width, resize.height, kernel);
  else if (resize?.mode === 'shorter') {
    const scale = resize.size / Math.min(image.width, image.height);
    image = await resizeRgb(image, Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)), kernel);
  }
  if (crop) image = centerCropRgb(padRgb(image, crop.height, crop.width, 'fill_zeros'), crop.height, crop.width);
  return { data: rgbToChwFloat(image), shape: [3, image.height, image.width] };
}
