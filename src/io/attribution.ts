/**
 * Attribution database (docs/formats.md §4): `attribution` float32 (M, C, H, W), `label` uint16 (M,) or
 * n-hot (M, K), `prediction` float32 (M, K) and optional `index` uint32 (M,).
 *
 * The writer streams: every dataset is chunked and resizable, and each `append` grows them by one
 * batch, so writing N samples needs memory for one batch. It writes a temporary file beside the target
 * and renames it into place on `commit`, so a crash never leaves a half-written file under the final name.
 */
import type { Dataset, Group, H5File } from './hdf5.js';
import {
  asUserError,
  checkOutputPath,
  createTemporaryH5,
  dtypeName,
  h5Call,
  kindOf,
  numericKind,
  openH5,
  readFloat32,
  readInt32,
  readRaw,
  requireDataset,
  requireGroup,
  shapeOf,
  sizeOf,
  sortedKeys,
  TemporaryH5Writer,
} from './hdf5.js';
import { UserError } from '../errors.js';
import { temporaryPathFor } from '../util/atomic.js';
import { chwShape, firstLabels, guessAxisOrder, toChwFloat, type AxisOrder } from './layout.js';
import { checkDeclaredAgainstFile } from './declared-size.js';

export interface AttributionWriterOptions {
  /** Shape of one attribution, normally [C, H, W] with the input's channels (C > 1, see docs/formats.md §4.1). */
  sampleShape: number[];
  /** Length of each prediction row. */
  numClasses: number;
  /** Write an `index` dataset (required whenever rows are not exactly samples 0..M-1). */
  withIndex: boolean;
  /** [] (default) for one integer label per row, stored uint16; [K] for n-hot rows, stored uint8. */
  labelShape?: number[];
  /**
   * Resumable runs (src/run): write here instead of a temporary beside `path`. The file is not removed
   * on interrupt (`suspend` keeps it) so `reopen` can continue it; `commit` still renames it to `path`.
   */
  partialPath?: string;
}

export interface AttributionBatch {
  attribution: Float32Array;
  /** One label per row (single-label), or B×K n-hot values (multi-label). */
  label: Int32Array | Float32Array;
  prediction: Float32Array;
  /** Dataset sample index of each row; required exactly when the writer was created `withIndex`. */
  index?: Int32Array;
}

/** Largest chunk we aim for: fits HDF5's default 1 MiB chunk cache, so partial-chunk appends stay in memory. */
const TARGET_CHUNK_BYTES = 1 << 20;

function rowsPerChunk(rowBytes: number): number {
  return Math.max(1, Math.min(4096, Math.floor(TARGET_CHUNK_BYTES / Math.max(1, rowBytes))));
}

export function createGrowable(file: H5File, name: string, rowShape: number[], dtype: string, bytesPerElement: number): Dataset {
  const chunkRows = rowsPerChunk(sizeOf(rowShape) * bytesPerElement);
  return file.create_dataset({
    name,
    data: new Uint8Array(0),
    shape: [0, ...rowShape],
    maxshape: [null, ...rowShape],
    chunks: [chunkRows, ...rowShape],
    dtype,
  });
}

export class AttributionWriter extends TemporaryH5Writer {
  /** Rows appended so far. */
  rows = 0;
  private readonly rowSize: number;
  private readonly labelWidth: number;

  private constructor(
    path: string,
    tmpPath: string,
    file: H5File,
    private readonly options: Required<AttributionWriterOptions>,
    private readonly datasets: { attribution: Dataset; label: Dataset; prediction: Dataset; index?: Dataset },
  ) {
    super(path, tmpPath, file);
    this.rowSize = sizeOf(options.sampleShape);
    this.labelWidth = sizeOf(options.labelShape);
  }

