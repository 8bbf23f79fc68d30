/**
 * LayerNorm / RMSNorm for the relevance compiler: the parameters of a `LayerNormalization` node or of
 * the pattern stand-in `xai.tools:LayerNorm` (patterns/layernorm.ts), the statistics recomputed from
 * x inside the relevance pass, the true VJP, and the transposed Jacobian with σ frozen that the
 * identity rule on the normalisation uses:
 *
 *   n = (x − c·mean x) / σ,  σ = sqrt(mean((x − c·mean x)²) + ε),  y = γ ⊙ n + β   (c = 1, RMSNorm c = 0)
 *   frozen σ:  Jᵀv = (u − c·mean u) / σ   with u = γ ⊙ v
 *   true:      Jᵀv = (u − c·mean u − n ⊙ mean(u ⊙ n)) / σ
 * (means over the normalised axes).
 */
import { attrFloat, attrInt, attrInts } from '../onnx/attributes.js';
import { attr } from '../onnx/builder.js';
import type { Node } from '../onnx/ir.js';
import type { Emitter } from './emitter.js';
import { first, only, type VjpHandler } from './vjp.js';

export interface LayerNormSpec {
  axes: number[];
  epsilon: number;
  centered: boolean;
  /** Constant names, '' when absent. */
  gamma: string;
  beta: string;
}

export function layerNormSpec(node: Node, rank: number): LayerNormSpec {
  if (node.opType === 'LayerNormalization') {
    const a = attrInt(node, 'axis', -1);
    const axis = a < 0 ? a + rank : a;
    return {
      axes: Array.from({ length: rank - axis }, (_, i) => axis + i),
      epsilon: attrFloat(node, 'epsilon', 1e-5),
      centered: true,
      gamma: node.inputs[1] ?? '',
      beta: node.inputs[2] ?? '',
    };
  }
  return {
    axes: attrInts(node, 'axes') ?? [rank - 1],
    epsilon: attrFloat(node, 'epsilon', 1e-5),
    centered: attrInt(node, 'centered', 1) === 1,
    gamma: node.inputs[1] ?? '',
    beta: node.inputs[2] ?? '',
  };
}

function mean(em: Emitter, v: string, axes: number[]): string {
  const shape = em.shape(v);
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const count = axes.reduce((n, a) => n * shape[a]!, 1);
  return em.scale(em.op('ReduceSum', [v, em.int64(axes)], { keepdims: attr.int(1) }, kept), 1 / count);
}

export interface LayerNormStats {
  sigma: string;
  /** The normalised value n. */
  normalised: string;
}

export function layerNormStats(em: Emitter, x: string, spec: LayerNormSpec): LayerNormStats {
  const d = spec.centered ? em.sub(x, mean(em, x, spec.axes)) : x;
  const variance = mean(em, em.mul(d, d), spec.axes);
  const sigma = em.op('Sqrt', [em.add(variance, em.scalar(spec.epsilon))], {}, em.shape(variance));
  return { sigma, normalised: em.div(d, sigma) };
}

/** Jᵀ v (σ frozen, or the true Jacobian with `exact`), output shaped like x. */
export function layerNormTranspose(em: Emitter, v: string, spec: LayerNormSpec, stats: LayerNormStats, exact: boolean): string {
  let u = spec.gamma ? em.mul(v, spec.gamma) : v;
  if (spec.centered) u = em.sub(u, mean(em, u, spec.axes));
  if (exact) u = em.sub(u, em.mul(stats.normalised, mean(em, em.mul(spec.gamma ? em.mul(v, spec.gamma) : v, stats.normalised), spec.axes)));
  return em.reduceTo(em.div(u, stats.sigma), em.shape(stats.normalised));
}

/** The true VJP of LayerNormalization (its optional mean / inverse-σ outputs get no relevance). */
export const layerNormVjp: VjpHandler = {
  check: (node, ctx) => ([1, 2].some((i) => node.inputs[i] && !ctx.constant(node.inputs[i]!)) ? 'its scale and bias are not constant' : null),
  backward: (ctx, R) => {
    const { em, node } = ctx;
    const x = node.inputs[0]!;
    const spec = layerNormSpec(node, em.shape(x).length);
    return first(ctx, layerNormTranspose(em, only(R), spec, layerNormStats(em, x, spec), true));
  },
};
