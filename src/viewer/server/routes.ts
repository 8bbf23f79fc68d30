import { HttpError, badRequest, notFound } from './http-error.js';
import { parseInteger, type Query } from './params.js';
import { encodePoints } from './points.js';
import { etagOf, jsonReply, type Reply } from './reply.js';
import { VALUE_SCALES, type ImageRenderer } from './images.js';
import { normBounds, reduceChannels } from '../../render/heatmap.js';
import type { LruCache } from './lru.js';
import type { ViewerProject } from './model.js';
import type { CategoryAnalysis } from '../../io/analysis.js';
import { evaluationRoutes } from './evaluation.js';

/** Everything a handler can reach: the loaded projects, the image renderer, caches. Never the file system. */
export interface ApiContext {
  projects: ViewerProject[];
  images: ImageRenderer;
  /** Encoded point payloads by ETag (a 100k category is 1.6 MB; re-encoding costs tens of ms). */
  points: LruCache<Buffer>;
}

export interface Route {
  /** Path segments after `/api`; `:name` captures one decoded segment. */
  pattern: string[];
  /** The query parameters this route accepts (anything else is a 400). */
  query: readonly string[];
  handle(ctx: ApiContext, params: Record<string, string>, query: Query): Promise<Reply> | Reply;
}

export const DISPLAY_MODES = ['input', 'attribution', 'overlay'] as const;
export type DisplayMode = (typeof DISPLAY_MODES)[number];
/** The most sample indices one `samples?indices=` request may list (a strip page is far fewer). */
export const MAX_INDICES = 1000;
const TOP_PREDICTIONS = 5;

function findProject(ctx: ApiContext, id: string): ViewerProject {
  const project = ctx.projects.find((p) => p.id === id);
  if (!project) throw notFound(`unknown project '${id}'`);
  return project;
}

function findCategory(project: ViewerProject, analysisName: string, categoryName: string): CategoryAnalysis {
  const analysis = project.analyses.find((a) => a.name === analysisName);
  if (!analysis) throw notFound(`project '${project.id}' has no analysis '${analysisName}'`);
  const category = analysis.categories.includes(categoryName) ? analysis.category(categoryName) : undefined;
  if (!category) throw notFound(`analysis '${analysisName}' has no category '${categoryName}'`);
  return category;
}

function sampleIndex(project: ViewerProject, raw: string): number {
  const index = parseInteger(raw, 'sample index', { min: 0, max: Number.MAX_SAFE_INTEGER });
  if (index >= project.dataset.count) throw notFound(`project '${project.id}' has no sample ${index} (the dataset has ${project.dataset.count})`);
  return index;
}

function projectSummary(project: ViewerProject): Record<string, unknown> {
  return {
    id: project.id,
    name: project.name,
    model: project.model,
    dataset: project.dataset,
    attribution: project.attribution ?? null,
    analyses: project.analyses.map((a) => a.name),
  };
}

/**
 * Points per cluster id. Ids are small and dense (0…k−1, −1 for noise), so a typed histogram over
 * [min, max] does it in one pass; a Map took 155–280 ms for the ten clusterings of 1M points.
 */
function clusterCounts(labels: Int32Array): Array<{ id: number; count: number }> {
  let min = 0;
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const id = labels[i]!;
    if (i === 0 || id < min) min = id;
    if (i === 0 || id > max) max = id;
  }
  if (max - min > Math.max(1024, labels.length)) {
    const counts = new Map<number, number>();
    for (const id of labels) counts.set(id, (counts.get(id) ?? 0) + 1);
    return [...counts].sort((a, b) => a[0] - b[0]).map(([id, count]) => ({ id, count }));
  }
  const histogram = new Int32Array(max - min + 1);
  for (let i = 0; i < labels.length; i++) histogram[labels[i]! - min]!++;
  const out: Array<{ id: number; count: number }> = [];
  histogram.forEach((count, k) => {
    if (count > 0) out.push({ id: k + min, count });
  });
  return out;
}

