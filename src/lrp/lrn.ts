/**
 * The exact VJP of local response normalisation (what the plain gradient and rule-less LRN nodes
 * use; the LRP composites give LRN the identity rule, docs/lrp.md §4). ONNX LRN over channels:
 *
 *   y_c = x_c · d_c^(−β),  d_c = bias + (α / size) · S_c,  S_c = Σ_{k = c − lo}^{c + hi} x_k²
 *
 * with lo = ⌊(size − 1) / 2⌋ and hi = ⌈(size − 1) / 2⌉ (channels outside [0, C) count as 0; onnxruntime
 * only runs odd sizes, where lo = hi, but the spec's even-size window is kept). Then
 *
 *   g_x,j = g_j · d_j^(−β) − (2αβ / size) · x_j · Σ_{c = j − hi}^{j + lo} g_c · x_c · d_c^(−β−1),
 *
 * the second sum being the window sum with lo and hi swapped (its transpose). Both window sums run
 * as a convolution with a ones kernel along the channel axis of x reshaped to [N, 1, C, rest].
 */
import { attr } from '../onnx/builder.js';
import { attrFloat, attrInt } from '../onnx/attributes.js';
import type { Emitter } from './emitter.js';
import { first, only, type VjpHandler } from './vjp.js';

/** Σ over the channel window [c − before, c + after] of v ([N, C, …]), as a ones-kernel Conv. */
function channelWindowSum(em: Emitter, v: string, size: number, before: number, after: number): string {
  const shape = em.shape(v);
  const [n, c] = shape as [number, number];
  const rest = shape.slice(2).reduce((a, b) => a * b, 1);
  const planar = em.reshape(v, [n, 1, c, rest]);
  const summed = em.op(
    'Conv',
    [planar, em.constant(new Float32Array(size).fill(1), [1, 1, size, 1], 'rel_lrn_window')],
    { kernel_shape: attr.ints([size, 1]), pads: attr.ints([before, 0, after, 0]) },
    [n, 1, c, rest],
  );
  return em.reshape(summed, shape);
}

export const lrnVjp: VjpHandler = {
  check: (node, ctx) => {
    const rank = ctx.shapes.get(node.inputs[0]!)?.length ?? 0;
    return rank < 3 ? 'LRN needs an input of rank ≥ 3 ([N, C, …])' : null;
  },
  backward: (ctx, R) => {
    const { em, node } = ctx;
    const x = node.inputs[0]!;
    const size = attrInt(node, 'size', 1);
    const alpha = attrFloat(node, 'alpha', 1e-4);
    const beta = attrFloat(node, 'beta', 0.75);
    const bias = attrFloat(node, 'bias', 1);
    const lo = Math.floor((size - 1) / 2);
    const hi = Math.ceil((size - 1) / 2);
    const g = only(R);
    const d = em.add(em.scale(channelWindowSum(em, em.mul(x, x), size, lo, hi), alpha / size), em.scalar(bias));
    const dPow = em.op('Pow', [d, em.scalar(-beta)], {}, em.shape(x));
    const inner = em.div(em.mul(em.mul(g, x), dPow), d);
    const cross = em.mul(x, channelWindowSum(em, inner, size, hi, lo));
    return first(ctx, em.sub(em.mul(g, dPow), em.scale(cross, (2 * alpha * beta) / size)));
  },
};
