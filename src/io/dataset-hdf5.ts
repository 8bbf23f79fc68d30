/**
 * HDF5 input datasets (docs/formats.md §3): array layout (`data` (N, C, H, W) or (N, H, W, C), `label`
 * (N,) or n-hot (N, K)) and group layout (`data/<key>`, `label/<key>`, sample i = i-th key in byte order).
 *
 * Model input is float32 CHW: float data as stored, uint8 pixels divided by 255.
 */
import type { Dataset as H5Dataset, Group, H5File } from './hdf5.js';
import {
  asUserError,
  checkOutputPath,
  createTemporaryH5,
  dtypeName,
  h5Call,
  kindOf,
  numericKind,
  openH5,
  readRaw,
  requireDataset,
  requireGroup,
  shapeOf,
  sizeOf,
  sortedKeys,
  TemporaryH5Writer,
} from './hdf5.js';
import { UserError } from '../errors.js';
import { temporaryPathFor, writeAtomically } from '../util/atomic.js';
import { chwShape, firstLabels, guessAxisOrder, labelSet, toChwFloat, type AxisOrder } from './layout.js';
import { sampleToRgb, type RgbImage } from './pixels.js';
import type { Batch, Dataset } from './dataset.js';
import { batchesOf, checkIndices } from './dataset-common.js';
import { checkDeclaredAgainstFile } from './declared-size.js';
import { refuseNonFiniteInput } from './non-finite.js';
import { integerPixelScale } from './integer-pixels.js';

interface SampleStore {
  count: number;
  /** [C, H, W] when all samples share it. */
  sampleShape: [number, number, number] | undefined;
  /** Stored samples of `indices` as float CHW plus their shape, or a UserError when shapes differ. */
  read(indices: number[]): { data: Float32Array; shape: [number, number, number] };
  /** One stored sample, raw, with its stored shape. */
  raw(index: number): { values: ArrayLike<number>; shape: number[]; isUint8: boolean };
}

function checkPixelDtype(path: string, ds: H5Dataset, where: string): boolean {
  const kind = numericKind(ds.metadata);
  if (kind === undefined || kind === 'bool') throw new UserError(path, `'${where}' has dtype ${dtypeName(ds.metadata)}, expected float32 or uint8 pixels`);
  return kind === 'uint' && ds.metadata.size === 1;
}

/** Integer pixels other than uint8 are scaled per sample as docs/formats.md §3.3 says (src/io/integer-pixels.ts). */
function pixelScale(
  path: string,
  ds: H5Dataset,
  where: string,
  values: ArrayLike<number>,
  count: number,
  rowSize: number,
  sampleOf: (r: number) => number,
): number {
  const kind = numericKind(ds.metadata);
  if (kind === 'float') return 1;
  if (kind === 'uint' && ds.metadata.size === 1) return 1 / 255;
  return integerPixelScale(path, where, dtypeName(ds.metadata), values, count, rowSize, sampleOf);
}

function checkSampleShape(path: string, shape: number[], where: string): void {
  if (shape.length !== 2 && shape.length !== 3)
    throw new UserError(path, `'${where}' has sample shape (${shape.join(', ')}); expected (C, H, W), (H, W, C) or (H, W)`);
}

