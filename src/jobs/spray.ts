import { UserError } from '../errors.js';
import { AnalysisWriter, type CategoryAnalysis } from '../io/analysis.js';
import { openAttributionSet, type AttributionReader } from '../io/attribution.js';
import { type LabelMap, paddedWordNetId, readLabelMap } from '../io/labelmap.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import { inputName } from '../util/stdin.js';
import { readTextFile } from '../util/text-file.js';
import { applyNanPolicy, type NanPolicy } from '../io/non-finite.js';
import type { Progress } from '../util/progress.js';
import { H5Cache } from '../processors/cache.js';
import { applyPipelineConfig } from '../processors/config.js';
import { ProcessorError } from '../processors/errors.js';
import { tensor } from '../processors/data.js';
import { createContext, noStorage, RunStats } from '../processors/processor.js';
import { analyseCategory, countSteps, type SprayOptions, sprayPipeline } from '../processors/spray.js';
import type { Shard } from '../run/shard.js';
import { shardCategories, sprayFingerprint } from './spray-shard.js';

export interface RunSprayOptions extends SprayOptions {
  inputs: string[];
  output: string;
  labelMap?: string;
  categories: 'label' | 'prediction';
  /** Category (class) indices to analyse; undefined = every class (label-map order or sorted). */
  classes?: number[];
  config?: string;
  cache?: string;
  name: string;
  /** --clusters was given explicitly: its largest k must not exceed the largest category (the default is shrunk silently). */
  clustersGiven?: boolean;
  /** Rows with NaN/±Inf: refused (default), left out or zeroed (src/io/non-finite.ts). */
  nanPolicy?: NanPolicy;
  /** Analyse only the categories of this shard (position in the sorted category list mod N; src/jobs/spray-shard.ts). */
  shard?: Shard;
}

export interface CategoryReport {
  name: string;
  classIndex: number;
  label: string;
  samples: number;
  status: 'analysed' | 'empty' | 'too-small';
  suspicion?: number;
  suspicionK?: number;
  seconds?: number;
}

export interface RunSprayResult {
  categories: CategoryReport[];
  stats: RunStats;
}

/** The smallest category that still gives a 2-column spectral embedding (m = n − 1 ≥ 2). */
export const MIN_SAMPLES = 3;

/** Category index of every row: its label, or the arg-max of its prediction. */
function categoryOfRows(reader: AttributionReader, by: 'label' | 'prediction'): Int32Array {
  if (by === 'label') return reader.labels();
  const out = new Int32Array(reader.count);
  const chunk = 4096;
  for (let start = 0; start < reader.count; start += chunk) {
    const end = Math.min(reader.count, start + chunk);
    const p = reader.predictions(start, end);
    const k = reader.numClasses;
    for (let r = 0; r < end - start; r++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (p[r * k + c]! > p[r * k + best]!) best = c;
      out[start + r] = best;
    }
  }
  return out;
}

/**
 * Reads the rows `positions` (ascending) of the attribution set: consecutive runs are read in one
 * call (gaps up to 64 rows are read and dropped), so only this category's rows stay in memory.
 */
function readRows(reader: AttributionReader, positions: number[], rowSize: number): Float32Array {
  const out = new Float32Array(positions.length * rowSize);
  let i = 0;
  while (i < positions.length) {
    let j = i;
    while (j + 1 < positions.length && positions[j + 1]! - positions[j]! <= 64 && positions[j + 1]! - positions[i]! < 2048) j++;
    const start = positions[i]!;
    const rows = reader.read(start, positions[j]! + 1).attribution;
    for (let q = i; q <= j; q++) out.set(rows.subarray((positions[q]! - start) * rowSize, (positions[q]! - start + 1) * rowSize), q * rowSize);
    i = j + 1;
    throwIfInterrupted();
  }
  return out;
}

