/**
 * Layer kinds: every node is classified so composites and rule maps can say "convolutions get
 * Gamma" without listing op types. This plays the role of Zennit's type groups. The kind of each op
 * is part of its record (ops.ts).
 */
import type { Node } from '../onnx/ir.js';
import { opRecord, type KindContext } from './ops.js';

export type { KindContext } from './ops.js';

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
  'layernorm', // LayerNormalization, and decomposed LayerNorm / RMSNorm (patterns/layernorm.ts)
  'bilinear', // MatMul / Mul of two computed tensors (attention's Q·Kᵀ, A·V; gated units); includes `gate`
  'gate', // a product whose one factor is squashed (squeeze-excite x·σ(f(x)), GLU, softmax weights · V)
  'elementwise', // arithmetic with constants (bias adds, scaling), or other arithmetic
  'other',
] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

/** Kind names a rule map may match, including the unions `linear` = convolution ∪ dense and `bilinear` ⊇ gate. */
export const MATCHABLE_KINDS: readonly string[] = [...LAYER_KINDS, 'linear'];

export function classify(node: Node, ctx: KindContext): LayerKind {
  const kind = opRecord(node)?.kind ?? 'other';
  return typeof kind === 'function' ? kind(node, ctx) : kind;
}

export function matchesKind(kind: LayerKind, wanted: string): boolean {
  return wanted === kind || (wanted === 'linear' && (kind === 'convolution' || kind === 'dense')) || (wanted === 'bilinear' && kind === 'gate');
}