  static async create(path: string, options: AttributionWriterOptions): Promise<AttributionWriter> {
    const labelShape = options.labelShape ?? [];
    if (options.sampleShape.length === 0 || options.sampleShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`invalid attribution sample shape [${options.sampleShape.join(', ')}]`);
    }
    if (!Number.isInteger(options.numClasses) || options.numClasses < 1) throw new Error(`invalid class count ${options.numClasses}`);
    if (labelShape.length > 1) throw new Error('labels are scalars or 1-D n-hot vectors');
    checkOutputPath(path);
    const resumable = options.partialPath !== undefined;
    const tmp = options.partialPath ?? temporaryPathFor(path);
    return createTemporaryH5(tmp, !resumable, (h5) => {
      // Keys are created in byte order so listing order and creation order agree (docs/formats.md §7, item 6).
      const datasets = h5Call(path, 'cannot create datasets', () => {
        const attribution = createGrowable(h5, 'attribution', options.sampleShape, '<f4', 4);
        const index = options.withIndex ? createGrowable(h5, 'index', [], '<I', 4) : undefined;
        const label = labelShape.length === 0 ? createGrowable(h5, 'label', [], '<H', 2) : createGrowable(h5, 'label', labelShape, '<B', 1);
        const prediction = createGrowable(h5, 'prediction', [options.numClasses], '<f4', 4);
        return { attribution, label, prediction, index };
      });
      return new AttributionWriter(path, tmp, h5, { ...options, labelShape, partialPath: options.partialPath ?? '' }, datasets);
    });
  }

  /** Appends one batch of rows (memory: the batch only). */
  append(batch: AttributionBatch): void {
    if (this.closed) throw new Error('append after commit/abort');
    const b = batch.attribution.length / this.rowSize;
    if (!Number.isInteger(b))
      throw new Error(`attribution batch of ${batch.attribution.length} values is not a whole number of [${this.options.sampleShape.join(', ')}] rows`);
    if (b === 0) return;
    const expectLabels = b * this.labelWidth;
    if (batch.label.length !== expectLabels) throw new Error(`label batch has ${batch.label.length} values, expected ${expectLabels}`);
    if (batch.prediction.length !== b * this.options.numClasses)
      throw new Error(`prediction batch has ${batch.prediction.length} values, expected ${b * this.options.numClasses}`);
    if (this.options.withIndex !== (batch.index !== undefined))
      throw new Error(this.options.withIndex ? 'this writer needs an index for every batch' : 'this writer was created without an index dataset');
    if (batch.index && batch.index.length !== b) throw new Error(`index batch has ${batch.index.length} values, expected ${b}`);

    const start = this.rows;
    const end = start + b;
    const labels = this.encodeLabels(batch.label);
    h5Call(this.path, 'cannot append rows', () => {
      const { attribution, label, prediction, index } = this.datasets;
      attribution.resize([end, ...this.options.sampleShape]);
      attribution.write_slice([[start, end]], batch.attribution);
      label.resize([end, ...this.options.labelShape]);
      label.write_slice([[start, end]], labels);
      prediction.resize([end, this.options.numClasses]);
      prediction.write_slice([[start, end]], batch.prediction);
      if (index && batch.index) {
        for (const v of batch.index) if (v < 0) throw new Error(`negative sample index ${v}`);
        index.resize([end]);
        index.write_slice([[start, end]], new Uint32Array(batch.index.buffer, batch.index.byteOffset, batch.index.length));
      }
    });
    this.rows = end;
  }

  private encodeLabels(label: Int32Array | Float32Array): Uint16Array | Uint8Array {
    if (this.labelWidth === 1 && this.options.labelShape.length === 0) {
      const out = new Uint16Array(label.length);
      for (let i = 0; i < label.length; i++) {
        const v = label[i]!;
        if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`label ${v} is not a class index in 0..65535`);
        out[i] = v;
      }
      return out;
    }
    const out = new Uint8Array(label.length);
    for (let i = 0; i < label.length; i++) out[i] = label[i] ? 1 : 0;
    return out;
  }

  /**
   * Reopens a partial file written with `partialPath` and cuts it back to its first `rows` rows (rows
   * past that belong to a batch whose write a kill interrupted). Appends then continue after them.
   */
  static async reopen(path: string, options: AttributionWriterOptions & { partialPath: string }, rows: number): Promise<AttributionWriter> {
    const labelShape = options.labelShape ?? [];
    const tmp = options.partialPath;
    const file = await openH5(tmp, 'a');
    try {
      const datasets = {
        attribution: requireDataset(tmp, file, 'attribution'),
        label: requireDataset(tmp, file, 'label'),
        prediction: requireDataset(tmp, file, 'prediction'),
        index: options.withIndex ? requireDataset(tmp, file, 'index') : undefined,
      };
      const expected: Array<[Dataset | undefined, number[]]> = [
        [datasets.attribution, options.sampleShape],
        [datasets.label, labelShape],
        [datasets.prediction, [options.numClasses]],
        [datasets.index, []],
      ];
      for (const [ds, rowShape] of expected) {
        if (!ds) continue;
        const shape = shapeOf(ds);
        if (shape.length !== rowShape.length + 1 || rowShape.some((d, i) => shape[i + 1] !== d)) {
          throw new UserError(tmp, `'${ds.path}' has shape (${shape.join(', ')}), which does not fit this run; start over with --overwrite`);
        }
        if (shape[0]! < rows)
          throw new UserError(tmp, `'${ds.path}' has ${shape[0]} rows, fewer than the ${rows} recorded as finished; start over with --overwrite`);
      }
      h5Call(tmp, 'cannot cut back unfinished rows', () => {
        for (const [ds, rowShape] of expected) if (ds && shapeOf(ds)[0] !== rows) ds.resize([rows, ...rowShape]);
      });
      const writer = new AttributionWriter(path, tmp, file, { ...options, labelShape }, datasets);
      writer.rows = rows;
      return writer;
    } catch (error) {
      file.close();
      throw error;
    }
  }
}

