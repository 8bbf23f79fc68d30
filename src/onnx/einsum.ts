/**
 * Einsum → Transpose / Unsqueeze / MatMul / Squeeze, when the model is read (torchvision's MaxViT,
 * many Hugging Face exports write attention as Einsum). After the rewrite the attention products
 * are MatMuls, so the existing MatMul records, the `bilinear` / `gate` rules of the transformer
 * composites and the dense-layer recognition (one constant operand) apply unchanged.
 *
 * Forms rewritten (the ones exporters write; labels of one term are distinct):
 * - two operands, each label either a batch label (both operands and the output), a free label of
 *   one operand (it and the output) or a contracted label (both operands, not the output):
 *   `bhid,bhjd->bhij`, `bhij,bhjd->bhid`, `bij,bjk->bik`, `bij,jk->bik`, `ij,kj->ik`, `bi,bj->bij`
 *   (outer), `bhd,bhd->bh` (dot), `abcd,cde->abe` (Keras EinsumDense), any output order, implicit output;
 * - an ellipsis before the labels of every term (`...ij,...jk->...ik`), of one rank in both
 *   operands as ONNX requires: the unnamed leading dims are batch dims;
 * - one operand, a permutation of its labels (`bhid->bihd`): Transpose.
 * Each operand is transposed to [ellipsis, batch, A's other free labels, B's other free labels,
 * row, contracted] / [… , contracted, column] with 1s (Unsqueeze) where it lacks a label, so one
 * MatMul broadcasts the rest; several contracted labels are merged into one dim (Reshape). The
 * result is squeezed where an operand has no free label, then transposed to the output order. A
 * constant operand stays constant (its Transpose/Reshape fold away: a dense layer's weight).
 *
 * Anything else (a label summed over one operand, a diagonal `ii`, ellipses of different ranks,
 * three operands) stays an Einsum; its op record refuses it naming the node and equation.
 */
import { attr, GraphBuilder } from './builder.js';
import { type EinsumEquation, parseEinsum } from './einsum-equation.js';
import type { Model, Node } from './ir.js';
import { knownRanks } from './shapes.js';

type Step = { op: 'Transpose'; perm: number[] } | { op: 'Unsqueeze' | 'Squeeze'; axes: number[] } | { op: 'Reshape'; shape: number[] };

/** How one Einsum becomes other ops: steps per operand, then (for two) MatMul, then the output steps. */
export interface EinsumPlan {
  operands: Step[][];
  matmul: boolean;
  output: Step[];
}

const SUPPORTED =
  'supported: two operands whose labels are batch, free or contracted labels, with a leading ellipsis or none in every term, or a permutation of one operand';

const isIdentity = (perm: number[]): boolean => perm.every((p, i) => p === i);
const transpose = (perm: number[]): Step[] => (isIdentity(perm) ? [] : [{ op: 'Transpose', perm }]);

/** The plan for `eq` with operands of ranks `ranks`, or why there is none. */
export function planEinsum(eq: EinsumEquation, ranks: number[]): EinsumPlan | string {
  const terms = eq.inputs;
  if (terms.length !== ranks.length) return `${terms.length} terms for ${ranks.length} inputs`;
  for (const t of terms) if (new Set(t.labels).size !== t.labels.length) return `a term repeats a label (a diagonal); ${SUPPORTED}`;
  const out = eq.output;
  const anyEllipsis = terms.some((t) => t.ellipsisAt >= 0) || out.ellipsisAt >= 0;
  if (anyEllipsis && ![...terms, out].every((t) => t.ellipsisAt === 0)) return `an ellipsis not leading every term; ${SUPPORTED}`;
  const ell = ranks.map((r, i) => r - terms[i]!.labels.length);
  if (ell.some((e, i) => e < 0 || (e > 0 && terms[i]!.ellipsisAt < 0))) return 'an input rank does not match its term';
  const outEll = Math.max(0, ...ell);

  if (terms.length === 1) {
    const [t] = terms as [EinsumEquation['inputs'][0]];
    if (out.labels.length !== t.labels.length) return `a label summed over; ${SUPPORTED}`;
    const e = ell[0]!;
    return { operands: [[]], matmul: false, output: transpose([...Array.from({ length: e }, (_, i) => i), ...out.labels.map((l) => e + t.labels.indexOf(l))]) };
  }
  if (terms.length !== 2) return `${terms.length} operands; ${SUPPORTED}`;
  if (ell[0] !== ell[1]) return 'ellipses of different ranks';
  const e = outEll;
  const [a, b] = terms as [EinsumEquation['inputs'][0], EinsumEquation['inputs'][0]];
  const inOut = new Set(out.labels);
  const inA = new Set(a.labels);
  const inB = new Set(b.labels);
  const batch = out.labels.filter((l) => inA.has(l) && inB.has(l));
  const freeA = a.labels.filter((l) => inOut.has(l) && !inB.has(l));
  const freeB = b.labels.filter((l) => inOut.has(l) && !inA.has(l));
  const contracted = a.labels.filter((l) => inB.has(l) && !inOut.has(l));
  const summed = [...a.labels, ...b.labels].find((l) => !inOut.has(l) && !(inA.has(l) && inB.has(l)));
  if (summed) return `label ${summed} is summed over one operand only; ${SUPPORTED}`;
  // One free label per operand is the matrix row / column; the others are batch dims of that
  // operand alone, size 1 in the other (MatMul broadcasts them).
  const rowA = freeA.slice(-1);
  const colB = freeB.slice(-1);
  const onlyA = freeA.slice(0, -1);
  const onlyB = freeB.slice(0, -1);
  const layoutA = [...batch, ...onlyA, ...onlyB, ...(rowA.length ? rowA : ['']), ...(contracted.length ? contracted : [''])];
  // Several contracted labels are merged into one dim (Reshape, 0 = keep a dim): last in A; in B
  // last too, then swapped with the column.
  const merged = contracted.length > 1;
  const layoutB = merged
    ? [...batch, ...onlyA, ...onlyB, ...(colB.length ? colB : ['']), ...contracted]
    : [...batch, ...onlyA, ...onlyB, ...(contracted.length ? contracted : ['']), ...(colB.length ? colB : [''])];
  /** Transpose `t` to `layout` (its labels in that order), Unsqueeze the positions it lacks, merge the contracted labels. */
  const operand = (t: typeof a, layout: string[], swap: boolean): Step[] => {
    const own = layout.filter((l) => t.labels.includes(l));
    const steps = transpose([...Array.from({ length: e }, (_, i) => i), ...own.map((l) => e + t.labels.indexOf(l))]);
    // Leading missing dims need no Unsqueeze (MatMul right-aligns); the first own label marks the start.
    const start = e === 0 ? layout.findIndex((l) => t.labels.includes(l)) : 0;
    const missing = layout.map((l, i) => (t.labels.includes(l) || i < start ? -1 : e + i - start)).filter((i) => i >= 0);
    if (missing.length > 0) steps.push({ op: 'Unsqueeze', axes: missing });
    if (merged) {
      const now = e + own.length + missing.length;
      const kept = now - contracted.length;
      steps.push({ op: 'Reshape', shape: [...new Array<number>(kept).fill(0), -1] });
      if (swap) steps.push({ op: 'Transpose', perm: [...Array.from({ length: kept - 1 }, (_, i) => i), kept, kept - 1] });
    }
    return steps;
  };
  const output: Step[] = [];
  const rank = e + layoutA.length - (merged ? contracted.length - 1 : 0);
  const squeezed = [...(rowA.length === 0 ? [rank - 2] : []), ...(colB.length === 0 ? [rank - 1] : [])];
  if (squeezed.length > 0) output.push({ op: 'Squeeze', axes: squeezed });
  const result = [...batch, ...onlyA, ...onlyB, ...rowA, ...colB];
  output.push(...transpose([...Array.from({ length: e }, (_, i) => i), ...out.labels.map((l) => e + result.indexOf(l))]));
  return { operands: [operand(a, layoutA, false), operand(b, layoutB, true)], matmul: true, output };
}

