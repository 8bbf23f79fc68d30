import { closeSync, existsSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Dataset, Group, File as H5File, Metadata } from 'h5wasm';
import { UserError } from '../errors.js';
import { commitTemporary, trackTemporary, untrackTemporary } from '../util/atomic.js';
import { checkRead } from './declared-size.js';
import { isStdin, STDIN_NAME } from '../util/stdin.js';

export type { Dataset, Group, H5File };

/** HDF5's 8-byte format signature; it sits at offset 0 or at 512, 1024, 2048, … after a user block. */
const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

// h5wasm's type classes (H5T_class_t), named for the checks below.
export const H5T_INTEGER = 0;
export const H5T_FLOAT = 1;
export const H5T_STRING = 3;
export const H5T_ENUM = 8;

let moduleReady: Promise<void> | undefined;

/**
 * Loads the wasm module once and turns on h5wasm's throwing error handler: without it HDF5 prints
 * its whole diagnostic stack to stderr and throws a useless "name not defined"; with it the stack
 * comes back as the thrown message, which `describeH5Error` condenses into one line.
 */
export function h5Ready(): Promise<void> {
  moduleReady ??= h5wasm.ready.then((module) => {
    (module as unknown as { activate_throwing_error_handler(): void }).activate_throwing_error_handler();
  });
  return moduleReady;
}

