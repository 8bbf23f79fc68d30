/**
 * `heatmap` on token attributions ([N, T]): reads the selected rows (and their token ids from the
 * dataset, when given) in batches and writes one HTML page, or returns ANSI text for the terminal.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { AttributionReader } from '../io/attribution.js';
import type { Dataset } from '../io/dataset.js';
import { writeAtomically } from '../util/atomic.js';
import type { ColorMap } from './cmap.js';
import { parseVocab, renderTokenAnsi, renderTokenHtml, type TokenRow } from './tokens.js';

export interface TokenJobOptions {
  cmap: ColorMap;
  level: number;
  symmetric: boolean;
  vmin?: number;
  vmax?: number;
  /** Reader rows to show. */
  rows: number[];
  /** Where the token ids come from (else tokens are shown by position). */
  dataset?: Dataset;
  vocabPath?: string;
  batchSize: number;
}

export function readVocab(path: string): string[] {
  if (!existsSync(path) || statSync(path).isDirectory()) throw new UserError(path, 'no such vocabulary file');
  return parseVocab(readFileSync(path, 'utf8'));
}

async function collectRows(reader: AttributionReader, options: TokenJobOptions): Promise<TokenRow[]> {
  const T = reader.sampleShape[0]!;
  const all = reader.indices();
  const labels = reader.labels();
  const out: TokenRow[] = [];
  for (let start = 0; start < options.rows.length; start += options.batchSize) {
    const part = options.rows.slice(start, start + options.batchSize);
    const ids = options.dataset ? (await options.dataset.read(part.map((r) => all[r]!))).data : undefined;
    for (const [k, r] of part.entries()) {
      const relevance = reader.read(r, r + 1).attribution;
      if (relevance.length !== T) throw new UserError(reader.paths[0], `row ${r} holds ${relevance.length} values, expected ${T} token relevances`);
      const rowIds = ids?.subarray(k * (ids.length / part.length), (k + 1) * (ids.length / part.length));
      if (rowIds && rowIds.length !== T) throw new UserError(options.dataset!.path, `sample ${all[r]} has ${rowIds.length} values, the attribution ${T} tokens`);
      out.push({ index: all[r]!, label: labels[r]!, relevance, ids: rowIds ? Array.from(rowIds, Math.round) : undefined });
    }
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
