import { constants as zlibConstants, crc32, deflateSync } from 'node:zlib';
import { UserError } from '../errors.js';

/**
 * A minimal writer for 8-bit indexed ("palette") PNGs, and palette swapping on existing files.
 * Written here rather than through a general encoder because heatmaps are many small images:
 * native zlib with a fast level and a fixed filter is several times faster than a JS deflate,
 * and the palette chunk must be exactly the colour map (no quantisation).
 */

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** PNG row filters we offer: 0 None, 1 Sub, 2 Up (one for all rows: cheap and predictable). */
export type PngFilter = 'none' | 'sub' | 'up';

export interface IndexedPngOptions {
  /** zlib level 0..9 (default 1: heatmaps are smooth, higher levels cost time for little gain). */
  level?: number;
  /** Row filter (default 'sub': smooth index gradients compress best with horizontal deltas). */
  filter?: PngFilter;
  /** zlib strategy: 'rle' (default) looks only for runs, which is ~2× faster than LZ77 matching on heatmaps for a slightly larger file. */
  strategy?: 'default' | 'rle' | 'huffman';
}

const STRATEGY = { default: zlibConstants.Z_DEFAULT_STRATEGY, rle: zlibConstants.Z_RLE, huffman: zlibConstants.Z_HUFFMAN_ONLY };

const FILTER_BYTE: Record<PngFilter, number> = { none: 0, sub: 1, up: 2 };

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Filtered scanlines: one filter byte per row followed by the row's (filtered) bytes. */
let scratch = new Uint8Array(0);

function filterRows(indices: Uint8Array, width: number, height: number, filter: PngFilter): Uint8Array {
  const stride = width + 1;
  // One reused buffer: deflateSync consumes it before we return, and heatmaps come by the thousand.
  if (scratch.length < stride * height) scratch = new Uint8Array(stride * height);
  const raw = scratch.subarray(0, stride * height);
  const type = FILTER_BYTE[filter];
  for (let y = 0; y < height; y++) {
    const src = y * width;
    const dst = y * stride;
    raw[dst] = type;
    if (filter === 'none') {
      raw.set(indices.subarray(src, src + width), dst + 1);
    } else if (filter === 'sub') {
      raw[dst + 1] = indices[src];
      for (let x = 1; x < width; x++) raw[dst + 1 + x] = (indices[src + x] - indices[src + x - 1]) & 0xff;
    } else {
      if (y === 0) raw.set(indices.subarray(0, width), dst + 1);
      else for (let x = 0; x < width; x++) raw[dst + 1 + x] = (indices[src + x] - indices[src - width + x]) & 0xff;
    }
  }
  return raw;
}

/**
 * Encodes H×W 8-bit indices as an indexed PNG whose PLTE chunk is `palette` (256×3 RGB bytes,
 * or fewer entries; indices must stay below the number of entries).
 */
export function encodeIndexedPng(indices: Uint8Array, width: number, height: number, palette: Uint8Array, options: IndexedPngOptions = {}): Uint8Array {
  if (indices.length !== width * height) throw new Error(`encodeIndexedPng: ${indices.length} indices for ${width}×${height}`);
  if (palette.length % 3 !== 0 || palette.length === 0 || palette.length > 768) throw new Error('encodeIndexedPng: palette must hold 1..256 RGB triples');
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // colour type: palette
  // compression, filter method and interlace stay 0
  const raw = filterRows(indices, width, height, options.filter ?? 'sub');
  const idat = deflateSync(raw, { level: options.level ?? 1, strategy: STRATEGY[options.strategy ?? 'rle'] });
  return concat([SIGNATURE, chunk('IHDR', ihdr), chunk('PLTE', palette), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

interface RawChunk {
  type: string;
  start: number; // offset of the length field
  dataStart: number;
  length: number;
}

function readChunks(file: string, bytes: Uint8Array): RawChunk[] {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new UserError(file, 'not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: RawChunk[] = [];
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + length > bytes.length) throw new UserError(file, `truncated PNG (chunk ${type} runs past the end)`);
    chunks.push({ type, start: at, dataStart: at + 8, length });
    at += 12 + length;
    if (type === 'IEND') break;
  }
  if (!chunks.some((c) => c.type === 'IEND')) throw new UserError(file, 'truncated PNG (no IEND chunk)');
  return chunks;
}

/** Width, height, bit depth and colour type from IHDR. */
export function pngHeader(file: string, bytes: Uint8Array): { width: number; height: number; bitDepth: number; colorType: number } {
  const chunks = readChunks(file, bytes);
  const ihdr = chunks[0];
  if (ihdr?.type !== 'IHDR' || ihdr.length !== 13) throw new UserError(file, 'PNG without a valid IHDR chunk');
  const view = new DataView(bytes.buffer, bytes.byteOffset + ihdr.dataStart, 13);
  return { width: view.getUint32(0), height: view.getUint32(4), bitDepth: bytes[ihdr.dataStart + 8], colorType: bytes[ihdr.dataStart + 9] };
}

/**
 * Replaces the palette of an 8-bit indexed PNG, leaving every other byte (indices, text, …)
 * untouched. A tRNS chunk is dropped, as heatmap palettes are opaque.
 */
export function replacePngPalette(file: string, bytes: Uint8Array, palette: Uint8Array): Uint8Array {
  const header = pngHeader(file, bytes);
  if (header.colorType !== 3) {
    throw new UserError(file, 'not an indexed (palette) PNG, so its colours cannot be swapped; re-render it from the attribution file');
  }
  const chunks = readChunks(file, bytes);
  const parts: Uint8Array[] = [SIGNATURE];
  let replaced = false;
  for (const c of chunks) {
    if (c.type === 'PLTE') {
      parts.push(chunk('PLTE', palette));
      replaced = true;
    } else if (c.type !== 'tRNS') {
      parts.push(bytes.subarray(c.start, c.dataStart + c.length + 4));
    }
  }
  if (!replaced) throw new UserError(file, 'indexed PNG without a PLTE chunk');
  return concat(parts);
}
