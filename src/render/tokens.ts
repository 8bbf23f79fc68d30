/**
 * Token heatmaps: attributions of shape [N, T] (one relevance per token, from a model with token
 * inputs) shown as text, each token coloured by its relevance. Two renderings: a self-contained
 * HTML page (one row per sample, inline styles only, no scripts) and ANSI 24-bit colour for a
 * terminal. Colours come from the same palettes and the same normalisation as the image heatmaps,
 * so a token's colour means what a pixel's does.
 */
import { type ColorMap, palette } from './cmap.js';
import { normalizeToIndices } from './heatmap.js';

export interface TokenRow {
  /** Dataset sample index. */
  index: number;
  label: number;
  /** T relevances. */
  relevance: Float32Array;
  /** T token ids (from the dataset), or undefined when only positions are known. */
  ids?: ArrayLike<number>;
}

export interface TokenRenderOptions {
  cmap: ColorMap;
  level?: number;
  symmetric?: boolean;
  vmin?: number;
  vmax?: number;
  /** Token strings by id (`--vocab`, one token a line). */
  vocab?: string[];
}

/** The text shown for token t of a row: the vocabulary entry, else the id, else `#t`. */
export function tokenText(row: TokenRow, t: number, vocab?: string[]): string {
  if (!row.ids) return `#${t}`;
  const id = row.ids[t]!;
  return vocab?.[id] ?? String(id);
}

/** Reads a vocabulary file's text: one token a line (line k is id k); a trailing newline ends the last line. */
export function parseVocab(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function colours(row: TokenRow, options: TokenRenderOptions): Array<[number, number, number]> {
  const pal = palette(options.cmap, options.level ?? 1);
  const indices = normalizeToIndices(row.relevance, { symmetric: options.symmetric ?? true, vmin: options.vmin, vmax: options.vmax });
  return Array.from(indices, (k) => [pal[3 * k]!, pal[3 * k + 1]!, pal[3 * k + 2]!]);
}

/** Black or white text, whichever reads better on the background (ITU-R BT.601 luma). */
function ink([r, g, b]: [number, number, number]): string {
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#000' : '#fff';
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const hex = ([r, g, b]: [number, number, number]): string => `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** A self-contained HTML page: one row per sample, each token a span coloured by its relevance (value in the tooltip). */
export function renderTokenHtml(rows: TokenRow[], options: TokenRenderOptions, title = 'token relevance'): string {
  const body = rows.map((row) => {
    const rgb = colours(row, options);
    const spans = Array.from(row.relevance, (r, t) => {
      const text = escapeHtml(tokenText(row, t, options.vocab));
      return `<span class="tok" style="background:${hex(rgb[t]!)};color:${ink(rgb[t]!)}" title="${r.toPrecision(4)}">${text}</span>`;
    });
    return `<div class="row"><span class="meta">#${row.index} label ${row.label}</span> ${spans.join(' ')}</div>`;
  });
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:ui-monospace,monospace;margin:1em}.row{margin:.4em 0;line-height:1.8}',
    '.tok{padding:.1em .25em;border-radius:.2em}.meta{color:#666;margin-right:.5em}</style></head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>colour map ${escapeHtml(options.cmap.name)}; bounds per sample ${(options.symmetric ?? true) ? '(symmetric)' : '(min/max)'}; hover ` +
      `a token for its relevance</p>`,
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * ANSI text: one line per sample, tokens with a 24-bit background colour. Without colour
 * (NO_COLOR, not a terminal) each token is followed by its relevance in brackets instead.
 */
export function renderTokenAnsi(rows: TokenRow[], options: TokenRenderOptions, color: boolean): string {
  return rows
    .map((row) => {
      const rgb = colours(row, options);
      const tokens = Array.from(row.relevance, (r, t) => {
        const text = tokenText(row, t, options.vocab);
        if (!color) return `${text}[${r.toPrecision(3)}]`;
        const [cr, cg, cb] = rgb[t]!;
        const fg = ink(rgb[t]!) === '#000' ? '30' : '97';
        return `\x1b[48;2;${cr};${cg};${cb}m\x1b[${fg}m${text}\x1b[0m`;
      });
      return `#${row.index} label ${row.label}: ${tokens.join(' ')}`;
    })
    .join('\n');
}
