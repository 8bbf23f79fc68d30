/**
 * One record per op: everything the relevance compiler knows about an ONNX op type (like a
 * per-op gradient registry): its layer kind (what composites and rule maps match), its sign
 * behaviour (which outputs are known ≥ 0, so rules skip x⁻ branches) and its exact VJP (what a node
 * without an LRP rule does with the relevance arriving at its outputs). Shape functions live with
 * shape inference (src/onnx/shapes.ts); `test` checks that every record with a VJP has one.
 *
 * Adding an op's relevance = adding its record here (plus its shape function when shapes.ts does
 * not know the op). Marker ops of the canonizers are keyed `domain:Op`.
 */
import { attr } from '../onnx/builder.js';
import { attrFloat, attrInt, attrInts } from '../onnx/attributes.js';
import { einsumProblem } from '../onnx/einsum.js';
import type { Node, Tensor } from '../onnx/ir.js';
import { toFloat32, toNumbers } from '../onnx/tensor.js';
import { MARKER_DOMAIN } from './canonize/types.js';
import { layerNormVjp } from './layernorm.js';
import { lrnVjp } from './lrn.js';
import { asLinearLayer } from './linear.js';
import type { LayerKind } from './kinds.js';
import { resizeAdjoint } from './resize.js';
import {
  averagePool,
  elementwise,
  first,
  linearAdjoint,
  masked,
  normAxis,
  only,
  padAmounts,
  reduceBackward,
  routeIdentity,
  routeReshape,
  scatterToIndices,
  sliceAdjoint,
  type SliceAxis,
  sliceWindow,
  softmaxOutput,
  sumLike,
  type VjpHandler,
} from './vjp.js';

export interface KindContext {
  /** True when the value depends on the model input (is not a constant). */
  dependent: (name: string) => boolean;
  isConstant: (name: string) => boolean;
  constant: (name: string) => Tensor | undefined;
  shape: (name: string) => number[] | undefined;
  /** True when the value is a gate: the output of a sigmoid-like squashing (patterns/squashing.ts). */
  squashed: (name: string) => boolean;
}

export interface SignContext {
  /** True when input `i` is known to be ≥ 0 (a computed value known non-negative, or a constant ≥ 0). */
  nonNegative: (i: number) => boolean;
}

export interface OpRecord {
  /** Layer kind, fixed or read from the node (e.g. Conv with a constant weight = convolution). */
  kind: LayerKind | ((node: Node, ctx: KindContext) => LayerKind);
  /** True when the node's outputs are ≥ 0 (given what is known about its inputs); absent: unknown sign. */
  sign?: (node: Node, ctx: SignContext) => boolean;
  /** Every output carries the sign (Split), not only the first. */
  signOnAllOutputs?: boolean;
  /** The exact vector-Jacobian product; absent: only rules that need no VJP (pass, …) apply. */
  vjp?: VjpHandler;
  /**
   * True when every input element ≤ 0 lands on output elements ≤ 0 and relevance moves only along that
   * correspondence (in its VJP and under the pass rule): reshapes, slices, max pooling (the arg-max holds
   * the window's value), ReLU. Relevance that is zero wherever the output is ≤ 0 is then zero wherever
   * the input is ≤ 0 (src/lrp/support.ts).
   */
  keepsNonPositive?: true;
}

const ALWAYS = (): boolean => true;
const KEEPS_FIRST = (_node: Node, ctx: SignContext): boolean => ctx.nonNegative(0);
const KEEPS_ALL = (node: Node, ctx: SignContext): boolean => node.inputs.every((name, i) => !name || ctx.nonNegative(i));
const clipSign = (node: Node, ctx: SignContext): boolean => ctx.nonNegative(0) || (!!node.inputs[1] && ctx.nonNegative(1));
const padSign = (node: Node, ctx: SignContext): boolean => ctx.nonNegative(0) && (!node.inputs[2] || ctx.nonNegative(2));

