/**
 * The pattern passes, in the order they claim nodes (see types.ts). A new pattern is one module and
 * one line here.
 */
import { activationPass } from './activation.js';
import { denseBiasPass } from './dense-bias.js';
import { layerNormPass } from './layernorm.js';
import type { Group, PatternContext, PatternPass } from './types.js';

export type { Group, PatternContext, PatternPass } from './types.js';

export const patternPasses: readonly PatternPass[] = [denseBiasPass, layerNormPass, activationPass];

export function recognisePatterns(ctx: PatternContext): Group[] {
  const claimed = new Set<import('../../onnx/ir.js').Node>();
  const groups: Group[] = [];
  for (const pass of patternPasses) {
    for (const group of pass.find(ctx, claimed)) {
      for (const m of group.members) claimed.add(m);
      groups.push(group);
    }
  }
  return groups;
}
