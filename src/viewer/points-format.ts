/**
 * The binary form in which a category's embedding travels to the page: one fixed header and four
 * little-endian columns, so 100 000 points are 1.6 MB that the page wraps in typed arrays without
 * parsing (JSON objects per point, as in the reference, cost seconds at that size).
 *
 *   bytes 0..3   ASCII "XPT1"
 *   bytes 4..7   uint32 n (number of points)
 *   bytes 8..11  uint32 flags: bit 0 (POINTS_KD_ORDER) = a fifth column follows
 *   bytes 12..15 reserved (zero)
 *   then         int32 index[n]   (sample index of each point)
 *                int32 cluster[n] (cluster id of each point in the chosen clustering)
 *                float32 x[n], float32 y[n] (the two chosen embedding columns)
 *                [uint32 kdOrder[n]] (with POINTS_KD_ORDER: the points in KDBush's k-d order with
 *                KD_NODE_SIZE, see ./kd-tree.ts, non-finite coordinates taken as their column's
 *                midrange, where the page parks them; sent from KD_ORDER_MIN_POINTS points on, so a
 *                million-point page needs no sort of its own before the first frame)
 */

export const POINTS_MAGIC = 'XPT1';
export const POINTS_HEADER_BYTES = 16;
export const POINTS_KD_ORDER = 1;
/** From this many points the payload carries the k-d order (32-bit ids, as KDBush uses from 65 536 on). */
export const KD_ORDER_MIN_POINTS = 65536;

export interface DecodedPoints {
  index: Int32Array;
  cluster: Int32Array;
  x: Float32Array;
  y: Float32Array;
  /** The k-d order of (x, y), when the server sent it. */
  kdOrder?: Uint32Array;
}

export function decodePoints(bytes: ArrayBuffer): DecodedPoints {
  const view = new DataView(bytes);
  const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== POINTS_MAGIC) throw new Error(`not a points payload (magic '${magic}')`);
  const n = view.getUint32(4, true);
  const flags = view.getUint32(8, true);
  const at = (k: number): number => POINTS_HEADER_BYTES + k * n * 4;
  return {
    index: new Int32Array(bytes, at(0), n),
    cluster: new Int32Array(bytes, at(1), n),
    x: new Float32Array(bytes, at(2), n),
    y: new Float32Array(bytes, at(3), n),
    ...(flags & POINTS_KD_ORDER ? { kdOrder: new Uint32Array(bytes, at(4), n) } : {}),
  };
}
