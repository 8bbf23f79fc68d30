/**
 * Checks that a project's files fit together the way ViRelAy needs them to (docs/formats.md §1–§5),
 * refusing with one clear UserError at the first problem, and summarises what it links.
 */
import { relative } from 'node:path';
import { UserError } from '../errors.js';
import { openAnalysis, type AnalysisFileReader } from './analysis.js';
import { checkAnalysisMethod } from './analysis-check.js';
import { openAttributionReader, type AttributionReader } from './attribution.js';
import { readEvaluation } from './evaluation.js';
import { openDataset, type Dataset } from './dataset.js';
import { readLabelMap, type LabelMap } from './labelmap.js';
import type { Project } from './project.js';

export interface ProjectSummary {
  name: string;
  datasetType: string;
  samples: number;
  /** [C, H, W] when fixed. */
  sampleShape: number[] | undefined;
  multiLabel: boolean;
  classes: number;
  attributions: Array<{ path: string; rows: number; hasIndex: boolean; sampleShape: number[]; numClasses: number }>;
  analyses: Array<{ method: string; files: string[]; categories: number; embeddings: string[]; clusterings: string[] }>;
  /** Linked `evaluate` files: their method groups. */
  evaluations: Array<{ path: string; methods: string[] }>;
}

/** An evaluation file must be one and index only samples of the dataset. */
async function checkEvaluationFile(path: string, samples: number): Promise<{ path: string; methods: string[] }> {
  const file = await readEvaluation(path);
  for (const group of file.groups) {
    for (const s of group.index)
      if (s >= samples) throw new UserError(path, `evaluation '${group.name}' holds sample ${s}, past the end of the dataset (${samples} samples)`);
  }
  return { path, methods: file.groups.map((g) => g.name) };
}

/** Every label of every sample must exist in the label map (ViRelAy 404s otherwise). */
function checkDatasetLabels(project: Project, dataset: Dataset, labels: LabelMap): void {
  for (let i = 0; i < dataset.count; i++) {
    for (const label of dataset.labelSet(i)) {
      if (!labels.byIndex(label))
        throw new UserError(project.dataset.path, `sample ${i} has label ${label}, which is not in the label map ${project.labelMap}`);
    }
  }
}

function checkAttributionFile(reader: AttributionReader, position: number, sources: number, samples: number, labels: LabelMap): void {
  const path = reader.paths[0]!;
  if (reader.hasIndex) {
    const indices = reader.indices();
    for (let r = 0; r < indices.length; r++) {
      if (indices[r]! >= samples) throw new UserError(path, `row ${r} attributes sample ${indices[r]}, but the dataset has ${samples} samples`);
    }
  } else if (sources === 1 && reader.count !== samples) {
    throw new UserError(path, `has ${reader.count} attributions but the dataset has ${samples} samples (attributions of a subset need an 'index' dataset)`);
  } else if (reader.count > samples) {
    throw new UserError(path, `has ${reader.count} attributions but the dataset has only ${samples} samples`);
  } else if (position < sources - 1) {
    throw new UserError(path, "has no 'index' dataset, so ViRelAy lets it claim samples 0..M-1 before the files after it; give it an index or list it last");
  }
  const rowLabels = reader.labels();
  for (let r = 0; r < rowLabels.length; r++) {
    if (rowLabels[r]! >= 0 && !labels.byIndex(rowLabels[r]!)) throw new UserError(path, `row ${r} has label ${rowLabels[r]}, which is not in the label map`);
  }
}

/**
 * Opens everything the project links and checks it: files exist and are HDF5, dataset and
 * attribution counts agree, labels and analysis categories resolve in the label map, analysis
 * indices are inside the dataset and covered by the attributions, analysis method names work in ViRelAy.
 * `source` (the project file, or the option that named things) is blamed for project-level problems.
 */
