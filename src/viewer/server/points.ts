import { kdOrder } from '../kd-tree.js';
import { KD_ORDER_MIN_POINTS, POINTS_HEADER_BYTES, POINTS_KD_ORDER, POINTS_MAGIC } from '../points-format.js';

/** Encodes a category's points in the layout described in ../points-format.ts. */
export function encodePoints(index: Int32Array, cluster: Int32Array, data: Float32Array, dims: number, xColumn: number, yColumn: number): Buffer {
  const n = index.length;
  const withOrder = n >= KD_ORDER_MIN_POINTS;
  const columns = withOrder ? 5 : 4;
  const buffer = Buffer.alloc(POINTS_HEADER_BYTES + n * 4 * columns);
  buffer.write(POINTS_MAGIC, 0, 'ascii');
  buffer.writeUInt32LE(n, 4);
  buffer.writeUInt32LE(withOrder ? POINTS_KD_ORDER : 0, 8);
  // Buffer.alloc may hand out a pooled slice with any byteOffset; copy through aligned typed arrays.
  const body = new ArrayBuffer(n * 4 * columns);
  new Int32Array(body, 0, n).set(index);
  new Int32Array(body, n * 4, n).set(cluster);
  const x = new Float32Array(body, n * 8, n);
  const y = new Float32Array(body, n * 12, n);
  for (let i = 0; i < n; i++) {
    x[i] = data[i * dims + xColumn];
    y[i] = data[i * dims + yColumn];
  }
  if (withOrder) new Uint32Array(body, n * 16, n).set(kdOrder(parked(x), parked(y)));
  Buffer.from(body).copy(buffer, POINTS_HEADER_BYTES);
  return buffer;
}

/** The column with non-finite values replaced by its finite midrange, the value the page parks them at. */
function parked(column: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  let broken = false;
  for (const v of column) {
    if (!Number.isFinite(v)) broken = true;
    else {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!broken) return column;
  const centre = Number.isFinite(lo) ? (lo + hi) / 2 : 0.5;
  return column.map((v) => (Number.isFinite(v) ? v : centre));
}