/** Splits sorted positions into runs of consecutive values, so each run is one hyperslab read. */
function runs(sorted: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

function arrayStore(path: string, file: H5File): SampleStore {
  const data = requireDataset(path, file, 'data');
  const shape = shapeOf(data);
  if (shape.length < 3) throw new UserError(path, `'data' has shape (${shape.join(', ')}); expected (N, C, H, W) or (N, H, W, C)`);
  const stored = shape.slice(1);
  checkSampleShape(path, stored, 'data');
  const isUint8 = checkPixelDtype(path, data, 'data');
  checkDeclaredAgainstFile(path, data);
  const order: AxisOrder = guessAxisOrder(stored);
  const sampleShape = chwShape(stored, order);
  const rowSize = sizeOf(stored);
  return {
    count: shape[0]!,
    sampleShape,
    read(indices) {
      const sorted = [...new Set(indices)].sort((a, b) => a - b);
      const rows = new Map<number, number>();
      const buffer = new Float32Array(sorted.length * rowSize);
      let filled = 0;
      for (const [start, end] of runs(sorted)) {
        const values = readRaw(path, data, [[start, end]]);
        const scale = pixelScale(path, data, 'data', values, end - start, rowSize, (r) => start + r);
        const chw = toChwFloat(values, end - start, stored, order, scale);
        buffer.set(chw, filled * rowSize);
        for (let i = start; i < end; i++) rows.set(i, filled++);
      }
      const out = new Float32Array(indices.length * rowSize);
      indices.forEach((index, b) => out.set(buffer.subarray(rows.get(index)! * rowSize, (rows.get(index)! + 1) * rowSize), b * rowSize));
      return { data: out, shape: sampleShape };
    },
    raw(index) {
      return { values: readRaw(path, data, [[index, index + 1]]), shape: stored, isUint8 };
    },
  };
}

function groupStore(path: string, file: H5File, keys: string[]): SampleStore {
  const data = requireGroup(path, file, 'data');
  const member = (index: number): { ds: H5Dataset; stored: number[]; isUint8: boolean } => {
    const key = keys[index]!;
    const ds = requireDataset(path, data, key);
    const stored = shapeOf(ds);
    checkSampleShape(path, stored, `data/${key}`);
    return { ds, stored, isUint8: checkPixelDtype(path, ds, `data/${key}`) };
  };
  // The shape is fixed when every member has the same one (checked from metadata only).
  let fixed: [number, number, number] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const { stored } = member(i);
    const chw = chwShape(stored, guessAxisOrder(stored));
    if (i === 0) fixed = chw;
    else if (fixed && chw.some((d, j) => d !== fixed![j])) {
      fixed = undefined;
      break;
    }
  }
  return {
    count: keys.length,
    sampleShape: fixed,
    read(indices) {
      let shape: [number, number, number] | undefined;
      const pieces = indices.map((index) => {
        const { ds, stored } = member(index);
        const chw = chwShape(stored, guessAxisOrder(stored));
        if (shape && chw.some((d, j) => d !== shape![j])) {
          throw new UserError(
            path,
            `samples in one batch have different shapes (${shape.join('×')} and ${chw.join('×')} at '${keys[index]}'); resize them or use batch size 1`,
          );
        }
        shape = chw;
        const values = readRaw(path, ds);
        const scale = pixelScale(path, ds, `data/${keys[index]}`, values, 1, values.length, () => index);
        return toChwFloat(values, 1, stored, guessAxisOrder(stored), scale);
      });
      const size = shape ? sizeOf(shape) : 0;
      const out = new Float32Array(indices.length * size);
      pieces.forEach((p, b) => out.set(p, b * size));
      return { data: out, shape: shape ?? [0, 0, 0] };
    },
    raw(index) {
      const { ds, stored, isUint8 } = member(index);
      return { values: readRaw(path, ds), shape: stored, isUint8 };
    },
  };
}

interface LabelStore {
  /** [] single-label, [K] n-hot. */
  labelShape: number[];
  /** Raw label values of all samples (N, or N×K). */
  values: ArrayLike<number>;
}

function checkLabelKind(path: string, ds: H5Dataset, where: string, perSample: number[]): void {
  const kind = numericKind(ds.metadata);
  if (!kind) throw new UserError(path, `'${where}' has dtype ${dtypeName(ds.metadata)}, expected integer labels`);
  if (perSample.length === 0 && kind === 'float')
    throw new UserError(path, `'${where}' holds float scalar labels; use an integer dtype (uint16) or n-hot rows`);
  if (perSample.length > 1) throw new UserError(path, `'${where}' has a label shape of (${perSample.join(', ')}); expected a scalar or an n-hot vector`);
}

function arrayLabels(path: string, file: H5File, count: number): LabelStore {
  const label = requireDataset(path, file, 'label');
  const shape = shapeOf(label);
  if (shape[0] !== count) throw new UserError(path, `'label' has ${shape[0] ?? 0} entries, but 'data' has ${count} samples`);
  const perSample = shape.slice(1);
  checkLabelKind(path, label, 'label', perSample);
  return { labelShape: perSample, values: readRaw(path, label) };
}

function groupLabels(path: string, file: H5File, keys: string[]): LabelStore {
  const label = requireGroup(path, file, 'label');
  const labelKeys = sortedKeys(label);
  if (labelKeys.length !== keys.length || labelKeys.some((k, i) => k !== keys[i]))
    throw new UserError(path, "groups 'data' and 'label' do not hold the same keys");
  if (keys.length === 0) throw new UserError(path, "group 'label' is empty");
  let labelShape: number[] | undefined;
  const parts: ArrayLike<number>[] = [];
  for (const key of keys) {
    const ds = requireDataset(path, label, key);
    const shape = shapeOf(ds);
    checkLabelKind(path, ds, `label/${key}`, shape);
    if (labelShape && sizeOf(shape) !== sizeOf(labelShape)) throw new UserError(path, `'label/${key}' has shape (${shape.join(', ')}), unlike the first label`);
    labelShape ??= shape.length === 1 && shape[0] === 1 ? [] : shape;
    parts.push(readRaw(path, ds));
  }
  const width = Math.max(1, sizeOf(labelShape!));
  const values = new Float64Array(keys.length * width);
  parts.forEach((p, i) => values.set(p, i * width));
  return { labelShape: labelShape!, values };
}

