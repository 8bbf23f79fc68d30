import { UserError } from '../../errors.js';
import { readProject } from '../../io/project.js';
import type { ViewerProject } from './model.js';
import { openProject, type RefusedAnalysis } from './workspace.js';

export interface LoadFailure {
  file: string;
  reason: string;
}

/** Loads one project file with everything it references (files opened read-only, data read lazily). */
export async function loadProject(file: string, taken: Set<string>, onRefused?: RefusedAnalysis): Promise<ViewerProject> {
  return openProject(readProject(file), file, taken, onRefused);
}

function reasonOf(error: unknown, file: string): string {
  if (error instanceof UserError) return error.file === file ? error.message : error.line;
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

/**
 * Loads every project file; one that fails is reported with its reason and skipped, so the others
 * are still served. Projects keep the command-line order (the first opens at `/`).
 */
export async function loadProjects(files: string[]): Promise<{ projects: ViewerProject[]; failures: LoadFailure[]; refusedAnalyses: LoadFailure[] }> {
  const projects: ViewerProject[] = [];
  const failures: LoadFailure[] = [];
  // Analyses that failed the `project check` rules: left out, the rest of their project is served.
  const refusedAnalyses: LoadFailure[] = [];
  const taken = new Set<string>();
  for (const file of files) {
    try {
      projects.push(await loadProject(file, taken, (blamed, reason) => refusedAnalyses.push({ file: blamed ?? file, reason })));
    } catch (error) {
      failures.push({ file, reason: reasonOf(error, file) });
    }
  }
  return { projects, failures, refusedAnalyses };
}