export async function checkProject(project: Project, source?: string): Promise<ProjectSummary> {
  const labels = readLabelMap(project.labelMap);
  const dataset = await openDataset({ ...project.dataset, labelMap: labels });
  const opened: Array<{ close(): void }> = [dataset];
  try {
    const samples = dataset.count;
    checkDatasetLabels(project, dataset, labels);
    const summary: ProjectSummary = {
      name: project.name,
      datasetType: project.dataset.type,
      samples,
      sampleShape: dataset.sampleShape,
      multiLabel: dataset.labelShape.length > 0,
      classes: labels.size,
      attributions: [],
      analyses: [],
      evaluations: [],
    };

    // Which sample indices have an attribution (for the analysis coverage check).
    let attributed: Uint8Array | undefined;
    const sources = project.attributions?.sources ?? [];
    let first: AttributionReader | undefined;
    for (const [position, path] of sources.entries()) {
      const reader = await openAttributionReader(path);
      opened.push(reader);
      if (first && (reader.sampleShape.join() !== first.sampleShape.join() || reader.numClasses !== first.numClasses)) {
        throw new UserError(
          path,
          `attribution shape [${reader.sampleShape.join(', ')}] with ${reader.numClasses} classes differs from ${first.paths[0]} ` +
            `([${first.sampleShape.join(', ')}], ${first.numClasses} classes)`,
        );
      }
      first ??= reader;
      checkAttributionFile(reader, position, sources.length, samples, labels);
      attributed ??= new Uint8Array(samples);
      for (const s of reader.indices()) attributed[s] = 1;
      summary.attributions.push({ path, rows: reader.count, hasIndex: reader.hasIndex, sampleShape: reader.sampleShape, numClasses: reader.numClasses });
    }

    // Entries with the same method name are merged, sources concatenated in order (as ViRelAy does).
    const methods = new Map<string, string[]>();
    for (const entry of project.analyses) methods.set(entry.analysisMethod, [...(methods.get(entry.analysisMethod) ?? []), ...entry.sources]);
    for (const [method, files] of methods) {
      const readers: AnalysisFileReader[] = [];
      for (const path of files) {
        const reader = await openAnalysis(path);
        opened.push(reader);
        readers.push(reader);
      }
      const found = checkAnalysisMethod(method, readers, { samples, labels, attributed, labelMapPath: project.labelMap, source, readData: true });
      summary.analyses.push({ method, files, ...found });
    }
    for (const path of project.evaluations ?? []) summary.evaluations.push(await checkEvaluationFile(path, samples));
    return summary;
  } finally {
    for (const item of opened.reverse()) item.close();
  }
}

/** Human-readable lines for `project check` and `project init`. */
export function formatSummary(summary: ProjectSummary): string[] {
  const lines = [
    `project: ${summary.name}`,
    `dataset: ${summary.datasetType}, ${summary.samples} ` +
      `samples${summary.sampleShape ? ` of ${summary.sampleShape.join('×')}` : ' (mixed sizes)'}${summary.multiLabel ? ', multi-label' : ''}`,
    `classes: ${summary.classes}`,
    `attribution files: ${summary.attributions.length}${summary.attributions.length ? ` (${summary.attributions.reduce((n, a) => n + a.rows, 0)} rows)` : ''}`,
  ];
  const shown = (path: string): string => relative(process.cwd(), path) || path;
  for (const a of summary.attributions)
    lines.push(`  ${shown(a.path)}: ${a.rows} rows of ${a.sampleShape.join('×')}, ${a.numClasses} classes${a.hasIndex ? ', indexed' : ''}`);
  lines.push(`analyses: ${summary.analyses.length}`);
  for (const a of summary.analyses) {
    lines.push(
      `  ${a.method}: ${a.files.map(shown).join(', ')}: ${a.categories} categories, ${a.clusterings.length} clusterings, ` +
        `${a.embeddings.length} embeddings (${a.embeddings.join(', ')})`,
    );
  }
  if (summary.evaluations.length > 0) lines.push(`evaluations: ${summary.evaluations.length}`);
  for (const e of summary.evaluations) lines.push(`  ${shown(e.path)}: ${e.methods.join(', ')}`);
  return lines;
}
