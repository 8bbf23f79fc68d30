/**
 * Exact vector-Jacobian products, one handler per op type (like a per-op gradient registry): what a
 * node without an LRP rule does with the relevance arriving at its outputs, and what the Norm and
 * Epsilon rules use on non-linear nodes. Handlers emit ONNX nodes through the Emitter; `check`
 * rejects attribute combinations a handler cannot differentiate before anything is emitted.
 */
import { attr } from '../onnx/builder.js';
import type { Graph, Node, Tensor } from '../onnx/ir.js';
import { toFloat32, toNumbers } from '../onnx/tensor.js';
import type { Emitter } from './emitter.js';
import { adjointSum, asLinearLayer } from './linear.js';

export interface VjpContext {
  em: Emitter;
  /** The node as it stands in the output graph (handlers may add outputs, e.g. MaxPool indices). */
  node: Node;
  graph: Graph;
  /** True for inputs that depend on the model input (only those receive relevance). */
  dependent: (name: string) => boolean;
  constant: (name: string) => Tensor | undefined;
}

/** Relevance for each input of the node (null: the input gets nothing). */
export type InputRelevance = Array<string | null>;

export interface VjpHandler {
  /** Why this node cannot be differentiated (null when it can). */
  check?: (node: Node, ctx: Omit<VjpContext, 'em' | 'node'> & { shapes: Map<string, number[]> }) => string | null;
  /** `R[k]` is the relevance at output k, null when nothing arrives there. */
  backward: (ctx: VjpContext, R: Array<string | null>) => InputRelevance;
}

const ints = (node: Node, name: string): number[] | undefined => {
  const a = node.attributes[name];
  return a?.type === 'ints' ? a.value : undefined;
};
const int = (node: Node, name: string, fallback: number): number => {
  const a = node.attributes[name];
  return a?.type === 'int' ? a.value : fallback;
};
const float = (node: Node, name: string, fallback: number): number => {
  const a = node.attributes[name];
  return a?.type === 'float' ? a.value : fallback;
};
const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Relevance for input 0 only. */
function first(ctx: VjpContext, value: string): InputRelevance {
  return ctx.node.inputs.map((_, i) => (i === 0 ? value : null));
}
function only(R: Array<string | null>): string {
  return R[0]!;
}

/** Elementwise op whose derivative is computed from (x, y): Rin = R ⊙ f'(x, y). */
function elementwise(derivative: (em: Emitter, x: string, y: string, node: Node) => string): VjpHandler {
  return { backward: (ctx, R) => first(ctx, ctx.em.mul(only(R), derivative(ctx.em, ctx.node.inputs[0]!, ctx.node.outputs[0]!, ctx.node))) };
}
/** Elementwise op with a masking derivative: Rin = cond(x) ? R : other(R). */
function masked(cond: (em: Emitter, x: string, node: Node) => string, otherwise: (em: Emitter, r: string, node: Node, x: string) => string): VjpHandler {
  return {
    backward: (ctx, R) => {
      const r = only(R);
      const x = ctx.node.inputs[0]!;
      return first(ctx, ctx.em.where(cond(ctx.em, x, ctx.node), r, otherwise(ctx.em, r, ctx.node, x)));
    },
  };
}

const routeIdentity: VjpHandler = { backward: (ctx, R) => first(ctx, only(R)) };
const routeReshape: VjpHandler = { backward: (ctx, R) => first(ctx, ctx.em.reshape(only(R), ctx.em.shape(ctx.node.inputs[0]!))) };

function constantInts(ctx: Pick<VjpContext, 'constant'>, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const t = ctx.constant(name);
  return t ? toNumbers(t) : undefined;
}

/** Slice parameters resolved to per-axis [begin, end) with unit steps; a string when unsupported. */
function sliceWindow(node: Node, ctx: Pick<VjpContext, 'constant'>, inShape: number[]): Array<[number, number]> | string {
  const starts = constantInts(ctx, node.inputs[1]) ?? ints(node, 'starts');
  const ends = constantInts(ctx, node.inputs[2]) ?? ints(node, 'ends');
  const axes = constantInts(ctx, node.inputs[3]) ?? ints(node, 'axes') ?? starts?.map((_, i) => i);
  const steps = constantInts(ctx, node.inputs[4]) ?? starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps) return 'its starts/ends/axes/steps are not constants';
  if (steps.some((s) => s !== 1)) return 'slices with steps other than 1 are not supported';
  const window: Array<[number, number]> = inShape.map((d) => [0, d]);
  axes.forEach((a, i) => {
    const axis = normAxis(a, inShape.length);
    const d = inShape[axis]!;
    const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    window[axis] = [clampIndex(starts[i]!), Math.max(clampIndex(starts[i]!), clampIndex(ends[i]!))];
  });
  return window;
}

