/**
 * ViRelAy's two ways of passing a view on, mapped onto this viewer's state fields: the share link
 * (`/projects/<id>?analysisMethod=…&imageMode=…`) and the exported JSON file. Shared by the
 * server (which redirects a share link to the page) and the page (which imports the file), so
 * both read the same fields the same way. docs/viewer.md lists every field and what it maps to.
 *
 * The result uses the page's field names and is loosely typed on purpose: the page's own
 * normalisation (state.ts) validates every value against what the server holds.
 */

/** The project as ViRelAy names it: its position in the command-line list, and its name. */
export interface ProjectRef {
  id: string;
  name: string;
}

/** Our state fields a ViRelAy link or file can set. */
export interface MappedState {
  project?: string;
  analysis?: string;
  category?: string;
  clustering?: string;
  embedding?: string;
  x?: number;
  y?: number;
  colormap?: string;
  mode?: string;
  selection?: number[];
}

/**
 * ViRelAy's colour-map names where ours differ. Our plain `seismic` is Zennit's (blue–grey–red,
 * what `heatmap --cmap seismic` draws), so a ViRelAy link's `seismic` means `virelay-seismic`.
 */
export const VIRELAY_COLOR_MAP_ALIASES: Readonly<Record<string, string>> = { seismic: 'virelay-seismic' };

export function colorMapFromVirelay(name: string): string {
  return VIRELAY_COLOR_MAP_ALIASES[name] ?? name;
}

/** The share link's query parameters (ViRelAy's spelling) and the state field each sets. */
export const VIRELAY_QUERY_FIELDS = {
  analysisMethod: 'analysis',
  analysisCategory: 'category',
  clustering: 'clustering',
  embedding: 'embedding',
  firstEmbeddingDimension: 'x',
  secondEmbeddingDimension: 'y',
  colorMap: 'colormap',
  imageMode: 'mode',
  embeddingVectors: 'selection',
} as const;

/** The export file's keys (ViRelAy's spelling) and the state field each sets, or null for keys that only describe the view. */
export const VIRELAY_EXPORT_FIELDS = {
  projectId: 'project',
  projectName: 'project',
  modelName: null,
  datasetName: null,
  selectedAnalysisMethod: 'analysis',
  selectedAnalysisCategory: 'category',
  selectedCategoryHumanReadableName: null,
  selectedEmbeddingName: 'embedding',
  selectedClustering: 'clustering',
  numberOfClusters: null,
  selectedColorMap: 'colormap',
  selectedImageMode: 'mode',
  selectedEmbeddingVectorsIndices: 'selection',
  selectedEmbeddingVectorsClusters: null,
  allEmbeddingVectorsIndices: null,
  allEmbeddingVectorsClusters: null,
} as const;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);

const nonNegative = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};

/** A link's `0,5,7` or a file's `[0, 5, 7]`. */
const indexList = (value: unknown): number[] | undefined => {
  const items = typeof value === 'string' ? value.split(',').map((part) => part.trim()) : Array.isArray(value) ? value : undefined;
  return items?.map(nonNegative).filter((v): v is number => v !== undefined);
};

/** How the value of each mapped field is read (the same for links and files). */
const READ: { [K in Exclude<keyof MappedState, 'project'>]-?: (value: unknown) => MappedState[K] } = {
  analysis: text,
  category: text,
  clustering: text,
  embedding: text,
  mode: text,
  x: nonNegative,
  y: nonNegative,
  colormap: (value) => {
    const name = text(value);
    return name === undefined ? undefined : colorMapFromVirelay(name);
  },
  selection: indexList,
};

function mapFields(table: Readonly<Record<string, keyof MappedState | null>>, valueOf: (key: string) => unknown, out: MappedState): MappedState {
  for (const [key, field] of Object.entries(table)) {
    if (field === null || field === 'project') continue;
    const value = READ[field](valueOf(key));
    if (value !== undefined) (out as Record<string, unknown>)[field] = value;
  }
  return out;
}

/** ViRelAy numbers projects 0, 1, … in command-line order; so does our project list. */
export function projectFromVirelayId(id: unknown, projects: readonly ProjectRef[]): string | undefined {
  const n = nonNegative(id);
  return n === undefined ? undefined : projects[n]?.id;
}

/** A share link: `projectId` is the path's last segment (`/projects/0`), `search` its query string. */
export function stateFromVirelayLink(projectId: string, search: URLSearchParams, projects: readonly ProjectRef[]): MappedState {
  const project = projectFromVirelayId(projectId, projects);
  return mapFields(VIRELAY_QUERY_FIELDS, (key) => search.get(key) ?? undefined, project ? { project } : {});
}

/** True for an object that looks like ViRelAy's export file (our own envelope has `format`). */
export function isVirelayExport(json: Record<string, unknown>): boolean {
  return 'selectedAnalysisMethod' in json || 'selectedEmbeddingVectorsIndices' in json || typeof json.projectId === 'number';
}

/** ViRelAy's export file. The project is found by `projectName`, else by position (`projectId`). */
export function stateFromVirelayExport(json: Record<string, unknown>, projects: readonly ProjectRef[]): MappedState {
  // A file whose id and name disagree came from a server with other projects: trust the name.
  const byName = typeof json.projectName === 'string' ? projects.find((p) => p.name === json.projectName)?.id : undefined;
  const project = byName ?? projectFromVirelayId(json.projectId, projects);
  return mapFields(VIRELAY_EXPORT_FIELDS, (key) => json[key], project ? { project } : {});
}

/** Our query string for a mapped state (what the server's redirect of a share link points at). */
export function mappedStateToQuery(state: MappedState): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined) continue;
    params.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  return params.toString();
}