const convKind = (node: Node, ctx: KindContext): LayerKind => (ctx.isConstant(node.inputs[1]!) ? 'convolution' : 'other');
const denseKind = (node: Node, ctx: KindContext): LayerKind => (ctx.isConstant(node.inputs[1]!) && !ctx.isConstant(node.inputs[0]!) ? 'dense' : 'other');
/** Add/Sum of ≥ 2 computed tensors of equal shape: a residual sum; anything else is arithmetic. */
const sumKind = (node: Node, ctx: KindContext): LayerKind => {
  const computed = node.inputs.filter((i) => i && ctx.dependent(i));
  if (computed.length >= 2 && computed.length === node.inputs.length) {
    const shapes = computed.map((i) => ctx.shape(i));
    const s0 = shapes[0];
    if (s0 && shapes.every((s) => s && s.length === s0.length && s.every((d, k) => d === s0[k]))) return 'sum';
  }
  return 'elementwise';
};

/**
 * ReduceMean over every spatial axis of an [N, C, …] tensor (rank ≥ 4; `x.mean((2, 3))`) is global
 * average pooling; other means (over tokens, inside a LayerNorm) are arithmetic.
 */
const meanKind = (node: Node, ctx: KindContext): LayerKind => {
  const rank = ctx.shape(node.inputs[0]!)?.length ?? 0;
  const t = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined;
  const axes = (t ? toNumbers(t) : attrInts(node, 'axes'))?.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  return rank >= 4 && axes && axes.length === rank - 2 && axes.every((a, i) => a === i + 2) ? 'avgpool' : 'other';
};

/**
 * A product of two computed tensors: `gate` when exactly one factor is squashed (squeeze-excite,
 * GLU, softmax attention weights · V), else `bilinear`; with one constant factor: `otherwise`.
 */
const productKind =
  (otherwise: (node: Node, ctx: KindContext) => LayerKind) =>
  (node: Node, ctx: KindContext): LayerKind => {
    const [a, b] = node.inputs;
    if (!a || !b || !ctx.dependent(a) || !ctx.dependent(b)) return otherwise(node, ctx);
    return ctx.squashed(a) !== ctx.squashed(b) ? 'gate' : 'bilinear';
  };

