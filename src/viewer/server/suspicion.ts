import type { Attrs } from '../../io/analysis.js';
import type { CategorySuspicion } from './model.js';

/**
 * spray's ranking attributes of a category group (`suspicion`, the largest eigengap, and
 * `suspicion_k`, the number of groups it separates), or undefined when either is missing or not
 * a finite number: files made by CoRelAy/ViRelAy's tools carry neither, and the page then hides
 * its suspicion overview.
 */
export function suspicionFromAttrs(attrs: Attrs): CategorySuspicion | undefined {
  const score = attrs.suspicion;
  const groups = attrs.suspicion_k;
  if (typeof score !== 'number' || !Number.isFinite(score)) return undefined;
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) return undefined;
  return { score, groups };
}
