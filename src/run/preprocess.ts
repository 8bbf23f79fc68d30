import { UserError } from '../errors.js';
import type { ImagePreprocess } from '../io/image.js';

/**
 * How a model expects its input images: the geometry (size, resize, crop) applied while decoding and
 * the per-channel normalisation applied to the decoded [0,1] pixels. Mirrors what torchvision's
 * `Resize` / `CenterCrop` / `Normalize` transforms do, so a model trained with them sees the same input.
 */
export interface PreprocessSpec {
  /** Model input width and height in pixels. */
  width: number;
  height: number;
  /**
   * `exact`: stretch the image to width×height. `shorter`: scale so the shorter side is `shorterSide`
   * (keeping the aspect ratio); a `center` crop then cuts width×height out of it.
   */
  resize: 'exact' | 'shorter';
  /** Length of the shorter side after a `shorter` resize (torchvision's `Resize(256)` is 256). */
  shorterSide: number;
  crop: 'center' | 'none';
  /** Per-channel mean and standard deviation; `undefined` keeps pixels in [0,1]. */
  normalize?: { mean: number[]; std: number[] };
}

/** Named normalisations; `imagenet` holds torchvision's ImageNet statistics. */
export const NORMALIZE_PRESETS: Record<string, { mean: number[]; std: number[] }> = {
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

/** Parses `W,H` (or a single `S` for a square input). */
export function parseInputSize(text: string, option = '--input-size'): [number, number] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length < 1 || parts.length > 2 || parts.some((p) => !/^[1-9][0-9]*$/.test(p))) {
    throw new UserError(option, `expected W,H (positive integers), got '${text}'`);
  }
  const [w, h = w] = parts.map(Number) as [number, number?];
  return [w, h];
}

/** Parses `R,G,B`-style comma-separated finite numbers (one per channel). */
export function parseChannelValues(text: string, option: string): number[] {
  const values = text.split(',').map((p) => p.trim());
  const numbers = values.map(Number);
  if (values.some((v) => v === '') || numbers.some((n) => !Number.isFinite(n))) {
    throw new UserError(option, `expected comma-separated numbers like 0.485,0.456,0.406, got '${text}'`);
  }
  return numbers;
}

/** Parses `exact`, `shorter` or `shorter=S` into the resize mode and the shorter-side length (0 = not given). */
export function parseResize(text: string): { resize: 'exact' | 'shorter'; shorterSide: number } {
  const match = /^(exact|shorter)(?:=([1-9][0-9]*))?$/.exec(text.trim());
  if (!match || (match[1] === 'exact' && match[2])) {
    throw new UserError('--resize', `expected exact, shorter or shorter=SIZE, got '${text}'`);
  }
  return { resize: match[1] as 'exact' | 'shorter', shorterSide: match[2] ? Number(match[2]) : 0 };
}

export interface PreprocessOptions {
  inputSize?: string;
  resize?: string;
  crop?: string;
  mean?: string;
  std?: string;
  normalize?: string;
}

/**
 * Builds the spec from the command-line strings. `modelSize` ([W,H] from the model's input shape)
 * is the default size; a model with a dynamic spatial size needs `--input-size`.
 */
export function parsePreprocess(options: PreprocessOptions, modelSize?: [number, number]): PreprocessSpec {
  const size = options.inputSize !== undefined ? parseInputSize(options.inputSize) : modelSize;
  if (!size) throw new UserError('--input-size', 'the model input has no fixed spatial size; give --input-size W,H');
  if (modelSize && (size[0] !== modelSize[0] || size[1] !== modelSize[1])) {
    throw new UserError('--input-size', `${size[0]},${size[1]} differs from the model's fixed input size ${modelSize[0]},${modelSize[1]}`);
  }
  const [width, height] = size;
  const { resize, shorterSide } = parseResize(options.resize ?? 'exact');
  const crop = options.crop ?? (resize === 'shorter' ? 'center' : 'none');
  if (crop !== 'center' && crop !== 'none') throw new UserError('--crop', `expected center or none, got '${crop}'`);
  if (resize === 'shorter' && crop !== 'center') {
    throw new UserError('--crop', '--resize shorter keeps the aspect ratio, so it needs --crop center to reach the input size');
  }
  const spec: PreprocessSpec = { width, height, resize, shorterSide: shorterSide || Math.max(width, height), crop };
  if (resize === 'shorter' && spec.shorterSide < Math.max(width, height)) {
    throw new UserError('--resize', `the shorter side ${spec.shorterSide} is smaller than the ${width}x${height} crop`);
  }
  spec.normalize = parseNormalize(options);
  return spec;
}

