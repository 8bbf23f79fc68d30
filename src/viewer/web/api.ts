import { decodePoints, type DecodedPoints } from '../points-format.js';
import type { DisplayMode } from './state.js';

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
  analyses: Array<{ name: string; categories: Array<{ name: string; label: string; count: number }> }>;
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
}

const enc = encodeURIComponent;

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { errorMessage?: string };
    throw new Error(body.errorMessage ?? `${response.status} ${response.statusText}`);
  }
  return (await response.json()) as T;
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
    once(`c/${project}/${analysis}/${category}`, () => getJson<CategoryDetails>(`api/projects/${enc(project)}/analyses/${enc(analysis)}/categories/${enc(category)}`)),
  points: (project: string, analysis: string, category: string, embedding: string, clustering: string, x: number, y: number) => {
    const url = `api/projects/${enc(project)}/analyses/${enc(analysis)}/categories/${enc(category)}/points?embedding=${enc(embedding)}&clustering=${enc(clustering)}&x=${x}&y=${y}`;
    return once(url, async (): Promise<DecodedPoints> => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(((await response.json().catch(() => ({}))) as { errorMessage?: string }).errorMessage ?? response.statusText);
      return decodePoints(await response.arrayBuffer());
    });
  },
  samples: (project: string, indices: number[]) =>
    indices.length === 0 ? Promise.resolve([]) : once(`s/${project}/${indices.join(',')}`, () => getJson<SampleInfo[]>(`api/projects/${enc(project)}/samples?indices=${indices.join(',')}`)),
  imageUrl: (project: string, index: number, mode: DisplayMode, colormap: string) =>
    `api/projects/${enc(project)}/images/${index}?mode=${mode}${mode === 'input' ? '' : `&colormap=${enc(colormap)}`}`,
  colorMapPreviewUrl: (name: string) => `api/colormaps/${enc(name)}?width=256&height=12`,
};
