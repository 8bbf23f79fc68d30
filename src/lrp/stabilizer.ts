/**
 * The denominator stabiliser every LRP rule divides by (docs/lrp.md §2):
 * sgn(z) = +1 for z ≥ 0 (both zeros), −1 for z < 0; then z + sgn(z)·ε, or with `clip`
 * sgn(z)·max(|z|, ε); with `normScale` ε is first scaled by √mean(z²) over each sample.
 */
import { attr } from '../onnx/builder.js';
import type { Emitter } from './emitter.js';

export interface Stabilizer {
  epsilon: number;
  clip: boolean;
  normScale: boolean;
}

export const DEFAULT_EPSILON = 1e-6;

export function stabilizer(epsilon = DEFAULT_EPSILON, options: { clip?: boolean; normScale?: boolean } = {}): Stabilizer {
  return { epsilon, clip: options.clip ?? false, normScale: options.normScale ?? false };
}

/** Emits stab(z). */
export function emitStabilize(em: Emitter, z: string, stab: Stabilizer): string {
  const shape = em.shape(z);
  const negative = em.less(z, em.scalar(0));
  let eps = em.scalar(stab.epsilon);
  if (stab.normScale) {
    // ε · sqrt(mean(z²)) per sample (every axis except the batch axis).
    const axes = shape.map((_, i) => i).slice(1);
    const squared = em.mul(z, z);
    // ReduceSum takes its axes as an input from opset 13 on (ReduceMean only from 18), so sum and scale.
    const count = shape.slice(1).reduce((a, b) => a * b, 1);
    const total = em.op(
      'ReduceSum',
      [squared, em.int64(axes)],
      { keepdims: attr.int(1) },
      shape.map((d, i) => (i === 0 ? d : 1)),
    );
    const mean = em.scale(total, 1 / count);
    eps = em.mul(eps, em.op('Sqrt', [mean], {}, em.shape(mean)));
  }
  const signedEps = em.where(negative, em.neg(eps), eps);
  if (!stab.clip) return em.add(z, signedEps);
  const magnitude = em.op('Abs', [z], {}, shape);
  const small = em.less(magnitude, eps);
  return em.where(small, signedEps, z);
}

/** Emits R / stab(z). */
export function emitStabilizedRatio(em: Emitter, r: string, z: string, stab: Stabilizer): string {
  return em.div(r, emitStabilize(em, z, stab));
}
