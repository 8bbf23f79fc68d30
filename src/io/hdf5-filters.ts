/**
 * HDF5 compression filters this build can decode. h5wasm is compiled with HDF5's built-in filters
 * only; a dataset written with a plugin filter (LZF from h5py, Blosc/Zstandard/LZ4 from hdf5plugin or
 * PyTables, …) fails to read with a message about a plugin directory inside h5wasm's build tree, or,
 * where the library skips the filter, reads as garbage. So filters are checked when a dataset is
 * opened, and an unknown one is named with the way out.
 */
import type { Dataset } from 'h5wasm';
import { UserError } from '../errors.js';

/** Built-in HDF5 filters (H5Zpublic.h) that h5wasm decodes: deflate, shuffle, fletcher32, szip, nbit, scale-offset. */
const DECODABLE_FILTERS = new Set([1, 2, 3, 4, 5, 6]);

/** Registered ids of common plugin filters (The HDF Group's filter registry), for the message. */
const PLUGIN_FILTER_NAMES: Readonly<Record<number, string>> = {
  305: 'LZO',
  307: 'BZIP2',
  32000: 'LZF',
  32001: 'Blosc',
  32004: 'LZ4',
  32008: 'Bitshuffle',
  32013: 'ZFP',
  32015: 'Zstandard',
  32017: 'SZ',
  32026: 'Blosc2',
};

interface FilterInfo {
  id: number;
  name?: string;
}

function filtersOf(dataset: Dataset): FilterInfo[] {
  try {
    return dataset.filters;
  } catch {
    return [];
  }
}

function describeFilter(filter: FilterInfo): string {
  const name = PLUGIN_FILTER_NAMES[filter.id] ?? (filter.name ? `'${filter.name}'` : 'an unknown');
  return `the ${name} compression filter (HDF5 filter ${filter.id})`;
}

/** Refuses a dataset compressed with a filter this build cannot decode, naming the filter and the fix. */
export function checkFiltersDecodable(path: string, dataset: Dataset): void {
  const unknown = filtersOf(dataset).find((f) => !DECODABLE_FILTERS.has(f.id));
  if (!unknown) return;
  throw new UserError(
    path,
    `'${dataset.path.replace(/^\//, '')}' uses ${describeFilter(unknown)}, which xai-tools cannot decode; re-save it with gzip or no ` +
      `compression (h5py: compression='gzip')`,
  );
}
