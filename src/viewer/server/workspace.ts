import { statSync } from 'node:fs';
import { openAnalysis, type AnalysisFileReader, type CategoryAnalysis } from '../../io/analysis.js';
import { openAttributionSet, type AttributionReader } from '../../io/attribution.js';
import { openDataset, type Dataset, type DatasetSpec } from '../../io/dataset.js';
import { readLabelMap, type LabelMap } from '../../io/labelmap.js';
import { UserError } from '../../errors.js';
import { checkAnalysisMethod, type AnalysisCheckContext } from '../../io/analysis-check.js';
import { etagOf } from './reply.js';
import type { AttributionMap, CategorySuspicion, ClassLabel, RgbImage, ViewerAnalysis, ViewerProject } from './model.js';
import { suspicionFromAttrs } from './suspicion.js';

/** URL-safe id from a project name; made unique by a numeric suffix. */
export function projectId(name: string, taken: Set<string>): string {
  const base =
    name
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'project';
  let id = base;
  for (let k = 2; taken.has(id); k++) id = `${base}-${k}`;
  taken.add(id);
  return id;
}

/** Size and modification time of every referenced file: part of every ETag, so edits invalidate caches. */
function fingerprintOf(files: string[]): string {
  return etagOf(
    ...files.map((file) => {
      try {
        const s = statSync(file);
        return `${file}:${s.size}:${s.mtimeMs}`;
      } catch {
        return `${file}:missing`;
      }
    }),
  ).replace(/"/g, '');
}

/** Several analysis files of one method behave as one: the first file that has a category answers. */
class MergedAnalysis implements ViewerAnalysis {
  readonly categories: string[] = [];
  private readonly owner = new Map<string, AnalysisFileReader>();
  private readonly loaded = new Map<string, CategoryAnalysis>();
  private readonly counts = new Map<string, number>();
  private readonly scores = new Map<string, CategorySuspicion | undefined>();

  constructor(
    readonly name: string,
    private readonly readers: AnalysisFileReader[],
  ) {
    for (const reader of readers) {
      for (const category of reader.categories) {
        if (this.owner.has(category)) continue;
        this.owner.set(category, reader);
        this.categories.push(category);
      }
    }
  }

  categoryCount(name: string): number {
    let count = this.counts.get(name);
    if (count === undefined) {
      count = this.owner.get(name)?.categoryIndex(name).length ?? 0;
      this.counts.set(name, count);
    }
    return count;
  }

  categorySuspicion(name: string): CategorySuspicion | undefined {
    if (!this.scores.has(name)) {
      const reader = this.owner.get(name);
      this.scores.set(name, reader ? suspicionFromAttrs(reader.categoryAttrs(name)) : undefined);
    }
    return this.scores.get(name);
  }

  category(name: string): CategoryAnalysis | undefined {
    let category = this.loaded.get(name);
    if (!category) {
      const reader = this.owner.get(name);
      if (!reader) return undefined;
      category = reader.category(name);
      this.loaded.set(name, category);
    }
    return category;
  }

  close(): void {
    for (const reader of this.readers) reader.close();
  }
}

class LoadedProject implements ViewerProject {
  readonly labels: ClassLabel[];
  /** Sample index → attribution row; -1 where no file claims the sample (first claim wins, §4.2). */
  private readonly rowOfSample: Int32Array;
  private readonly datasetLabels: Int32Array;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly model: string,
    readonly file: string,
    readonly dataset: ViewerProject['dataset'],
    readonly attribution: ViewerProject['attribution'],
    readonly analyses: MergedAnalysis[],
    readonly fingerprint: string,
    private readonly labelMap: LabelMap,
    private readonly data: Dataset,
    private readonly reader: AttributionReader | undefined,
  ) {
    this.labels = labelMap.entries.map((e) => ({ index: e.index, wordNetId: e.wordNetId, name: e.name }));
    this.datasetLabels = data.labels();
    this.rowOfSample = new Int32Array(data.count).fill(-1);
    if (reader) {
      const indices = reader.indices();
      for (let row = 0; row < indices.length; row++) {
        const sample = indices[row];
        if (sample >= 0 && sample < data.count && this.rowOfSample[sample] < 0) this.rowOfSample[sample] = row;
      }
    }
  }

  labelName(classIndex: number): string | undefined {
    return this.labelMap.byIndex(classIndex)?.name;
  }

  categoryLabel(category: string): string {
    return this.labelMap.byWordNetId(category)?.name ?? '';
  }

  sampleLabels(index: number): number[] {
    if (this.data.labelShape.length) return this.data.labelSet(index);
    const label = this.datasetLabels[index];
    return label < 0 ? [] : [label];
  }

  attributionRow(index: number): number {
    return index >= 0 && index < this.rowOfSample.length ? this.rowOfSample[index] : -1;
  }

  async readAttribution(row: number): Promise<AttributionMap> {
    const reader = this.requireReader();
    const rows = reader.read(row, row + 1);
    const shape = reader.sampleShape;
    const chw: [number, number, number] =
      shape.length === 3 ? [shape[0], shape[1], shape[2]] : shape.length === 2 ? [1, shape[0], shape[1]] : [1, 1, shape[0] ?? 1];
    return { data: rows.attribution, shape: chw, label: rows.label[0] ?? -1, prediction: rows.prediction };
  }

  async readPrediction(row: number): Promise<Float32Array> {
    return this.requireReader().predictions(row, row + 1);
  }

  readImage(index: number): Promise<RgbImage> {
    return this.data.readImageForDisplay(index);
  }

  private requireReader(): AttributionReader {
    if (!this.reader) throw new Error(`project ${this.name} has no attributions`);
    return this.reader;
  }

  close(): void {
    this.data.close();
    this.reader?.close();
    for (const analysis of this.analyses) analysis.close();
  }
}