const equationOf = (node: Node): string => (node.attributes.equation?.type === 'string' ? node.attributes.equation.value : '');

/** Why the Einsum `node` (with operand ranks `ranks`, when known) is not rewritten; null when it can be. */
export function einsumProblem(node: Node, ranks?: number[]): string | null {
  const eq = parseEinsum(equationOf(node));
  const why = typeof eq === 'string' ? eq : ranks ? planEinsum(eq, ranks) : 'the ranks of its operands are unknown';
  return typeof why === 'string' ? `equation "${equationOf(node)}" is not supported: ${why}` : null;
}

/** Rewrites every Einsum of `model` that has a plan, in place; returns one note line (or none). */
export function rewriteEinsums(model: Model): string[] {
  const g = model.graph;
  const einsums = g.nodes.filter((n) => n.opType === 'Einsum' && (n.domain === '' || n.domain === 'ai.onnx'));
  if (einsums.length === 0) return [];
  // Ranks unknown: only equations without an ellipsis (rank = number of labels) are rewritten.
  const rankOf = knownRanks(model);
  const b = new GraphBuilder(g);
  let rewritten = 0;
  for (const node of einsums) {
    const eq = parseEinsum(equationOf(node));
    if (typeof eq === 'string') continue;
    const ranks = node.inputs.map((name, i) => rankOf(name) ?? (eq.inputs[i] && eq.inputs[i]!.ellipsisAt < 0 ? eq.inputs[i]!.labels.length : -1));
    if (ranks.some((r) => r < 0)) continue;
    const plan = planEinsum(eq, ranks);
    if (typeof plan === 'string') continue;
    const mark = g.nodes.length;
    const apply = (value: string, steps: Step[], last?: string): string => {
      steps.forEach((step, k) => {
        const options = { name: `${node.name}_${step.op.toLowerCase()}`, ...(k === steps.length - 1 && last ? { outputs: [last] } : {}) };
        value =
          step.op === 'Transpose'
            ? b.addNode('Transpose', [value], { perm: attr.ints(step.perm) }, 1, options)[0]!
            : step.op === 'Reshape'
              ? b.addNode('Reshape', [value, b.constantInt64(step.shape, [step.shape.length], 'einsum_shape')], {}, 1, options)[0]!
              : b.addNode(step.op, [value, b.constantInt64(step.axes, [step.axes.length], 'einsum_axes')], {}, 1, options)[0]!;
      });
      return value;
    };
    const y = node.outputs[0]!;
    const operands = node.inputs.map((name, i) => apply(name, plan.operands[i]!));
    if (plan.matmul) {
      const [product] = b.addNode('MatMul', operands, {}, 1, { name: `${node.name}_matmul`, ...(plan.output.length === 0 ? { outputs: [y] } : {}) });
      apply(product!, plan.output, y);
    } else if (plan.output.length > 0) {
      apply(operands[0]!, plan.output, y);
    } else {
      b.addNode('Identity', [operands[0]!], {}, 1, { name: `${node.name}_identity`, outputs: [y] });
    }
    const added = g.nodes.splice(mark);
    g.nodes.splice(g.nodes.indexOf(node), 1, ...added);
    rewritten++;
  }
  return rewritten > 0 ? [`Einsum → Transpose/MatMul${rewritten > 1 ? ` (×${rewritten})` : ''}`] : [];
}
