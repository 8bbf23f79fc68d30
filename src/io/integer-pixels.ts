/**
 * Integer pixel dtypes other than uint8 (int8, int16, uint16, int32, int64, …) as docs/formats.md §3.3
 * reads them: ViRelAy guesses each sample's range from `min + max` and only the [0, 255] guess
 * works for integers (the [-1, 1] and [0, 1] guesses raise, values outside 0..255 wrap in its uint8
 * cast). So such a sample is read as pixels in 0..255, scaled by 1/255 like uint8, when its values
 * lie in 0..255 and the guess is [0, 255]; any other sample is refused with its index and range,
 * never fed to the model as raw values (int8 −5 would otherwise be a pixel of −5).
 * Token ids (N, T) do not come here: 2-D `data` is read as feature vectors (src/run/row-source.ts).
 */
import { UserError } from '../errors.js';
import { guessValueRange } from './pixels.js';

/** Checks `count` stored samples of `rowSize` integer values; returns the scale to [0, 1] (1/255). */
export function integerPixelScale(
  file: string,
  where: string,
  dtype: string,
  values: ArrayLike<number>,
  count: number,
  rowSize: number,
  sampleOf: (r: number) => number,
): number {
  for (let r = 0; r < count; r++) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = r * rowSize; i < (r + 1) * rowSize; i++) {
      const v = values[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (min < 0 || max > 255 || guessValueRange([min, max]) !== '[0,255]') {
      throw new UserError(
        file,
        `'${where}' is ${dtype} and sample ${sampleOf(r)} holds values in [${min}, ${max}], not pixels in 0..255 (docs/formats.md §3.3); ` +
          `store uint8 pixels or float32 in [0, 1]`,
      );
    }
  }
  return 1 / 255;
}
