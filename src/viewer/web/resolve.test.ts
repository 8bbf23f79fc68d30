import { describe, expect, it } from 'vitest';
import type { CategoryDetails, CategoryEntry, ProjectDetails, ProjectSummary } from './api.js';
import {
  bestSeparatingClustering,
  preferredClustering,
  rankBySuspicion,
  requests,
  resolveCategory,
  resolveProject,
  resolveSelection,
  resolveView,
} from './resolve.js';
import { EMPTY_STATE, type ViewState } from './state.js';

const summary = (id: string): ProjectSummary => ({
  id,
  name: id.toUpperCase(),
  model: 'm',
  dataset: { name: 'd', type: 'hdf5', count: 10 },
  attribution: null,
  analyses: ['a'],
});
const entry = (name: string, score?: number, groups = 2): CategoryEntry => ({
  name,
  label: '',
  count: 5,
  suspicion: score === undefined ? null : { score, groups },
});
const project = (categories: CategoryEntry[]): ProjectDetails => ({
  ...summary('p'),
  labels: [],
  analyses: [
    { name: 'spectral', categories },
    { name: 'raw', categories: [entry('r0')] },
  ],
});
const clustering = (name: string, ids: number[]) => ({ name, clusters: ids.map((id) => ({ id, count: 3 })) });
const category: CategoryDetails = {
  name: 'c',
  label: '',
  count: 9,
  embeddings: [
    { name: 'spectral', dims: 4, eigenvalues: [1, 0.5, 0.1, 0] },
    { name: 'tsne', dims: 2, eigenvalues: null },
  ],
  clusterings: [
    clustering('agglomerative-02', [0, 1]),
    clustering('dbscan', [-1, 0, 1, 2]),
    clustering('kmeans-02', [0, 1]),
    clustering('kmeans-03', [0, 1, 2]),
    clustering('kmeans-10', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
  ],
};
const s = (fields: Partial<ViewState>): ViewState => ({ ...EMPTY_STATE, ...fields });

describe('resolving a requested state', () => {
  it('falls back to the first project and the default colour map, keeping known ones', () => {
    const projects = [summary('a'), summary('b')];
    const maps = [
      { name: 'jet', family: 'virelay' as const, signed: true },
      { name: 'hot', family: 'zennit' as const, signed: false },
    ];
    expect(resolveProject(s({ project: 'b', colormap: 'hot' }), projects, maps, 'jet')).toMatchObject({ project: 'b', colormap: 'hot' });
    expect(resolveProject(s({ project: 'zzz', colormap: 'nope' }), projects, maps, 'jet')).toMatchObject({ project: 'a', colormap: 'jet' });
    expect(resolveProject(s({ project: 'a' }), [], maps, 'jet').project).toBe('');
  });

  it('ranks categories by suspicion, most suspicious first, unscored left out', () => {
    expect(rankBySuspicion([entry('a', 0.1), entry('b'), entry('c', 0.3), entry('d', 0.1)]).map((c) => c.name)).toEqual(['c', 'a', 'd']);
  });

  it('opens the most suspicious category when none is asked for, the first one without scores', () => {
    const scored = project([entry('zero', 0.12), entry('three', 0.22), entry('four', 0.12)]);
    expect(resolveCategory(s({}), scored)).toMatchObject({ analysis: 'spectral', category: 'three' });
    expect(resolveCategory(s({ category: 'four' }), scored).category).toBe('four');
    // A category that does not exist is not "none asked for": the reference's first-category rule applies.
    expect(resolveCategory(s({ category: 'gone' }), scored).category).toBe('zero');
    expect(resolveCategory(s({}), project([entry('x'), entry('y')])).category).toBe('x');
    expect(resolveCategory(s({ analysis: 'raw' }), scored)).toMatchObject({ analysis: 'raw', category: 'r0' });
  });

  it('preselects the clustering with the number of groups spray found, k-means first, else the nearest', () => {
    expect(bestSeparatingClustering(category, 2)).toBe('kmeans-02');
    expect(bestSeparatingClustering(category, 3)).toBe('kmeans-03'); // dbscan also has 3 (noise aside), k-means first
    // No clustering with 7 clusters: the one with the nearest count (10 is 3 away, 3 is 4 away).
    expect(bestSeparatingClustering(category, 7)).toBe('kmeans-10');
    expect(bestSeparatingClustering({ ...category, clusterings: [] }, 2)).toBe('');
    expect(preferredClustering(category)).toBe('kmeans-10');
  });

  it('fills clustering, embedding and axes for the loaded category', () => {
    expect(resolveView(s({}), category, null)).toMatchObject({ clustering: 'kmeans-10', embedding: 'tsne', x: 0, y: 1 });
    expect(resolveView(s({}), category, { score: 0.2, groups: 2 })).toMatchObject({ clustering: 'kmeans-02' });
    // An explicit, existing clustering wins over the suspicion preselection.
    expect(resolveView(s({ clustering: 'dbscan' }), category, { score: 0.2, groups: 2 }).clustering).toBe('dbscan');
    expect(resolveView(s({ embedding: 'spectral', x: 3, y: 2 }), category, null)).toMatchObject({ embedding: 'spectral', x: 3, y: 2 });
    expect(resolveView(s({ embedding: 'tsne', x: 3, y: 2 }), category, null)).toMatchObject({ x: 0, y: 1 });
  });

  it('keeps only selected samples that are points of the view and clamps the page', () => {
    const out = resolveSelection(
      s({ selection: [1, 4, 7, 30], page: 5 }),
      (i) => i < 10,
      (n) => Math.max(1, Math.ceil(n / 2)),
    );
    expect(out).toMatchObject({ selection: [1, 4, 7], page: 1 });
  });

  it('clears what depends on a changed control', () => {
    const before = s({
      project: 'p',
      analysis: 'spectral',
      category: 'three',
      clustering: 'kmeans-02',
      embedding: 'tsne',
      x: 2,
      y: 3,
      selection: [1],
      page: 2,
      colormap: 'jet',
      mode: 'overlay',
    });
    expect(requests.category(before, 'zero', true)).toMatchObject({
      category: 'zero',
      clustering: '',
      embedding: 'tsne',
      selection: [],
      page: 0,
      colormap: 'jet',
    });
    expect(requests.category(before, 'zero', false)).toMatchObject({ category: 'zero', clustering: 'kmeans-02' });
    expect(requests.analysis(before, 'raw')).toMatchObject({ analysis: 'raw', category: '', clustering: '', embedding: '', x: 0, y: 1, selection: [] });
    expect(requests.project(before, 'q')).toMatchObject({ project: 'q', analysis: '', category: '', mode: 'overlay', colormap: 'jet' });
  });
});