/** Rows read from an attribution database. */
export interface AttributionRows {
  /** B × C × H × W float32 (channels first even when stored channels-last). */
  attribution: Float32Array;
  /** B labels (single-label) or B × K n-hot values (multi-label, see `labelShape`). */
  label: Int32Array | Float32Array;
  /** B × numClasses. */
  prediction: Float32Array;
  /** Dataset sample index of each row. */
  index: Int32Array;
}

export interface AttributionReader {
  /** The file(s) read. */
  readonly paths: string[];
  /** Number of rows (M). */
  readonly count: number;
  /** Shape of one attribution as read: [C, H, W] for image attributions. */
  readonly sampleShape: number[];
  readonly numClasses: number;
  readonly hasIndex: boolean;
  /** [] for single labels, [K] for n-hot labels. */
  readonly labelShape: number[];
  /** Dataset sample index of each row: the `index` dataset, or 0..count-1. */
  indices(): Int32Array;
  /** One label per row (the first label of an n-hot row, -1 when it has none). */
  labels(): Int32Array;
  predictions(start: number, end: number): Float32Array;
  read(start: number, end: number): AttributionRows;
  close(): void;
}

/** How the rows of one file are stored: flat datasets (docs/formats.md §4.1) or per-key groups (§4.3). */
interface RowStore {
  count: number;
  sampleShape: number[];
  labelShape: number[];
  numClasses: number;
  attribution(start: number, end: number): Float32Array;
  labelsRaw(start: number, end: number): ArrayLike<number>;
  prediction(start: number, end: number): Float32Array;
}

function checkLabelDataset(path: string, ds: Dataset, rows: number | undefined, where: string): number[] {
  const shape = shapeOf(ds);
  const kind = numericKind(ds.metadata);
  if (!kind) throw new UserError(path, `'${where}' has dtype ${dtypeName(ds.metadata)}, expected integer labels or n-hot rows`);
  const perRow = rows === undefined ? shape : shape.slice(1);
  if (rows !== undefined && shape[0] !== rows) throw new UserError(path, `'${where}' has ${shape[0] ?? 0} rows, but 'attribution' has ${rows}`);
  if (perRow.length > 1) throw new UserError(path, `'${where}' has shape (${shape.join(', ')}); expected (M,) labels or (M, K) n-hot rows`);
  if (perRow.length === 0 && kind === 'float') throw new UserError(path, `'${where}' holds float scalar labels; use an integer dtype (uint16) or n-hot rows`);
  return perRow;
}

