/**
 * ONNX external tensor data (`data_location: EXTERNAL`, the layout torch.onnx.export and
 * `onnx.save_model(save_as_external_data=True)` write for large models): `location` names a file
 * relative to the model's directory, `offset`/`length` a byte range in it.
 *
 * A model file is untrusted input, and its bytes end up in files we write (canonize copies every
 * initializer into its output), so a location may only name a regular file inside the model's
 * directory tree: no absolute paths, no `..`, no symlink (anywhere on the way) that leads out.
 * Only the tensor's byte range is read, so a model with thousands of tensors in one weights file
 * does not read that file thousands of times over.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** A problem with one tensor's external data; the decoder names the model in front of it. */
export class ExternalDataError extends Error {}

function byteCount(tensor: string, key: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) throw new ExternalDataError(`tensor ${tensor}: external data ${key} '${raw}' is not a non-negative integer`);
  return Number(raw.trim());
}

/** `target` is `base` or below it (both already real paths). */
function isInside(base: string, target: string): boolean {
  const rel = relative(base, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The location checked against the model's directory: the real path of the file it names.
 * Throws ExternalDataError naming the tensor when the location escapes the directory.
 */
export function resolveExternalLocation(tensor: string, location: string, baseDir: string): string {
  if (location.includes('\0')) throw new ExternalDataError(`tensor ${tensor}: external data location contains a NUL byte`);
  // Checked on the text first (clear message, and no file outside is even looked at), then on the real path.
  if (isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith('\\')) {
    throw new ExternalDataError(`tensor ${tensor}: external data location '${location}' is absolute; only files in the model's directory are read`);
  }
  if (location.split(/[\\/]/).includes('..')) {
    throw new ExternalDataError(`tensor ${tensor}: external data location '${location}' contains '..'; only files in the model's directory are read`);
  }
  let base: string;
  let real: string;
  try {
    base = realpathSync(baseDir);
    real = realpathSync(resolve(base, location));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'ELOOP' ? 'symbolic link loop' : code === 'EACCES' ? 'permission denied' : (code ?? String(error));
    throw new ExternalDataError(`tensor ${tensor}: cannot read external data file '${location}' (${why})`);
  }
  if (!isInside(base, real))
    throw new ExternalDataError(`tensor ${tensor}: external data location '${location}' is a symbolic link leading out of the model's directory`);
  return real;
}

/** Reads one tensor's bytes (`entries`: the tensor's external_data key/value pairs). */
export function readExternalData(tensor: string, entries: Map<string, string>, baseDir: string): Uint8Array {
  const location = entries.get('location');
  if (!location) throw new ExternalDataError(`tensor ${tensor}: external data without a location`);
  const path = resolveExternalLocation(tensor, location, baseDir);
  const offset = byteCount(tensor, 'offset', entries.get('offset')) ?? 0;
  const wanted = byteCount(tensor, 'length', entries.get('length'));
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new ExternalDataError(`tensor ${tensor}: cannot read external data file '${location}' (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ExternalDataError(`tensor ${tensor}: external data location '${location}' is not a regular file`);
    const length = wanted ?? Math.max(0, stat.size - offset);
    if (offset + length > stat.size) {
      throw new ExternalDataError(
        `tensor ${tensor}: external data file '${location}' is truncated (bytes ${offset}..${offset + length} wanted, the file has ${stat.size})`,
      );
    }
    const bytes = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const n = readSync(fd, bytes, done, length - done, offset + done);
      if (n === 0) throw new ExternalDataError(`tensor ${tensor}: external data file '${location}' ended early`);
      done += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
