/**
 * xai-tools as a library: the engines behind the CLI, for scripts. Everything exported here is the public,
 * semver-stable API (the README's "Library" section); modules not reached from here are internal.
 * Commands are not exported: they parse options and print, the engines below do the work.
 */

// Errors a caller can show as one line (`error.line`).
export { UserError } from './errors.js';

// Formats: datasets, attribution and analysis files, evaluation files, projects, label maps, ONNX models.
export { openDataset, type Batch, type Dataset, type DatasetSpec } from './io/dataset.js';
export { Hdf5DatasetWriter, writeGroupDataset, type Hdf5DatasetWriterOptions } from './io/dataset-hdf5.js';
export {
  AttributionWriter,
  openAttributionReader,
  openAttributionSet,
  type AttributionBatch,
  type AttributionReader,
  type AttributionWriterOptions,
} from './io/attribution.js';
export { AnalysisWriter, openAnalysis, readAnalysis, type AnalysisFile, type AnalysisFileReader, type CategoryAnalysis } from './io/analysis.js';
export { readEvaluation, type EvaluationFile } from './io/evaluation.js';
export { checkProject, formatProject, parseProject, readProject, writeProject, type Project, type ProjectSummary } from './io/project.js';
export { LabelMap, parseLabelMap, readLabelMap, writeLabelMap, type LabelEntry } from './io/labelmap.js';
export { decodeModel, encodeModel, readModel, writeModel } from './onnx/codec.js';
export type { Model } from './onnx/ir.js';

// Attribution: compile a model with a composite or rule map into one onnxruntime graph, run it on arrays
// (`attributor.run`) or a whole dataset (`attributeBatches`).
export { canonize, type CanonizeOptions } from './lrp/canonize/index.js';
export { compileAttributor, type AttributorOptions, type CompiledAttributor, type Target } from './lrp/engine.js';
export { buildComposite, COMPOSITE_NAMES, type CompositeParams, type RuleSpec } from './lrp/composites.js';
export { attributeBatches, createAttributor, type AttributeDatasetOptions, type AttributedBatch } from './api/attribute.js';
export type { Device } from './onnx/ort.js';

// SpRAy: the pipeline on arrays (`analyseCategory`) or on attribution files (`runSprayJob`), with its cache.
export { DEFAULT_SPRAY, analyseCategory, sprayPipeline, suspicionScore, type SprayOptions } from './processors/spray.js';
export { runSprayJob, type CategoryReport, type RunSprayOptions, type RunSprayResult } from './jobs/spray.js';
export { H5Cache, MemoryStorage } from './processors/cache.js';
export { silentProgress, type Progress } from './util/progress.js';

// Heatmaps: colour maps, palette PNGs, overlays.
export { colorMapPreviewPng, renderHeatmapPng, renderOverlayRgb, heatmapIndices, type HeatmapPngOptions } from './render/index.js';

// Viewer: load project files and serve them (the returned viewer has `url` and `close()`).
export { serveProjects, type ServeOptions, type ServedViewer } from './api/viewer.js';