/** An explicit --clusters whose largest k exceeds every category's sample count is refused before any work. */
function checkClusterCounts(ks: readonly number[], sizes: readonly number[]): void {
  const kMax = Math.max(...ks);
  const nMax = Math.max(0, ...sizes);
  if (nMax > 0 && kMax > nMax) throw new UserError('--clusters', `k = ${kMax} is more than the ${nMax} samples of the largest category (k must be at most n)`);
}

/**
 * The `spray` command's engine: per category (label or predicted class), read only its rows, run
 * the SpRAy pipeline (with the cache, when given) and append the category group to the analysis
 * file; then the suspicion ranking. Categories are written in ascending byte order of their names.
 */
export async function runSprayJob(options: RunSprayOptions, progress: Progress): Promise<RunSprayResult> {
  const labelMap: LabelMap | undefined = options.labelMap ? readLabelMap(options.labelMap) : undefined;
  const pipeline = sprayPipeline(options);
  if (options.config) applyPipelineConfig(pipeline, readTextFile(options.config, 'a pipeline configuration'), inputName(options.config));
  const reader = await openAttributionSet(options.inputs);
  const cache = options.cache ? await H5Cache.open(options.cache) : undefined;
  const stats = new RunStats();
  const reports: CategoryReport[] = [];
  let writer: AnalysisWriter | undefined;
  try {
    const rowCategory = categoryOfRows(reader, options.categories);
    const indices = reader.indices();
    const rowSize = reader.sampleShape.reduce((a, b) => a * b, 1);
    const byClass = new Map<number, number[]>();
    rowCategory.forEach((c, row) => {
      if (c < 0) return;
      const list = byClass.get(c);
      if (list) list.push(row);
      else byClass.set(c, [row]);
    });
    let classes = options.classes ?? (labelMap ? labelMap.entries.map((e) => e.index) : [...byClass.keys()].sort((a, b) => a - b));
    if (!options.classes && labelMap) {
      // Classes present in the data but missing from the label map are analysed too.
      classes = [...classes, ...[...byClass.keys()].filter((c) => !labelMap.byIndex(c)).sort((a, b) => a - b)];
    }
    const named = classes.map((c) => ({ classIndex: c, name: labelMap?.byIndex(c)?.wordNetId ?? paddedWordNetId(c), label: labelMap?.byIndex(c)?.name ?? '' }));
    const seen = new Set<string>();
    for (const c of named) {
      if (seen.has(c.name)) throw new UserError(options.labelMap, `two classes share the category name '${c.name}'`);
      seen.add(c.name);
    }
    if (options.clustersGiven)
      checkClusterCounts(
        options.clusters,
        named.map((c) => byClass.get(c.classIndex)?.length ?? 0),
      );
    // Byte order of names = HDF5 listing order = creation order (docs/formats.md §7, item 6).
    named.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    const mine = shardCategories(named, options.shard);
    const fingerprint = sprayFingerprint(reader, rowCategory, {
      categories: named,
      by: options.categories,
      config: options.config ? readTextFile(options.config, 'a pipeline configuration') : null,
      name: options.name,
      nanPolicy: options.nanPolicy ?? 'error',
      variant: options.variant,
      nEigval: options.nEigval,
      nNeighbors: options.nNeighbors,
      clusters: options.clusters,
      algorithms: options.algorithms,
      embeddings: options.embeddings,
      seed: options.seed,
    });
    writer = await AnalysisWriter.create(options.output, { shard: options.shard, fingerprint });
    const steps = countSteps(pipeline);
    for (const [position, category] of mine.entries()) {
      throwIfInterrupted();
      let rows = byClass.get(category.classIndex) ?? [];
      let values = rows.length >= MIN_SAMPLES ? readRows(reader, rows, rowSize) : new Float32Array(0);
      const dropped = applyNanPolicy(
        options.inputs.join(', '),
        values,
        rowSize,
        options.nanPolicy ?? 'error',
        (r) => `row ${rows[r]} (sample ${indices[rows[r]!]})`,
      );
      if (dropped.size > 0) {
        progress.log(`${category.name}: ${dropped.size} row(s) with non-finite values left out (--nan-policy skip)`);
        const kept = rows.map((_, i) => i).filter((i) => !dropped.has(i));
        const compact = new Float32Array(kept.length * rowSize);
        kept.forEach((i, q) => compact.set(values.subarray(i * rowSize, (i + 1) * rowSize), q * rowSize));
        rows = kept.map((i) => rows[i]!);
        values = compact;
      }
      const title = `[${position + 1}/${mine.length}] ${category.name}${category.label ? ` (${category.label})` : ''}`;
      if (rows.length === 0) {
        progress.log(`${title}: no samples, skipped`);
        reports.push({ ...category, samples: 0, status: 'empty' });
        continue;
      }
      if (rows.length < MIN_SAMPLES) {
        progress.log(`${title}: only ${rows.length} sample(s), at least ${MIN_SAMPLES} needed; skipped`);
        reports.push({ ...category, samples: rows.length, status: 'too-small' });
        continue;
      }
      const started = Date.now();
      const data = tensor('float32', [rows.length, ...reader.sampleShape], values);
      const sampleIndex = Int32Array.from(rows, (r) => indices[r]!);
      progress.start(`${title}: ${rows.length} samples`, steps, 'steps');
      const context = createContext({
        storage: cache ?? noStorage,
        stats,
        checkpoint: throwIfInterrupted,
        step: () => progress.advance(1),
      });
      let analysis: CategoryAnalysis;
      try {
        analysis = analyseCategory(pipeline, category.name, sampleIndex, data, context);
      } catch (error) {
        if (error instanceof ProcessorError) throw new UserError(options.config ?? category.name, error.message);
        throw error;
      }
      progress.finish();
      writer.addCategory(options.name, analysis);
      const seconds = (Date.now() - started) / 1000;
      const suspicion = analysis.attrs?.suspicion as number | undefined;
      const suspicionK = analysis.attrs?.suspicion_k as number | undefined;
      progress.log(`${title}: done in ${seconds.toFixed(1)} s${suspicion !== undefined ? `, suspicion ${suspicion.toFixed(4)} (k=${suspicionK})` : ''}`);
      reports.push({ ...category, samples: rows.length, status: 'analysed', suspicion, suspicionK, seconds });
    }
    writer.commit();
    writer = undefined;
  } finally {
    writer?.abort();
    reader.close();
    cache?.close();
  }
  return { categories: reports, stats };
}

