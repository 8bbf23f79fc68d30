/**
 * How ViRelAy turns a stored sample into displayable RGB (docs/formats.md §3.3): axis guess, then a
 * value-range guess for non-uint8 data. Values are truncated like numpy's cast; we clamp where ViRelAy's uint8 cast wraps out-of-range
 * values around (that only changes pictures that were garbage in ViRelAy too).
 */
import { guessAxisOrder } from './layout.js';

export interface RgbImage {
  width: number;
  height: number;
  /** height × width × 3 bytes, row-major. */
  data: Uint8Array;
}

/** The range a sample's values are assumed to lie in, chosen by which of 0, 1, 255 `min + max` is closest to. */
export type ValueRange = '[-1,1]' | '[0,1]' | '[0,255]';

export function guessValueRange(values: ArrayLike<number>): ValueRange {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const s = min + max;
  const candidates: Array<[number, ValueRange]> = [
    [0, '[-1,1]'],
    [1, '[0,1]'],
    [255, '[0,255]'],
  ];
  // Ties go to the earlier candidate, as in ViRelAy (strict "<").
  let best = candidates[0]!;
  for (const c of candidates.slice(1)) if (Math.abs(s - c[0]) < Math.abs(s - best[0])) best = c;
  return best[1];
}

const toByte: Record<ValueRange, (v: number) => number> = {
  '[-1,1]': (v) => (v + 1) * 127.5,
  '[0,1]': (v) => v * 255,
  '[0,255]': (v) => v,
};

/**
 * Converts one stored sample (shape (C,H,W), (H,W,C) or (H,W); any numeric values) into RGB bytes.
 * Single-channel samples are replicated to grey RGB; extra channels beyond 3 are dropped.
 */
export function sampleToRgb(values: ArrayLike<number>, shape: readonly number[], isUint8: boolean): RgbImage {
  const order = guessAxisOrder(shape);
  const [c, h, w] = order === 'hw' ? [1, shape[0]!, shape[1]!] : order === 'chw' ? [shape[0]!, shape[1]!, shape[2]!] : [shape[2]!, shape[0]!, shape[1]!];
  const convert = isUint8 ? (v: number) => v : toByte[guessValueRange(values)];
  const out = new Uint8Array(h * w * 3);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const src = Math.min(ch, c - 1);
      const v = order === 'hwc' ? values[p * c + src]! : values[src * plane + p]!;
      out[p * 3 + ch] = Math.max(0, Math.min(255, Math.floor(convert(v))));
    }
  }
  return { width: w, height: h, data: out };
}
