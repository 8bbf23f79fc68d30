import { POINTS_HEADER_BYTES, POINTS_MAGIC } from '../points-format.js';

/** Encodes a category's points in the layout described in ../points-format.ts. */
export function encodePoints(index: Int32Array, cluster: Int32Array, data: Float32Array, dims: number, xColumn: number, yColumn: number): Buffer {
  const n = index.length;
  const buffer = Buffer.alloc(POINTS_HEADER_BYTES + n * 16);
  buffer.write(POINTS_MAGIC, 0, 'ascii');
  buffer.writeUInt32LE(n, 4);
  // Buffer.alloc may hand out a pooled slice with any byteOffset; copy through aligned typed arrays.
  const body = new ArrayBuffer(n * 16);
  new Int32Array(body, 0, n).set(index);
  new Int32Array(body, n * 4, n).set(cluster);
  const x = new Float32Array(body, n * 8, n);
  const y = new Float32Array(body, n * 12, n);
  for (let i = 0; i < n; i++) {
    x[i] = data[i * dims + xColumn];
    y[i] = data[i * dims + yColumn];
  }
  Buffer.from(body).copy(buffer, POINTS_HEADER_BYTES);
  return buffer;
}
