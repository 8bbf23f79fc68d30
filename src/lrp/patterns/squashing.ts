/**
 * Which factor of a product of two computed tensors is a gate. A factor is a gate when it comes from
 * a sigmoid-like squashing — Sigmoid, HardSigmoid (also built as clip(x + 3, 0, 6) / 6), Tanh,
 * Softmax, or a Clip with both bounds — seen through re-routing ops (Reshape, Transpose, Expand, …)
 * and scalings or shifts by constants. The other factor is the signal. Squeeze-excite
 * (x · σ(f(pool x))), GLU (a · σ(b)) and attention (softmax(QKᵀ) · V) all have exactly one gate.
 */
import type { Node } from '../../onnx/ir.js';
import type { PatternContext } from './types.js';

const SQUASHING = new Set(['Sigmoid', 'HardSigmoid', 'Tanh', 'Softmax']);
const SEE_THROUGH = new Set(['Reshape', 'Transpose', 'Expand', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Tile']);
const CONSTANT_ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div']);

/** True when `value` is the output of a squashing (through re-routing and constant arithmetic). */
export function isSquashed(ctx: Pick<PatternContext, 'producer' | 'dependent' | 'constant'>, value: string): boolean {
  let v = value;
  for (let steps = 0; steps < 16; steps++) {
    const node: Node | undefined = ctx.producer(v);
    if (!node || (node.domain !== '' && node.domain !== 'ai.onnx')) return false;
    if (SQUASHING.has(node.opType)) return true;
    if (node.opType === 'Clip') {
      const bounded = (i: number, name: string): boolean => (node.inputs[i] ? !!ctx.constant(node.inputs[i]) : node.attributes[name]?.type === 'float');
      return bounded(1, 'min') && bounded(2, 'max');
    }
    const computed = node.inputs.filter((i) => i && ctx.dependent(i));
    if (computed.length !== 1) return false;
    if (!SEE_THROUGH.has(node.opType) && !CONSTANT_ARITHMETIC.has(node.opType)) return false;
    v = computed[0]!;
  }
  return false;
}
