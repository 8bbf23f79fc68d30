/**
 * ViRelAy project file (docs/formats.md §1): YAML with one top-level `project` mapping. Read with zod
 * (unknown keys ignored, as ViRelAy does), every path resolved against the project file's directory.
 */
import { writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeAtomically } from '../util/atomic.js';
import { readTextFile } from '../util/text-file.js';
import { describeZodIssue } from '../util/zod-issue.js';
import { validatedDocument } from './project-document.js';
import { DOWN_SAMPLING_METHODS, UP_SAMPLING_METHODS, type DownSamplingMethod, type UpSamplingMethod } from './dataset.js';

export interface ProjectDataset {
  name: string;
  type: 'hdf5' | 'image_directory';
  /** Absolute after `readProject`. */
  path: string;
  inputWidth?: number;
  inputHeight?: number;
  upSamplingMethod?: UpSamplingMethod;
  downSamplingMethod?: DownSamplingMethod;
  labelIndexRegex?: string | null;
  labelWordNetIdRegex?: string | null;
}

export interface ProjectAttributions {
  attributionMethod: string;
  attributionStrategy: string;
  /** Absolute after `readProject`. */
  sources: string[];
}

export interface ProjectAnalysis {
  /** Method name; ViRelAy cannot serve names containing '-' (docs/formats.md §1). */
  analysisMethod: string;
  /** Absolute after `readProject`. */
  sources: string[];
}

export interface Project {
  name: string;
  model: string;
  /** Absolute after `readProject`. */
  labelMap: string;
  dataset: ProjectDataset;
  attributions?: ProjectAttributions;
  /** [] when the file has none. */
  analyses: ProjectAnalysis[];
  /** `xai-tools evaluate` files (an xai-tools extension; ViRelAy ignores the key). Absolute after `readProject`. */
  evaluations?: string[];
  /** Read from a file: one line per ignored unknown key (project-validate.ts). */
  warnings?: string[];
}

// YAML may turn `name: 2024` into a number; ViRelAy would display it, so accept scalars as text.
const text = z.union([z.string(), z.number()]).transform(String);
const path = z.string().min(1, 'must be a non-empty path');
const positiveInt = z.number().int().positive();

const datasetSchema = z.looseObject({
  name: text,
  type: z.enum(['hdf5', 'image_directory']),
  path,
  input_width: z.unknown().optional(),
  input_height: z.unknown().optional(),
  up_sampling_method: z.unknown().optional(),
  down_sampling_method: z.unknown().optional(),
  label_index_regex: z.unknown().optional(),
  label_word_net_id_regex: z.unknown().optional(),
});

// The image_directory keys are only required (and only validated) for that type, as in ViRelAy.
const imageDirectoryKeys = z.looseObject({
  input_width: positiveInt,
  input_height: positiveInt,
  up_sampling_method: z.enum(UP_SAMPLING_METHODS),
  down_sampling_method: z.enum(DOWN_SAMPLING_METHODS),
  label_index_regex: z.string().nullable(),
  label_word_net_id_regex: z.string().nullable(),
});

const projectSchema = z.object({
  project: z.looseObject({
    name: text,
    model: text,
    label_map: path,
    dataset: datasetSchema,
    attributions: z
      .looseObject({
        attribution_method: text,
        attribution_strategy: text,
        sources: z.array(path),
      })
      .optional()
      .nullable(),
    analyses: z
      .array(
        z.looseObject({
          analysis_method: text,
          sources: z.array(path),
        }),
      )
      .optional()
      .nullable(),
    evaluations: z.array(path).optional().nullable(),
  }),
});

/** The value at `path` inside parsed YAML (undefined when a key is absent). */
function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let value = raw;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** "missing required key 'project.dataset.path'", "'project.dataset.type' must be one of …", … */
function describeIssue(error: z.ZodError, raw: unknown, prefix: string[] = []): string {
  const issue = error.issues[0]!;
  const where = [...prefix, ...issue.path.map(String)].join('.');
  if (valueAt(raw, issue.path) === undefined && issue.code !== 'custom') return `missing required key '${where}'`;
  if (issue.code === 'invalid_value' && 'values' in issue) return `'${where}' must be one of ${issue.values.map(String).join(', ')}`;
  return describeZodIssue(error, () => `'${where}'`);
}

function resolveFrom(base: string, value: string): string {
  return isAbsolute(value) ? value : resolve(base, value);
}

