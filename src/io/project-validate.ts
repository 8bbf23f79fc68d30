/**
 * Field-by-field validation of a parsed project file (formats.md §1.1), before the schema reads it:
 * every key's type and range, with a one-line message that names the key and shows the value
 * (`'project.dataset.input_width' must be a positive integer, not "twenty"`), and a warning for
 * every key ViRelAy does not know (ViRelAy ignores them silently, so a typo such as `label_mpa`
 * would otherwise go unnoticed until the key is reported missing, or never, for an optional one).
 *
 * The rules are data: one table per mapping, one checker per value kind.
 */
import { DOWN_SAMPLING_METHODS, UP_SAMPLING_METHODS } from './dataset.js';

/** What `attribution_strategy` may say (ViRelAy stores it unread; these are the values its tools write). */
export const ATTRIBUTION_STRATEGIES = ['true_label', 'predicted_label'] as const;
/** Larger than any image a viewer resamples to; a typo like 22400 is still caught by memory checks later. */
const MAX_INPUT_SIZE = 65536;

type Check = (value: unknown) => string | undefined;

const shown = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a mapping';
  return String(value);
};

const text: Check = (v) => (typeof v === 'string' || typeof v === 'number' ? undefined : `must be text, not ${shown(v)}`);
const nonEmptyPath: Check = (v) => (typeof v === 'string' && v.length > 0 ? undefined : `must be a non-empty path, not ${shown(v)}`);
const positiveInt: Check = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_INPUT_SIZE
    ? undefined
    : `must be a positive integer (1 to ${MAX_INPUT_SIZE}), not ${shown(v)}`;
const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `must be one of ${values.join(', ')}, not ${shown(v)}`;
const regexOrNull: Check = (v) => (typeof v === 'string' ? undefined : `must be a regular expression (text) or null, not ${shown(v)}`);
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null ? undefined : check(v);
const pathList: Check = (v) => {
  if (!Array.isArray(v)) return `must be a list of paths, not ${shown(v)}`;
  const bad = v.findIndex((p) => typeof p !== 'string' || p.length === 0);
  return bad < 0 ? undefined : `entry ${bad} must be a non-empty path, not ${shown(v[bad])}`;
};

interface MappingRules {
  /** Key → checker; a key listed here is known. */
  keys: Record<string, Check>;
  /** Nested mappings (or lists of mappings) validated by their own rules. */
  mappings?: Record<string, MappingRules>;
  lists?: Record<string, MappingRules>;
}

const datasetRules: MappingRules = {
  keys: {
    name: text,
    type: oneOf(['hdf5', 'image_directory']),
    path: nonEmptyPath,
    input_width: positiveInt,
    input_height: positiveInt,
    up_sampling_method: oneOf(UP_SAMPLING_METHODS),
    down_sampling_method: oneOf(DOWN_SAMPLING_METHODS),
    label_index_regex: nullable(regexOrNull),
    label_word_net_id_regex: nullable(regexOrNull),
  },
};

const projectRules: MappingRules = {
  keys: { name: text, model: text, label_map: nonEmptyPath, evaluations: nullable(pathList) },
  mappings: {
    dataset: datasetRules,
    attributions: { keys: { attribution_method: text, attribution_strategy: oneOf(ATTRIBUTION_STRATEGIES), sources: pathList } },
  },
  lists: { analyses: { keys: { analysis_method: text, sources: pathList } } },
};

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A problem found: `where` is the dotted key path, `message` what is wrong with it. */
export class FieldError extends Error {}

function validateMapping(value: Record<string, unknown>, rules: MappingRules, where: string, warnings: string[]): void {
  const known = new Set([...Object.keys(rules.keys), ...Object.keys(rules.mappings ?? {}), ...Object.keys(rules.lists ?? {})]);
  for (const [key, child] of Object.entries(value)) {
    const path = `${where}.${key}`;
    if (!known.has(key)) {
      warnings.push(`unknown key '${path}' (ignored)`);
      continue;
    }
    // Absent and null optional values are the schema's business (it reports missing required keys).
    if (child === undefined) continue;
    const check = rules.keys[key];
    if (check) {
      const problem = check(child);
      if (problem) throw new FieldError(`'${path}' ${problem}`);
      continue;
    }
    if (child === null) continue;
    const nested = rules.mappings?.[key];
    if (nested) {
      if (!isMapping(child)) throw new FieldError(`'${path}' must be a mapping, not ${shown(child)}`);
      validateMapping(child, nested, path, warnings);
      continue;
    }
    const items = rules.lists![key]!;
    if (!Array.isArray(child)) throw new FieldError(`'${path}' must be a list, not ${shown(child)}`);
    child.forEach((item, i) => {
      if (!isMapping(item)) throw new FieldError(`'${path}[${i}]' must be a mapping, not ${shown(item)}`);
      validateMapping(item, items, `${path}[${i}]`, warnings);
    });
  }
}

/**
 * Checks the types and ranges of every key present in a parsed project document; throws
 * FieldError at the first bad value and returns one warning per unknown key.
 */
export function validateProjectFields(raw: unknown): string[] {
  const warnings: string[] = [];
  // Not a mapping: the parser's "missing required key 'project'" says it.
  if (!isMapping(raw)) return warnings;
  for (const key of Object.keys(raw)) if (key !== 'project') warnings.push(`unknown top-level key '${key}' (ignored)`);
  if (raw.project === undefined) return warnings;
  if (!isMapping(raw.project)) throw new FieldError(`'project' must be a mapping, not ${shown(raw.project)}`);
  validateMapping(raw.project, projectRules, 'project', warnings);
  return warnings;
}
