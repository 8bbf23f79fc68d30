/**
 * Analysis database (docs/formats.md §5): every root key is a category group holding
 *   index               uint32 (n,)    sample indices
 *   embedding/<name>    float32 (n, d) d ≥ 2, attrs: eigenvalue (float32 (m,)), embedding, index
 *   cluster/<name>      int32 (n,)     attrs: k, embedding, index
 * and nothing else lives at the root. Written through a temporary file renamed into place on commit.
 *
 * One file holds one analysis method (ViRelAy has no analysis level inside the file); the method
 * name is kept as the root attribute `analysis_method`, which ViRelAy never reads (it lists keys only).
 */
import { basename, extname } from 'node:path';
import type { Dataset, Group, H5File } from './hdf5.js';
import {
  asUserError,
  checkOutputPath,
  createTemporaryH5,
  compareBytes,
  dtypeName,
  h5Call,
  kindOf,
  numericKind,
  openH5,
  readFloat32,
  readInt32,
  requireDataset,
  requireGroup,
  shapeOf,
  sortedKeys,
  TemporaryH5Writer,
} from './hdf5.js';
import { UserError } from '../errors.js';
import { temporaryPathFor } from '../util/atomic.js';

export type AttrValue = number | string | number[];
export type Attrs = Record<string, AttrValue>;

export interface EmbeddingData {
  name: string;
  /** Row-major n × d. */
  data: Float32Array;
  shape: [number, number];
  /** Eigenvalues in the column order of the embedding (descending for spectral embeddings). */
  eigenvalue?: Float32Array;
  attrs?: Attrs;
}

export interface ClusteringData {
  name: string;
  labels: Int32Array;
  k?: number;
  /** Name of the embedding the clustering was computed on. */
  embedding?: string;
  attrs?: Attrs;
}

export interface CategoryAnalysis {
  name: string;
  /** Sample index of each row. */
  index: Int32Array;
  embeddings: EmbeddingData[];
  clusterings: ClusteringData[];
  attrs?: Attrs;
}

/** Root attribute that records which analysis method the file belongs to. */
export const ANALYSIS_METHOD_ATTR = 'analysis_method';
/** Root attribute of a `spray --shard` file: "I/N" (this file holds the categories of shard I of N). */
export const SHARD_ATTR = 'spray_shard';
/** Root attribute: hash of the attribution rows and spray parameters a file was computed from (shards of one run share it). */
export const FINGERPRINT_ATTR = 'spray_fingerprint';

/** What `spray` records at the root besides the method: which shard a file is and which run it belongs to. */
export interface SprayProvenance {
  shard?: { index: number; count: number };
  fingerprint?: string;
}

export function writeAttrs(target: Dataset | Group, attrs: Attrs | undefined): void {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (typeof value === 'string') target.create_attribute(key, value);
    else if (typeof value === 'number') {
      if (Number.isInteger(value) && Math.abs(value) < 2 ** 31) target.create_attribute(key, value, null, '<i4');
      else target.create_attribute(key, value, null, '<d'); // h5wasm reads struct-module codes: '<d' is float64 ('<f8' would mean float32)
    } else {
      const integral = value.every((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31);
      target.create_attribute(key, integral ? Int32Array.from(value) : Float64Array.from(value), [value.length]);
    }
  }
}

function invalid(file: string, message: string): never {
  throw new UserError(file, message);
}

/** HDF5 names we create must be plain link names (no '/', not '.' or empty). */
function checkName(file: string, what: string, name: string): void {
  if (name === '' || name === '.' || name.includes('/')) invalid(file, `invalid ${what} name '${name}'`);
}

export class AnalysisWriter extends TemporaryH5Writer {
  private analysisName: string | undefined;
  private readonly categories = new Set<string>();
  private memberNames: { embeddings: string[]; clusterings: string[] } | undefined;

  private constructor(path: string, tmpPath: string, file: H5File) {
    super(path, tmpPath, file);
  }

  static async create(path: string, provenance: SprayProvenance = {}): Promise<AnalysisWriter> {
    checkOutputPath(path);
    const tmp = temporaryPathFor(path);
    return createTemporaryH5(tmp, true, (file) => {
      // Root attributes only (ViRelAy lists root keys, never attributes, so they are invisible to it).
      h5Call(path, 'cannot write the root attributes', () => {
        if (provenance.shard) file.create_attribute(SHARD_ATTR, `${provenance.shard.index}/${provenance.shard.count}`);
        if (provenance.fingerprint) file.create_attribute(FINGERPRINT_ATTR, provenance.fingerprint);
      });
      return new AnalysisWriter(path, tmp, file);
    });
  }

