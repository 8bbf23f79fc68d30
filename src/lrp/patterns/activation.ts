/**
 * Decomposed element-wise activations: a subgraph of element-wise ops that computes y = f(x) from ONE
 * computed value x (every other operand a constant), through at least one op that reads two computed
 * values, e.g.
 *
 *   GELU (Erf)   x · 0.5 · (1 + erf(x / √2))        Mul(x, Add(Erf(Div(x, √2)), 1)) → Mul(0.5)
 *   GELU (tanh)  0.5 · x · (1 + tanh(√(2/π)(x + 0.044715 x³)))
 *   hard-swish   x · clip(x + 3, 0, 6) / 6            Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)
 *   x·HardSigmoid(x), x·σ(x) (SiLU), Mish x·tanh(softplus(x)), …
 *
 * Its inner products are not products of two tensors for LRP: the whole subgraph is ONE activation
 * (the stand-in `xai.tools:Activation(x)`, kind `activation`). Found generically (no list of
 * formulas): each value's "element-wise root" is the single computed value it is an element-wise
 * function of; a node with two computed operands of the same root closes a region, and trailing
 * scalings by a constant (the 0.5, the / 6) are absorbed.
 */
import { attr } from '../../onnx/builder.js';
import type { Node } from '../../onnx/ir.js';
import { MARKER_DOMAIN } from '../canonize/types.js';
import { opRecord } from '../ops.js';
import { scalarConstant, type Group, type PatternPass } from './types.js';

const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);
const UNARY = new Set(['Erf', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Reciprocal']);

function isElementwise(node: Node): boolean {
  if (node.domain !== '' && node.domain !== MARKER_DOMAIN) return false;
  return ARITHMETIC.has(node.opType) || UNARY.has(node.opType) || opRecord(node)?.kind === 'activation';
}

const sameShape = (a: number[] | undefined, b: number[] | undefined): boolean => !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);

/** A name for messages: what the region most likely is. */
function label(members: Node[]): string {
  const ops = new Set(members.map((n) => n.opType));
  if (ops.has('Erf') || (ops.has('Tanh') && ops.has('Pow'))) return 'Gelu';
  if (ops.has('Softplus') && ops.has('Tanh')) return 'Mish';
  if (ops.has('Clip') || ops.has('HardSigmoid')) return 'HardSwish';
  if (ops.has('Sigmoid')) return 'SiLU';
  if (ops.has('Tanh')) return 'Gelu';
  return 'Activation';
}

export const activationPass: PatternPass = {
  name: 'activation',
  find(ctx, claimed) {
    const root = new Map<string, string>();
    const rootOf = (v: string): string => root.get(v) ?? v;
    const multi: Node[] = [];
    for (const node of ctx.graph.nodes) {
      if (claimed.has(node) || !isElementwise(node) || node.outputs.length !== 1) continue;
      const computed = node.inputs.filter((i) => i && ctx.dependent(i));
      if (computed.length === 0) continue;
      const roots = new Set(computed.map(rootOf));
      if (roots.size !== 1) continue;
      const r = [...roots][0]!;
      if (!sameShape(ctx.shape(node.outputs[0]!), ctx.shape(r))) continue;
      root.set(node.outputs[0]!, r);
      if (new Set(computed).size >= 2 || (computed.length === 2 && computed[0] === computed[1])) multi.push(node);
    }
    const taken = new Set<Node>();
    const groups: Group[] = [];
    for (const closing of multi.reverse()) {
      if (taken.has(closing)) continue;
      const x = rootOf(closing.outputs[0]!);
      // Members: every node between x and the closing node.
      const members = new Set<Node>();
      const stack = [closing];
      while (stack.length > 0) {
        const n = stack.pop()!;
        if (members.has(n)) continue;
        members.add(n);
        for (const i of n.inputs) {
          if (!i || i === x || !ctx.dependent(i)) continue;
          const p = ctx.producer(i);
          if (p && root.get(i) === x) stack.push(p);
        }
      }
      // A chain in front of the split (a bias add, a scaling) is not part of the activation: start
      // where the paths to the closing node diverge.
      let x0 = x;
      for (;;) {
        const readers = [...members].filter((m) => m.inputs.includes(x0));
        const only = readers.length === 1 ? readers[0]! : undefined;
        if (!only || only === closing || only.inputs.filter((i) => i && ctx.dependent(i)).length !== 1) break;
        members.delete(only);
        x0 = only.outputs[0]!;
      }
      let y = closing.outputs[0]!;
      for (;;) {
        const users = ctx.consumers(y);
        const next = users.length === 1 ? users[0]! : undefined;
        if (!next || claimed.has(next) || !['Mul', 'Div'].includes(next.opType)) break;
        if (next.opType === 'Div' && next.inputs[0] !== y) break;
        if (
          scalarConstant(
            ctx,
            next.inputs.find((i) => i !== y),
          ) === undefined
        )
          break;
        members.add(next);
        y = next.outputs[0]!;
      }
      // A member value read outside the region: the region is not one activation.
      const inner = [...members].flatMap((n) => n.outputs).filter((o) => o !== y);
      if (inner.some((v) => ctx.consumers(v).some((c) => !members.has(c)))) continue;
      if ([...members].some((m) => claimed.has(m) || taken.has(m))) continue;
      for (const m of members) taken.add(m);
      const order = new Map(ctx.graph.nodes.map((n, i) => [n, i]));
      const list = [...members].sort((a, b) => order.get(a)! - order.get(b)!);
      groups.push({
        node: {
          name: `${closing.name}/activation`,
          opType: 'Activation',
          domain: MARKER_DOMAIN,
          inputs: [x0],
          outputs: [y],
          attributes: { pattern: attr.string(label(list)) },
        },
        members: list,
      });
    }
    return groups;
  },
};