/** Told about an analysis that is not served: the file blamed and why (the rest of the project is served). */
export type RefusedAnalysis = (file: string | undefined, reason: string) => void;

/**
 * Opens the files of one analysis method and checks them as `project check` does (shapes, index
 * range, coverage, label map), without reading embeddings. An inconsistent method is closed and
 * reported instead of being served, so no request meets it and answers 500.
 */
async function openCheckedAnalysis(
  name: string,
  sources: string[],
  context: AnalysisCheckContext,
  onRefused: RefusedAnalysis,
): Promise<AnalysisFileReader[] | undefined> {
  const readers: AnalysisFileReader[] = [];
  try {
    for (const source of sources) readers.push(await openAnalysis(source));
    checkAnalysisMethod(name, readers, context);
    return readers;
  } catch (error) {
    for (const r of readers) r.close();
    if (!(error instanceof UserError)) throw error;
    onRefused(error.file, `${error.message} (analysis '${name}' not served)`);
    return undefined;
  }
}

/** What the viewer needs from a parsed project file (paths already resolved). */
export interface ProjectSpec {
  name: string;
  model: string;
  labelMap: string;
  dataset: DatasetSpec & { name: string };
  attributions?: { attributionMethod: string; attributionStrategy: string; sources: string[] };
  analyses?: Array<{ analysisMethod: string; sources: string[] }>;
}

/** Opens everything a parsed project references (files opened read-only, data read lazily). */
export async function openProject(project: ProjectSpec, file: string, taken: Set<string>, onRefused: RefusedAnalysis = () => {}): Promise<ViewerProject> {
  const opened: Array<{ close(): void }> = [];
  try {
    const labelMap = readLabelMap(project.labelMap);
    const data = await openDataset({ ...project.dataset, labelMap });
    opened.push(data);
    const referenced = [file, project.labelMap, project.dataset.path];
    let reader: AttributionReader | undefined;
    if (project.attributions && project.attributions.sources.length) {
      reader = await openAttributionSet(project.attributions.sources);
      opened.push(reader);
      referenced.push(...project.attributions.sources);
    }
    // Entries with the same method name merge, their sources concatenated in order (ViRelAy's rule).
    const sourcesByName = new Map<string, string[]>();
    for (const entry of project.analyses ?? []) sourcesByName.set(entry.analysisMethod, [...(sourcesByName.get(entry.analysisMethod) ?? []), ...entry.sources]);
    // Coverage by attributions is not required here: the viewer shows an unattributed sample's input
    // and answers 404 for its heatmap (ViRelAy projects often attribute a subset); project check insists.
    const context = { samples: data.count, labels: labelMap, attributed: undefined, labelMapPath: project.labelMap, source: file, readData: false };
    const analyses: MergedAnalysis[] = [];
    for (const [name, sources] of sourcesByName) {
      const readers = await openCheckedAnalysis(name, sources, context, onRefused);
      if (!readers) continue;
      opened.push(...readers);
      referenced.push(...sources);
      analyses.push(new MergedAnalysis(name, readers));
    }
    return new LoadedProject(
      projectId(project.name, taken),
      project.name,
      project.model,
      file,
      { name: project.dataset.name, type: project.dataset.type, count: data.count },
      project.attributions
        ? { method: project.attributions.attributionMethod, strategy: project.attributions.attributionStrategy, count: reader?.count ?? 0 }
        : undefined,
      analyses,
      fingerprintOf(referenced),
      labelMap,
      data,
      reader,
    );
  } catch (error) {
    for (const item of opened.reverse()) item.close();
    throw error;
  }
}
