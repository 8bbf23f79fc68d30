/**
 * Decoders for the image formats torchvision's ImageFolder accepts but sharp's bundled libvips does
 * not read: Netpbm (PBM/PGM/PPM, P1–P6) and uncompressed BMP (1/4/8-bit palette, 24/32-bit, BI_RGB or
 * 32-bit BI_BITFIELDS with the usual BGRA masks). Output is RGB bytes like Pillow's convert('RGB').
 */
import type { RgbImage } from './pixels.js';

class FormatError extends Error {}

/** Netpbm: header tokens (with # comments), then ASCII (P1–P3) or binary (P4–P6) samples. */
export function decodeNetpbm(bytes: Uint8Array): RgbImage {
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!);
  const kind = Number(magic[1]);
  if (magic[0] !== 'P' || !(kind >= 1 && kind <= 6)) throw new FormatError('not a Netpbm file');
  let pos = 2;
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos]!))) pos++;
      if (bytes[pos] === 0x23) while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
      else break;
    }
    const start = pos;
    while (pos < bytes.length && !/\s/.test(String.fromCharCode(bytes[pos]!))) pos++;
    return String.fromCharCode(...bytes.subarray(start, pos));
  };
  const width = Number(token());
  const height = Number(token());
  const bitmap = kind === 1 || kind === 4;
  const maxval = bitmap ? 1 : Number(token());
  if (!(width > 0 && height > 0 && maxval > 0 && maxval < 65536)) throw new FormatError('bad Netpbm header');
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const count = width * height * channels;
  const values = new Uint16Array(count);
  if (kind <= 3) {
    for (let i = 0; i < count; i++) {
      const t = token();
      if (t === '') throw new FormatError('truncated Netpbm data');
      values[i] = Number(t);
    }
  } else {
    pos++; // the single whitespace after the header
    if (kind === 4) {
      const rowBytes = Math.ceil(width / 8);
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) values[y * width + x] = (bytes[pos + y * rowBytes + (x >> 3)]! >> (7 - (x & 7))) & 1;
    } else {
      const wide = maxval > 255;
      if (pos + count * (wide ? 2 : 1) > bytes.length) throw new FormatError('truncated Netpbm data');
      for (let i = 0; i < count; i++) values[i] = wide ? (bytes[pos + 2 * i]! << 8) | bytes[pos + 2 * i + 1]! : bytes[pos + i]!;
    }
  }
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = values[p * channels + (channels === 3 ? c : 0)]!;
      // PBM: 1 is black.
      out[p * 3 + c] = bitmap ? (v ? 0 : 255) : Math.round((v * 255) / maxval);
    }
  }
  return { width, height, data: out };
}

/** Uncompressed BMP (BITMAPINFOHEADER or later); bottom-up or top-down rows padded to 4 bytes. */
export function decodeBmp(bytes: Uint8Array): RgbImage {
  if (bytes[0] !== 0x42 || bytes[1] !== 0x4d || bytes.length < 54) throw new FormatError('not a BMP file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bpp = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const height = Math.abs(rawHeight);
  const bottomUp = rawHeight > 0;
  if (width <= 0 || height === 0) throw new FormatError('bad BMP size');
  if (compression !== 0 && !(compression === 3 && bpp === 32)) throw new FormatError(`compressed BMP (method ${compression}) is not supported`);
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + rowBytes * height > bytes.length) throw new FormatError('truncated BMP data');
  const paletteAt = 14 + headerSize;
  const colors = view.getUint32(46, true) || (bpp <= 8 ? 1 << bpp : 0);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (bottomUp ? height - 1 - y : y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (bpp === 24 || bpp === 32) {
        const p = row + x * (bpp / 8);
        out[o] = bytes[p + 2]!;
        out[o + 1] = bytes[p + 1]!;
        out[o + 2] = bytes[p]!;
      } else if (bpp === 16) {
        const v = view.getUint16(row + x * 2, true); // 5-5-5
        out[o] = (((v >> 10) & 31) * 255) / 31;
        out[o + 1] = (((v >> 5) & 31) * 255) / 31;
        out[o + 2] = ((v & 31) * 255) / 31;
      } else if (bpp === 8 || bpp === 4 || bpp === 1) {
        const bit = x * bpp;
        const index = (bytes[row + (bit >> 3)]! >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        if (index >= colors) throw new FormatError('BMP palette index out of range');
        const p = paletteAt + index * 4;
        out[o] = bytes[p + 2]!;
        out[o + 1] = bytes[p + 1]!;
        out[o + 2] = bytes[p]!;
      } else throw new FormatError(`${bpp}-bit BMP is not supported`);
    }
  }
  return { width, height, data: out };
}

/** Decodes Netpbm or BMP by magic bytes; undefined when the bytes are neither. Throws on a broken file. */
export function decodeFallback(bytes: Uint8Array): RgbImage | undefined {
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return decodeBmp(bytes);
  if (bytes[0] === 0x50 && bytes[1]! >= 0x31 && bytes[1]! <= 0x36) return decodeNetpbm(bytes);
  return undefined;
}
