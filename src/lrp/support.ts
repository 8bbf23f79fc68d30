/**
 * Positive-support analysis: the values whose relevance is known to be zero wherever the value
 * itself is ≤ 0, decided on the graph before anything is emitted.
 *
 * Why: the (generalised) Gamma rule splits a layer's output relevance by the sign of z = Wx + b and
 * sends the z < 0 half back through its own denominator and its own adjoint convolution. Behind a
 * ReLU whose output feeds rules of the form x ⊙ … (Gamma, Epsilon, Norm on the next layers, as in
 * VGG and in ResNet's bottlenecks), nothing arrives where z < 0: that half is exactly zero, and
 * leaving it out saves one convolution-sized pass per layer without changing a single value.
 *
 * A value v is "supported" when every relevance contribution to it is zero wherever v ≤ 0:
 * - a rule whose input relevance is x ⊙ … (`proportional` in src/lrp/rules.ts), with v ≥ 0 known;
 * - the pass rule or the exact VJP of an op that `keepsNonPositive` (src/lrp/ops.ts), when all the
 *   node's outputs are supported (v ≤ 0 only lands on outputs ≤ 0, where nothing arrives).
 * The model output gets the seed, about which nothing is known. Units are visited from the output
 * back, so every consumer of a value is decided before the value's producer asks about it.
 */
import type { Node } from '../onnx/ir.js';
import type { Assignment } from './composites.js';
import { opRecord } from './ops.js';
import { ruleDefinition } from './rules.js';

export interface SupportInput {
  /** Units on the relevance path, in graph order (pattern stand-ins included). */
  assignments: readonly Assignment[];
  /** The model output (it receives the seed). */
  output: string;
  /** True for values that receive relevance (computed from the attribution point). */
  dependent: (name: string) => boolean;
  /** True for values known to be ≥ 0 everywhere. */
  nonNegative: (name: string) => boolean;
  /** Pattern stand-ins (their op type has no record of its own). */
  isStandIn: (node: Node) => boolean;
}

/** The predicate "v's relevance is zero wherever v ≤ 0". */
export function positiveSupport(input: SupportInput): (value: string) => boolean {
  const unsupported = new Set<string>([input.output]);
  for (let i = input.assignments.length - 1; i >= 0; i--) {
    const { node, rule } = input.assignments[i]!;
    const outputsSupported = node.outputs.every((o) => !o || !unsupported.has(o));
    const movesAlongSigns = !input.isStandIn(node) && opRecord(node)?.keepsNonPositive === true && outputsSupported;
    const def = rule ? ruleDefinition(rule) : null;
    for (const v of node.inputs) {
      if (!v || !input.dependent(v)) continue;
      const ok = def ? (def.proportional === true && input.nonNegative(v)) || (rule!.name === 'pass' && movesAlongSigns) : movesAlongSigns;
      if (!ok) unsupported.add(v);
    }
  }
  return (value) => !unsupported.has(value);
}