function parseNormalize(options: PreprocessOptions): PreprocessSpec['normalize'] {
  if (options.normalize !== undefined) {
    if (options.mean !== undefined || options.std !== undefined) {
      throw new UserError('--normalize', 'give either --normalize or --mean/--std, not both');
    }
    const preset = NORMALIZE_PRESETS[options.normalize];
    if (!preset) throw new UserError('--normalize', `unknown preset '${options.normalize}' (have: ${Object.keys(NORMALIZE_PRESETS).join(', ')})`);
    return { mean: [...preset.mean], std: [...preset.std] };
  }
  if (options.mean === undefined && options.std === undefined) return undefined;
  if (options.mean === undefined || options.std === undefined) {
    throw new UserError(options.mean === undefined ? '--mean' : '--std', '--mean and --std must be given together');
  }
  const mean = parseChannelValues(options.mean, '--mean');
  const std = parseChannelValues(options.std, '--std');
  if (mean.length !== std.length) throw new UserError('--std', `has ${std.length} values but --mean has ${mean.length}`);
  if (std.some((s) => s <= 0)) throw new UserError('--std', 'every standard deviation must be positive');
  return { mean, std };
}

/** Checks that the normalisation fits the model's channel count. */
export function checkChannels(spec: PreprocessSpec, channels: number): void {
  const n = spec.normalize?.mean.length;
  if (n !== undefined && n !== 1 && n !== channels) {
    throw new UserError('--mean', `has ${n} values but the model input has ${channels} channels`);
  }
}

/** Value of `spec.normalize` for channel `c` (a single value applies to every channel). */
function channelStats(spec: PreprocessSpec, c: number): { mean: number; std: number } {
  if (!spec.normalize) return { mean: 0, std: 1 };
  const { mean, std } = spec.normalize;
  return mean.length === 1 ? { mean: mean[0]!, std: std[0]! } : { mean: mean[c]!, std: std[c]! };
}

/** Normalises a batch of [0,1] pixels of shape [B,C,H,W] in place: (x − mean[c]) / std[c]. */
export function normalizeBatch(data: Float32Array, shape: readonly [number, number, number, number], spec: PreprocessSpec): void {
  if (!spec.normalize) return;
  const [, channels, height, width] = shape;
  const plane = height * width;
  const sample = channels * plane;
  for (let c = 0; c < channels; c++) {
    const { mean, std } = channelStats(spec, c);
    const scale = 1 / std;
    for (let offset = c * plane; offset < data.length; offset += sample) {
      for (let i = offset, end = offset + plane; i < end; i++) data[i] = (data[i]! - mean) * scale;
    }
  }
}

/**
 * Default z-box bounds: the normalised images of black (0) and white (1) per channel — what users
 * compute by hand for Zennit (`low = (0 − mean) / std`, `high = (1 − mean) / std`). Without a
 * normalisation the pixels live in [0,1], so the bounds are 0 and 1.
 */
export function zBoxBounds(spec: PreprocessSpec, channels: number): { low: number[]; high: number[] } {
  const low: number[] = [];
  const high: number[] = [];
  for (let c = 0; c < channels; c++) {
    const { mean, std } = channelStats(spec, c);
    low.push((0 - mean) / std);
    high.push((1 - mean) / std);
  }
  return { low, high };
}

/** One line for logs: `224x224, shorter side 256, center crop, normalised (imagenet-like) ...`. */
export function describePreprocess(spec: PreprocessSpec): string {
  const parts = [`${spec.width}x${spec.height}`];
  parts.push(spec.resize === 'shorter' ? `shorter side to ${spec.shorterSide}` : 'exact resize');
  if (spec.crop === 'center') parts.push('center crop');
  if (spec.normalize) parts.push(`mean ${spec.normalize.mean.join(',')} std ${spec.normalize.std.join(',')}`);
  return parts.join(', ');
}

/**
 * The decoding options for the image datasets of src/io. Bilinear resampling, like torchvision's
 * default `Resize`; images already at the input size are used pixel for pixel.
 */
export function imagePreprocessFor(spec: PreprocessSpec): ImagePreprocess {
  return {
    resize: spec.resize === 'exact' ? { mode: 'exact', width: spec.width, height: spec.height } : { mode: 'shorter', size: spec.shorterSide },
    crop: spec.crop === 'center' ? { width: spec.width, height: spec.height } : undefined,
    kernel: 'linear',
  };
}
