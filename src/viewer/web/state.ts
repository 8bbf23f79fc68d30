/**
 * The page's whole state, and its two serialised forms: the query string (share URL, kept in
 * step with every change) and the exported JSON file. Both restore every field.
 */
import { isVirelayExport, stateFromVirelayExport, type ProjectRef } from '../virelay-state.js';

export const DISPLAY_MODES = ['input', 'attribution', 'overlay'] as const;
export const SAMPLINGS = ['auto', 'smooth', 'pixelated'] as const;
export const THEMES = ['auto', 'light', 'dark'] as const;
/** How relevance meets the colour map: `auto` lets the map decide (signed maps ±max, sequential ones |R|). */
export const SCALES = ['auto', 'symmetric', 'absolute', 'minmax'] as const;

export type DisplayMode = (typeof DISPLAY_MODES)[number];
export type Sampling = (typeof SAMPLINGS)[number];
export type Theme = (typeof THEMES)[number];
export type Scale = (typeof SCALES)[number];

export interface ViewState {
  project: string;
  analysis: string;
  category: string;
  clustering: string;
  embedding: string;
  /** Embedding columns on the horizontal and vertical axis. */
  x: number;
  y: number;
  colormap: string;
  scale: Scale;
  mode: DisplayMode;
  sampling: Sampling;
  /** Selected sample indices (dataset indices, not point positions), ascending. */
  selection: number[];
  /** Page of the selection strip, from 0. */
  page: number;
  theme: Theme;
}

export const EMPTY_STATE: ViewState = {
  project: '',
  analysis: '',
  category: '',
  clustering: '',
  embedding: '',
  x: 0,
  y: 1,
  colormap: '',
  scale: 'auto',
  mode: 'attribution',
  sampling: 'auto',
  selection: [],
  page: 0,
  theme: 'auto',
};

/** Sorted indices as ranges, `3-7,9,12-13`: a selected cluster of thousands stays a short URL. */
export function encodeIndices(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function decodeIndices(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    // Guard against a hand-edited range that would allocate millions of entries.
    if (b < a || b - a > 5_000_000) continue;
    for (let k = a; k <= b; k++) out.push(k);
  }
  return [...new Set(out)].sort((p, q) => p - q);
}

function pick<T extends string>(value: unknown, choices: readonly T[], fallback: T): T {
  return typeof value === 'string' && (choices as readonly string[]).includes(value) ? (value as T) : fallback;
}

function nonNegativeInt(value: unknown, fallback: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Builds a state from loosely typed input (URL or imported JSON); bad fields fall back to defaults. */
export function normaliseState(raw: Record<string, unknown>): ViewState {
  const selection = Array.isArray(raw.selection)
    ? [...new Set(raw.selection.filter((v): v is number => Number.isInteger(v) && (v as number) >= 0))].sort((a, b) => a - b)
    : typeof raw.selection === 'string'
      ? decodeIndices(raw.selection)
      : [];
  return {
    project: text(raw.project),
    analysis: text(raw.analysis),
    category: text(raw.category),
    clustering: text(raw.clustering),
    embedding: text(raw.embedding),
    x: nonNegativeInt(raw.x, 0),
    y: nonNegativeInt(raw.y, 1),
    colormap: text(raw.colormap),
    scale: pick(raw.scale, SCALES, 'auto'),
    mode: pick(raw.mode, DISPLAY_MODES, EMPTY_STATE.mode),
    sampling: pick(raw.sampling, SAMPLINGS, 'auto'),
    selection,
    page: nonNegativeInt(raw.page, 0),
    theme: pick(raw.theme, THEMES, 'auto'),
  };
}

export function stateToQuery(state: ViewState): string {
  const params = new URLSearchParams();
  const fields: Array<[string, string]> = [
    ['project', state.project],
    ['analysis', state.analysis],
    ['category', state.category],
    ['clustering', state.clustering],
    ['embedding', state.embedding],
    ['x', String(state.x)],
    ['y', String(state.y)],
    ['colormap', state.colormap],
    ['scale', state.scale === 'auto' ? '' : state.scale],
    ['mode', state.mode],
    ['sampling', state.sampling],
    ['theme', state.theme],
  ];
  for (const [key, value] of fields) if (value !== '') params.set(key, value);
  if (state.selection.length) params.set('selection', encodeIndices(state.selection));
  if (state.page) params.set('page', String(state.page));
  return params.toString();
}

export function stateFromQuery(search: string): ViewState {
  const params = new URLSearchParams(search);
  const raw: Record<string, unknown> = {};
  for (const [key, value] of params) raw[key] = value;
  return normaliseState(raw);
}

/** The exported file: the state plus a format tag and version so a future page can migrate it. */
export function stateToExport(state: ViewState, when: Date): { format: string; version: number; exported: string; state: ViewState } {
  return { format: 'xai-tools-viewer-state', version: 1, exported: when.toISOString(), state };
}

/**
 * Reads an imported file: our own envelope, a bare state object (hand-written or from an older
 * page), or ViRelAy's export file (its project found by name or position in `projects`).
 */
export function stateFromExport(json: unknown, projects: readonly ProjectRef[] = []): ViewState {
  if (typeof json !== 'object' || json === null) throw new Error('the file does not hold a JSON object');
  const object = json as Record<string, unknown>;
  if (object.format !== 'xai-tools-viewer-state' && isVirelayExport(object)) {
    const mapped = stateFromVirelayExport(object, projects);
    if (!mapped.project) throw new Error(`the file names project ${JSON.stringify(object.projectName ?? object.projectId)}, which this server does not serve`);
    return normaliseState({ ...mapped });
  }
  const inner = object.format === 'xai-tools-viewer-state' ? object.state : object;
  if (typeof inner !== 'object' || inner === null) throw new Error('the file has no state');
  const state = normaliseState(inner as Record<string, unknown>);
  if (!state.project) throw new Error('the file names no project');
  return state;
}

/** `xai-state-2026-11-26T08-15-02.json`: local date and time with the real month and day. */
export function exportFileName(when: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
  return `xai-state-${day}T${pad(when.getHours())}-${pad(when.getMinutes())}-${pad(when.getSeconds())}.json`;
}
