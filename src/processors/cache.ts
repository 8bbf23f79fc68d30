import type { Dataset, Group, H5File } from '../io/hdf5.js';
import { h5Call, kindOf, openH5 } from '../io/hdf5.js';
import { UserError } from '../errors.js';
import { type Data, type DType, contentHash, isTuple, rememberHash } from './data.js';
import type { Storage } from './processor.js';
import { existsSync } from 'node:fs';

// h5wasm dtype codes follow Python's struct module: f = float32, d = float64, i = int32 (digits are ignored).
const DTYPE_CODE: Record<DType, string> = { float32: '<f', float64: '<d', int32: '<i' };

/**
 * The `--cache FILE.h5` store: one group per result, named by the SHA-256 of (processor type, every
 * result-affecting parameter, content hash of the input). Layout of an entry:
 *
 *     /<key>/            attrs: processor, params (JSON), output_hash, complete = 1
 *         data           tensor result, or
 *         csr|knn|tuple  group (tuple members 000, 001, …, recursively)
 *
 * `complete` is written last; an entry without it (a run killed mid-write) is ignored and a fresh
 * one is written beside it (`<key>.1`, …). The cache is a separate file, never the analysis file.
 */
export class H5Cache implements Storage {
  private constructor(
    readonly path: string,
    private readonly file: H5File,
  ) {}

  static async open(path: string): Promise<H5Cache> {
    const file = await openH5(path, existsSync(path) ? 'a' : 'w');
    return new H5Cache(path, file);
  }

  private names(key: string): string[] {
    const keys = new Set(this.file.keys());
    const out: string[] = [];
    for (let i = 0; ; i++) {
      const name = i === 0 ? key : `${key}.${i}`;
      if (!keys.has(name)) return out;
      out.push(name);
    }
  }

  read(key: string): Data | undefined {
    for (const name of this.names(key)) {
      const group = this.file.get(name) as Group;
      if (!('complete' in group.attrs)) continue;
      return h5Call(this.path, `cannot read cache entry ${name}`, () => {
        const data = decode(group);
        const digest = group.attrs['output_hash']?.value;
        if (typeof digest === 'string') rememberHash(data, digest);
        return data;
      });
    }
    return undefined;
  }

  write(key: string, data: Data, meta: { processor: string; params: unknown }): void {
    const taken = this.names(key);
    const name = taken.length === 0 ? key : `${key}.${taken.length}`;
    h5Call(this.path, `cannot write cache entry ${name}`, () => {
      const group = this.file.create_group(name);
      encode(group, 'value', data);
      group.create_attribute('processor', meta.processor);
      group.create_attribute('params', JSON.stringify(meta.params));
      group.create_attribute('output_hash', contentHash(data));
      group.create_attribute('complete', 1, null, '<i');
      this.file.flush();
    });
  }

  close(): void {
    h5Call(this.path, 'cannot close the cache', () => this.file.close());
  }
}

function encode(parent: Group, name: string, data: Data): void {
  if (isTuple(data)) {
    const g = parent.create_group(name);
    g.create_attribute('kind', 'tuple');
    data.forEach((child, i) => encode(g, String(i).padStart(3, '0'), child));
    return;
  }
  if (data.kind === 'tensor') {
    if (data.data.length === 0) {
      const g = parent.create_group(name);
      g.create_attribute('kind', 'empty');
      g.create_attribute('dtype', data.dtype);
      g.create_attribute('shape', JSON.stringify(data.shape));
      return;
    }
    const ds = parent.create_dataset({ name, data: data.data, shape: [...data.shape], dtype: DTYPE_CODE[data.dtype] });
    ds.create_attribute('kind', 'tensor');
    return;
  }
  const g = parent.create_group(name);
  g.create_attribute('kind', data.kind);
  if (data.kind === 'csr') {
    g.create_attribute('shape', JSON.stringify([data.rows, data.cols]));
    g.create_dataset({ name: 'indptr', data: data.indptr, shape: [data.indptr.length], dtype: '<i' });
    g.create_dataset({ name: 'indices', data: data.indices.length ? data.indices : new Int32Array(1), shape: [Math.max(1, data.indices.length)], dtype: '<i' });
    g.create_dataset({ name: 'values', data: data.values.length ? data.values : new Float64Array(1), shape: [Math.max(1, data.values.length)], dtype: '<d' });
    g.create_attribute('nnz', data.indices.length, null, '<i');
  } else {
    g.create_attribute('shape', JSON.stringify([data.n, data.k]));
    g.create_dataset({ name: 'indices', data: data.indices, shape: [data.indices.length], dtype: '<i' });
    g.create_dataset({ name: 'distances', data: data.distances, shape: [data.distances.length], dtype: '<d' });
  }
}

function readValue<T>(ds: Dataset, make: new (a: ArrayLike<number>) => T): T {
  const v = ds.value;
  if (v instanceof (make as unknown as typeof Float32Array)) return v as unknown as T;
  return new make(v as ArrayLike<number>);
}

function decode(entry: Group): Data {
  return decodeNode(entry, 'value');
}

function decodeNode(parent: Group, name: string): Data {
  const kind = kindOf(parent, name);
  if (kind === 'dataset') {
    const ds = parent.get(name) as Dataset;
    const shape = ds.shape ?? [];
    const dtype: DType = ds.metadata.type === 1 ? (ds.metadata.size === 4 ? 'float32' : 'float64') : 'int32';
    const ctor = dtype === 'float32' ? Float32Array : dtype === 'float64' ? Float64Array : Int32Array;
    return { kind: 'tensor', dtype, shape, data: readValue(ds, ctor as never) } as Data;
  }
  if (kind !== 'group') throw new UserError(undefined, `cache entry member '${name}' is missing`);
  const g = parent.get(name) as Group;
  const k = g.attrs['kind']?.value;
  if (k === 'tuple')
    return g
      .keys()
      .sort()
      .map((child) => decodeNode(g, child));
  const shape = JSON.parse(String(g.attrs['shape']?.value)) as number[];
  if (k === 'empty') {
    const dtype = String(g.attrs['dtype']?.value) as DType;
    const ctor = dtype === 'float32' ? Float32Array : dtype === 'float64' ? Float64Array : Int32Array;
    return { kind: 'tensor', dtype, shape, data: new ctor(0) } as Data;
  }
  if (k === 'csr') {
    const nnz = Number(g.attrs['nnz']?.value);
    return {
      kind: 'csr',
      rows: shape[0]!,
      cols: shape[1]!,
      indptr: readValue(g.get('indptr') as Dataset, Int32Array),
      indices: readValue(g.get('indices') as Dataset, Int32Array).slice(0, nnz),
      values: readValue(g.get('values') as Dataset, Float64Array).slice(0, nnz),
    };
  }
  return {
    kind: 'knn',
    n: shape[0]!,
    k: shape[1]!,
    indices: readValue(g.get('indices') as Dataset, Int32Array),
    distances: readValue(g.get('distances') as Dataset, Float64Array),
  };
}

/** Storage that counts and keeps results in memory (tests, and repeated runs inside one process). */
export class MemoryStorage implements Storage {
  readonly entries = new Map<string, Data>();
  read(key: string): Data | undefined {
    return this.entries.get(key);
  }
  write(key: string, data: Data): void {
    this.entries.set(key, data);
  }
}
