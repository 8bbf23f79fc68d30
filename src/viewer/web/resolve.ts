/**
 * Resolving a requested view state against what the server holds: pure functions, one per stage
 * of loading (projects → project → category → points), so the page's `apply` only fetches and
 * draws, and every rule here is unit-tested (resolve.test.ts).
 */
import type { CategoryDetails, CategoryEntry, ColorMapInfo, ProjectDetails, ProjectSummary } from './api.js';
import type { ViewState } from './state.js';

type Clustering = CategoryDetails['clusterings'][number];

const realClusters = (c: Clustering): number => c.clusters.filter((k) => k.id >= 0).length;

/** Stage 1: a served project (else the first) and a known colour map (else the server's default). */
export function resolveProject(s: ViewState, projects: readonly ProjectSummary[], colorMaps: readonly ColorMapInfo[], defaultColorMap: string): ViewState {
  return {
    ...s,
    project: projects.some((p) => p.id === s.project) ? s.project : (projects[0]?.id ?? ''),
    colormap: colorMaps.some((c) => c.name === s.colormap) ? s.colormap : defaultColorMap,
  };
}

/** Categories with a suspicion score, most suspicious first (ties by name). */
export function rankBySuspicion(categories: readonly CategoryEntry[]): Array<CategoryEntry & { suspicion: NonNullable<CategoryEntry['suspicion']> }> {
  return categories
    .filter((c): c is CategoryEntry & { suspicion: NonNullable<CategoryEntry['suspicion']> } => c.suspicion !== null)
    .sort((a, b) => b.suspicion.score - a.suspicion.score || a.name.localeCompare(b.name));
}

/**
 * Stage 2: analysis and category. A state that names no category (a fresh page, a new analysis,
 * a new project tab) opens the most suspicious category when spray scored them, else the first
 * (the reference's rule).
 */
export function resolveCategory(s: ViewState, project: ProjectDetails): ViewState {
  const analysis = project.analyses.find((a) => a.name === s.analysis) ?? project.analyses[0];
  const categories = analysis?.categories ?? [];
  const requested = categories.find((c) => c.name === s.category);
  const category = requested ?? (s.category === '' ? rankBySuspicion(categories)[0] : undefined) ?? categories[0];
  return { ...s, analysis: analysis?.name ?? '', category: category?.name ?? '' };
}

/** The reference preselects a clustering whose name parses as 10; we also accept one with 10 clusters. */
export function preferredClustering(category: CategoryDetails): string {
  const byName = category.clusterings.find((c) => Number.parseInt(c.name, 10) === 10 || /(^|[^0-9])0*10$/.test(c.name));
  const byCount = category.clusterings.find((c) => realClusters(c) === 10);
  return (byName ?? byCount ?? category.clusterings[0])?.name ?? '';
}

/**
 * The clustering that best shows the groups spray's suspicion score found: one with exactly that
 * many clusters (k-means first, as its clusters follow the spectral embedding's gap), else the one
 * whose cluster count is nearest; '' when the category has no clustering.
 */
export function bestSeparatingClustering(category: CategoryDetails, groups: number): string {
  const rank = (c: Clustering) => [Math.abs(realClusters(c) - groups), c.name.startsWith('kmeans') ? 0 : 1] as const;
  const best = [...category.clusterings].sort((a, b) => {
    const [da, ka] = rank(a);
    const [db, kb] = rank(b);
    return da - db || ka - kb || a.name.localeCompare(b.name);
  })[0];
  return best?.name ?? '';
}

export function preferredEmbedding(category: CategoryDetails): string {
  return (category.embeddings.find((e) => e.name === 'tsne') ?? category.embeddings.find((e) => e.dims >= 2) ?? category.embeddings[0])?.name ?? '';
}

/**
 * Stage 3: clustering, embedding and axes for the loaded category. `suspicion` is the category's
 * entry in the project: when it has a score, a missing clustering becomes the best-separating one.
 */
export function resolveView(s: ViewState, category: CategoryDetails, suspicion: CategoryEntry['suspicion']): ViewState {
  const out = { ...s };
  if (!category.clusterings.some((c) => c.name === out.clustering))
    out.clustering = suspicion ? bestSeparatingClustering(category, suspicion.groups) : preferredClustering(category);
  if (!category.embeddings.some((e) => e.name === out.embedding)) out.embedding = preferredEmbedding(category);
  const dims = category.embeddings.find((e) => e.name === out.embedding)?.dims ?? 2;
  if (out.x >= dims) out.x = 0;
  if (out.y >= dims) out.y = Math.min(1, dims - 1);
  return out;
}

/** Stage 4: the selection keeps only samples that are points of this view; the page stays in range. */
export function resolveSelection(s: ViewState, isPoint: (sample: number) => boolean, pageCount: (selected: number) => number): ViewState {
  const selection = s.selection.filter(isPoint);
  return { ...s, selection, page: Math.min(s.page, pageCount(selection.length) - 1) };
}

/** What changing one control asks for: fields that depend on it are cleared so they resolve afresh. */
export const requests = {
  analysis: (s: ViewState, analysis: string): ViewState => ({
    ...s,
    analysis,
    category: '',
    clustering: '',
    embedding: '',
    x: 0,
    y: 1,
    selection: [],
    page: 0,
  }),
  /** A scored category opens on its best-separating clustering; otherwise the clustering is kept when the category has it. */
  category: (s: ViewState, category: string, scored: boolean): ViewState => ({ ...s, category, ...(scored ? { clustering: '' } : {}), selection: [], page: 0 }),
  project: (s: ViewState, project: string): ViewState => ({
    ...s,
    project,
    analysis: '',
    category: '',
    clustering: '',
    embedding: '',
    x: 0,
    y: 1,
    selection: [],
    page: 0,
  }),
};
