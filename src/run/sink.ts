import { AttributionWriter, type AttributionWriterOptions } from '../io/attribution.js';
import type { RowSink } from './engine.js';
import type { PartialPaths } from './output.js';

/**
 * Opens the attribution writer over the run's partial file: a new one, or the partial file of an
 * interrupted run cut back to the `resumeRows` rows its journal records as finished.
 */
export async function openAttributionSink(paths: PartialPaths, options: AttributionWriterOptions, resumeRows: number | undefined): Promise<RowSink> {
  const writerOptions = { ...options, partialPath: paths.partial };
  return resumeRows === undefined ? AttributionWriter.create(paths.final, writerOptions) : AttributionWriter.reopen(paths.final, writerOptions, resumeRows);
}
