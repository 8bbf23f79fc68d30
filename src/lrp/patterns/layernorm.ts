/**
 * Decomposed LayerNorm and RMSNorm as exporters write them (opset < 17, or RMSNorm at any opset):
 *
 *   LayerNorm: m = ReduceMean(x) → d = Sub(x, m) → Pow(d, 2) | Mul(d, d) → v = ReduceMean → Add(v, ε)
 *              → s = Sqrt → Div(d, s) | Mul(d, Reciprocal(s)) → [Mul(·, γ)] → [Add(·, β)]
 *   RMSNorm:   the same without m and d (d = x).
 *
 * The signature is "ReduceMean of a square"; once it is seen, the rest must follow, or compiling
 * stops with an error naming the node and the missing step (never a silently wrong relevance).
 * The stand-in node is `xai.tools:LayerNorm(x, γ?, β?)` with attributes axes, epsilon, centered.
 */
import { UserError } from '../../errors.js';
import { attr } from '../../onnx/builder.js';
import { attrInts } from '../../onnx/attributes.js';
import type { Node } from '../../onnx/ir.js';
import { toNumbers } from '../../onnx/tensor.js';
import { MARKER_DOMAIN } from '../canonize/types.js';
import { scalarConstant, type Group, type PatternContext, type PatternPass } from './types.js';

function reduceAxes(ctx: PatternContext, node: Node, rank: number): number[] | undefined {
  const fromInput = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined;
  const axes = fromInput ? toNumbers(fromInput) : attrInts(node, 'axes');
  if (!axes) return undefined;
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

const sameAxes = (a: number[] | undefined, b: number[] | undefined): boolean => !!a && !!b && a.length === b.length && a.every((v, i) => v === b[i]);

/** The one consumer of `value` with op type in `ops`, when `value` has exactly one consumer. */
function soleConsumer(ctx: PatternContext, value: string, ops: string[]): Node | undefined {
  const users = ctx.consumers(value);
  return users.length === 1 && ops.includes(users[0]!.opType) && users[0]!.domain === '' ? users[0] : undefined;
}

/** The base d of `Pow(d, 2)` or `Mul(d, d)`. */
function squareBase(ctx: PatternContext, node: Node | undefined): string | undefined {
  if (!node || node.domain !== '') return undefined;
  if (node.opType === 'Pow' && scalarConstant(ctx, node.inputs[1]) === 2) return node.inputs[0];
  if (node.opType === 'Mul' && node.inputs[0] === node.inputs[1]) return node.inputs[0];
  return undefined;
}

function matchAt(ctx: PatternContext, variance: Node): Group | null {
  const square = ctx.producer(variance.inputs[0]!);
  const d = squareBase(ctx, square);
  if (!square || !d || !ctx.dependent(d)) return null;
  const rank = ctx.shape(d)?.length;
  if (rank === undefined) return null;
  const axes = reduceAxes(ctx, variance, rank);
  const fail = (what: string): never => {
    throw new UserError(ctx.source, `node "${variance.name}": looks like a decomposed LayerNorm/RMSNorm (ReduceMean of a square) but ${what}`);
  };
  if (!axes) fail('its axes are not constant');
  const members: Node[] = [];
  const sub = ctx.producer(d);
  let x = d;
  let centered = false;
  if (sub && sub.opType === 'Sub' && sub.domain === '' && sub.inputs[0] && ctx.producer(sub.inputs[1]!)?.opType === 'ReduceMean') {
    const mean = ctx.producer(sub.inputs[1]!)!;
    if (mean.inputs[0] !== sub.inputs[0]) fail(`the mean ${mean.name} is not taken of the value ${sub.name} centres`);
    if (!sameAxes(reduceAxes(ctx, mean, rank), axes)) fail(`the mean ${mean.name} and the variance reduce different axes`);
    x = sub.inputs[0];
    centered = true;
    members.push(mean, sub);
    if (ctx.consumers(mean.outputs[0]!).length !== 1) fail(`the mean ${mean.outputs[0]} is also read outside the pattern`);
  }
  members.push(square, variance);
  const addEps = soleConsumer(ctx, variance.outputs[0]!, ['Add']);
  const epsilon = addEps
    ? scalarConstant(
        ctx,
        addEps.inputs.find((i) => i !== variance.outputs[0]),
      )
    : undefined;
  if (!addEps || epsilon === undefined) fail('the variance is not followed by Add(ε) with a constant ε');
  const sqrt = soleConsumer(ctx, addEps!.outputs[0]!, ['Sqrt']);
  if (!sqrt) fail(`${addEps!.name} is not followed by Sqrt`);
  members.push(addEps!, sqrt!);
  const s = sqrt!.outputs[0]!;
  let normalise: Node | undefined = soleConsumer(ctx, s, ['Div', 'Reciprocal']);
  if (normalise?.opType === 'Div' && normalise.inputs[0] !== d) normalise = undefined;
  if (normalise?.opType === 'Reciprocal') {
    members.push(normalise);
    const mul = soleConsumer(ctx, normalise.outputs[0]!, ['Mul']);
    normalise = mul && mul.inputs.includes(d) ? mul : undefined;
  }
  if (!normalise) fail(`${sqrt!.name} is not followed by Div(${d}, σ) or Reciprocal + Mul`);
  members.push(normalise!);
  // d is read by the square and the normalisation only (x itself may feed anything else).
  if (centered && ctx.consumers(d).some((n) => n !== square && n !== normalise)) fail(`the centred value ${d} is also read outside the pattern`);
  if (!centered && square.opType === 'Mul' && ctx.consumers(square.outputs[0]!).length !== 1) fail(`${square.outputs[0]} is also read outside the pattern`);

  // Optional affine part: Mul(γ) then Add(β), both constants.
  let y = normalise!.outputs[0]!;
  let gamma = '';
  let beta = '';
  const scale = soleConsumer(ctx, y, ['Mul']);
  const scaleParam = scale?.inputs.find((i) => i !== y);
  if (scale && scaleParam && ctx.constant(scaleParam)) {
    gamma = scaleParam;
    members.push(scale);
    y = scale.outputs[0]!;
  }
  const shift = soleConsumer(ctx, y, ['Add']);
  const shiftParam = shift?.inputs.find((i) => i !== y);
  if (shift && shiftParam && ctx.constant(shiftParam)) {
    beta = shiftParam;
    members.push(shift);
    y = shift.outputs[0]!;
  }
  const order = new Map(ctx.graph.nodes.map((n, i) => [n, i]));
  members.sort((a, b) => order.get(a)! - order.get(b)!);
  const node: Node = {
    name: `${variance.name}/layernorm`,
    opType: 'LayerNorm',
    domain: MARKER_DOMAIN,
    inputs: [x, gamma, beta],
    outputs: [y],
    attributes: { axes: attr.ints(axes!), epsilon: attr.float(epsilon!), centered: attr.int(centered ? 1 : 0) },
  };
  return { node, members };
}

export const layerNormPass: PatternPass = {
  name: 'layernorm',
  find(ctx, claimed) {
    const groups: Group[] = [];
    for (const node of ctx.graph.nodes) {
      if (node.opType !== 'ReduceMean' || node.domain !== '' || claimed.has(node) || !ctx.dependent(node.inputs[0]!)) continue;
      const group = matchAt(ctx, node);
      if (group && !group.members.some((m) => claimed.has(m))) groups.push(group);
    }
    return groups;
  },
};
