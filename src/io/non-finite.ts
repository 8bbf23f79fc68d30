/**
 * What to do with NaN/±Inf in attribution rows (`--nan-policy`): one +Inf row changes a k-means
 * clustering and NaN rows change a class's suspicion without a word, so by default they are refused
 * with the file, the first row and the count; `skip` leaves those rows out, `zero` sets the values to 0.
 */
import { UserError } from '../errors.js';

export const NAN_POLICIES = ['error', 'skip', 'zero'] as const;
export type NanPolicy = (typeof NAN_POLICIES)[number];

export interface NonFiniteRows {
  /** Positions (0-based, within `data`) of the rows holding a non-finite value. */
  rows: number[];
  /** Non-finite values in all of them. */
  values: number;
}

/** Finds the rows of `data` (rows of `rowSize` values) that hold NaN or ±Inf. */
export function findNonFinite(data: Float32Array, rowSize: number): NonFiniteRows {
  const rows: number[] = [];
  let values = 0;
  for (let r = 0, off = 0; off < data.length; r++, off += rowSize) {
    let bad = 0;
    for (let i = off; i < off + rowSize; i++) if (!Number.isFinite(data[i]!)) bad++;
    if (bad > 0) {
      rows.push(r);
      values += bad;
    }
  }
  return { rows, values };
}

/**
 * Applies `policy` to `data` in place (zero) or reports the rows to drop (skip); throws for error.
 * `rowName(r)` names row r for the message (the file's row number or the sample index).
 */
export function applyNanPolicy(file: string, data: Float32Array, rowSize: number, policy: NanPolicy, rowName: (r: number) => string): Set<number> {
  const found = findNonFinite(data, rowSize);
  if (found.rows.length === 0) return new Set();
  if (policy === 'error') {
    throw new UserError(
      file,
      `${found.values} non-finite value${found.values === 1 ? '' : 's'} (NaN or ±Inf) in ${found.rows.length} ` +
        `row${found.rows.length === 1 ? '' : 's'}, the first at ${rowName(found.rows[0]!)}; use --nan-policy skip or zero`,
    );
  }
  if (policy === 'zero') {
    for (const r of found.rows) {
      for (let i = r * rowSize; i < (r + 1) * rowSize; i++) if (!Number.isFinite(data[i]!)) data[i] = 0;
    }
    return new Set();
  }
  return new Set(found.rows);
}

/**
 * Refuses model input holding NaN/±Inf (`attribute`, `evaluate`): every relevance of such a sample
 * would be NaN, written without a word. The count is of the batch that found them (the whole file is
 * not scanned first), so the first sample named is the first of that batch.
 */
export function refuseNonFiniteInput(file: string, data: Float32Array, rowSize: number, sampleOf: (r: number) => number): void {
  const found = findNonFinite(data, rowSize);
  if (found.rows.length === 0) return;
  const first = Math.min(...found.rows.map(sampleOf));
  throw new UserError(
    file,
    `input data holds ${found.values} non-finite value${found.values === 1 ? '' : 's'} (NaN or ±Inf) in ${found.rows.length} ` +
      `sample${found.rows.length === 1 ? '' : 's'} of the batch read, the first at sample ${first}; their attributions would be NaN`,
  );
}