  /** Writes one category group now (memory: this category only). */
  addCategory(analysisName: string, category: CategoryAnalysis): void {
    if (this.closed) throw new Error('addCategory after commit/abort');
    if (analysisName.includes('-')) invalid(this.path, `analysis method '${analysisName}' contains '-', which ViRelAy cannot serve (use '_')`);
    if (this.analysisName !== undefined && this.analysisName !== analysisName) {
      throw new Error(`one analysis file holds one method: got '${analysisName}' after '${this.analysisName}'`);
    }
    checkName(this.path, 'category', category.name);
    if (this.categories.has(category.name)) invalid(this.path, `category '${category.name}' written twice`);
    const n = category.index.length;
    for (const v of category.index) if (v < 0) invalid(this.path, `category '${category.name}': negative sample index ${v}`);
    for (const e of category.embeddings) {
      checkName(this.path, 'embedding', e.name);
      if (e.shape[0] !== n) invalid(this.path, `category '${category.name}': embedding '${e.name}' has ${e.shape[0]} rows, index has ${n}`);
      if (e.shape[1] < 2) invalid(this.path, `category '${category.name}': embedding '${e.name}' has ${e.shape[1]} columns; ViRelAy needs at least 2`);
      if (e.data.length !== e.shape[0] * e.shape[1])
        throw new Error(`embedding '${e.name}' data length ${e.data.length} does not match shape ${e.shape.join('×')}`);
    }
    for (const c of category.clusterings) {
      checkName(this.path, 'clustering', c.name);
      if (c.labels.length !== n) invalid(this.path, `category '${category.name}': clustering '${c.name}' has ${c.labels.length} labels, index has ${n}`);
    }
    // ViRelAy takes the embedding and clustering names from the first category only (docs/formats.md §5).
    const names = {
      embeddings: category.embeddings.map((e) => e.name).sort(compareBytes),
      clusterings: category.clusterings.map((c) => c.name).sort(compareBytes),
    };
    if (this.memberNames) {
      const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
      if (!same(names.embeddings, this.memberNames.embeddings) || !same(names.clusterings, this.memberNames.clusterings)) {
        invalid(this.path, `category '${category.name}' has different embedding/clustering names than the first category`);
      }
    } else this.memberNames = names;

    h5Call(this.path, `cannot write category '${category.name}'`, () => {
      if (this.analysisName === undefined) this.file.create_attribute(ANALYSIS_METHOD_ATTR, analysisName);
      this.analysisName = analysisName;
      const group = this.file.create_group(category.name);
      writeAttrs(group, category.attrs);
      // Members created in byte order so creation order and listing order agree (docs/formats.md §7, item 6).
      const embeddingGroup = group.create_group('embedding');
      for (const e of [...category.embeddings].sort((a, b) => compareBytes(a.name, b.name))) {
        const ds = embeddingGroup.create_dataset({ name: e.name, data: e.data, shape: e.shape, dtype: '<f4' });
        if (e.eigenvalue) ds.create_attribute('eigenvalue', e.eigenvalue, [e.eigenvalue.length], '<f4');
        writeAttrs(ds, e.attrs);
      }
      const clusterGroup = group.create_group('cluster');
      for (const c of [...category.clusterings].sort((a, b) => compareBytes(a.name, b.name))) {
        const ds = clusterGroup.create_dataset({ name: c.name, data: c.labels, shape: [n], dtype: '<i4' });
        if (c.embedding !== undefined) ds.create_attribute('embedding', c.embedding);
        if (c.k !== undefined) ds.create_attribute('k', c.k, null, '<i4');
        writeAttrs(ds, c.attrs);
      }
      group.create_dataset({ name: 'index', data: new Uint32Array(category.index.buffer, category.index.byteOffset, n), shape: [n], dtype: '<I' });
    });
    this.categories.add(category.name);
  }

  /** Closes and renames into place. An analysis file without categories is refused (ViRelAy cannot open it). */
  override commit(): void {
    if (!this.closed && this.categories.size === 0) {
      this.abort();
      invalid(this.path, 'no categories to write');
    }
    super.commit();
  }
}

/** Reads an attribute set into plain values (typed arrays → number[], bigint → number). */
export function readAttrs(entity: Dataset | Group, skip: string[] = []): Attrs {
  const out: Attrs = {};
  for (const [key, attr] of Object.entries(entity.attrs)) {
    if (skip.includes(key)) continue;
    const value = attr.value;
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number') out[key] = value;
    else if (typeof value === 'bigint') out[key] = Number(value);
    else if (typeof value === 'boolean') out[key] = value ? 1 : 0;
    else if (ArrayBuffer.isView(value)) out[key] = Array.from(value as unknown as ArrayLike<number | bigint>, Number);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[key] = value.join(',');
  }
  return out;
}