export const OP_RECORDS: Record<string, OpRecord> = {
  Identity: { kind: 'reshape', sign: KEEPS_FIRST, vjp: routeIdentity, keepsNonPositive: true },
  Dropout: { kind: 'reshape', sign: KEEPS_FIRST, vjp: routeIdentity, keepsNonPositive: true },
  Reshape: { kind: 'reshape', sign: KEEPS_FIRST, vjp: routeReshape, keepsNonPositive: true },
  Flatten: { kind: 'reshape', sign: KEEPS_FIRST, vjp: routeReshape, keepsNonPositive: true },
  Squeeze: { kind: 'reshape', sign: KEEPS_FIRST, vjp: routeReshape, keepsNonPositive: true },
  Unsqueeze: { kind: 'reshape', sign: KEEPS_FIRST, vjp: routeReshape, keepsNonPositive: true },
  Transpose: {
    kind: 'reshape',
    keepsNonPositive: true,
    sign: KEEPS_FIRST,
    vjp: {
      backward: (ctx, R) => {
        const rank = ctx.em.shape(ctx.node.inputs[0]!).length;
        const perm = attrInts(ctx.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
        const inverse = new Array<number>(rank);
        perm.forEach((p, i) => (inverse[p] = i));
        return first(ctx, ctx.em.op('Transpose', [only(R)], { perm: attr.ints(inverse) }, ctx.em.shape(ctx.node.inputs[0]!)));
      },
    },
  },
  Concat: {
    kind: 'concat',
    keepsNonPositive: true,
    sign: KEEPS_ALL,
    vjp: {
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const rank = em.shape(node.outputs[0]!).length;
        const axis = normAxis(attrInt(node, 'axis', 0), rank);
        const parts = em.split(
          only(R),
          axis,
          node.inputs.map((i) => em.shape(i)[axis]!),
        );
        return node.inputs.map((input, i) => (ctx.dependent(input) ? parts[i]! : null));
      },
    },
  },
  Split: {
    kind: 'reshape',
    keepsNonPositive: true,
    sign: KEEPS_FIRST,
    signOnAllOutputs: true,
    vjp: {
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const rank = em.shape(node.inputs[0]!).length;
        const axis = normAxis(attrInt(node, 'axis', 0), rank);
        const parts = node.outputs.map((o, k) => R[k] ?? em.zeros(em.shape(o)));
        return first(ctx, em.concat(parts, axis));
      },
    },
  },
  Slice: {
    kind: 'reshape',
    keepsNonPositive: true,
    sign: KEEPS_FIRST,
    vjp: {
      check: (node, ctx) => {
        const w = sliceWindow(node, ctx, ctx.shapes.get(node.inputs[0]!) ?? []);
        return typeof w === 'string' ? w : null;
      },
      backward: (ctx, R) => {
        const inShape = ctx.em.shape(ctx.node.inputs[0]!);
        return first(ctx, sliceAdjoint(ctx.em, only(R), sliceWindow(ctx.node, ctx, inShape) as SliceAxis[], inShape));
      },
    },
  },
  Pad: {
    kind: 'reshape',
    keepsNonPositive: true,
    sign: padSign,
    vjp: {
      check: (node, ctx) => {
        const mode = node.attributes.mode;
        if (mode && mode.type === 'string' && mode.value !== 'constant') return `mode ${mode.value} is not supported`;
        const pads = padAmounts(node, ctx);
        if (!pads) return 'its pads are not constant';
        if (pads.some((p) => p < 0)) return 'negative pads are not supported';
        if (node.inputs[3]) return 'pads on selected axes are not supported';
        return null;
      },
      backward: (ctx, R) => {
        const inShape = ctx.em.shape(ctx.node.inputs[0]!);
        const pads = padAmounts(ctx.node, ctx)!;
        const begin = pads.slice(0, inShape.length);
        const ends = begin.map((b, i) => b + inShape[i]!);
        return first(ctx, ctx.em.op('Slice', [only(R), ctx.em.int64(begin), ctx.em.int64(ends), ctx.em.int64(inShape.map((_, i) => i))], {}, inShape));
      },
    },
  },
  Add: { kind: sumKind, sign: KEEPS_ALL, vjp: sumLike(() => 1) },
  Sum: { kind: sumKind, sign: KEEPS_ALL, vjp: sumLike(() => 1) },
  Sub: { kind: 'elementwise', vjp: sumLike((i) => (i === 1 ? -1 : 1)) },
  Neg: { kind: 'elementwise', vjp: { backward: (ctx, R) => first(ctx, ctx.em.neg(only(R))) } },
  Mul: {
    kind: productKind(() => 'elementwise'),
    sign: KEEPS_ALL,
    vjp: {
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const [a, b] = node.inputs as [string, string];
        return [ctx.dependent(a) ? em.reduceTo(em.mul(only(R), b), em.shape(a)) : null, ctx.dependent(b) ? em.reduceTo(em.mul(only(R), a), em.shape(b)) : null];
      },
    },
  },
  Div: {
    kind: 'elementwise',
    vjp: {
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const [a, b] = node.inputs as [string, string];
        const ra = em.div(only(R), b);
        return [ctx.dependent(a) ? em.reduceTo(ra, em.shape(a)) : null, ctx.dependent(b) ? em.reduceTo(em.neg(em.mul(ra, em.div(a, b))), em.shape(b)) : null];
      },
    },
  },
  MatMul: {
    kind: productKind(denseKind),
    vjp: {
      check: (node, ctx) => {
        if (!ctx.dependent(node.inputs[1]!)) {
          const layer = asLinearLayer(node, ctx.graph, ctx.shapes);
          return typeof layer === 'string' ? layer : null;
        }
        const ra = ctx.shapes.get(node.inputs[0]!)?.length ?? 0;
        const rb = ctx.shapes.get(node.inputs[1]!)?.length ?? 0;
        return ra < 2 || rb < 2 ? 'MatMul of two computed vectors is not supported' : null;
      },
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const [a, b] = node.inputs as [string, string];
        if (!ctx.dependent(b)) return linearAdjoint().backward(ctx, R);
        const t = (v: string): string => {
          const s = em.shape(v);
          const perm = s.map((_, i) => i);
          [perm[s.length - 2], perm[s.length - 1]] = [perm[s.length - 1]!, perm[s.length - 2]!];
          return em.op(
            'Transpose',
            [v],
            { perm: attr.ints(perm) },
            perm.map((p) => s[p]!),
          );
        };
        const matmul = (x: string, y: string): string => {
          const sx = em.shape(x);
          const sy = em.shape(y);
          const batch = sx.length > sy.length ? sx.slice(0, -2) : sy.slice(0, -2);
          return em.op('MatMul', [x, y], {}, [...batch, sx.at(-2)!, sy.at(-1)!]);
        };
        const r = only(R);
        return [ctx.dependent(a) ? em.reduceTo(matmul(r, t(b)), em.shape(a)) : null, em.reduceTo(matmul(t(a), r), em.shape(b))];
      },
    },
  },
  Conv: { kind: convKind, vjp: linearAdjoint() },
  ConvTranspose: { kind: convKind, vjp: linearAdjoint() },
  Gemm: { kind: denseKind, vjp: linearAdjoint() },
  Relu: {
    kind: 'activation',
    keepsNonPositive: true,
    sign: ALWAYS,
    vjp: masked(
      (em, x) => em.greater(x, em.scalar(0)),
      (em) => em.scalar(0),
    ),
  },
  LeakyRelu: {
    kind: 'activation',
    vjp: masked(
      (em, x) => em.greater(x, em.scalar(0)),
      (em, r, node) => em.scale(r, attrFloat(node, 'alpha', 0.01)),
    ),
  },
  PRelu: {
    kind: 'activation',
    vjp: {
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const x = node.inputs[0]!;
        const r = only(R);
        return first(ctx, em.where(em.greater(x, em.scalar(0)), r, em.mul(r, node.inputs[1]!)));
      },
    },
  },
  Clip: {
    kind: 'activation',
    sign: clipSign,
    vjp: {
      check: (node, ctx) => ([1, 2].some((i) => node.inputs[i] && !ctx.constant(node.inputs[i]!)) ? 'its bounds are not constant' : null),
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const x = node.inputs[0]!;
        const bound = (i: number, name: string, fallback: number): number => {
          const t = node.inputs[i] ? ctx.constant(node.inputs[i]!) : undefined;
          return t ? toNumbers(t)[0]! : attrFloat(node, name, fallback);
        };
        const lo = bound(1, 'min', -Infinity);
        const hi = bound(2, 'max', Infinity);
        let inside = em.greater(x, em.scalar(lo === -Infinity ? -3.4e38 : lo));
        if (hi !== Infinity) inside = em.and(inside, em.less(x, em.scalar(hi)));
        return first(ctx, em.where(inside, only(R), em.scalar(0)));
      },
    },
  },
  Sigmoid: { kind: 'activation', sign: ALWAYS, vjp: elementwise((em, _x, y) => em.mul(y, em.sub(em.scalar(1), y))) },
  Tanh: { kind: 'activation', keepsNonPositive: true, vjp: elementwise((em, _x, y) => em.sub(em.scalar(1), em.mul(y, y))) },
  Softplus: { kind: 'activation', sign: ALWAYS, vjp: elementwise((em, x) => em.sigmoid(x)) },
  Elu: {
    kind: 'activation',
    vjp: elementwise((em, x, y, node) => em.where(em.greater(x, em.scalar(0)), em.scalar(1), em.add(y, em.scalar(attrFloat(node, 'alpha', 1))))),
  },
  Exp: { kind: 'elementwise', sign: ALWAYS, vjp: elementwise((_em, _x, y) => y) },
  Log: { kind: 'elementwise', vjp: elementwise((em, x) => em.div(em.scalar(1), x)) },
  Sqrt: { kind: 'elementwise', sign: ALWAYS, vjp: elementwise((em, _x, y) => em.div(em.scalar(0.5), y)) },
  Abs: { kind: 'elementwise', sign: ALWAYS, vjp: elementwise((em, x) => em.op('Sign', [x], {}, em.shape(x))) },
  /** d erf(x)/dx = 2/√π · exp(−x²) (decomposed GELU differentiates through it). */
  Erf: { kind: 'other', vjp: elementwise((em, x) => em.scale(em.op('Exp', [em.neg(em.mul(x, x))], {}, em.shape(x)), 2 / Math.sqrt(Math.PI))) },
  Softsign: {
    kind: 'activation',
    vjp: elementwise((em, x) => {
      const d = em.add(em.scalar(1), em.op('Abs', [x], {}, em.shape(x)));
      return em.div(em.scalar(1), em.mul(d, d));
    }),
  },
  Selu: {
    kind: 'activation',
    vjp: elementwise((em, x, y, node) => {
      const alpha = attrFloat(node, 'alpha', 1.67326319217681884765625);
      const gamma = attrFloat(node, 'gamma', 1.05070102214813232421875);
      // x > 0: γ; else y + γα (y = γα(eˣ − 1)).
      return em.where(em.greater(x, em.scalar(0)), em.scalar(gamma), em.add(y, em.scalar(gamma * alpha)));
    }),
  },
  Celu: {
    kind: 'activation',
    vjp: elementwise((em, x, _y, node) => {
      const alpha = attrFloat(node, 'alpha', 1);
      return em.where(em.greater(x, em.scalar(0)), em.scalar(1), em.op('Exp', [em.scale(x, 1 / alpha)], {}, em.shape(x)));
    }),
  },
  HardSigmoid: {
    kind: 'activation',
    sign: ALWAYS,
    vjp: elementwise((em, x, _y, node) => {
      const alpha = attrFloat(node, 'alpha', 0.2);
      const beta = attrFloat(node, 'beta', 0.5);
      const t = em.add(em.scale(x, alpha), em.scalar(beta));
      return em.where(em.and(em.greater(t, em.scalar(0)), em.less(t, em.scalar(1))), em.scalar(alpha), em.scalar(0));
    }),
  },
  /** HardSwish = x·HardSigmoid(x; 1/6, 1/2): 0 below −3, 1 above 3, (2x + 3)/6 between. */
  HardSwish: {
    kind: 'activation',
    vjp: elementwise((em, x) => {
      const middle = em.add(em.scale(x, 1 / 3), em.scalar(0.5));
      return em.where(em.less(x, em.scalar(-3)), em.scalar(0), em.where(em.greater(x, em.scalar(3)), em.scalar(1), middle));
    }),
  },
  /** SiLU recognised by the canonizer (x·σ(x)): σ(x)·(1 + x·(1 − σ(x))). */
  [`${MARKER_DOMAIN}:SiLU`]: {
    kind: 'activation',
    vjp: elementwise((em, x) => {
      const s = em.sigmoid(x);
      return em.mul(s, em.add(em.scalar(1), em.mul(x, em.sub(em.scalar(1), s))));
    }),
  },
  Softmax: {
    kind: 'softmax',
    sign: ALWAYS,
    vjp: {
      backward: (ctx, R) => {
        const { em } = ctx;
        const { y, axis, kept } = softmaxOutput(ctx);
        const dot = em.op('ReduceSum', [em.mul(only(R), y), em.int64([axis])], { keepdims: attr.int(1) }, kept);
        return first(ctx, em.mul(y, em.sub(only(R), dot)));
      },
    },
  },
  LogSoftmax: {
    kind: 'softmax',
    vjp: {
      backward: (ctx, R) => {
        const { em } = ctx;
        const { y, shape, axis, kept } = softmaxOutput(ctx);
        const total = em.op('ReduceSum', [only(R), em.int64([axis])], { keepdims: attr.int(1) }, kept);
        const softmax = em.op('Exp', [y], {}, shape);
        return first(ctx, em.sub(only(R), em.mul(softmax, total)));
      },
    },
  },
  MaxPool: {
    kind: 'maxpool',
    keepsNonPositive: true,
    sign: KEEPS_FIRST,
    vjp: {
      check: (node) => (attrInt(node, 'storage_order', 0) !== 0 ? 'storage_order 1 is not supported' : null),
      backward: (ctx, R) => {
        const { em, node } = ctx;
        if (!node.outputs[1]) {
          // Ask the forward MaxPool for its arg-max indices (flat over the whole NCHW tensor).
          const indices = em.builder.uniqueName(`${node.outputs[0]}_indices`);
          node.outputs = [node.outputs[0]!, indices];
          em.shapes.set(indices, em.shape(node.outputs[0]!));
        }
        return first(ctx, scatterToIndices(ctx, only(R), node.outputs[1]!, em.shape(node.inputs[0]!)));
      },
    },
  },
  GlobalMaxPool: {
    kind: 'maxpool',
    keepsNonPositive: true,
    sign: KEEPS_FIRST,
    vjp: {
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const x = node.inputs[0]!;
        const inShape = em.shape(x);
        const outShape = em.shape(node.outputs[0]!);
        const [, indices] = em.opMulti('MaxPool', [x], { kernel_shape: attr.ints(inShape.slice(2)) }, [outShape, outShape]);
        return first(ctx, scatterToIndices(ctx, only(R), indices!, inShape));
      },
    },
  },
  AveragePool: { kind: 'avgpool', sign: KEEPS_FIRST, vjp: averagePool },
  GlobalAveragePool: {
    kind: 'avgpool',
    sign: KEEPS_FIRST,
    vjp: {
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const inShape = em.shape(node.inputs[0]!);
        const count = inShape.slice(2).reduce((a, b) => a * b, 1);
        return first(ctx, em.scale(em.expand(only(R), inShape), 1 / count));
      },
    },
  },
  ReduceMean: { kind: meanKind, sign: KEEPS_FIRST, vjp: reduceBackward(true) },
  ReduceSum: { kind: 'other', sign: KEEPS_FIRST, vjp: reduceBackward(false) },
  BatchNormalization: {
    kind: 'batchnorm',
    vjp: {
      check: (node, ctx) => ([1, 2, 3, 4].some((i) => !ctx.constant(node.inputs[i]!)) ? 'its statistics are not constant' : null),
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const scale = toFloat32(ctx.constant(node.inputs[1]!)!);
        const variance = toFloat32(ctx.constant(node.inputs[4]!)!);
        const eps = attrFloat(node, 'epsilon', 1e-5);
        const factor = scale.map((g, c) => g / Math.sqrt(variance[c]! + eps));
        const rank = em.shape(node.inputs[0]!).length;
        const dims = [1, factor.length, ...new Array(Math.max(rank - 2, 0)).fill(1)];
        return first(ctx, em.mul(only(R), em.constant(factor, dims)));
      },
    },
  },
  Gelu: { kind: 'activation' },
  Shrink: { kind: 'activation' },
  ThresholdedRelu: { kind: 'activation' },
  Mish: { kind: 'activation' },
  /** Pow with a constant exponent p: p·x^(p−1). */
  Pow: {
    kind: 'elementwise',
    vjp: {
      check: (node, ctx) => (ctx.dependent(node.inputs[1]!) ? 'its exponent is not constant' : null),
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const [x, p] = node.inputs as [string, string];
        const exponent = toNumbers(ctx.constant(p)!);
        const derivative = exponent.length === 1 && exponent[0] === 2 ? em.scale(x, 2) : em.mul(em.op('Pow', [x, em.sub(p, em.scalar(1))], {}, em.shape(x)), p);
        return [em.reduceTo(em.mul(only(R), derivative), em.shape(x)), null];
      },
    },
  },
  /** Gather with constant indices (a class token x[:, 0], a row selection): scatter-add R back. */
  Gather: {
    kind: 'reshape',
    sign: KEEPS_FIRST,
    vjp: {
      check: (node, ctx) => {
        const indices = ctx.constant(node.inputs[1]!);
        return !indices ? 'its indices are not constant' : indices.dims.length > 1 ? 'indices of rank > 1 are not supported' : null;
      },
      backward: (ctx, R) => {
        const { em, node } = ctx;
        const data = node.inputs[0]!;
        const inShape = em.shape(data);
        const axis = normAxis(attrInt(node, 'axis', 0), inShape.length);
        const indices = ctx.constant(node.inputs[1]!)!;
        const list = toNumbers(indices).map((i) => (i < 0 ? i + inShape[axis]! : i));
        const rShape = inShape.map((d, i) => (i === axis ? list.length : d));
        const r = em.reshape(only(R), rShape);
        const idx = em.op(
          'Expand',
          [
            em.int64(
              list,
              inShape.map((_, i) => (i === axis ? list.length : 1)),
            ),
            em.int64(rShape),
          ],
          {},
          rShape,
        );
        return first(ctx, em.op('ScatterElements', [em.zeros(inShape), idx, r], { axis: attr.int(axis), reduction: attr.string('add') }, inShape));
      },
    },
  },
  Reciprocal: { kind: 'elementwise', vjp: elementwise((em, _x, y) => em.neg(em.mul(y, y))) },
  LayerNormalization: { kind: 'layernorm', vjp: layerNormVjp },
  /** Pattern stand-ins (patterns/): their VJP is their members' (the compiler composes it). */
  [`${MARKER_DOMAIN}:LayerNorm`]: { kind: 'layernorm' },
  [`${MARKER_DOMAIN}:Dense`]: { kind: 'dense' },
  [`${MARKER_DOMAIN}:Activation`]: { kind: 'activation' },
  ReduceMax: { kind: 'other', sign: KEEPS_FIRST },
  /** Resize (nearest, linear; Upsample is upgraded to it when read): its adjoint (resize.ts). */
  Resize: { kind: 'reshape', sign: KEEPS_FIRST, vjp: resizeAdjoint },
  /** Local response normalisation: an activation (identity rule in every LRP composite, as Zennit's Pass); exact VJP in lrn.ts. */
  LRN: { kind: 'activation', sign: KEEPS_FIRST, vjp: lrnVjp },
  /**
   * The batched-matmul Einsums are MatMuls once the model is read (onnx/einsum.ts); an Einsum left
   * in the graph is one it cannot rewrite, refused here naming its equation.
   */
  Einsum: {
    kind: 'other',
    vjp: {
      check: (node, ctx) => {
        const ranks = node.inputs.map((i) => ctx.shapes.get(i)?.length);
        return einsumProblem(node, ranks.every((r) => r !== undefined) ? ranks : undefined) ?? 'it was not rewritten when the model was read';
      },
      backward: () => {
        throw new Error('Einsum has no VJP: its check refuses every Einsum left in the graph');
      },
    },
  },
};

/** The record key of a node: the op type, `domain:Op` outside ai.onnx. */
export function recordKey(node: Pick<Node, 'domain' | 'opType'>): string {
  return node.domain && node.domain !== 'ai.onnx' ? `${node.domain}:${node.opType}` : node.opType;
}

export function opRecord(node: Pick<Node, 'domain' | 'opType'>): OpRecord | undefined {
  return Object.hasOwn(OP_RECORDS, recordKey(node)) ? OP_RECORDS[recordKey(node)] : undefined;
}
