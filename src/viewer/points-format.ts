/**
 * The binary form in which a category's embedding travels to the page: one fixed header and four
 * little-endian columns, so 100 000 points are 1.6 MB that the page wraps in typed arrays without
 * parsing (JSON objects per point, as in the reference, cost seconds at that size).
 *
 *   bytes 0..3   ASCII "XPT1"
 *   bytes 4..7   uint32 n (number of points)
 *   bytes 8..15  reserved (zero)
 *   then         int32 index[n]   (sample index of each point)
 *                int32 cluster[n] (cluster id of each point in the chosen clustering)
 *                float32 x[n], float32 y[n] (the two chosen embedding columns)
 */

export const POINTS_MAGIC = 'XPT1';
export const POINTS_HEADER_BYTES = 16;

export interface DecodedPoints {
  index: Int32Array;
  cluster: Int32Array;
  x: Float32Array;
  y: Float32Array;
}

export function decodePoints(bytes: ArrayBuffer): DecodedPoints {
  const view = new DataView(bytes);
  const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== POINTS_MAGIC) throw new Error(`not a points payload (magic '${magic}')`);
  const n = view.getUint32(4, true);
  const at = (k: number): number => POINTS_HEADER_BYTES + k * n * 4;
  return {
    index: new Int32Array(bytes, at(0), n),
    cluster: new Int32Array(bytes, at(1), n),
    x: new Float32Array(bytes, at(2), n),
    y: new Float32Array(bytes, at(3), n),
  };
}