function arrayStore(path: string, file: H5File): RowStore {
  const attribution = requireDataset(path, file, 'attribution');
  const label = requireDataset(path, file, 'label');
  const prediction = requireDataset(path, file, 'prediction');
  const aShape = shapeOf(attribution);
  if (aShape.length < 2) throw new UserError(path, `'attribution' has shape (${aShape.join(', ')}); expected (M, C, H, W)`);
  if (numericKind(attribution.metadata) === undefined || numericKind(attribution.metadata) === 'bool') {
    throw new UserError(path, `'attribution' has dtype ${dtypeName(attribution.metadata)}, expected float32`);
  }
  for (const ds of [attribution, label, prediction]) checkDeclaredAgainstFile(path, ds);
  const count = aShape[0]!;
  const labelShape = checkLabelDataset(path, label, count, 'label');
  const pShape = shapeOf(prediction);
  if (pShape.length !== 2 || pShape[0] !== count) {
    throw new UserError(path, `'prediction' has shape (${pShape.join(', ')}); expected (${count}, K) to match 'attribution'`);
  }
  if (numericKind(prediction.metadata) === undefined) throw new UserError(path, `'prediction' has dtype ${dtypeName(prediction.metadata)}, expected float32`);
  const stored = aShape.slice(1);
  const order: AxisOrder | undefined = stored.length === 3 ? guessAxisOrder(stored) : undefined;
  const sampleShape = order ? chwShape(stored, order) : stored;
  return {
    count,
    sampleShape,
    labelShape,
    numClasses: pShape[1]!,
    attribution: (start, end) => {
      const values = readFloat32(path, attribution, [[start, end]]);
      return order ? toChwFloat(values, end - start, stored, order) : values;
    },
    labelsRaw: (start, end) => readRaw(path, label, [[start, end]]),
    prediction: (start, end) => readFloat32(path, prediction, [[start, end]]),
  };
}

function groupStore(path: string, file: H5File): RowStore {
  const attribution = requireGroup(path, file, 'attribution');
  const label = requireGroup(path, file, 'label');
  const prediction = requireGroup(path, file, 'prediction');
  const keys = sortedKeys(attribution);
  for (const [name, group] of [
    ['label', label],
    ['prediction', prediction],
  ] as Array<[string, Group]>) {
    const other = sortedKeys(group);
    if (other.length !== keys.length || other.some((k, i) => k !== keys[i])) {
      throw new UserError(path, `group '${name}' does not hold the same keys as group 'attribution'`);
    }
  }
  if (keys.length === 0) throw new UserError(path, "group 'attribution' is empty");
  const member = (group: Group, key: string): Dataset => requireDataset(path, group, key);
  const first = member(attribution, keys[0]!);
  const stored = shapeOf(first);
  const order: AxisOrder | undefined = stored.length === 3 ? guessAxisOrder(stored) : undefined;
  const sampleShape = order ? chwShape(stored, order) : stored;
  const labelShape = checkLabelDataset(path, member(label, keys[0]!), undefined, `label/${keys[0]}`);
  const pShape = shapeOf(member(prediction, keys[0]!));
  const numClasses = sizeOf(pShape);
  const rowsOf = <T>(
    start: number,
    end: number,
    read: (key: string) => ArrayLike<number>,
    width: number,
    make: (n: number) => T & { set(a: ArrayLike<number>, o: number): void },
  ): T => {
    const out = make((end - start) * width);
    for (let r = start; r < end; r++) {
      const values = read(keys[r]!);
      if (values.length !== width) throw new UserError(path, `member '${keys[r]}' has ${values.length} values, expected ${width} like the first member`);
      out.set(values, (r - start) * width);
    }
    return out;
  };
  return {
    count: keys.length,
    sampleShape,
    labelShape,
    numClasses,
    attribution: (start, end) =>
      rowsOf(
        start,
        end,
        (k) => {
          const values = readFloat32(path, member(attribution, k));
          return order ? toChwFloat(values, 1, stored, order) : values;
        },
        sizeOf(sampleShape),
        (n) => new Float32Array(n),
      ),
    labelsRaw: (start, end) =>
      rowsOf(
        start,
        end,
        (k) => readRaw(path, member(label, k)),
        Math.max(1, sizeOf(labelShape)),
        (n) => new Float64Array(n),
      ),
    prediction: (start, end) =>
      rowsOf(
        start,
        end,
        (k) => readFloat32(path, member(prediction, k)),
        numClasses,
        (n) => new Float32Array(n),
      ),
  };
}

