/**
 * Where `attribute` gets its samples: HDF5 datasets in ViRelAy's layout through the io readers
 * (images: (N, C, H, W) / (N, H, W, C), either layout), plus flat feature vectors (N, F) for tabular
 * models, which the image-oriented readers do not take.
 */
import { UserError } from '../errors.js';
import { openDataset } from '../io/dataset.js';
import { refuseNonFiniteInput } from '../io/non-finite.js';
import { h5Call, kindOf, openH5, readFloat32, readInt32, requireDataset, shapeOf, type H5File } from '../io/hdf5.js';

/** Rows start..end of a stored dataset (not the engine's SampleBatch, which carries sample indices). */
export interface RowBatch {
  data: Float32Array;
  /** One label per row (−1 where a row has none). */
  labels: Int32Array;
  /** n-hot rows (B × K) for multi-label data. */
  multiLabels?: Uint8Array;
}

/** A stored dataset read by row ranges (the engine's SampleSource loads by sample index). */
export interface RowRangeSource {
  readonly path: string;
  readonly count: number;
  readonly sampleShape: number[];
  /** [] for one label per sample, [K] for n-hot labels. */
  readonly labelShape: number[];
  read(start: number, end: number): Promise<RowBatch>;
  close(): void;
}

/** Flat feature vectors: `data` (N, F) float, `label` (N,) integers. */
async function openFeatureArrays(path: string, file: H5File): Promise<RowRangeSource> {
  const data = requireDataset(path, file, 'data');
  const [count, features] = shapeOf(data) as [number, number];
  if (kindOf(file, 'label') !== 'dataset') throw new UserError(path, "missing dataset 'label'");
  const labelSet = requireDataset(path, file, 'label');
  const labelShape = shapeOf(labelSet);
  if (labelShape[0] !== count || labelShape.length > 2)
    throw new UserError(path, `'label' has shape (${labelShape.join(', ')}), expected (${count},) or (${count}, K)`);
  const width = labelShape[1] ?? 1;
  return {
    path,
    count,
    sampleShape: [features],
    labelShape: labelShape.slice(1),
    async read(start, end) {
      const rows = readFloat32(path, data, [[start, end], []]);
      refuseNonFiniteInput(path, rows, features, (r) => start + r);
      const raw = readInt32(path, labelSet, labelShape.length === 1 ? [[start, end]] : [[start, end], []]);
      if (width === 1) return { data: rows, labels: raw };
      const labels = new Int32Array(end - start).fill(-1);
      const multiLabels = new Uint8Array(raw.length);
      for (let r = 0; r < end - start; r++) {
        for (let k = width - 1; k >= 0; k--) {
          if (raw[r * width + k]) {
            multiLabels[r * width + k] = 1;
            labels[r] = k;
          }
        }
      }
      return { data: rows, labels, multiLabels };
    },
    close: () => h5Call(path, 'cannot close', () => file.close()),
  };
}

export async function openRowRangeSource(path: string): Promise<RowRangeSource> {
  const file = await openH5(path, 'r');
  if (kindOf(file, 'data') === 'dataset' && shapeOf(requireDataset(path, file, 'data')).length === 2) {
    return openFeatureArrays(path, file);
  }
  file.close();
  const dataset = await openDataset({ type: 'hdf5', path });
  if (!dataset.sampleShape) {
    dataset.close();
    throw new UserError(path, 'samples have different shapes; attribute needs one fixed input shape');
  }
  const sampleShape = [...dataset.sampleShape];
  return {
    path,
    count: dataset.count,
    sampleShape,
    labelShape: dataset.labelShape,
    async read(start, end) {
      const batch = await dataset.read(Array.from({ length: end - start }, (_, i) => start + i));
      return { data: batch.data, labels: batch.labels, multiLabels: batch.multiLabels };
    },
    close: () => dataset.close(),
  };
}