/** A lazily read analysis file: category names now, category data on demand. */
export interface AnalysisFileReader {
  readonly path: string;
  /** The `analysis_method` root attribute, or the file name without extension. */
  readonly analysisName: string;
  /** Category names in HDF5 key order (the order ViRelAy lists them). */
  readonly categories: string[];
  /** Embedding names of the first category (what ViRelAy offers for the whole method). */
  readonly embeddingNames: string[];
  readonly clusteringNames: string[];
  /** The `spray_shard` and `spray_fingerprint` root attributes, where the file has them. */
  readonly provenance?: SprayProvenance;
  /** Just the `index` of a category (cheap; used for checks). */
  categoryIndex(name: string): Int32Array;
  /** Just the attributes of a category group (cheap: no dataset is read), e.g. spray's `suspicion`. */
  categoryAttrs(name: string): Attrs;
  /** The index and the shapes of a category's members, checked as `category` checks them, without reading embeddings or clusterings. */
  categoryLayout(name: string): CategoryLayout;
  category(name: string): CategoryAnalysis;
  close(): void;
}

export interface CategoryLayout {
  index: Int32Array;
  embeddings: Array<{ name: string; shape: [number, number] }>;
  clusterings: Array<{ name: string; length: number }>;
}

class H5AnalysisFileReader implements AnalysisFileReader {
  readonly categories: string[];
  readonly embeddingNames: string[];
  readonly clusteringNames: string[];
  readonly analysisName: string;
  readonly provenance: SprayProvenance;

  constructor(
    readonly path: string,
    private readonly file: H5File,
  ) {
    this.categories = sortedKeys(file);
    if (this.categories.length === 0) invalid(path, 'analysis file has no categories');
    for (const name of this.categories) {
      if (kindOf(file, name) !== 'group') invalid(path, `root key '${name}' is not a category group (only category groups may live at the root)`);
    }
    const first = this.categoryGroup(this.categories[0]!);
    this.embeddingNames = sortedKeys(requireGroup(path, first, 'embedding'));
    this.clusteringNames = sortedKeys(requireGroup(path, first, 'cluster'));
    const attr = file.attrs[ANALYSIS_METHOD_ATTR]?.value;
    this.analysisName = typeof attr === 'string' ? attr : basename(path, extname(path));
    this.provenance = readProvenance(path, file);
  }

  private categoryGroup(name: string): Group {
    if (!this.categories.includes(name)) invalid(this.path, `no category '${name}'`);
    return requireGroup(this.path, this.file, name);
  }

  categoryIndex(name: string): Int32Array {
    const group = this.categoryGroup(name);
    const index = requireDataset(this.path, group, 'index');
    const kind = numericKind(index.metadata);
    if (kind !== 'int' && kind !== 'uint') invalid(this.path, `'${name}/index' has dtype ${dtypeName(index.metadata)}, expected uint32`);
    if (shapeOf(index).length !== 1) invalid(this.path, `'${name}/index' has shape (${shapeOf(index).join(', ')}), expected (n,)`);
    return readInt32(this.path, index);
  }

  categoryAttrs(name: string): Attrs {
    return h5Call(this.path, 'corrupt HDF5 file', () => readAttrs(this.categoryGroup(name)));
  }

  category(name: string): CategoryAnalysis {
    return h5Call(this.path, 'corrupt HDF5 file', () => this.readCategory(name));
  }

  categoryLayout(name: string): CategoryLayout {
    return h5Call(this.path, 'corrupt HDF5 file', () => {
      const group = this.categoryGroup(name);
      const index = this.categoryIndex(name);
      const n = index.length;
      const embeddingGroup = requireGroup(this.path, group, 'embedding');
      const clusterGroup = requireGroup(this.path, group, 'cluster');
      const embeddings = sortedKeys(embeddingGroup).map((key) => {
        const ds = requireDataset(this.path, embeddingGroup, key);
        const shape = shapeOf(ds);
        if (shape.length !== 2 || shape[0] !== n)
          invalid(this.path, `'${name}/embedding/${key}' has shape (${shape.join(', ')}), expected (${n}, d) to match '${name}/index'`);
        if (!numericKind(ds.metadata)) invalid(this.path, `'${name}/embedding/${key}' has dtype ${dtypeName(ds.metadata)}, expected float32`);
        return { name: key, shape: [shape[0]!, shape[1]!] as [number, number] };
      });
      const clusterings = sortedKeys(clusterGroup).map((key) => {
        const ds = requireDataset(this.path, clusterGroup, key);
        const shape = shapeOf(ds);
        if (shape.length !== 1 || shape[0] !== n)
          invalid(this.path, `'${name}/cluster/${key}' has shape (${shape.join(', ')}), expected (${n},) to match '${name}/index'`);
        if (!numericKind(ds.metadata)) invalid(this.path, `'${name}/cluster/${key}' has dtype ${dtypeName(ds.metadata)}, expected int32`);
        return { name: key, length: n };
      });
      return { index, embeddings, clusterings };
    });
  }

