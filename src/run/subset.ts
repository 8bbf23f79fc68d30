import { UserError } from '../errors.js';

/** One `start:end` range of sample indices (end exclusive, `undefined` = to the end of the dataset). */
export interface IndexRange {
  start: number;
  end: number | undefined;
}

/**
 * Parses `--indices`: comma-separated single indices and Python-style `start:end` ranges (end
 * exclusive; either side may be left out), e.g. `0:1000`, `5,9,20:30`, `1000:`.
 */
export function parseIndexRanges(text: string): IndexRange[] {
  const ranges: IndexRange[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const match = /^([0-9]*)(?:(:)([0-9]*))?$/.exec(part);
    if (!part || !match || (!match[2] && !match[1])) {
      throw new UserError('--indices', `expected indices and ranges like 0:1000 or 3,7,10:20, got '${text}'`);
    }
    const start = match[1] ? Number(match[1]) : 0;
    const end = match[2] ? (match[3] ? Number(match[3]) : undefined) : start + 1;
    if (end !== undefined && end < start) throw new UserError('--indices', `range ${part} ends before it starts`);
    ranges.push({ start, end });
  }
  return ranges;
}

/** Parses `--labels 3,7` into a set of class indices. */
export function parseLabelList(text: string): Set<number> {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^[0-9]+$/.test(p))) {
    throw new UserError('--labels', `expected comma-separated class indices like 3,7, got '${text}'`);
  }
  return new Set(parts.map(Number));
}

/**
 * The sample indices to attribute, ascending and without repeats: the `--indices` ranges (all samples
 * when absent) restricted to samples whose label is in `--labels` (when given). An index beyond the
 * dataset is an error rather than silently dropped.
 */
export function selectSamples(count: number, options: { indices?: IndexRange[]; labels?: Set<number> }, sampleLabels?: () => Int32Array): number[] {
  const chosen = new Uint8Array(count);
  if (!options.indices) chosen.fill(1);
  for (const { start, end } of options.indices ?? []) {
    const stop = end ?? count;
    if (stop > count) {
      throw new UserError('--indices', `range ${start}:${stop} goes beyond the dataset's ${count} samples`);
    }
    chosen.fill(1, start, stop);
  }
  if (options.labels) {
    const labels = sampleLabels?.();
    if (!labels) throw new UserError('--labels', 'this dataset has no labels to select by');
    for (let i = 0; i < count; i++) if (chosen[i] && !options.labels.has(labels[i]!)) chosen[i] = 0;
  }
  const selected: number[] = [];
  for (let i = 0; i < count; i++) if (chosen[i]) selected.push(i);
  if (selected.length === 0) throw new UserError(options.labels ? '--labels' : '--indices', 'selects no samples');
  return selected;
}

/** True when the selection is exactly 0..count-1, so rows need no `index` dataset. */
export function isWholeDataset(selected: readonly number[], count: number): boolean {
  return selected.length === count && (count === 0 || selected[count - 1] === count - 1);
}
