/**
 * Input datasets: one interface over HDF5 files (array and group layout, docs/formats.md §3), ViRelAy
 * image directories (§6) and torchvision ImageFolder trees (`root/<class>/<image>`).
 */
import type { LabelMap } from './labelmap.js';
import type { RgbImage } from './pixels.js';
import { openHdf5Dataset } from './dataset-hdf5.js';
import { openImageDirectory, openImageFolder } from './dataset-images.js';

export type { RgbImage } from './pixels.js';

import type { DownSamplingMethod, UpSamplingMethod } from './sampling-methods.js';

export { DOWN_SAMPLING_METHODS, UP_SAMPLING_METHODS, type DownSamplingMethod, type UpSamplingMethod } from './sampling-methods.js';

export interface DatasetSpec {
  type: 'hdf5' | 'image_directory' | 'image_folder';
  /** HDF5 file or image root directory (absolute or relative to the CWD). */
  path: string;
  /** Image datasets: target size (ViRelAy compares input_width with rows, input_height with columns). */
  inputWidth?: number;
  inputHeight?: number;
  upSamplingMethod?: UpSamplingMethod;
  downSamplingMethod?: DownSamplingMethod;
  /** image_directory: exactly one of the two regexes (Python syntax, matched at the start of the full path). */
  labelIndexRegex?: string | null;
  labelWordNetIdRegex?: string | null;
  /** image_directory with a WordNet-ID regex needs the label map to resolve captures. */
  labelMap?: LabelMap;
}

export interface Batch {
  /** Sample index of each row. */
  indices: Int32Array;
  /** B × C × H × W float32 (HDF5 floats as stored, uint8 pixels / 255, decoded images in [0, 1]). */
  data: Float32Array;
  shape: [number, number, number, number];
  /** One label per row (the first label for multi-label data, -1 when a row has none). */
  labels: Int32Array;
  /** Multi-label data only: B × K n-hot bytes. */
  multiLabels?: Uint8Array;
}

export interface Dataset {
  readonly path: string;
  /** Number of samples (N). */
  readonly count: number;
  /** [C, H, W] when every sample has it; undefined for datasets of mixed sizes. */
  readonly sampleShape: [number, number, number] | undefined;
  /** [] for one label per sample, [K] for n-hot labels. */
  readonly labelShape: number[];
  /** One label per sample (first label for multi-label data). */
  labels(): Int32Array;
  /** Every label of one sample. */
  labelSet(index: number): number[];
  read(indices: number[]): Promise<Batch>;
  /** `indices` (default: all samples, in order) in batches; checks for Ctrl-C between batches. */
  batches(indices: number[] | undefined, batchSize: number): AsyncIterable<Batch>;
  /** The sample as RGB bytes, interpreted as ViRelAy shows it (for overlays and the viewer). */
  readImageForDisplay(index: number): Promise<RgbImage>;
  close(): void;
}

/** Opens any supported dataset. */
export async function openDataset(spec: DatasetSpec): Promise<Dataset> {
  switch (spec.type) {
    case 'hdf5':
      return openHdf5Dataset(spec.path);
    case 'image_directory':
      return openImageDirectory(spec);
    case 'image_folder':
      return openImageFolder(spec);
  }
}