  private readCategory(name: string): CategoryAnalysis {
    const group = this.categoryGroup(name);
    const index = this.categoryIndex(name);
    const n = index.length;
    const embeddingGroup = requireGroup(this.path, group, 'embedding');
    const clusterGroup = requireGroup(this.path, group, 'cluster');
    const embeddings = sortedKeys(embeddingGroup).map((key): EmbeddingData => {
      const ds = requireDataset(this.path, embeddingGroup, key);
      const shape = shapeOf(ds);
      if (shape.length !== 2 || shape[0] !== n)
        invalid(this.path, `'${name}/embedding/${key}' has shape (${shape.join(', ')}), expected (${n}, d) to match '${name}/index'`);
      if (!numericKind(ds.metadata)) invalid(this.path, `'${name}/embedding/${key}' has dtype ${dtypeName(ds.metadata)}, expected float32`);
      const eig = ds.attrs.eigenvalue?.value;
      const eigenvalue =
        eig === undefined || eig === null
          ? undefined
          : ArrayBuffer.isView(eig)
            ? Float32Array.from(eig as unknown as ArrayLike<number>)
            : typeof eig === 'number'
              ? Float32Array.of(eig)
              : undefined;
      return { name: key, data: readFloat32(this.path, ds), shape: [shape[0]!, shape[1]!], eigenvalue, attrs: readAttrs(ds, ['eigenvalue']) };
    });
    const clusterings = sortedKeys(clusterGroup).map((key): ClusteringData => {
      const ds = requireDataset(this.path, clusterGroup, key);
      const shape = shapeOf(ds);
      if (shape.length !== 1 || shape[0] !== n)
        invalid(this.path, `'${name}/cluster/${key}' has shape (${shape.join(', ')}), expected (${n},) to match '${name}/index'`);
      const attrs = readAttrs(ds, ['k', 'embedding']);
      const k = ds.attrs.k?.value;
      const embedding = ds.attrs.embedding?.value;
      return {
        name: key,
        labels: readInt32(this.path, ds),
        k: typeof k === 'number' || typeof k === 'bigint' ? Number(k) : undefined,
        embedding: typeof embedding === 'string' ? embedding : undefined,
        attrs,
      };
    });
    return { name, index, embeddings, clusterings, attrs: readAttrs(group) };
  }

  close(): void {
    this.file.close();
  }
}

/** The shard and fingerprint root attributes; a malformed shard attribute is refused (it would defeat the shard checks). */
function readProvenance(path: string, file: H5File): SprayProvenance {
  const provenance: SprayProvenance = {};
  const shard = file.attrs[SHARD_ATTR]?.value;
  if (shard !== undefined) {
    const match = typeof shard === 'string' ? /^([0-9]+)\/([0-9]+)$/.exec(shard) : null;
    if (!match || Number(match[1]) >= Number(match[2])) invalid(path, `root attribute '${SHARD_ATTR}' is '${String(shard)}', expected I/N with I < N`);
    provenance.shard = { index: Number(match[1]), count: Number(match[2]) };
  }
  const fingerprint = file.attrs[FINGERPRINT_ATTR]?.value;
  if (typeof fingerprint === 'string') provenance.fingerprint = fingerprint;
  return provenance;
}

/** Opens an analysis file lazily (structure checked, data read per category). */
export async function openAnalysis(path: string): Promise<AnalysisFileReader> {
  const file = await openH5(path, 'r');
  try {
    return new H5AnalysisFileReader(path, file);
  } catch (error) {
    file.close();
    throw asUserError(path, error);
  }
}

export interface AnalysisFile {
  path: string;
  /** analysis name → category name → data (one analysis per file; see the module comment). */
  analyses: Map<string, Map<string, CategoryAnalysis>>;
}

/** Reads a whole analysis file into memory. */
export async function readAnalysis(path: string): Promise<AnalysisFile> {
  const reader = await openAnalysis(path);
  try {
    const categories = new Map<string, CategoryAnalysis>();
    for (const name of reader.categories) categories.set(name, reader.category(name));
    return { path, analyses: new Map([[reader.analysisName, categories]]) };
  } finally {
    reader.close();
  }
}
