/**
 * Layer kinds: every node is classified so composites and rule maps can say "convolutions get
 * Gamma" without listing op types. This plays the role of Zennit's type groups (spec §5.2).
 */
import type { Node } from '../onnx/ir.js';

export const LAYER_KINDS = [
  'convolution', // Conv, ConvTranspose with a constant weight
  'dense', // Gemm / MatMul with a constant weight (after MatMul+Add fusion: with its bias)
  'activation', // element-wise non-linearities (Relu, Sigmoid, SiLU, …)
  'avgpool', // AveragePool, GlobalAveragePool
  'maxpool', // MaxPool, GlobalMaxPool
  'sum', // Add/Sum of ≥ 2 computed tensors of equal shape (residual connections)
  'batchnorm', // BatchNormalization (one that no canonizer could fold)
  'concat', // Concat
  'reshape', // pure re-routing: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Slice, Split, Pad, Identity, Dropout
  'softmax', // Softmax, LogSoftmax
  'elementwise', // arithmetic with constants (bias adds, scaling), or other arithmetic
  'other',
] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

/** Kind names a rule map may match, including the union `linear` = convolution ∪ dense. */
export const MATCHABLE_KINDS: readonly string[] = [...LAYER_KINDS, 'linear'];

const ACTIVATIONS = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh',
  'Softplus', 'Softsign', 'Shrink', 'ThresholdedRelu', 'Clip', 'SiLU', 'Mish',
]);
const REROUTING = new Set(['Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Slice', 'Split', 'Pad', 'Identity', 'Dropout']);
const BY_OP: Record<string, LayerKind> = {
  AveragePool: 'avgpool',
  GlobalAveragePool: 'avgpool',
  MaxPool: 'maxpool',
  GlobalMaxPool: 'maxpool',
  BatchNormalization: 'batchnorm',
  Concat: 'concat',
  Softmax: 'softmax',
  LogSoftmax: 'softmax',
};

export interface KindContext {
  /** True when the value depends on the model input (is not a constant). */
  dependent: (name: string) => boolean;
  isConstant: (name: string) => boolean;
  shape: (name: string) => number[] | undefined;
}

export function classify(node: Node, ctx: KindContext): LayerKind {
  const op = node.opType;
  if (op === 'Conv' || op === 'ConvTranspose') return ctx.isConstant(node.inputs[1]!) ? 'convolution' : 'other';
  if (op === 'Gemm' || op === 'MatMul') return ctx.isConstant(node.inputs[1]!) && !ctx.isConstant(node.inputs[0]!) ? 'dense' : 'other';
  if (ACTIVATIONS.has(op)) return 'activation';
  if (REROUTING.has(op)) return 'reshape';
  const byOp = BY_OP[op];
  if (byOp) return byOp;
  if (op === 'Add' || op === 'Sum') {
    const computed = node.inputs.filter((i) => i && ctx.dependent(i));
    if (computed.length >= 2 && computed.length === node.inputs.length) {
      const shapes = computed.map((i) => ctx.shape(i));
      const s0 = shapes[0];
      if (s0 && shapes.every((s) => s && s.length === s0.length && s.every((d, k) => d === s0[k]))) return 'sum';
    }
    return 'elementwise';
  }
  if (['Sub', 'Mul', 'Div', 'Neg', 'Exp', 'Log', 'Sqrt', 'Pow', 'Abs'].includes(op)) return 'elementwise';
  return 'other';
}

export function matchesKind(kind: LayerKind, wanted: string): boolean {
  return wanted === kind || (wanted === 'linear' && (kind === 'convolution' || kind === 'dense'));
}