class FileAttributionReader implements AttributionReader {
  readonly paths: string[];
  readonly count: number;
  readonly sampleShape: number[];
  readonly numClasses: number;
  readonly hasIndex: boolean;
  readonly labelShape: number[];
  private cachedIndices: Int32Array | undefined;

  constructor(
    private readonly path: string,
    private readonly file: H5File,
    private readonly store: RowStore,
    private readonly indexDataset: Dataset | undefined,
  ) {
    this.paths = [path];
    this.count = store.count;
    this.sampleShape = store.sampleShape;
    this.numClasses = store.numClasses;
    this.labelShape = store.labelShape;
    this.hasIndex = indexDataset !== undefined;
  }

  indices(): Int32Array {
    if (!this.cachedIndices) {
      if (this.indexDataset) {
        const values = readInt32(this.path, this.indexDataset);
        for (const v of values) if (v < 0) throw new UserError(this.path, `'index' holds the negative sample index ${v}`);
        this.cachedIndices = values;
      } else {
        this.cachedIndices = Int32Array.from({ length: this.count }, (_, i) => i);
      }
    }
    return this.cachedIndices;
  }

  labels(): Int32Array {
    return h5Call(this.path, 'corrupt HDF5 file', () => this.labelRange(0, this.count));
  }

  private labelRange(start: number, end: number): Int32Array {
    const raw = this.store.labelsRaw(start, end);
    if (this.labelShape.length === 0) return Int32Array.from(raw as ArrayLike<number>);
    return firstLabels(raw, end - start, this.labelShape[0]!);
  }

  predictions(start: number, end: number): Float32Array {
    this.checkRange(start, end);
    return this.store.prediction(start, end);
  }

  read(start: number, end: number): AttributionRows {
    this.checkRange(start, end);
    return h5Call(this.path, 'corrupt HDF5 file', () => this.readRows(start, end));
  }

  private readRows(start: number, end: number): AttributionRows {
    const raw = this.store.labelsRaw(start, end);
    const label = this.labelShape.length === 0 ? Int32Array.from(raw as ArrayLike<number>) : Float32Array.from(raw as ArrayLike<number>);
    return {
      attribution: this.store.attribution(start, end),
      label,
      prediction: this.store.prediction(start, end),
      index: this.indices().slice(start, end),
    };
  }

  private checkRange(start: number, end: number): void {
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= this.count && start <= end)) {
      throw new RangeError(`rows [${start}, ${end}) outside [0, ${this.count})`);
    }
  }

  close(): void {
    this.file.close();
  }
}

/** Opens one attribution database (array or group layout) for reading. */
export async function openAttributionReader(path: string): Promise<AttributionReader> {
  const file = await openH5(path, 'r');
  try {
    const store = kindOf(file, 'attribution') === 'group' ? groupStore(path, file) : arrayStore(path, file);
    let index: Dataset | undefined;
    if (kindOf(file, 'index') !== 'missing') {
      index = requireDataset(path, file, 'index');
      const shape = shapeOf(index);
      const kind = numericKind(index.metadata);
      if (kind !== 'int' && kind !== 'uint') throw new UserError(path, `'index' has dtype ${dtypeName(index.metadata)}, expected an integer type (uint32)`);
      if (shape.length !== 1 || shape[0] !== store.count) throw new UserError(path, `'index' has shape (${shape.join(', ')}), expected (${store.count},)`);
    }
    return new FileAttributionReader(path, file, store, index);
  } catch (error) {
    file.close();
    throw asUserError(path, error);
  }
}

/** Several attribution files (shards) read as one: rows in file order. */
class AttributionSet implements AttributionReader {
  readonly paths: string[];
  readonly count: number;
  readonly sampleShape: number[];
  readonly numClasses: number;
  readonly hasIndex: boolean;
  readonly labelShape: number[];
  private readonly starts: number[];