function sampleInfo(project: ViewerProject, index: number, predictions: Float32Array | undefined): Record<string, unknown> {
  const labelled = (i: number) => ({ index: i, name: project.labelName(i) ?? '' });
  const info: Record<string, unknown> = {
    index,
    labels: project.sampleLabels(index).map(labelled),
    hasAttribution: predictions !== undefined,
  };
  if (predictions) {
    const order = [...predictions.keys()].sort((a, b) => predictions[b] - predictions[a]).slice(0, TOP_PREDICTIONS);
    info.predictions = order.map((i) => ({ ...labelled(i), score: predictions[i] }));
  }
  return info;
}

async function predictionsOf(project: ViewerProject, index: number): Promise<Float32Array | undefined> {
  const row = project.attributionRow(index);
  return row < 0 ? undefined : project.readPrediction(row);
}

export const routes: Route[] = [
  {
    pattern: ['projects'],
    query: [],
    handle: (ctx) => jsonReply(ctx.projects.map(projectSummary)),
  },
  {
    pattern: ['projects', ':project'],
    query: [],
    handle(ctx, params) {
      const project = findProject(ctx, params.project);
      return jsonReply({
        ...projectSummary(project),
        labels: project.labels,
        analyses: project.analyses.map((analysis) => ({
          name: analysis.name,
          categories: analysis.categories.map((name) => ({
            name,
            label: project.categoryLabel(name),
            count: analysis.categoryCount(name),
            suspicion: analysis.categorySuspicion(name) ?? null,
          })),
        })),
      });
    },
  },
  {
    pattern: ['projects', ':project', 'analyses', ':analysis', 'categories', ':category'],
    query: [],
    handle(ctx, params) {
      const project = findProject(ctx, params.project);
      const category = findCategory(project, params.analysis, params.category);
      return jsonReply({
        name: category.name,
        label: project.categoryLabel(category.name),
        count: category.index.length,
        embeddings: category.embeddings.map((e) => ({ name: e.name, dims: e.shape[1], eigenvalues: e.eigenvalue ? [...e.eigenvalue] : null })),
        clusterings: category.clusterings.map((c) => ({ name: c.name, clusters: clusterCounts(c.labels) })),
      });
    },
  },
  {
    pattern: ['projects', ':project', 'analyses', ':analysis', 'categories', ':category', 'points'],
    query: ['embedding', 'clustering', 'x', 'y'],
    handle(ctx, params, query) {
      const project = findProject(ctx, params.project);
      const category = findCategory(project, params.analysis, params.category);
      const embeddingName = query.string('embedding');
      const clusteringName = query.string('clustering');
      const embedding = category.embeddings.find((e) => e.name === embeddingName);
      if (!embedding) throw notFound(`category '${category.name}' has no embedding '${embeddingName}'`);
      const clustering = category.clusterings.find((c) => c.name === clusteringName);
      if (!clustering) throw notFound(`category '${category.name}' has no clustering '${clusteringName}'`);
      const dims = embedding.shape[1];
      const range = { min: 0, max: dims - 1 };
      const x = query.integer('x', range, 0);
      const y = query.integer('y', range, Math.min(1, dims - 1));
      const n = category.index.length;
      if (embedding.shape[0] !== n || clustering.labels.length !== n) {
        throw new HttpError(
          409,
          `category '${category.name}': index (${n}), embedding '${embedding.name}' (${embedding.shape[0]}) and clustering ` +
            `'${clustering.name}' (${clustering.labels.length}) differ in length`,
        );
      }
      const etag = etagOf(project.fingerprint, 'points', params.analysis, params.category, embeddingName, clusteringName, `${x},${y}`);
      const body = ctx.points.get(etag) ?? encodePoints(category.index, clustering.labels, embedding.data, dims, x, y);
      ctx.points.set(etag, body);
      return { contentType: 'application/octet-stream', body, etag };
    },
  },
  {
    pattern: ['projects', ':project', 'samples'],
    query: ['indices'],
    async handle(ctx, params, query) {
      const project = findProject(ctx, params.project);
      const indices = query.integerList('indices', { min: 0, max: Number.MAX_SAFE_INTEGER }, MAX_INDICES);
      const missing = indices.find((i) => i >= project.dataset.count);
      if (missing !== undefined) throw notFound(`project '${project.id}' has no sample ${missing} (the dataset has ${project.dataset.count})`);
      const infos = [];
      for (const index of indices) infos.push(sampleInfo(project, index, await predictionsOf(project, index)));
      return jsonReply(infos);
    },
  },
  {
    pattern: ['projects', ':project', 'samples', ':index'],
    query: [],
    async handle(ctx, params) {
      const project = findProject(ctx, params.project);
      const index = sampleIndex(project, params.index);
      return jsonReply(sampleInfo(project, index, await predictionsOf(project, index)));
    },
  },
  {
    pattern: ['projects', ':project', 'images', ':index'],
    query: ['mode', 'colormap', 'scale'],
    async handle(ctx, params, query) {
      const project = findProject(ctx, params.project);
      const index = sampleIndex(project, params.index);
      const mode = query.choice('mode', DISPLAY_MODES, 'input');
      const colormap = query.string('colormap', ctx.images.defaultColorMap);
      if (!ctx.images.hasColorMap(colormap))
        throw badRequest(
          `unknown colour map '${colormap}' (known: ${ctx.images
            .colorMaps()
            .map((c) => c.name)
            .join(', ')})`,
        );
      const scale = query.choice('scale', VALUE_SCALES, ctx.images.defaultScale(colormap));
      if (mode !== 'input' && project.attributionRow(index) < 0) throw notFound(`project '${project.id}' has no attribution for sample ${index}`);
      return mode === 'input' ? ctx.images.sampleImage(project, index, mode, '') : ctx.images.sampleImage(project, index, mode, colormap, scale);
    },
  },
  {
    // The values behind a heatmap (channels summed per pixel, as drawn): the colour legend's end labels.
    pattern: ['projects', ':project', 'attributions', ':index', 'range'],
    query: [],
    async handle(ctx, params) {
      const project = findProject(ctx, params.project);
      const index = sampleIndex(project, params.index);
      const row = project.attributionRow(index);
      if (row < 0) throw notFound(`project '${project.id}' has no attribution for sample ${index}`);
      const { data, shape } = await project.readAttribution(row);
      const { vmin, vmax } = normBounds(reduceChannels(data, shape[0], shape[1], shape[2], 'chw'), false);
      return jsonReply({ index, min: vmin, max: vmax, maxAbs: Math.max(Math.abs(vmin), Math.abs(vmax)) });
    },
  },
  {
    pattern: ['colormaps'],
    query: [],
    handle: (ctx) => jsonReply({ default: ctx.images.defaultColorMap, colorMaps: ctx.images.colorMaps() }),
  },
  {
    pattern: ['colormaps', ':name'],
    query: ['width', 'height'],
    handle(ctx, params, query) {
      if (!ctx.images.hasColorMap(params.name)) throw notFound(`unknown colour map '${params.name}'`);
      const width = query.integer('width', { min: 1, max: 1024 }, 256);
      const height = query.integer('height', { min: 1, max: 64 }, 12);
      return ctx.images.preview(params.name, width, height);
    },
  },
  ...evaluationRoutes,
];

/** Finds the route for the path segments after `/api`; captures are already-decoded segments. */
export function matchRoute(segments: string[]): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const part = route.pattern[i];
      if (part.startsWith(':')) params[part.slice(1)] = segments[i];
      else ok = part === segments[i];
    }
    if (ok) return { route, params };
  }
  return undefined;
}