/**
 * Every category, ranked: analysed ones by suspicion (largest eigengap first, rank 1), then the others
 * (no spectral embedding: rank null). `groups` is the k of that eigengap. The data of `spray --json`.
 */
export function suspicionRanking(reports: CategoryReport[]) {
  const ranked = (r: CategoryReport) => r.status === 'analysed' && r.suspicion !== undefined;
  const order = [...reports].sort((a, b) => Number(ranked(b)) - Number(ranked(a)) || (b.suspicion ?? 0) - (a.suspicion ?? 0) || a.name.localeCompare(b.name));
  return order.map((r, i) => ({
    rank: ranked(r) ? i + 1 : null,
    category: r.name,
    classIndex: r.classIndex,
    label: r.label,
    samples: r.samples,
    status: r.status,
    suspicion: r.suspicion ?? null,
    groups: r.suspicionK ?? null,
  }));
}

/** The ranked suspicion table printed at the end (most suspicious first). */
export function suspicionTable(reports: CategoryReport[]): string {
  const rows = reports
    .filter((r) => r.status === 'analysed' && r.suspicion !== undefined)
    .sort((a, b) => b.suspicion! - a.suspicion! || a.name.localeCompare(b.name));
  if (rows.length === 0) return 'no category has a spectral embedding to rank\n';
  const header = ['rank', 'category', 'label', 'samples', 'suspicion', 'groups'];
  const body = rows.map((r, i) => [String(i + 1), r.name, r.label, String(r.samples), r.suspicion!.toFixed(4), String(r.suspicionK)]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (c === 0 || c >= 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...body.map(line)].join('\n')}\n`;
}
