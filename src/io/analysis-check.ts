/**
 * The consistency rules for one analysis method (all its files merged, formats.md §5), shared by
 * `project check` (which refuses the project) and `serve` (which refuses only that analysis, so a
 * request can never meet an inconsistent category and answer 500).
 */
import { UserError } from '../errors.js';
import type { AnalysisFileReader } from './analysis.js';
import { checkShardSet } from './analysis-shards.js';
import type { LabelMap } from './labelmap.js';

export interface AnalysisCheckContext {
  /** Number of dataset samples. */
  samples: number;
  labels: LabelMap;
  /** Which samples have an attribution (undefined: the project has no attributions, nothing to cover). */
  attributed: Uint8Array | undefined;
  /** The label map's path, for messages. */
  labelMapPath: string;
  /** Who is blamed for project-level problems (the project file, or an option). */
  source: string | undefined;
  /** Read every embedding and clustering too (project check), not only the index and the shapes (serve). */
  readData: boolean;
}

export interface AnalysisCheckSummary {
  categories: number;
  embeddings: string[];
  clusterings: string[];
}

function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Throws a UserError at the first inconsistency of `method`, whose files are `readers` (in project order). */
export function checkAnalysisMethod(method: string, readers: AnalysisFileReader[], ctx: AnalysisCheckContext): AnalysisCheckSummary {
  if (method.includes('-')) throw new UserError(ctx.source, `analysis method '${method}' contains '-'; ViRelAy lists it but cannot serve it (use '_')`);
  checkShardSet(method, readers);
  let names: { embeddings: string[]; clusterings: string[]; from: string } | undefined;
  let categories = 0;
  for (const reader of readers) {
    const path = reader.path;
    for (const category of reader.categories) {
      const layout = ctx.readData ? reader.category(category) : reader.categoryLayout(category);
      const here = { embeddings: layout.embeddings.map((e) => e.name), clusterings: layout.clusterings.map((c) => c.name) };
      if (here.embeddings.length === 0) throw new UserError(path, `category '${category}' has no embeddings`);
      for (const e of layout.embeddings)
        if (e.shape[1] < 2) throw new UserError(path, `embedding '${category}/embedding/${e.name}' has ${e.shape[1]} column(s); ViRelAy plots two`);
      if (names && (!sameNames(here.embeddings, names.embeddings) || !sameNames(here.clusterings, names.clusterings))) {
        throw new UserError(
          path,
          `category '${category}' has embeddings [${here.embeddings.join(', ')}] and clusterings [${here.clusterings.join(', ')}], unlike ` +
            `the first category of ${names.from} (ViRelAy takes the names from there)`,
        );
      }
      names ??= { ...here, from: `${path}` };
      if (!ctx.labels.byWordNetId(category))
        throw new UserError(
          path,
          `analysis category '${category}' has no entry in the label map ${ctx.labelMapPath} (categories are looked up by word_net_id)`,
        );
      for (const s of layout.index) {
        if (s < 0 || s >= ctx.samples)
          throw new UserError(path, `category '${category}' indexes sample ${s}, past the end of the dataset (${ctx.samples} samples)`);
        if (ctx.attributed && !ctx.attributed[s]) throw new UserError(path, `category '${category}' indexes sample ${s}, which no attribution file covers`);
      }
      categories++;
    }
  }
  return { categories, embeddings: names?.embeddings ?? [], clusterings: names?.clusterings ?? [] };
}
