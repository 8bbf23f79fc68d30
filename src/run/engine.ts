/**
 * The dataset-scale attribution loop: plans batches over the selected samples, overlaps decoding with
 * the model, appends rows to a partial file that survives a kill, and turns interrupts, undecodable
 * samples and restarts into well-defined states. It knows nothing about LRP or file formats: the
 * caller supplies the sample source, the model and the row sink.
 */
import { InterruptedError, UserError } from '../errors.js';
import type { Progress } from '../util/progress.js';
import { removePartial, writeJournal, type Journal, type PartialPaths } from './output.js';
import { runPipeline } from './pipeline.js';

/** A sample that could not be read (a corrupt JPEG, an unreadable file) and was left out. */
export interface SkippedSample {
  index: number;
  /** The one-line error, starting with the sample's path. */
  reason: string;
}

/** One loaded batch: the samples that could be read, preprocessed for the model. */
export interface SampleBatch {
  /** Dataset indices of the rows in `data` (requested ones minus skipped ones). */
  indices: number[];
  /** [B, ...input shape] model input. */
  data: Float32Array;
  /** One label per row, or B×K n-hot values (what the output's `label` stores). */
  labels: Int32Array | Float32Array;
  /** One class per row (the first label of n-hot rows, −1 when none): the `--target label` classes. */
  classes: Int32Array;
  skipped: SkippedSample[];
}

export interface SampleSource {
  /** Reads and preprocesses `indices`; undecodable samples throw, or are reported in `skipped` with skip-bad. */
  load(indices: number[]): Promise<SampleBatch>;
}

export interface BatchAttributor {
  /** Relevance ([B, ...input shape]) and logits ([B, classes]) of a loaded batch. */
  run(batch: SampleBatch): Promise<{ relevance: Float32Array; logits: Float32Array }>;
}

/** Where rows go: a streaming attribution writer over the partial file. */
export interface RowSink {
  readonly rows: number;
  append(rows: { attribution: Float32Array; label: Int32Array | Float32Array; prediction: Float32Array; index?: Int32Array }): void;
  /** Makes every appended row durable (HDF5 flush). */
  flush(): void;
  /** Closes and renames the partial file to the final name. */
  commit(): void;
  /** Closes the partial file and keeps it for `--resume`. */
  suspend(): void;
}

export interface EngineOptions {
  /** Dataset indices to attribute, in row order (after subset selection and sharding). */
  planned: readonly number[];
  batchSize: number;
  paths: PartialPaths;
  fingerprint: string;
  /** The state an interrupted run left (from the journal), or undefined for a fresh run. */
  resumeFrom?: Journal;
  /** Opens the sink: a fresh partial file, or the existing one cut back to `resumeRows` complete rows. */
  openSink: (resumeRows: number | undefined) => Promise<RowSink>;
  /** Write the `index` dataset (whenever rows are not exactly samples 0..N-1). */
  withIndex: boolean;
  source: SampleSource;
  attributor: BatchAttributor;
  progress: Progress;
  /** What the progress counts (`images`, `samples`). */
  unit?: string;
  signal?: AbortSignal;
  /** Batches decoded ahead of the one being computed (1 or 2). */
  prefetch?: number;
  /** What the progress calls the phase (default `attribute`). */
  phase?: string;
}

export interface EngineSummary {
  rows: number;
  /** Rows computed by this invocation (excludes rows resumed from the partial file). */
  computed: number;
  skipped: SkippedSample[];
  seconds: number;
}

interface Job {
  indices: number[];
  /** Position in `planned` after this batch. */
  end: number;
}

export function planBatches(planned: readonly number[], start: number, batchSize: number): Job[] {
  const jobs: Job[] = [];
  for (let s = start; s < planned.length; s += batchSize) {
    const end = Math.min(planned.length, s + batchSize);
    jobs.push({ indices: planned.slice(s, end), end });
  }
  return jobs;
}

export async function runAttribution(options: EngineOptions): Promise<EngineSummary> {
  const { paths, progress } = options;
  const began = Date.now();
  const resumed = options.resumeFrom;
  const skipped: SkippedSample[] = [...(resumed?.skipped ?? [])];
  let position = resumed?.position ?? 0;
  const startRows = resumed?.rows ?? 0;
  if (position > options.planned.length) {
    throw new UserError(paths.journal, `records ${position} samples done, but this run plans only ${options.planned.length}; start over with --overwrite`);
  }

  const sink = await options.openSink(resumed ? resumed.rows : undefined);
  if (!resumed) writeJournal(paths, { fingerprint: options.fingerprint, rows: 0, position: 0, skipped: [] });
  const remaining = options.planned.length - position;
  if (resumed) progress.log(`resuming ${paths.partial}: ${startRows} rows done, ${remaining} samples to go`);
  progress.start(options.phase ?? 'attribute', remaining, options.unit ?? 'samples');

  try {
    await runPipeline(
      planBatches(options.planned, position, options.batchSize),
      {
        load: (job) => options.source.load(job.indices),
        compute: async (batch) => (batch.indices.length > 0 ? options.attributor.run(batch) : undefined),
        write: (result, batch, job) => {
          for (const bad of batch.skipped) progress.log(`skipped sample ${bad.index}: ${bad.reason}`);
          skipped.push(...batch.skipped);
          if (result) {
            sink.append({
              attribution: result.relevance,
              label: batch.labels,
              prediction: result.logits,
              index: options.withIndex ? Int32Array.from(batch.indices) : undefined,
            });
          }
          // Rows first, then the journal: a kill between the two only loses this batch's work.
          sink.flush();
          position = job.end;
          writeJournal(paths, { fingerprint: options.fingerprint, rows: sink.rows, position, skipped });
          progress.advance(job.indices.length);
        },
      },
      { prefetch: options.prefetch ?? 1, signal: options.signal },
    );
  } catch (error) {
    progress.finish();
    sink.suspend();
    if (sink.rows === 0 && !(error instanceof InterruptedError)) {
      removePartial(paths);
    } else {
      progress.log(`kept ${sink.rows} finished rows in ${paths.partial}; continue with --resume`);
    }
    throw error;
  }
  progress.finish();
  if (sink.rows === 0 && options.planned.length > 0) {
    sink.suspend();
    removePartial(paths);
    throw new UserError(paths.final, `no sample could be attributed (${skipped.length} skipped as unreadable)`);
  }
  sink.commit();
  removePartial(paths);
  return { rows: sink.rows, computed: sink.rows - startRows, skipped, seconds: (Date.now() - began) / 1000 };
}