/** Opens an HDF5 dataset file (either layout). */
export async function openHdf5Dataset(path: string): Promise<Dataset> {
  const file = await openH5(path, 'r');
  try {
    const layout = kindOf(file, 'data');
    if (layout === 'missing') throw new UserError(path, "missing dataset 'data'");
    const keys = layout === 'group' ? sortedKeys(requireGroup(path, file, 'data')) : [];
    if (layout === 'group' && keys.length === 0) throw new UserError(path, "group 'data' is empty");
    const samples = layout === 'group' ? groupStore(path, file, keys) : arrayStore(path, file);
    const labels = kindOf(file, 'label') === 'group' ? groupLabels(path, file, keys) : arrayLabels(path, file, samples.count);
    if (layout === 'group' && kindOf(file, 'label') !== 'group') throw new UserError(path, "'data' is a group, so 'label' must be a group with the same keys");
    return new Hdf5Dataset(path, file, samples, labels);
  } catch (error) {
    file.close();
    throw asUserError(path, error);
  }
}

class Hdf5Dataset implements Dataset {
  readonly count: number;
  readonly sampleShape: [number, number, number] | undefined;
  readonly labelShape: number[];
  private readonly single: Int32Array;

  constructor(
    readonly path: string,
    private readonly file: H5File,
    private readonly samples: SampleStore,
    private readonly labelStore: LabelStore,
  ) {
    this.count = samples.count;
    this.sampleShape = samples.sampleShape;
    this.labelShape = labelStore.labelShape;
    this.single = this.labelShape.length === 0 ? Int32Array.from(labelStore.values) : firstLabels(labelStore.values, this.count, this.labelShape[0]!);
  }

  labels(): Int32Array {
    return this.single;
  }

  labelSet(index: number): number[] {
    return this.labelShape.length === 0 ? [this.single[index]!] : labelSet(this.labelStore.values, index, this.labelShape[0]!);
  }

  async read(indices: number[]): Promise<Batch> {
    checkIndices(this.path, indices, this.count);
    const { data, shape } = h5Call(this.path, 'corrupt HDF5 file', () => this.samples.read(indices));
    refuseNonFiniteInput(this.path, data, sizeOf(shape), (r) => indices[r]!);
    const batch: Batch = {
      indices: Int32Array.from(indices),
      data,
      shape: [indices.length, ...shape],
      labels: Int32Array.from(indices, (i) => this.single[i]!),
    };
    if (this.labelShape.length > 0) {
      const k = this.labelShape[0]!;
      const nHot = new Uint8Array(indices.length * k);
      indices.forEach((i, b) => {
        for (let j = 0; j < k; j++) nHot[b * k + j] = this.labelStore.values[i * k + j] ? 1 : 0;
      });
      batch.multiLabels = nHot;
    }
    return batch;
  }

  batches(indices: number[] | undefined, batchSize: number): AsyncIterable<Batch> {
    return batchesOf(this, indices, batchSize);
  }

  async readImageForDisplay(index: number): Promise<RgbImage> {
    checkIndices(this.path, [index], this.count);
    const { values, shape, isUint8 } = h5Call(this.path, 'corrupt HDF5 file', () => this.samples.raw(index));
    return sampleToRgb(values, shape, isUint8);
  }

  close(): void {
    this.file.close();
  }
}

export interface Hdf5DatasetWriterOptions {
  /** [C, H, W] (channels first, as docs/formats.md §3.3 advises). */
  sampleShape: [number, number, number];
  /** 'float32' for values in [0, 1] (default) or 'uint8' for raw pixels. */
  dtype?: 'float32' | 'uint8';
  /** [] (default) for uint16 labels, [K] for n-hot labels (stored uint8; array layout accepts any numeric n-hot). */
  labelShape?: number[];
}

/** Streams samples into an array-layout dataset file (temporary file renamed into place on commit). */
export class Hdf5DatasetWriter extends TemporaryH5Writer {
  rows = 0;