  constructor(private readonly parts: AttributionReader[]) {
    const first = parts[0]!;
    for (const part of parts.slice(1)) {
      const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
      if (!same(part.sampleShape, first.sampleShape))
        throw new UserError(
          part.paths[0],
          `attribution shape [${part.sampleShape.join(', ')}] differs from [${first.sampleShape.join(', ')}] in ${first.paths[0]}`,
        );
      if (part.numClasses !== first.numClasses)
        throw new UserError(part.paths[0], `predictions have ${part.numClasses} classes, ${first.paths[0]} has ${first.numClasses}`);
    }
    this.paths = parts.flatMap((p) => p.paths);
    this.sampleShape = first.sampleShape;
    this.numClasses = first.numClasses;
    // Shards may mix scalar and n-hot labels (ViRelAy accepts both per file); the set then speaks scalars.
    const shapes = new Set(parts.map((p) => p.labelShape.join(',')));
    this.labelShape = shapes.size === 1 ? first.labelShape : [];
    this.hasIndex = parts.some((p) => p.hasIndex);
    this.starts = [];
    let total = 0;
    for (const part of parts) {
      this.starts.push(total);
      total += part.count;
    }
    this.count = total;
  }

  private concat<T extends Int32Array | Float32Array>(pieces: T[], make: (n: number) => T): T {
    const out = make(pieces.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const piece of pieces) {
      out.set(piece, offset);
      offset += piece.length;
    }
    return out;
  }

  /** Calls `read(part, localStart, localEnd)` for every part the global row range [start, end) touches. */
  private pieces<T>(start: number, end: number, read: (part: AttributionReader, s: number, e: number) => T): T[] {
    if (!(start >= 0 && end <= this.count && start <= end)) throw new RangeError(`rows [${start}, ${end}) outside [0, ${this.count})`);
    const out: T[] = [];
    this.parts.forEach((part, i) => {
      const s = Math.max(start, this.starts[i]!) - this.starts[i]!;
      const e = Math.min(end, this.starts[i]! + part.count) - this.starts[i]!;
      if (e > s) out.push(read(part, s, e));
    });
    return out;
  }

  indices(): Int32Array {
    return this.concat(
      this.parts.map((p) => p.indices()),
      (n) => new Int32Array(n),
    );
  }

  labels(): Int32Array {
    return this.concat(
      this.parts.map((p) => p.labels()),
      (n) => new Int32Array(n),
    );
  }

  predictions(start: number, end: number): Float32Array {
    return this.concat(
      this.pieces(start, end, (p, s, e) => p.predictions(s, e)),
      (n) => new Float32Array(n),
    );
  }

  read(start: number, end: number): AttributionRows {
    const rows = this.pieces(start, end, (p, s, e) => p.read(s, e));
    const multi = this.labelShape.length > 0;
    return {
      attribution: this.concat(
        rows.map((r) => r.attribution),
        (n) => new Float32Array(n),
      ),
      label: multi
        ? this.concat(
            rows.map((r) => r.label as Float32Array),
            (n) => new Float32Array(n),
          )
        : this.concat(
            rows.map((r) => (r.label instanceof Int32Array ? r.label : firstLabels(r.label, r.index.length, r.label.length / Math.max(1, r.index.length)))),
            (n) => new Int32Array(n),
          ),
      prediction: this.concat(
        rows.map((r) => r.prediction),
        (n) => new Float32Array(n),
      ),
      index: this.concat(
        rows.map((r) => r.index),
        (n) => new Int32Array(n),
      ),
    };
  }

  close(): void {
    for (const part of this.parts) part.close();
  }
}

/** Opens several attribution files as one reader (rows in file order); one path gives a plain reader. */
export async function openAttributionSet(paths: string[]): Promise<AttributionReader> {
  if (paths.length === 0) throw new UserError(undefined, 'no attribution files given');
  const parts: AttributionReader[] = [];
  try {
    for (const path of paths) parts.push(await openAttributionReader(path));
    return parts.length === 1 ? parts[0]! : new AttributionSet(parts);
  } catch (error) {
    for (const part of parts) part.close();
    throw error;
  }
}
