import { ProcessorError } from './errors.js';
import { parse } from 'yaml';
import { UserError } from '../errors.js';
import { Sequential } from './flow.js';
import type { Pipeline } from './pipeline.js';
import { Processor } from './processor.js';
import { processorTypes } from './registry.js';

/**
 * A pipeline described in YAML (`--config`). Every key of `tasks` replaces that task of the
 * default SpRAy pipeline with the processor it describes:
 *
 *     tasks:
 *       preprocessing: [Absolute, SumChannel, {Normalize: {axes: [1, 2]}}, Flatten]   # list = Sequential
 *       embedding: {EigenDecomposition: {nEigval: 16}}
 *       clustering:
 *         Parallel:
 *           broadcast: true
 *           children: [{KMeans: {nClusters: 3}}, {KMeans: {nClusters: 4, label: km4}}, TSNEEmbedding]
 *
 * A processor is a type name, `{TypeName: {param: value, …}}`, or a list (Sequential). Parameter
 * names may be camelCase or CoRelAy's snake_case. Unlike CoRelAy, the `embedding` and `clustering`
 * tasks default to `isOutput: true` even when replaced (their outputs are what the file stores).
 */
export function applyPipelineConfig(pipeline: Pipeline, text: string, file: string): Pipeline {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new UserError(file, `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(file, 'expected a mapping with a `tasks` key');
  const unknownTop = Object.keys(doc).filter((k) => k !== 'tasks');
  if (unknownTop.length) throw new UserError(file, `unknown key '${unknownTop[0]}' (expected: tasks)`);
  const tasks = (doc as { tasks?: unknown }).tasks;
  if (!tasks || typeof tasks !== 'object' || Array.isArray(tasks)) throw new UserError(file, '`tasks` must map task names to processors');
  for (const [task, spec] of Object.entries(tasks)) {
    try {
      const processor = build(spec, `tasks.${task}`);
      if ((task === 'embedding' || task === 'clustering') && !hasExplicitOutput(spec)) processor.isOutput = true;
      pipeline.setTask(task, processor);
    } catch (error) {
      // Only the processor model's own complaints are the user's mistake; anything else is a bug.
      if (!(error instanceof ProcessorError)) throw error;
      const message = error.message;
      throw new UserError(file, message.startsWith(`tasks.${task}`) ? message : `tasks.${task}: ${message}`);
    }
  }
  return pipeline;
}

function hasExplicitOutput(spec: unknown): boolean {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return false;
  const params = Object.values(spec)[0];
  return !!params && typeof params === 'object' && ('isOutput' in params || 'is_output' in params);
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function build(spec: unknown, where: string): Processor<any> {
  if (Array.isArray(spec)) return Sequential(spec.map((s, i) => build(s, `${where}[${i}]`)));
  let typeName: string;
  let params: Record<string, unknown> = {};
  if (typeof spec === 'string') typeName = spec;
  else if (spec && typeof spec === 'object' && Object.keys(spec).length === 1) {
    typeName = Object.keys(spec)[0]!;
    const raw = (spec as Record<string, unknown>)[typeName];
    if (raw !== null && raw !== undefined) {
      if (typeof raw !== 'object' || Array.isArray(raw)) throw new ProcessorError(`${where}: parameters of ${typeName} must be a mapping`);
      params = Object.fromEntries(Object.entries(raw).map(([k, v]) => [camel(k), v]));
    }
  } else throw new ProcessorError(`${where}: expected a processor name, {Name: {params}} or a list`);
  const type = processorTypes.get(typeName);
  if (!type) throw new ProcessorError(`${where}: unknown processor '${typeName}' (known: ${[...processorTypes.keys()].sort().join(', ')})`);
  if (type.group) {
    const key = type.group.childrenParam;
    const children = params[key];
    if (!Array.isArray(children)) throw new ProcessorError(`${where}: ${typeName} needs a list of ${key}`);
    params = { ...params, [key]: children.map((c, i) => build(c, `${where}.${key}[${i}]`)) };
  }
  return new Processor<Record<string, unknown>>(type, params);
}