/** The most specific line of an HDF5 diagnostic stack ("unable to read superblock"), or the message itself. */
export function describeH5Error(error: unknown): string {
  const text = typeof error === 'string' ? error : error instanceof Error ? error.message : String((error as { message?: unknown })?.message ?? error);
  const reasons = [...text.matchAll(/#\d+: .*? in [A-Za-z0-9_]+\(\): (.*)/g)].map((m) => m[1]!.trim());
  return reasons.length > 0 ? reasons[reasons.length - 1]! : text.split('\n')[0]!;
}

/**
 * Finds where the superblock starts and the end-of-file address it records, so a truncated file is
 * reported as such before HDF5 fails somewhere in the middle of a read.
 */
function inspectSuperblock(path: string, size: number): { base: number; endOfFile: number | undefined } | undefined {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(64);
    for (let offset = 0; offset === 0 || offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      const n = readSync(fd, header, 0, header.length, offset);
      if (n < 8 || !header.subarray(0, 8).equals(SIGNATURE)) continue;
      const version = header[8]!;
      // Where "size of offsets" and the base address sit, per superblock version; the end-of-file
      // address follows the base address two fields later in every version.
      const layout = version <= 1 ? { sizeAt: 13, baseAt: version === 0 ? 24 : 28 } : { sizeAt: 9, baseAt: 12 };
      const offsetSize = header[layout.sizeAt]!;
      const eofField = layout.baseAt + 2 * offsetSize;
      if (offsetSize !== 8 && offsetSize !== 4) return { base: offset, endOfFile: undefined };
      if (n < eofField + offsetSize) return { base: offset, endOfFile: Number.POSITIVE_INFINITY };
      const base = offsetSize === 8 ? Number(header.readBigUInt64LE(layout.baseAt)) : header.readUInt32LE(layout.baseAt);
      const eof = offsetSize === 8 ? Number(header.readBigUInt64LE(eofField)) : header.readUInt32LE(eofField);
      return { base: offset, endOfFile: base + eof };
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens an HDF5 file with h5wasm. Missing files, directories, files that are not HDF5 and truncated
 * files become a `UserError` naming the file, never an HDF5 stack dump.
 */
export async function openH5(path: string, mode: 'r' | 'w' | 'a'): Promise<H5File> {
  await h5Ready();
  if (mode !== 'w' && isStdin(path)) {
    throw new UserError(STDIN_NAME, 'an HDF5 file cannot be read from stdin (HDF5 needs random access); save it to a file and name that');
  }
  if (mode !== 'w') {
    let size: number;
    try {
      const stat = statSync(path);
      if (stat.isDirectory()) throw new UserError(path, 'is a directory, not an HDF5 file');
      size = stat.size;
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(path, 'no such file');
    }
    const superblock = inspectSuperblock(path, size);
    if (!superblock) throw new UserError(path, 'not an HDF5 file (no HDF5 signature)');
    if (superblock.endOfFile !== undefined && superblock.endOfFile > size) {
      throw new UserError(
        path,
        `truncated HDF5 file (${size} bytes, the superblock says ${Number.isFinite(superblock.endOfFile) ? superblock.endOfFile : 'more'})`,
      );
    }
  }
  try {
    return new h5wasm.File(path, mode);
  } catch (error) {
    throw new UserError(path, `cannot open HDF5 file: ${describeH5Error(error)}`);
  }
}

/** Refuses an output path whose directory is missing or that names a directory, before any work starts. */
export function checkOutputPath(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(path, `cannot write: directory ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(path, 'cannot write: is a directory');
}

/** Runs an h5wasm call, turning an HDF5 failure (corrupt chunk, short read) into a UserError about `file`; other errors pass. */
export function h5Call<T>(file: string, what: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof UserError || !isH5Error(error)) throw error;
    throw new UserError(file, `${what}: ${describeH5Error(error)}`);
  }
}

/** True for errors thrown by h5wasm/HDF5 (as opposed to our own or a bug's). */
function isH5Error(error: unknown): boolean {
  const message = typeof error === 'string' ? error : (error as { message?: unknown })?.message;
  return typeof message === 'string' && /HDF5-DIAG|H5[A-Z][a-z_0-9]*\(\)/.test(message);
}

/** Turns an HDF5 library failure into "corrupt HDF5 file" about `file`; anything else is returned unchanged. */
export function asUserError(file: string, error: unknown): unknown {
  if (error instanceof UserError || !isH5Error(error)) return error;
  return new UserError(file, `corrupt HDF5 file: ${describeH5Error(error)}`);
}

export type EntityKind = 'dataset' | 'group' | 'missing' | 'other';

/** What `name` is inside `group` (checked without dereferencing broken links). */
export function kindOf(group: Group, name: string): EntityKind {
  if (!group.keys().includes(name)) return 'missing';
  const entity = group.get(name);
  if (entity instanceof h5wasm.Dataset) return 'dataset';
  if (entity instanceof h5wasm.Group) return 'group';
  return 'other';
}

/** The dataset `name` of `group`, or a UserError saying what is missing or wrong. */
export function requireDataset(file: string, group: Group, name: string): Dataset {
  const kind = kindOf(group, name);
  const where = group.path === '/' ? name : `${group.path.replace(/^\//, '')}/${name}`;
  if (kind === 'missing') throw new UserError(file, `missing dataset '${where}'`);
  if (kind !== 'dataset') throw new UserError(file, `'${where}' is a ${kind}, expected a dataset`);
  return group.get(name) as Dataset;
}

/** The group `name` of `group`, or a UserError. */
export function requireGroup(file: string, group: Group, name: string): Group {
  const kind = kindOf(group, name);
  const where = group.path === '/' ? name : `${group.path.replace(/^\//, '')}/${name}`;
  if (kind === 'missing') throw new UserError(file, `missing group '${where}'`);
  if (kind !== 'group') throw new UserError(file, `'${where}' is a ${kind}, expected a group`);
  return group.get(name) as Group;
}

/** Keys of a group in HDF5 byte-wise ascending order — the order h5py (and so ViRelAy) lists them. */
export function sortedKeys(group: Group): string[] {
  return group.keys().sort(compareBytes);
}

/** Byte-wise comparison of UTF-8 strings (Python's str order for ASCII names). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export type NumericKind = 'float' | 'int' | 'uint' | 'bool';

/** The numeric kind of a dataset's element type, or undefined for strings, compounds and the like. */
export function numericKind(metadata: Metadata): NumericKind | undefined {
  if (metadata.type === H5T_FLOAT) return 'float';
  if (metadata.type === H5T_INTEGER) return metadata.signed ? 'int' : 'uint';
  if (metadata.type === H5T_ENUM && metadata.enum_type) {
    const members = metadata.enum_type.members;
    if (Object.keys(members).length === 2 && members.FALSE === 0 && members.TRUE === 1) return 'bool';
  }
  return undefined;
}

/** A short dtype name for messages: float32, uint16, bool, … */
export function dtypeName(metadata: Metadata): string {
  const kind = numericKind(metadata);
  if (kind === 'bool') return 'bool';
  if (kind) return `${kind}${metadata.size * 8}`;
  if (metadata.type === H5T_STRING) return 'string';
  return 'non-numeric';
}

type NumericArray = ArrayLike<number> & { length: number };

/** Converts whatever h5wasm returned for a numeric read into plain numbers (BigInt arrays included). */
function asNumbers(file: string, value: unknown): NumericArray {
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) {
    const out = new Float64Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = Number(value[i]);
    return out;
  }
  if (ArrayBuffer.isView(value)) return value as unknown as NumericArray;
  if (typeof value === 'number' || typeof value === 'boolean') return [Number(value)];
  if (typeof value === 'bigint') return [Number(value)];
  throw new UserError(file, 'expected numeric data');
}

export type Ranges = Array<[] | [number, number]>;

/** Reads a numeric dataset (or a hyperslab of it) as float32. */
export function readFloat32(file: string, dataset: Dataset, ranges?: Ranges): Float32Array {
  checkRead(file, dataset, ranges);
  const raw = h5Call(file, `cannot read '${dataset.path}'`, () => (ranges ? dataset.slice(ranges) : dataset.value));
  if (raw instanceof Float32Array) return raw;
  const values = asNumbers(file, raw);
  return Float32Array.from(values as ArrayLike<number>);
}

/** Reads a numeric dataset (or a hyperslab of it) as int32 (integers are checked to fit). */
export function readInt32(file: string, dataset: Dataset, ranges?: Ranges): Int32Array {
  checkRead(file, dataset, ranges);
  const raw = h5Call(file, `cannot read '${dataset.path}'`, () => (ranges ? dataset.slice(ranges) : dataset.value));
  if (raw instanceof Int32Array) return raw;
  const values = asNumbers(file, raw);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 2147483647 || v < -2147483648) throw new UserError(file, `'${dataset.path}' holds ${v}, which does not fit a 32-bit index`);
    out[i] = v;
  }
  return out;
}

/** Reads raw element values with their native typed array (uint8 stays Uint8Array, and so on). */
export function readRaw(file: string, dataset: Dataset, ranges?: Ranges): NumericArray {
  checkRead(file, dataset, ranges);
  const raw = h5Call(file, `cannot read '${dataset.path}'`, () => (ranges ? dataset.slice(ranges) : dataset.value));
  return asNumbers(file, raw);
}

/** Shape of a dataset ([] for a scalar). */
export function shapeOf(dataset: Dataset): number[] {
  return dataset.shape ?? [];
}

/** Product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Starts a streaming writer's HDF5 file at `tmpPath` (a temporary beside the output, or a resumable
 * run's partial file) and lets `setUp` lay it out. A temporary is registered so an interrupt removes
 * it (`track`; a partial file is kept for `--resume`). When opening or `setUp` fails, the file is
 * closed and deleted, so a writer that could not start leaves nothing behind. The writer ends with
 * `commitTemporaryH5` or `discardTemporaryH5`.
 */
export async function createTemporaryH5<T>(tmpPath: string, track: boolean, setUp: (file: H5File) => T): Promise<T> {
  if (track) trackTemporary(tmpPath);
  let file: H5File | undefined;
  try {
    file = await openH5(tmpPath, 'w');
    return setUp(file);
  } catch (error) {
    try {
      file?.close();
    } catch {
      // already failing; the file is removed below
    }
    rmSync(tmpPath, { force: true });
    untrackTemporary(tmpPath);
    throw error;
  }
}

/**
 * Ends a streaming writer's temporary HDF5 file successfully: closes it and renames it to `finalPath`.
 * On any failure the temporary file is deleted, so nothing half-written is ever left under either name.
 */
export function commitTemporaryH5(file: H5File, tmpPath: string, finalPath: string): void {
  try {
    h5Call(finalPath, 'cannot close', () => file.close());
    commitTemporary(tmpPath, finalPath);
  } catch (error) {
    rmSync(tmpPath, { force: true });
    throw error;
  } finally {
    untrackTemporary(tmpPath);
  }
}

/** Abandons a streaming writer's temporary HDF5 file: closes it (ignoring errors) and deletes it. */
export function discardTemporaryH5(file: H5File, tmpPath: string): void {
  try {
    file.close();
  } catch {
    // the file is deleted anyway
  }
  rmSync(tmpPath, { force: true });
  untrackTemporary(tmpPath);
}

/**
 * What every streaming HDF5 writer shares: rows go into a temporary file (`tmpPath`), which `commit`
 * puts in place under `path` and `abort` deletes; `suspend` closes a resumable one and keeps it.
 * Subclasses add the datasets and their `append`.
 */
export abstract class TemporaryH5Writer {
  protected closed = false;

  protected constructor(
    readonly path: string,
    protected readonly tmpPath: string,
    protected readonly file: H5File,
  ) {}

  /** Writes every appended row to disk (HDF5 flush), so a kill after this loses none of them. */
  flush(): void {
    h5Call(this.path, 'cannot flush', () => this.file.flush());
  }

  /** Closes a resumable file and keeps it under its temporary name (for a later reopen). */
  suspend(): void {
    if (this.closed) return;
    this.closed = true;
    h5Call(this.tmpPath, 'cannot close', () => this.file.close());
  }

  /** Closes the file and renames it into place. */
  commit(): void {
    if (this.closed) throw new Error('commit after commit/abort');
    this.closed = true;
    commitTemporaryH5(this.file, this.tmpPath, this.path);
  }

  /** Closes and deletes the temporary file; the final path is never touched. Safe to call twice. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    discardTemporaryH5(this.file, this.tmpPath);
  }
}
