/**
 * The spatial index regl-scatterplot searches for hover, click and lasso, built straight from our
 * typed coordinate columns. Handed to `draw({ spatialIndex })`, it spares regl-scatterplot its own
 * build, which for a million points posts a million small [x, y, z] arrays to a worker (over a
 * second of structured cloning on the page's thread) before the first frame can be drawn. For large
 * categories the server sends the k-d order with the points, so the page only gathers coordinates.
 *
 * The layout is KDBush's serialised form (version 1), which regl-scatterplot reads back:
 *   byte 0 0xdb, byte 1 (version << 4) | coordinate type (7 = Float32Array),
 *   bytes 2..3 uint16 node size, bytes 4..7 uint32 n,
 *   then uint32 ids[n] (uint16 below 65 536 items), padding to 8 bytes, float32 coords[2n] (x, y, …;
 *   the page's own float32 columns, so no precision is lost and the sort moves half the bytes of
 *   float64), both in k-d order (../kd-tree.ts).
 */
import { KD_NODE_SIZE, sortPoints } from '../kd-tree.js';

const HEADER_BYTES = 8;
const VERSION = 1;
const FLOAT32_TYPE = 7;

/**
 * `order`: the k-d order of these points with KD_NODE_SIZE (from the server, computed on the data
 * coordinates, which map increasingly onto xs/ys); without it the points are sorted here.
 */
export function buildSpatialIndex(xs: Float32Array, ys: Float32Array, order?: Uint32Array): ArrayBuffer {
  const n = xs.length;
  const nodeSize = KD_NODE_SIZE;
  const wide = n >= 65536;
  const idBytes = n * (wide ? 4 : 2);
  const pad = (8 - (idBytes % 8)) % 8;
  const data = new ArrayBuffer(HEADER_BYTES + idBytes + pad + n * 8);
  new Uint8Array(data, 0, 2).set([0xdb, (VERSION << 4) + FLOAT32_TYPE]);
  new Uint16Array(data, 2, 1)[0] = nodeSize;
  new Uint32Array(data, 4, 1)[0] = n;
  const ids = wide ? new Uint32Array(data, HEADER_BYTES, n) : new Uint16Array(data, HEADER_BYTES, n);
  const coords = new Float32Array(data, HEADER_BYTES + idBytes + pad, n * 2);
  if (order && order.length === n) {
    ids.set(order);
    for (let i = 0; i < n; i++) {
      const id = order[i];
      coords[2 * i] = xs[id];
      coords[2 * i + 1] = ys[id];
    }
    return data;
  }
  sortPoints(ids, coords, xs, ys, nodeSize);
  return data;
}