function padAmounts(node: Node, ctx: Pick<VjpContext, 'constant'>): number[] | undefined {
  return constantInts(ctx, node.inputs[1]) ?? ints(node, 'pads');
}

/** Σ over broadcasting of R into each operand of an n-ary sum. */
const sumLike = (signs: (i: number) => number): VjpHandler => ({
  backward: (ctx, R) => {
    const r = only(R);
    return ctx.node.inputs.map((input, i) => {
      if (!input || !ctx.dependent(input)) return null;
      const v = ctx.em.reduceTo(r, ctx.em.shape(input));
      return signs(i) < 0 ? ctx.em.neg(v) : v;
    });
  },
});

/** MaxPool's winner-takes-all routing: scatter-add R to the arg-max positions (overlaps accumulate). */
function scatterToIndices(ctx: VjpContext, r: string, indices: string, inShape: number[]): string {
  const { em } = ctx;
  const total = inShape.reduce((a, b) => a * b, 1);
  const count = em.numel(r);
  const flatIndices = em.op('Reshape', [indices, em.int64([count])], {}, [count]);
  const flatR = em.reshape(r, [count]);
  const scattered = em.op('ScatterElements', [em.zeros([total]), flatIndices, flatR], { axis: attr.int(0), reduction: attr.string('add') }, [total]);
  return em.reshape(scattered, inShape);
}

function linearAdjoint(): VjpHandler {
  return {
    check: (node, ctx) => {
      const layer = asLinearLayer(node, ctx.graph, ctx.shapes);
      return typeof layer === 'string' ? layer : null;
    },
    backward: (ctx, R) => {
      const layer = asLinearLayer(ctx.node, ctx.graph, ctx.em.shapes);
      if (!layer || typeof layer === 'string') throw new Error(`not a linear layer: ${ctx.node.name}`);
      return first(ctx, adjointSum(ctx.em, layer, [{ s: only(R), weight: layer.weight }]));
    },
  };
}

/** AveragePool's adjoint: divide by each window's divisor, then spread with a depthwise transposed conv of ones. */
const averagePool: VjpHandler = {
  check: (node) => (node.attributes.auto_pad && node.attributes.auto_pad.type === 'string' && !['NOTSET', 'VALID'].includes(node.attributes.auto_pad.value) ? 'auto_pad SAME_* is not supported' : null),
  backward: (ctx, R) => {
    const { em, node } = ctx;
    const r = only(R);
    const x = node.inputs[0]!;
    const inShape = em.shape(x);
    const outShape = em.shape(r);
    const spatial = inShape.length - 2;
    const kernel = ints(node, 'kernel_shape')!;
    const strides = ints(node, 'strides') ?? new Array(spatial).fill(1);
    const pads = node.attributes.auto_pad?.type === 'string' && node.attributes.auto_pad.value === 'VALID' ? new Array(2 * spatial).fill(0) : ints(node, 'pads') ?? new Array(2 * spatial).fill(0);
    const countPad = int(node, 'count_include_pad', 0) === 1;
    // Divisor per output position: the whole window, or only its taps inside the input.
    const outSpatial = outShape.slice(2);
    const perAxis = outSpatial.map((n, a) =>
      Array.from({ length: n }, (_, o) => {
        const start = o * strides[a]! - pads[a]!;
        const end = start + kernel[a]!;
        return countPad ? Math.min(end, inShape[2 + a]! + pads[a + spatial]!) - start : Math.min(end, inShape[2 + a]!) - Math.max(start, 0);
      }),
    );
    const size = outSpatial.reduce((a, b) => a * b, 1);
    const divisor = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      let rem = i;
      let v = 1;
      for (let a = spatial - 1; a >= 0; a--) {
        v *= perAxis[a]![rem % outSpatial[a]!]!;
        rem = Math.floor(rem / outSpatial[a]!);
      }
      divisor[i] = 1 / v;
    }
    const scaled = em.mul(r, em.constant(divisor, [1, 1, ...outSpatial]));
    const channels = inShape[1]!;
    const ones = new Float32Array(channels * kernel.reduce((a, b) => a * b, 1)).fill(1);
    const endPads: number[] = [];
    const outputPadding: number[] = [];
    for (let a = 0; a < spatial; a++) {
      const diff = (outSpatial[a]! - 1) * strides[a]! + kernel[a]! - pads[a]! - inShape[2 + a]!;
      endPads.push(Math.max(diff, 0));
      outputPadding.push(Math.max(-diff, 0));
    }
    const spread = em.op('ConvTranspose', [scaled, em.constant(ones, [channels, 1, ...kernel])], {
      strides: attr.ints(strides), pads: attr.ints([...pads.slice(0, spatial), ...endPads]), group: attr.int(channels),
      kernel_shape: attr.ints(kernel), output_padding: attr.ints(outputPadding),
    }, inShape);
    return first(ctx, spread);
  },
};

