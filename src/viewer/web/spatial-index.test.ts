import { describe, expect, it } from 'vitest';
import { buildSpatialIndex } from './spatial-index.js';

/** Reads the index back as regl-scatterplot's KDBush does: header, ids, coords. */
function read(data: ArrayBuffer) {
  const bytes = new Uint8Array(data, 0, 2);
  const nodeSize = new Uint16Array(data, 2, 1)[0];
  const n = new Uint32Array(data, 4, 1)[0];
  const idBytes = n * (n < 65536 ? 2 : 4);
  const ids = n < 65536 ? new Uint16Array(data, 8, n) : new Uint32Array(data, 8, n);
  const coords = new Float32Array(data, 8 + idBytes + ((8 - (idBytes % 8)) % 8), 2 * n);
  return { magic: bytes[0], versionAndType: bytes[1], nodeSize, n, ids, coords };
}

/** Every range larger than a leaf is split by its middle item on its axis, as KDBush's search assumes. */
function checkTree(ids: ArrayLike<number>, coords: Float32Array, nodeSize: number): void {
  const stack: Array<[number, number, number]> = [[0, ids.length - 1, 0]];
  while (stack.length) {
    const [left, right, axis] = stack.pop()!;
    if (right - left <= nodeSize) continue;
    const m = (left + right) >> 1;
    const split = coords[2 * m + axis];
    for (let i = left; i < m; i++) if (coords[2 * i + axis] > split) throw new Error(`item ${i} left of ${m} lies beyond the split`);
    for (let i = m + 1; i <= right; i++) if (coords[2 * i + axis] < split) throw new Error(`item ${i} right of ${m} lies before the split`);
    stack.push([left, m - 1, 1 - axis], [m + 1, right, 1 - axis]);
  }
}

function check(xs: Float32Array, ys: Float32Array, order?: Uint32Array): void {
  const { magic, versionAndType, nodeSize, n, ids, coords } = read(buildSpatialIndex(xs, ys, order));
  expect([magic, versionAndType, nodeSize, n]).toEqual([0xdb, 0x17, 64, xs.length]);
  // A permutation whose coordinates travelled with it.
  expect(new Set(ids).size).toBe(n);
  let moved = 0;
  for (let i = 0; i < n; i++) if (coords[2 * i] !== xs[ids[i]] || coords[2 * i + 1] !== ys[ids[i]]) moved++;
  expect(moved).toBe(0);
  checkTree(ids, coords, nodeSize);
}

describe('buildSpatialIndex', () => {
  it('k-d sorts random points (16-bit and 32-bit ids)', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed / 2147483647) * 2 - 1;
    };
    for (const n of [1, 2, 17, 1000, 70_000]) {
      const xs = Float32Array.from({ length: n }, random);
      const ys = Float32Array.from({ length: n }, random);
      check(xs, ys);
    }
  });

  it('handles sorted runs and many equal coordinates', () => {
    const n = 5000;
    check(
      Float32Array.from({ length: n }, (_, i) => i / n),
      Float32Array.from({ length: n }, (_, i) => (i % 3) - 1),
    );
    check(new Float32Array(300), new Float32Array(300));
  });

  it('is empty for no points', () => {
    expect(read(buildSpatialIndex(new Float32Array(0), new Float32Array(0))).n).toBe(0);
  });
});
