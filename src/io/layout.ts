/**
 * Axis and label conventions shared by the dataset and attribution readers (docs/formats.md §3.1, §3.3).
 */

/** Where the channel axis of one stored sample is. */
export type AxisOrder = 'chw' | 'hwc' | 'hw';

/**
 * ViRelAy's axis guess: a 3-D sample whose smallest dimension is axis 0 is channels-first,
 * otherwise channels-last. 2-D samples are single-channel images.
 */
export function guessAxisOrder(sampleShape: readonly number[]): AxisOrder {
  if (sampleShape.length === 2) return 'hw';
  let smallest = 0;
  for (let i = 1; i < sampleShape.length; i++) if (sampleShape[i]! < sampleShape[smallest]!) smallest = i;
  return smallest === 0 ? 'chw' : 'hwc';
}

/** The [C, H, W] shape of a stored sample. */
export function chwShape(sampleShape: readonly number[], order: AxisOrder): [number, number, number] {
  if (order === 'hw') return [1, sampleShape[0]!, sampleShape[1]!];
  if (order === 'hwc') return [sampleShape[2]!, sampleShape[0]!, sampleShape[1]!];
  return [sampleShape[0]!, sampleShape[1]!, sampleShape[2]!];
}

/** Copies `count` samples stored (H, W, C) into (C, H, W) order. */
export function hwcToChw(source: ArrayLike<number>, count: number, h: number, w: number, c: number, scale = 1): Float32Array {
  const out = new Float32Array(count * c * h * w);
  const plane = h * w;
  for (let n = 0; n < count; n++) {
    const base = n * plane * c;
    for (let p = 0; p < plane; p++) {
      for (let ch = 0; ch < c; ch++) out[base + ch * plane + p] = source[base + p * c + ch]! * scale;
    }
  }
  return out;
}

/** Converts stored samples (in `order`) to float32 CHW, multiplying by `scale` (1/255 for uint8 pixels). */
export function toChwFloat(source: ArrayLike<number>, count: number, sampleShape: readonly number[], order: AxisOrder, scale = 1): Float32Array {
  if (order === 'hwc') return hwcToChw(source, count, sampleShape[0]!, sampleShape[1]!, sampleShape[2]!, scale);
  if (scale === 1 && source instanceof Float32Array) return source;
  const out = new Float32Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = source[i]! * scale;
  return out;
}

/** First label of each n-hot row (the lowest non-zero position), -1 for an all-zero row. */
export function firstLabels(nHot: ArrayLike<number>, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows).fill(-1);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) {
      if (nHot[r * k + j]) {
        out[r] = j;
        break;
      }
    }
  }
  return out;
}

/** Every label of one n-hot row. */
export function labelSet(nHot: ArrayLike<number>, row: number, k: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < k; j++) if (nHot[row * k + j]) out.push(j);
  return out;
}