function reduceBackward(mean: boolean): VjpHandler {
  return {
    check: (node, ctx) => (node.inputs[1] && !ctx.constant(node.inputs[1]) ? 'its axes are not constant' : null),
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const inShape = em.shape(node.inputs[0]!);
      const rank = inShape.length;
      const axesRaw = constantInts(ctx, node.inputs[1]) ?? ints(node, 'axes');
      const noopEmpty = int(node, 'noop_with_empty_axes', 0) === 1;
      if ((!axesRaw || axesRaw.length === 0) && noopEmpty) return first(ctx, only(R));
      const axes = (axesRaw && axesRaw.length > 0 ? axesRaw : inShape.map((_, i) => i)).map((a) => normAxis(a, rank));
      const kept = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
      let g = em.expand(em.reshape(only(R), kept), inShape);
      if (mean) g = em.scale(g, 1 / axes.reduce((n, a) => n * inShape[a]!, 1));
      return first(ctx, g);
    },
  };
}

function softmaxAxis(node: Node, rank: number): number {
  return normAxis(int(node, 'axis', -1), rank);
}

export const vjpHandlers: Record<string, VjpHandler> = {
  Identity: routeIdentity,
  Dropout: routeIdentity,
  Reshape: routeReshape,
  Flatten: routeReshape,
  Squeeze: routeReshape,
  Unsqueeze: routeReshape,
  Transpose: {
    backward: (ctx, R) => {
      const rank = ctx.em.shape(ctx.node.inputs[0]!).length;
      const perm = ints(ctx.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      const inverse = new Array<number>(rank);
      perm.forEach((p, i) => (inverse[p] = i));
      return first(ctx, ctx.em.op('Transpose', [only(R)], { perm: attr.ints(inverse) }, ctx.em.shape(ctx.node.inputs[0]!)));
    },
  },
  Concat: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const rank = em.shape(node.outputs[0]!).length;
      const axis = normAxis(int(node, 'axis', 0), rank);
      const parts = em.split(only(R), axis, node.inputs.map((i) => em.shape(i)[axis]!));
      return node.inputs.map((input, i) => (ctx.dependent(input) ? parts[i]! : null));
    },
  },
  Split: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const rank = em.shape(node.inputs[0]!).length;
      const axis = normAxis(int(node, 'axis', 0), rank);
      const parts = node.outputs.map((o, k) => R[k] ?? em.zeros(em.shape(o)));
      return first(ctx, em.concat(parts, axis));
    },
  },
  Slice: {
    check: (node, ctx) => {
      const w = sliceWindow(node, ctx, ctx.shapes.get(node.inputs[0]!) ?? []);
      return typeof w === 'string' ? w : null;
    },
    backward: (ctx, R) => {
      const inShape = ctx.em.shape(ctx.node.inputs[0]!);
      const window = sliceWindow(ctx.node, ctx, inShape) as Array<[number, number]>;
      const pads = [...window.map(([b]) => b), ...window.map(([, e], i) => inShape[i]! - e)];
      if (pads.every((p) => p === 0)) return first(ctx, only(R));
      return first(ctx, ctx.em.op('Pad', [only(R), ctx.em.int64(pads)], { mode: attr.string('constant') }, inShape));
    },
  },
  Pad: {
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
  Add: sumLike(() => 1),
  Sum: sumLike(() => 1),
  Sub: sumLike((i) => (i === 1 ? -1 : 1)),
  Neg: { backward: (ctx, R) => first(ctx, ctx.em.neg(only(R))) },
  Mul: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const [a, b] = node.inputs as [string, string];
      return [
        ctx.dependent(a) ? em.reduceTo(em.mul(only(R), b), em.shape(a)) : null,
        ctx.dependent(b) ? em.reduceTo(em.mul(only(R), a), em.shape(b)) : null,
      ];
    },
  },
  Div: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const [a, b] = node.inputs as [string, string];
      const ra = em.div(only(R), b);
      return [
        ctx.dependent(a) ? em.reduceTo(ra, em.shape(a)) : null,
        ctx.dependent(b) ? em.reduceTo(em.neg(em.mul(ra, em.div(a, b))), em.shape(b)) : null,
      ];
    },
  },
  MatMul: {
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
        return em.op('Transpose', [v], { perm: attr.ints(perm) }, perm.map((p) => s[p]!));
      };
      const matmul = (x: string, y: string): string => {
        const sx = em.shape(x);
        const sy = em.shape(y);
        const batch = sx.length > sy.length ? sx.slice(0, -2) : sy.slice(0, -2);
        return em.op('MatMul', [x, y], {}, [...batch, sx.at(-2)!, sy.at(-1)!]);
      };
      const r = only(R);
      return [
        ctx.dependent(a) ? em.reduceTo(matmul(r, t(b)), em.shape(a)) : null,
        em.reduceTo(matmul(t(a), r), em.shape(b)),
      ];
    },
  },
  Conv: linearAdjoint(),
  ConvTranspose: linearAdjoint(),
  Gemm: linearAdjoint(),
  Relu: masked((em, x) => em.greater(x, em.scalar(0)), (em) => em.scalar(0)),
  LeakyRelu: masked((em, x) => em.greater(x, em.scalar(0)), (em, r, node) => em.scale(r, float(node, 'alpha', 0.01))),
  PRelu: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const x = node.inputs[0]!;
      const r = only(R);
      return first(ctx, em.where(em.greater(x, em.scalar(0)), r, em.mul(r, node.inputs[1]!)));
    },
  },
  Clip: {
    check: (node, ctx) => ([1, 2].some((i) => node.inputs[i] && !ctx.constant(node.inputs[i]!)) ? 'its bounds are not constant' : null),
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const x = node.inputs[0]!;
      const bound = (i: number, name: string, fallback: number): number => {
        const t = node.inputs[i] ? ctx.constant(node.inputs[i]!) : undefined;
        return t ? toNumbers(t)[0]! : float(node, name, fallback);
      };
      const lo = bound(1, 'min', -Infinity);
      const hi = bound(2, 'max', Infinity);
      let inside = em.greater(x, em.scalar(lo === -Infinity ? -3.4e38 : lo));
      if (hi !== Infinity) inside = em.and(inside, em.less(x, em.scalar(hi)));
      return first(ctx, em.where(inside, only(R), em.scalar(0)));
    },
  },
  Sigmoid: elementwise((em, _x, y) => em.mul(y, em.sub(em.scalar(1), y))),
  Tanh: elementwise((em, _x, y) => em.sub(em.scalar(1), em.mul(y, y))),
  Softplus: elementwise((em, x) => em.sigmoid(x)),
  Elu: elementwise((em, x, y, node) => em.where(em.greater(x, em.scalar(0)), em.scalar(1), em.add(y, em.scalar(float(node, 'alpha', 1))))),
  Exp: elementwise((_em, _x, y) => y),
  Log: elementwise((em, x) => em.div(em.scalar(1), x)),
  Sqrt: elementwise((em, _x, y) => em.div(em.scalar(0.5), y)),
  Abs: elementwise((em, x) => em.op('Sign', [x], {}, em.shape(x))),
  /** d erf(x)/dx = 2/√π · exp(−x²) (decomposed GELU differentiates through it). */
  Erf: elementwise((em, x) => em.scale(em.op('Exp', [em.neg(em.mul(x, x))], {}, em.shape(x)), 2 / Math.sqrt(Math.PI))),
  Softsign: elementwise((em, x) => {
    const d = em.add(em.scalar(1), em.op('Abs', [x], {}, em.shape(x)));
    return em.div(em.scalar(1), em.mul(d, d));
  }),
  Selu: elementwise((em, x, y, node) => {
    const alpha = float(node, 'alpha', 1.67326319217681884765625);
    const gamma = float(node, 'gamma', 1.05070102214813232421875);
    // x > 0: γ; else y + γα (y = γα(eˣ − 1)).
    return em.where(em.greater(x, em.scalar(0)), em.scalar(gamma), em.add(y, em.scalar(gamma * alpha)));
  }),
  Celu: elementwise((em, x, _y, node) => {
    const alpha = float(node, 'alpha', 1);
    return em.where(em.greater(x, em.scalar(0)), em.scalar(1), em.op('Exp', [em.scale(x, 1 / alpha)], {}, em.shape(x)));
  }),
  HardSigmoid: elementwise((em, x, _y, node) => {
    const alpha = float(node, 'alpha', 0.2);
    const beta = float(node, 'beta', 0.5);
    const t = em.add(em.scale(x, alpha), em.scalar(beta));
    return em.where(em.and(em.greater(t, em.scalar(0)), em.less(t, em.scalar(1))), em.scalar(alpha), em.scalar(0));
  }),
  /** HardSwish = x·HardSigmoid(x; 1/6, 1/2): 0 below −3, 1 above 3, (2x + 3)/6 between. */
  HardSwish: elementwise((em, x) => {
    const middle = em.add(em.scale(x, 1 / 3), em.scalar(0.5));
    return em.where(em.less(x, em.scalar(-3)), em.scalar(0), em.where(em.greater(x, em.scalar(3)), em.scalar(1), middle));
  }),
  /** SiLU recognised by the canonizer (x·σ(x)): σ(x)·(1 + x·(1 − σ(x))). */
  SiLU: elementwise((em, x) => {
    const s = em.sigmoid(x);
    return em.mul(s, em.add(em.scalar(1), em.mul(x, em.sub(em.scalar(1), s))));
  }),
  Softmax: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const y = node.outputs[0]!;
      const shape = em.shape(y);
      const axis = softmaxAxis(node, shape.length);
      const kept = shape.map((d, i) => (i === axis ? 1 : d));
      const dot = em.op('ReduceSum', [em.mul(only(R), y), em.int64([axis])], { keepdims: attr.int(1) }, kept);
      return first(ctx, em.mul(y, em.sub(only(R), dot)));
    },
  },
  LogSoftmax: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const y = node.outputs[0]!;
      const shape = em.shape(y);
      const axis = softmaxAxis(node, shape.length);
      const kept = shape.map((d, i) => (i === axis ? 1 : d));
      const total = em.op('ReduceSum', [only(R), em.int64([axis])], { keepdims: attr.int(1) }, kept);
      const softmax = em.op('Exp', [y], {}, shape);
      return first(ctx, em.sub(only(R), em.mul(softmax, total)));
    },
  },
  MaxPool: {
    check: (node) => (int(node, 'storage_order', 0) !== 0 ? 'storage_order 1 is not supported' : null),
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
  GlobalMaxPool: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const x = node.inputs[0]!;
      const inShape = em.shape(x);
      const outShape = em.shape(node.outputs[0]!);
      const [, indices] = em.opMulti('MaxPool', [x], { kernel_shape: attr.ints(inShape.slice(2)) }, [outShape, outShape]);
      return first(ctx, scatterToIndices(ctx, only(R), indices!, inShape));
    },
  },
  AveragePool: averagePool,
  GlobalAveragePool: {
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const inShape = em.shape(node.inputs[0]!);
      const count = inShape.slice(2).reduce((a, b) => a * b, 1);
      return first(ctx, em.scale(em.expand(only(R), inShape), 1 / count));
    },
  },
  ReduceMean: reduceBackward(true),
  ReduceSum: reduceBackward(false),
  BatchNormalization: {
    check: (node, ctx) => ([1, 2, 3, 4].some((i) => !ctx.constant(node.inputs[i]!)) ? 'its statistics are not constant' : null),
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const scale = toFloat32(ctx.constant(node.inputs[1]!)!);
      const variance = toFloat32(ctx.constant(node.inputs[4]!)!);
      const eps = float(node, 'epsilon', 1e-5);
      const factor = scale.map((g, c) => g / Math.sqrt(variance[c]! + eps));
      const rank = em.shape(node.inputs[0]!).length;
      const dims = [1, factor.length, ...new Array(Math.max(rank - 2, 0)).fill(1)];
      return first(ctx, em.mul(only(R), em.constant(factor, dims)));
    },
  },
};