/** Parses project YAML text; `file` is the project file (paths resolve against its directory). */
export function parseProject(source: string, file: string): Project {
  const document = parseDocument(source, { prettyErrors: false });
  if (document.errors.length > 0) throw new UserError(file, `invalid YAML: ${document.errors[0]!.message.split('\n')[0]}`);
  const { raw, warnings } = validatedDocument(document, file);
  if (raw === null || typeof raw !== 'object' || !('project' in raw)) throw new UserError(file, "missing required key 'project'");
  const parsed = projectSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(file, describeIssue(parsed.error, raw));
  const p = parsed.data.project;
  const base = dirname(resolve(file));
  const dataset: ProjectDataset = { name: p.dataset.name, type: p.dataset.type, path: resolveFrom(base, p.dataset.path) };
  if (p.dataset.type === 'image_directory') {
    const keys = imageDirectoryKeys.safeParse(p.dataset);
    if (!keys.success) throw new UserError(file, describeIssue(keys.error, p.dataset, ['project', 'dataset']));
    const k = keys.data;
    if ((k.label_index_regex === null) === (k.label_word_net_id_regex === null)) {
      throw new UserError(file, "exactly one of 'project.dataset.label_index_regex' and 'project.dataset.label_word_net_id_regex' must be non-null");
    }
    Object.assign(dataset, {
      inputWidth: k.input_width,
      inputHeight: k.input_height,
      upSamplingMethod: k.up_sampling_method,
      downSamplingMethod: k.down_sampling_method,
      labelIndexRegex: k.label_index_regex,
      labelWordNetIdRegex: k.label_word_net_id_regex,
    });
  } else {
    // Ignored by ViRelAy for hdf5; kept when well-formed so a rewrite preserves them.
    const keep = imageDirectoryKeys.partial().safeParse(p.dataset);
    if (keep.success) {
      if (keep.data.input_width !== undefined) dataset.inputWidth = keep.data.input_width;
      if (keep.data.input_height !== undefined) dataset.inputHeight = keep.data.input_height;
      if (keep.data.up_sampling_method !== undefined) dataset.upSamplingMethod = keep.data.up_sampling_method;
      if (keep.data.down_sampling_method !== undefined) dataset.downSamplingMethod = keep.data.down_sampling_method;
    }
  }
  const project: Project = {
    name: p.name,
    model: p.model,
    labelMap: resolveFrom(base, p.label_map),
    dataset,
    analyses: (p.analyses ?? []).map((a) => ({ analysisMethod: a.analysis_method, sources: a.sources.map((s) => resolveFrom(base, s)) })),
  };
  if (p.evaluations?.length) project.evaluations = p.evaluations.map((e) => resolveFrom(base, e));
  if (warnings.length) project.warnings = warnings;
  if (p.attributions) {
    project.attributions = {
      attributionMethod: p.attributions.attribution_method,
      attributionStrategy: p.attributions.attribution_strategy,
      sources: p.attributions.sources.map((s) => resolveFrom(base, s)),
    };
  }
  return project;
}

export function readProject(file: string): Project {
  return parseProject(readTextFile(file, 'a project file'), file);
}

/** A path as written into a project file: relative to the project's directory, '/'-separated (docs/formats.md §1). */
function relativeTo(base: string, target: string): string {
  const rel = relative(base, resolve(target));
  return (rel === '' ? '.' : rel).split(sep).join('/');
}

/** The YAML text of a project, with every applicable key of docs/formats.md §1 and paths relative to `file`'s directory. */
export function formatProject(file: string, project: Project): string {
  const base = dirname(resolve(file));
  const d = project.dataset;
  const dataset: Record<string, unknown> = { name: d.name, type: d.type, path: relativeTo(base, d.path) };
  if (d.type === 'image_directory') {
    Object.assign(dataset, {
      label_index_regex: d.labelIndexRegex ?? null,
      label_word_net_id_regex: d.labelWordNetIdRegex ?? null,
    });
  }
  if (d.inputWidth !== undefined) dataset.input_width = d.inputWidth;
  if (d.inputHeight !== undefined) dataset.input_height = d.inputHeight;
  if (d.type === 'image_directory' || d.upSamplingMethod !== undefined) dataset.up_sampling_method = d.upSamplingMethod ?? 'none';
  if (d.type === 'image_directory' || d.downSamplingMethod !== undefined) dataset.down_sampling_method = d.downSamplingMethod ?? 'none';
  const body: Record<string, unknown> = { name: project.name, model: project.model, label_map: relativeTo(base, project.labelMap), dataset };
  if (project.attributions) {
    body.attributions = {
      attribution_method: project.attributions.attributionMethod,
      attribution_strategy: project.attributions.attributionStrategy,
      sources: project.attributions.sources.map((s) => relativeTo(base, s)),
    };
  }
  body.analyses = project.analyses.map((a) => ({ analysis_method: a.analysisMethod, sources: a.sources.map((s) => relativeTo(base, s)) }));
  if (project.evaluations?.length) body.evaluations = project.evaluations.map((e) => relativeTo(base, e));
  return stringify({ project: body }, { lineWidth: 0 });
}

/** Writes a project file atomically (paths made relative to it). */
export async function writeProject(file: string, project: Project): Promise<void> {
  const textOut = formatProject(file, project);
  await writeAtomically(file, (tmp) => writeFileSync(tmp, textOut));
}

export { checkProject, formatSummary, type ProjectSummary } from './project-check.js';
