/** Maps data coordinates into [-0.95, 0.95] (regl-scatterplot's normalised space), keeping aspect. */
export function normalise(xs: Float32Array, ys: Float32Array): [Float32Array, Float32Array] {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    if (Number.isFinite(x)) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
    }
    if (Number.isFinite(y)) {
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const scale = 1.9 / span;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const nx = new Float32Array(xs.length);
  const ny = new Float32Array(ys.length);
  for (let i = 0; i < xs.length; i++) {
    // Non-finite coordinates (broken embeddings) are parked at the centre instead of breaking the plot.
    nx[i] = Number.isFinite(xs[i]) ? (xs[i] - cx) * scale : 0;
    ny[i] = Number.isFinite(ys[i]) ? (ys[i] - cy) * scale : 0;
  }
  return [nx, ny];
}
