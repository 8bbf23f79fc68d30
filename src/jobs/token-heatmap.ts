/**
 * `heatmap` on token attributions ([N, T]): reads the selected rows (and their token ids from the
 * dataset, when given) in batches and writes one HTML page, or returns ANSI text for the terminal.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { AttributionReader } from '../io/attribution.js';
import type { File as H5File } from 'h5wasm';
import h5wasm from 'h5wasm/node';
import { writeAtomically } from '../util/atomic.js';
import type { Colouring } from './heatmap.js';
import { parseVocab, renderTokenAnsi, renderTokenHtml, type TokenRow } from '../render/tokens.js';

export interface TokenJobOptions extends Colouring {
  /** HDF5 dataset whose `data` [N, T] holds the token ids (else tokens are shown by position). */
  datasetPath?: string;
  vocabPath?: string;
  batchSize: number;
}

export function readVocab(path: string): string[] {
  if (!existsSync(path) || statSync(path).isDirectory()) throw new UserError(path, 'no such vocabulary file');
  return parseVocab(readFileSync(path, 'utf8'));
}

/** Token ids of one sample from `data` [N, T] (integers) of an HDF5 dataset. */
type IdReader = { read: (index: number) => number[]; close: () => void };

async function openTokenIds(path: string, T: number): Promise<IdReader> {
  if (!existsSync(path) || statSync(path).isDirectory()) throw new UserError(path, 'dataset not found');
  await h5wasm.ready;
  let file: H5File;
  try {
    file = new h5wasm.File(path, 'r');
  } catch {
    throw new UserError(path, 'not an HDF5 file');
  }
  const data = file.get('data');
  const shape = data instanceof h5wasm.Dataset ? (data.shape ?? []) : [];
  if (!(data instanceof h5wasm.Dataset) || shape.length !== 2 || shape[1] !== T || !/^[<>|]?[iuqQlLhHbB]/.test(String(data.dtype))) {
    file.close();
    throw new UserError(path, `'data' must hold integer token ids of shape (N, ${T}), the attribution's token count`);
  }
  return {
    read: (index) => {
      if (index >= shape[0]!) throw new UserError(path, `the dataset has ${shape[0]} samples, but the attribution file refers to sample ${index}`);
      return Array.from(data.slice([[index, index + 1]]) as ArrayLike<number | bigint>, Number);
    },
    close: () => file.close(),
  };
}

async function collectRows(reader: AttributionReader, options: TokenJobOptions): Promise<TokenRow[]> {
  const T = reader.sampleShape[0]!;
  const all = reader.indices();
  const labels = reader.labels();
  const ids = options.datasetPath ? await openTokenIds(options.datasetPath, T) : undefined;
  const out: TokenRow[] = [];
  try {
    for (let start = 0; start < options.rows.length; start += options.batchSize) {
      const part = options.rows.slice(start, start + options.batchSize);
      const first = Math.min(...part);
      const block = reader.read(first, Math.max(...part) + 1).attribution;
      for (const r of part) {
        const relevance = block.slice((r - first) * T, (r - first + 1) * T);
        out.push({ index: all[r]!, label: labels[r]!, relevance, ids: ids?.read(all[r]!) });
      }
    }
  } finally {
    ids?.close();
  }
  return out;
}

/** Writes the HTML page to `output` (a .html file, or `tokens.html` in a directory); returns the path written. */
export async function writeTokenHtml(reader: AttributionReader, output: string, options: TokenJobOptions): Promise<string> {
  const vocab = options.vocabPath ? readVocab(options.vocabPath) : undefined;
  const rows = await collectRows(reader, options);
  const target = output.toLowerCase().endsWith('.html') ? output : join(output, 'tokens.html');
  const html = renderTokenHtml(rows, { ...options, vocab }, `token relevance: ${reader.paths.join(', ')}`);
  await writeAtomically(target, (tmp) => writeFileSync(tmp, html));
  return target;
}

export async function tokenAnsi(reader: AttributionReader, color: boolean, options: TokenJobOptions): Promise<string> {
  const vocab = options.vocabPath ? readVocab(options.vocabPath) : undefined;
  return renderTokenAnsi(await collectRows(reader, options), { ...options, vocab }, color);
}
