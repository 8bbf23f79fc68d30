import type { CategoryAnalysis } from '../../io/analysis.js';

/** A decoded RGB image (what the dataset gives for display). */
export interface RgbImage {
  width: number;
  height: number;
  /** height × width × 3 bytes, row-major. */
  data: Uint8Array;
}

/** One attribution map in channels-first layout, with the row's label and model output. */
export interface AttributionMap {
  data: Float32Array;
  shape: [number, number, number];
  label: number;
  prediction: Float32Array;
}

export interface ClassLabel {
  index: number;
  wordNetId: string;
  name: string;
}

/** The `suspicion` and `suspicion_k` attributes spray writes on a category group. */
export interface CategorySuspicion {
  score: number;
  groups: number;
}

/**
 * An analysis method as the viewer lists it: project entries and source files of the same name
 * merged (first file holding a category wins), categories read on first use.
 */
export interface ViewerAnalysis {
  name: string;
  /** Category names, in source order then HDF5 key order. */
  categories: string[];
  /** Number of samples of a category (its `index` length). */
  categoryCount(name: string): number;
  /** spray's suspicion score of a category and its number of groups, or undefined (ViRelAy's tools write none). */
  categorySuspicion(name: string): CategorySuspicion | undefined;
  category(name: string): CategoryAnalysis | undefined;
}

/**
 * What the server needs from a loaded project, independent of how the files are read. Keeping
 * this narrow lets the routes be tested and reasoned about without HDF5 details.
 */
export interface ViewerProject {
  /** URL-safe, unique among the served projects (derived from the project name). */
  id: string;
  name: string;
  model: string;
  /** The project file as given on the command line. */
  file: string;
  dataset: { name: string; type: string; count: number };
  attribution: { method: string; strategy: string; count: number } | undefined;
  labels: ClassLabel[];
  analyses: ViewerAnalysis[];
  /** Changes whenever a referenced file changes (size or mtime); part of every ETag. */
  fingerprint: string;
  labelName(classIndex: number): string | undefined;
  /** Category display name: the label-map name for the category's WordNet id, or ''. */
  categoryLabel(category: string): string;
  /** True label(s) of a dataset sample. */
  sampleLabels(index: number): number[];
  /** Row of the attribution of a sample (first source that claims it), or -1. */
  attributionRow(index: number): number;
  readAttribution(row: number): Promise<AttributionMap>;
  /** Model output of an attribution row (cheap: no attribution map is read). */
  readPrediction(row: number): Promise<Float32Array>;
  readImage(index: number): Promise<RgbImage>;
  close(): void;
}
