import { UserError } from '../errors.js';

/**
 * Which rows of an attribution file to render: by dataset sample index (`--indices`, Python-style
 * slices and lists) and/or by label (`--labels`). Rows keep the order the user asked for.
 */

/** A piece of an index spec: one index or a half-open range with an optional step. */
type IndexPiece = { kind: 'one'; value: number } | { kind: 'range'; start: number; end: number | undefined; step: number };

/** Parses `0:100`, `5`, `1,4,9`, `10:`, `:50`, `0:100:10` and combinations like `0:10,20,30:40`. */
export function parseIndexSpec(spec: string, option = '--indices'): IndexPiece[] {
  const pieces: IndexPiece[] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') throw new UserError(option, `empty entry in "${spec}"`);
    const fields = part.split(':');
    const num = (text: string, what: string): number => {
      if (!/^\d+$/.test(text.trim())) throw new UserError(option, `"${part}": ${what} must be a non-negative integer`);
      return Number(text.trim());
    };
    if (fields.length === 1) {
      pieces.push({ kind: 'one', value: num(fields[0], 'an index') });
    } else if (fields.length <= 3) {
      const start = fields[0].trim() === '' ? 0 : num(fields[0], 'the start');
      const end = fields[1].trim() === '' ? undefined : num(fields[1], 'the end');
      const step = fields.length === 3 && fields[2].trim() !== '' ? num(fields[2], 'the step') : 1;
      if (step === 0) throw new UserError(option, `"${part}": the step must be positive`);
      pieces.push({ kind: 'range', start, end, step });
    } else {
      throw new UserError(option, `"${part}" is not an index or a start:end[:step] range`);
    }
  }
  return pieces;
}

/** Parses `--labels 3,7,12` into a set of label ids. */
export function parseLabelList(spec: string, option = '--labels'): Set<number> {
  const out = new Set<number>();
  for (const raw of spec.split(',')) {
    const t = raw.trim();
    if (!/^-?\d+$/.test(t)) throw new UserError(option, `"${t}" is not an integer label`);
    out.add(Number(t));
  }
  return out;
}

/**
 * Resolves the selection to row numbers of the attribution file. `rowIndices[r]` is the dataset
 * sample index stored in row r. Explicit indices missing from the file are an error (naming the
 * first one); open-ended ranges stop at the largest index present.
 */
export function selectRows(file: string, rowIndices: Int32Array, rowLabels: Int32Array, options: { indices?: string; labels?: string }): number[] {
  const rowOf = new Map<number, number>();
  let maxIndex = -1;
  for (let r = 0; r < rowIndices.length; r++) {
    if (!rowOf.has(rowIndices[r])) rowOf.set(rowIndices[r], r); // first match wins, as in ViRelAy
    maxIndex = Math.max(maxIndex, rowIndices[r]);
  }
  let rows: number[];
  if (options.indices === undefined) {
    rows = Array.from(rowIndices.keys());
  } else {
    rows = [];
    const missing = (index: number): never => {
      const range = rowIndices.length === 0 ? 'no rows' : `${rowIndices.length} rows, sample indices ${describeIndices(rowIndices)}`;
      throw new UserError(file, `sample index ${index} is out of range (the file holds ${range})`);
    };
    for (const piece of parseIndexSpec(options.indices)) {
      if (piece.kind === 'one') {
        const row = rowOf.get(piece.value);
        if (row === undefined) missing(piece.value);
        rows.push(row!);
      } else {
        const explicitEnd = piece.end !== undefined;
        const end = piece.end ?? maxIndex + 1;
        // An explicit end past the last sample is a mistake worth reporting (no silent clipping).
        if (explicitEnd && end > piece.start && end - 1 > maxIndex) missing(end - 1);
        for (let i = piece.start; i < end; i += piece.step) {
          const row = rowOf.get(i);
          // Files with an `index` dataset may hold a sparse subset: a range selects what is present.
          if (row !== undefined) rows.push(row);
        }
      }
    }
  }
  if (options.labels !== undefined) {
    const wanted = parseLabelList(options.labels);
    rows = rows.filter((r) => wanted.has(rowLabels[r]));
  }
  return rows;
}

function describeIndices(indices: Int32Array): string {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of indices) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi - lo + 1 === indices.length ? `${lo}–${hi}` : `between ${lo} and ${hi}`;
}

/** Splits rows into batches of at most `size`, each read as few contiguous runs. */
export function* batchRuns(rows: number[], size: number): Generator<{ rows: number[]; runs: Array<[number, number]> }> {
  for (let b = 0; b < rows.length; b += size) {
    const batch = rows.slice(b, b + size);
    const sorted = [...new Set(batch)].sort((x, y) => x - y);
    const runs: Array<[number, number]> = [];
    for (const r of sorted) {
      const last = runs[runs.length - 1];
      // Bridge small gaps: one read of a few unused rows beats many tiny HDF5 reads.
      if (last && r - last[1] <= 4) last[1] = r + 1;
      else runs.push([r, r + 1]);
    }
    yield { rows: batch, runs };
  }
}
