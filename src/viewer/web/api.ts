import { decodePoints, type DecodedPoints } from '../points-format.js';
import type { DisplayMode, Scale } from './state.js';
import { timed, timedSync } from './timings.js';

export interface ProjectSummary {
  id: string;
  name: string;
  model: string;
  dataset: { name: string; type: string; count: number };
  attribution: { method: string; strategy: string; count: number } | null;
  analyses: string[];
}

export interface ProjectDetails extends Omit<ProjectSummary, 'analyses'> {
  labels: Array<{ index: number; wordNetId: string; name: string }>;
  analyses: Array<{ name: string; categories: CategoryEntry[] }>;
}

/** A category as the project lists it; `suspicion` is spray's score (null in files made by ViRelAy's tools). */
export interface CategoryEntry {
  name: string;
  label: string;
  count: number;
  suspicion: { score: number; groups: number } | null;
}

export interface CategoryDetails {
  name: string;
  label: string;
  count: number;
  embeddings: Array<{ name: string; dims: number; eigenvalues: number[] | null }>;
  clusterings: Array<{ name: string; clusters: Array<{ id: number; count: number }> }>;
}

export interface SampleInfo {
  index: number;
  labels: Array<{ index: number; name: string }>;
  hasAttribution: boolean;
  predictions?: Array<{ index: number; name: string; score: number }>;
}

export interface ColorMapInfo {
  name: string;
  family: 'virelay' | 'zennit';
  /** Centred on zero (diverging); sequential maps are drawn on |R| unless asked otherwise. */
  signed: boolean;
}

export interface AttributionRange {
  index: number;
  min: number;
  max: number;
  maxAbs: number;
}

const enc = encodeURIComponent;

/** The server could not be reached at all (stopped, network down), as opposed to answering with an error. */
export class ServerUnreachable extends Error {
  constructor() {
    super('the viewer server does not answer');
    this.name = 'ServerUnreachable';
  }
}

/** A fetch whose network failure becomes ServerUnreachable and whose 4xx/5xx becomes the server's errorMessage. */
async function request(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    throw new ServerUnreachable();
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { errorMessage?: string };
    throw new Error(body.errorMessage ?? `${response.status} ${response.statusText}`);
  }
  return response;
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await request(url)).json()) as T;
}

/** True when the server answers again (used while the page shows the lost-server banner). */
export async function serverAnswers(): Promise<boolean> {
  try {
    return (await fetch('api/projects', { cache: 'no-store' })).ok;
  } catch {
    return false;
  }
}

/** Memoises requests for data that never changes while the page is open. */
const memo = new Map<string, Promise<unknown>>();
function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  let hit = memo.get(key) as Promise<T> | undefined;
  if (!hit) {
    hit = load();
    memo.set(key, hit);
    hit.catch(() => memo.delete(key));
  }
  return hit;
}

export const api = {
  projects: () => once('projects', () => getJson<ProjectSummary[]>('api/projects')),
  colorMaps: () => once('colormaps', () => getJson<{ default: string; colorMaps: ColorMapInfo[] }>('api/colormaps')),
  project: (id: string) => once(`p/${id}`, () => getJson<ProjectDetails>(`api/projects/${enc(id)}`)),
  category: (project: string, analysis: string, category: string) =>
    once(`c/${project}/${analysis}/${category}`, () =>
      getJson<CategoryDetails>(`api/projects/${enc(project)}/analyses/${enc(analysis)}/categories/${enc(category)}`),
    ),
  points: (project: string, analysis: string, category: string, embedding: string, clustering: string, x: number, y: number) => {
    const query = `embedding=${enc(embedding)}&clustering=${enc(clustering)}&x=${x}&y=${y}`;
    const url = `api/projects/${enc(project)}/analyses/${enc(analysis)}/categories/${enc(category)}/points?${query}`;
    return once(url, async (): Promise<DecodedPoints> => {
      const response = await timed('points: request', () => request(url));
      const body = await timed('points: body', () => response.arrayBuffer());
      return timedSync('points: decode', () => decodePoints(body));
    });
  },
  samples: (project: string, indices: number[]) =>
    indices.length === 0
      ? Promise.resolve([])
      : once(`s/${project}/${indices.join(',')}`, () => getJson<SampleInfo[]>(`api/projects/${enc(project)}/samples?indices=${indices.join(',')}`)),
  imageUrl: (project: string, index: number, mode: DisplayMode, colormap: string, scale: Scale = 'auto') => {
    const heatmap = mode === 'input' ? '' : `&colormap=${enc(colormap)}${scale === 'auto' ? '' : `&scale=${scale}`}`;
    return `api/projects/${enc(project)}/images/${index}?mode=${mode}${heatmap}`;
  },
  attributionRange: (project: string, index: number) =>
    once(`r/${project}/${index}`, () => getJson<AttributionRange>(`api/projects/${enc(project)}/attributions/${index}/range`)),
  colorMapPreviewUrl: (name: string) => `api/colormaps/${enc(name)}?width=256&height=12`,
};
