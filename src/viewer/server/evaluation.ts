/**
 * Per-sample faithfulness for the viewer: the AOPC of every sample in the `evaluate` files a project
 * links (`evaluations:` in its YAML). One route, registered in routes.ts:
 *
 *   GET /api/projects/:project/evaluation → { methods: [{ name, order, file, mean, index: [...], aopc: [...] }] }
 *
 * The files are read when first asked for and kept until one of them changes.
 */
import { existsSync, statSync } from 'node:fs';
import { readEvaluation } from '../../io/evaluation.js';
import { readProject } from '../../io/project.js';
import { notFound } from './http-error.js';
import { jsonReply, type Reply } from './reply.js';
import type { Route } from './routes.js';

export interface EvaluationMethod {
  name: string;
  order: string;
  file: string;
  /** Mean AOPC over the file's rows. */
  mean: number;
  index: number[];
  aopc: number[];
}

const cache = new Map<string, Promise<Reply>>();

/** Every method group of every linked file; a name that repeats across files gets the file's name appended. */
export async function projectEvaluations(files: string[]): Promise<EvaluationMethod[]> {
  const methods: EvaluationMethod[] = [];
  for (const path of files) {
    const file = await readEvaluation(path);
    for (const g of file.groups) {
      const taken = methods.some((m) => m.name === g.name);
      const aopc = Array.from(g.aopc, (v) => (Number.isFinite(v) ? v : 0));
      methods.push({
        name: taken ? `${g.name} (${path.split('/').pop()})` : g.name,
        order: g.order,
        file: path,
        mean: aopc.reduce((a, b) => a + b, 0) / Math.max(1, aopc.length),
        index: Array.from(g.index),
        aopc,
      });
    }
  }
  return methods;
}

export const evaluationRoutes: Route[] = [
  {
    pattern: ['projects', ':project', 'evaluation'],
    query: [],
    handle(ctx, params) {
      const project = ctx.projects.find((p) => p.id === params.project);
      if (!project) throw notFound(`unknown project '${params.project}'`);
      const files = readProject(project.file).evaluations ?? [];
      // Re-read when a linked file changes (they are not among the files the project fingerprint covers).
      const key = [project.id, ...files.map((f) => (existsSync(f) ? `${f}:${statSync(f).mtimeMs}` : f))].join('|');
      let reply = cache.get(key);
      if (!reply) {
        reply = projectEvaluations(files).then((methods) => jsonReply({ methods }));
        reply.catch(() => cache.delete(key));
        cache.set(key, reply);
      }
      return reply;
    },
  },
];