  private constructor(
    path: string,
    tmpPath: string,
    file: H5File,
    private readonly data: H5Dataset,
    private readonly label: H5Dataset,
    private readonly options: Required<Hdf5DatasetWriterOptions>,
  ) {
    super(path, tmpPath, file);
  }

  static async create(path: string, options: Hdf5DatasetWriterOptions): Promise<Hdf5DatasetWriter> {
    const full = { dtype: 'float32' as const, labelShape: [] as number[], ...options };
    checkOutputPath(path);
    const tmp = temporaryPathFor(path);
    return createTemporaryH5(tmp, true, (h5) => {
      const bytes = full.dtype === 'uint8' ? 1 : 4;
      const chunkRows = Math.max(1, Math.min(4096, Math.floor((1 << 20) / (sizeOf(full.sampleShape) * bytes))));
      const { data, label } = h5Call(path, 'cannot create datasets', () => ({
        data: h5.create_dataset({
          name: 'data',
          data: new Uint8Array(0),
          shape: [0, ...full.sampleShape],
          maxshape: [null, ...full.sampleShape],
          chunks: [chunkRows, ...full.sampleShape],
          dtype: full.dtype === 'uint8' ? '<B' : '<f4',
        }),
        label: h5.create_dataset({
          name: 'label',
          data: new Uint8Array(0),
          shape: [0, ...full.labelShape],
          maxshape: [null, ...full.labelShape],
          chunks: [4096, ...full.labelShape],
          dtype: full.labelShape.length ? '<B' : '<H',
        }),
      }));
      return new Hdf5DatasetWriter(path, tmp, h5, data, label, full);
    });
  }

  /** Appends B samples: `data` B×C×H×W (float32 values or uint8 pixels), `labels` B class indices or B×K n-hot values. */
  append(data: Float32Array | Uint8Array, labels: ArrayLike<number>): void {
    const rowSize = sizeOf(this.options.sampleShape);
    const b = data.length / rowSize;
    const width = Math.max(1, sizeOf(this.options.labelShape));
    if (!Number.isInteger(b) || labels.length !== b * width)
      throw new Error(`batch of ${data.length} values and ${labels.length} labels does not fit sample shape ${this.options.sampleShape.join('×')}`);
    const encoded = this.options.labelShape.length
      ? Uint8Array.from(labels, (v) => (v ? 1 : 0))
      : Uint16Array.from(labels, (v) => {
          if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`label ${v} is not a class index in 0..65535`);
          return v;
        });
    const end = this.rows + b;
    h5Call(this.path, 'cannot append samples', () => {
      this.data.resize([end, ...this.options.sampleShape]);
      this.data.write_slice([[this.rows, end]], this.options.dtype === 'uint8' ? Uint8Array.from(data) : Float32Array.from(data));
      this.label.resize([end, ...this.options.labelShape]);
      this.label.write_slice([[this.rows, end]], encoded);
    });
    this.rows = end;
  }
}

/**
 * Writes a group-layout dataset (docs/formats.md §3.2): `data/<key>` (C, H, W) members of any size and `label/<key>`
 * uint16 scalars. Multi-label group files need `bool` members, which h5wasm cannot create, so they
 * are refused here (the array layout handles multi-label).
 */
export async function writeGroupDataset(
  path: string,
  samples: Array<{ key: string; data: Float32Array | Uint8Array; shape: [number, number, number]; label: number }>,
): Promise<void> {
  const keys = samples.map((s) => s.key);
  if (new Set(keys).size !== keys.length) throw new UserError(path, 'duplicate sample keys');
  const sorted = [...samples].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  await writeAtomically(path, async (tmp) => {
    const file = await openH5(tmp, 'w');
    try {
      h5Call(path, 'cannot write', () => {
        const data: Group = file.create_group('data');
        const label: Group = file.create_group('label');
        for (const s of sorted) {
          if (s.key.includes('/') || s.key === '') throw new UserError(path, `invalid sample key '${s.key}'`);
          if (s.data.length !== sizeOf(s.shape)) throw new Error(`sample '${s.key}' data does not match shape ${s.shape.join('×')}`);
          if (!Number.isInteger(s.label) || s.label < 0 || s.label > 65535)
            throw new UserError(path, `label ${s.label} of '${s.key}' is not a class index in 0..65535`);
          data.create_dataset({ name: s.key, data: s.data, shape: s.shape, dtype: s.data instanceof Uint8Array ? '<B' : '<f4' });
        }
        for (const s of sorted) label.create_dataset({ name: s.key, data: Uint16Array.of(s.label), shape: [], dtype: '<H' });
      });
    } finally {
      file.close();
    }
  });
}
