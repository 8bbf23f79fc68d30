/**
 * Static shape and element-type inference, with constant propagation: one forward sweep over the
 * topologically sorted graph computes, for every value, its element type, its shape (a dimension is
 * null when unknown) and — when it is constant — its value. Values are needed because shapes depend
 * on them (Reshape targets, Slice bounds, the `Shape → Gather → Concat` chains exporters emit).
 * Shape handlers are a table keyed by op type; exact JS kernels (`evaluate.ts`) compute constants.
 * Synchronous and independent of onnxruntime, so it also covers values ORT would fold away.
 */
import { UserError } from '../errors.js';
import { defaultOpset } from './graph.js';
import type { DataType, Model, Node, Tensor } from './ir.js';
import { attrInt, attrInts, attrString, castTarget, evaluateNode, normalizeAxis, reshapeDims, sliceRanges, unsqueezeDims } from './evaluate.js';
import { einsumShape, parseEinsum } from './einsum-equation.js';
import { sizeOf, toNumbers } from './tensor.js';

/** A dimension: a number, or null when not known statically. */
export type SDim = number | null;

/** What inference knows about one value. */
export interface ValueFacts {
  dataType: DataType;
  /** undefined when even the rank is unknown. */
  shape?: SDim[];
  /** The value, when it is constant (initializers and constant subgraphs up to `MAX_FOLD_ELEMENTS`). */
  value?: Tensor;
  /**
   * For small integer vectors computed from shapes (`Shape → Gather → Concat …`) whose value is only
   * partly known: the elements, null where only known at run time (e.g. the batch size). Lets
   * `Reshape(x, [batch, 40, 10])` get the shape [null, 40, 10] without a concrete input shape.
   */
  partial?: SDim[];
}

/** Constant subgraph results larger than this are not materialised (they stay computed at run time). */
export const MAX_FOLD_ELEMENTS = 1 << 24;

type OutFacts = { dataType: DataType; shape?: SDim[] };
interface Ctx {
  opset: number;
  /** Facts of the node's inputs ('' inputs → undefined). */
  ins: Array<ValueFacts | undefined>;
}
type ShapeHandler = (node: Node, ctx: Ctx) => OutFacts[];

// ---------------------------------------------------------------------------------------------
// Helpers

const known = (s: SDim[] | undefined): s is number[] => s !== undefined && s.every((d) => d !== null);

function input(node: Node, ctx: Ctx, i: number): ValueFacts {
  const f = ctx.ins[i];
  if (!f) throw new Error(`node ${node.name} (${node.opType}): input ${i} is missing`);
  return f;
}

/** An input's constant value as numbers, when known. */
function constInts(ctx: Ctx, i: number): number[] | undefined {
  const v = ctx.ins[i]?.value;
  return v ? toNumbers(v) : undefined;
}

/** Numpy broadcast with unknown dims. */
function broadcast(shapes: Array<SDim[] | undefined>): SDim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const list = shapes as SDim[][];
  const rank = Math.max(0, ...list.map((s) => s.length));
  const out: SDim[] = [];
  for (let j = 0; j < rank; j++) {
    const dims = list.map((s) => (s.length - rank + j >= 0 ? s[s.length - rank + j]! : 1));
    const big = dims.filter((d) => d !== 1 && d !== null) as number[];
    if (big.length > 0) out.push(big[0]!);
    else if (dims.some((d) => d === null)) out.push(null);
    else out.push(1);
  }
  return out;
}

const same =
  (i = 0): ShapeHandler =>
  (node, ctx) => [{ ...strip(input(node, ctx, i)) }];
const strip = (f: ValueFacts): OutFacts => ({ dataType: f.dataType, shape: f.shape ? [...f.shape] : undefined });

const elementwise =
  (dataType?: DataType): ShapeHandler =>
  (_node, ctx) => {
    const present = ctx.ins.filter((f): f is ValueFacts => f !== undefined);
    return [{ dataType: dataType ?? present[0]!.dataType, shape: broadcast(present.map((f) => f.shape)) }];
  };

/** Output spatial size of a convolution/pool window along one axis. */
function windowOut(node: Node, size: SDim, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, ceil: boolean): SDim {
  if (size === null) return null;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const extent = (kernel - 1) * dilation + 1;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / stride);
  if (autoPad === 'VALID') return Math.floor((size - extent) / stride) + 1;
  const span = size + padBegin + padEnd - extent;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // As in PyTorch and ORT: with ceil_mode the last window must start inside the input or left padding.
  if (ceil && (out - 1) * stride >= size + padBegin) out--;
  return out;
}

function windowed(node: Node, x: SDim[], kernelShape: number[], channels: SDim, ceil: boolean): SDim[] {
  const n = kernelShape.length;
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  const spatial = kernelShape.map((k, i) => windowOut(node, x[2 + i]!, k, strides[i]!, dilations[i]!, pads[i]!, pads[i + n]!, ceil));
  return [x[0]!, channels, ...spatial];
}

const conv: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const w = input(node, ctx, 1);
  if (!x.shape || !w.shape) return [{ dataType: x.dataType }];
  const kernel = attrInts(node, 'kernel_shape') ?? (w.shape.slice(2) as number[]);
  return [{ dataType: x.dataType, shape: windowed(node, x.shape, kernel, w.shape[0]!, false) }];
};

const convTranspose: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const w = input(node, ctx, 1);
  if (!x.shape || !w.shape) return [{ dataType: x.dataType }];
  const kernel = attrInts(node, 'kernel_shape') ?? (w.shape.slice(2) as number[]);
  const n = kernel.length;
  const group = attrInt(node, 'group', 1);
  const channels = w.shape[1] === null ? null : w.shape[1]! * group;
  const outputShape = attrInts(node, 'output_shape');
  if (outputShape) return [{ dataType: x.dataType, shape: [x.shape[0]!, channels, ...outputShape.slice(-n)] }];
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  const outputPadding = attrInts(node, 'output_padding') ?? new Array<number>(n).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const spatial = kernel.map((k, i) => {
    const size = x.shape![2 + i]!;
    if (size === null) return null;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i]!;
    return strides[i]! * (size - 1) + outputPadding[i]! + (k - 1) * dilations[i]! + 1 - pads[i]! - pads[i + n]!;
  });
  return [{ dataType: x.dataType, shape: [x.shape[0]!, channels, ...spatial] }];
};

const pool: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  if (!x.shape) return node.outputs.map(() => ({ dataType: x.dataType }));
  const kernel = attrInts(node, 'kernel_shape') ?? [];
  const shape = windowed(node, x.shape, kernel, x.shape[1]!, attrInt(node, 'ceil_mode', 0) === 1);
  return node.outputs.map((_, i) => ({ dataType: i === 0 ? x.dataType : 'int64', shape: [...shape] }));
};

const globalPool: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  return [{ dataType: x.dataType, shape: x.shape ? [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] : undefined }];
};

const gemm: ShapeHandler = (node, ctx) => {
  const a = input(node, ctx, 0);
  const b = input(node, ctx, 1);
  if (!a.shape || !b.shape) return [{ dataType: a.dataType }];
  const m = attrInt(node, 'transA', 0) ? a.shape[1]! : a.shape[0]!;
  const n = attrInt(node, 'transB', 0) ? b.shape[0]! : b.shape[1]!;
  return [{ dataType: a.dataType, shape: [m, n] }];
};

const matmul: ShapeHandler = (node, ctx) => {
  const a = input(node, ctx, 0);
  const b = input(node, ctx, 1);
  if (!a.shape || !b.shape) return [{ dataType: a.dataType }];
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const batch = broadcast([as.slice(0, -2), bs.slice(0, -2)])!;
  const shape: SDim[] = [...batch, as[as.length - 2]!, bs[bs.length - 1]!];
  if (b.shape.length === 1) shape.splice(shape.length - 1, 1);
  if (a.shape.length === 1) shape.splice(shape.length - (b.shape.length === 1 ? 1 : 2), 1);
  return [{ dataType: a.dataType, shape }];
};

const flatten: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  if (!x.shape) return [{ dataType: x.dataType }];
  const axis = normalizeAxis(attrInt(node, 'axis', 1), x.shape.length + 1, node);
  const prod = (dims: SDim[]): SDim => (dims.some((d) => d === null) ? null : sizeOf(dims as number[]));
  return [{ dataType: x.dataType, shape: [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))] }];
};

const reshape: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const target = constInts(ctx, 1) ?? ctx.ins[1]?.partial;
  if (!target) {
    const length = ctx.ins[1]?.shape?.[0];
    return [{ dataType: x.dataType, shape: typeof length === 'number' ? new Array<SDim>(length).fill(null) : undefined }];
  }
  if (!x.shape) return [{ dataType: x.dataType, shape: target.map((d) => (d !== null && d > 0 ? d : null)) }];
  return [{ dataType: x.dataType, shape: reshapeDims(node, x.shape, target) }];
};

const transpose: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  if (!x.shape) return [{ dataType: x.dataType }];
  const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
  return [{ dataType: x.dataType, shape: perm.map((p) => x.shape![p]!) }];
};

const squeeze: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const axes = ctx.opset >= 13 ? constInts(ctx, 1) : attrInts(node, 'axes');
  if (!x.shape) return [{ dataType: x.dataType }];
  if (!axes && x.shape.some((d) => d === null)) return [{ dataType: x.dataType }];
  const set = new Set((axes ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normalizeAxis(a, x.shape!.length, node)));
  return [{ dataType: x.dataType, shape: x.shape.filter((_, i) => !set.has(i)) }];
};

const unsqueeze: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const axes = ctx.opset >= 13 ? constInts(ctx, 1) : attrInts(node, 'axes');
  if (!x.shape || !axes) return [{ dataType: x.dataType }];
  return [{ dataType: x.dataType, shape: unsqueezeDims(node, x.shape, axes) }];
};

const concat: ShapeHandler = (node, ctx) => {
  const parts = ctx.ins.filter((f): f is ValueFacts => f !== undefined);
  const first = parts[0]!;
  if (parts.some((p) => !p.shape)) return [{ dataType: first.dataType }];
  const rank = first.shape!.length;
  const axis = normalizeAxis(attrInt(node, 'axis', 0), rank, node);
  const shape = first.shape!.map((d, i) => {
    if (i === axis) return parts.some((p) => p.shape![i] === null) ? null : parts.reduce((s, p) => s + (p.shape![i] as number), 0);
    return parts.map((p) => p.shape![i]!).find((v) => v !== null) ?? d;
  });
  return [{ dataType: first.dataType, shape }];
};

const split: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  if (!x.shape) return node.outputs.map(() => ({ dataType: x.dataType }));
  const axis = normalizeAxis(attrInt(node, 'axis', 0), x.shape.length, node);
  const sizes = (ctx.opset >= 13 ? constInts(ctx, 1) : attrInts(node, 'split')) ?? undefined;
  const n = node.outputs.length;
  const total = x.shape[axis]!;
  const parts: SDim[] = sizes
    ? sizes
    : total === null
      ? new Array<SDim>(n).fill(null)
      : Array.from({ length: n }, (_, i) => {
          // Opset 18 `num_outputs`: ceil-sized chunks, the last one smaller.
          const chunk = Math.ceil(total / n);
          return Math.max(0, Math.min(chunk, total - i * chunk));
        });
  return parts.map((p) => ({ dataType: x.dataType, shape: x.shape!.map((d, i) => (i === axis ? p : d)) }));
};

const slice: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const starts = constInts(ctx, 1);
  const ends = constInts(ctx, 2);
  const axes = ctx.ins[3] ? constInts(ctx, 3) : undefined;
  const steps = ctx.ins[4] ? constInts(ctx, 4) : undefined;
  if (!x.shape || !starts || !ends || (ctx.ins[3] && !axes) || (ctx.ins[4] && !steps)) return [{ dataType: x.dataType, shape: x.shape?.map(() => null) }];
  return [{ dataType: x.dataType, shape: sliceRanges(node, x.shape, starts, ends, axes, steps).map((r) => r.count) }];
};

const gather: ShapeHandler = (node, ctx) => {
  const data = input(node, ctx, 0);
  const indices = input(node, ctx, 1);
  if (!data.shape || !indices.shape) return [{ dataType: data.dataType }];
  const axis = normalizeAxis(attrInt(node, 'axis', 0), data.shape.length, node);
  return [{ dataType: data.dataType, shape: [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)] }];
};

const expand: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const shape = constInts(ctx, 1);
  return [{ dataType: x.dataType, shape: shape ? broadcast([x.shape, shape]) : undefined }];
};

const tile: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const repeats = constInts(ctx, 1);
  return [{ dataType: x.dataType, shape: x.shape && repeats ? x.shape.map((d, i) => (d === null ? null : d * repeats[i]!)) : undefined }];
};

const pad: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const pads = constInts(ctx, 1);
  if (!x.shape || !pads) return [{ dataType: x.dataType, shape: x.shape?.map(() => null) }];
  const rank = x.shape.length;
  const axes = ctx.ins[3] ? constInts(ctx, 3) : x.shape.map((_, i) => i);
  if (!axes) return [{ dataType: x.dataType, shape: x.shape.map(() => null) }];
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const axis = normalizeAxis(a, rank, node);
    const d = shape[axis]!;
    shape[axis] = d === null ? null : d + pads[i]! + pads[i + axes.length]!;
  });
  return [{ dataType: x.dataType, shape }];
};

const shapeOp: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  if (!x.shape) return [{ dataType: 'int64', shape: [null] }];
  const rank = x.shape.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(attrInt(node, 'start', 0));
  const end = clamp(attrInt(node, 'end', rank));
  return [{ dataType: 'int64', shape: [Math.max(0, end - start)] }];
};

const constantOfShape: ShapeHandler = (node, ctx) => {
  const dims = constInts(ctx, 0);
  const value = node.attributes.value;
  const dataType = value?.type === 'tensor' ? value.value.dataType : 'float32';
  const len = input(node, ctx, 0).shape?.[0];
  return [{ dataType, shape: dims ?? (typeof len === 'number' ? new Array<SDim>(len).fill(null) : undefined) }];
};

const reduce =
  (axesInputOpset: number): ShapeHandler =>
  (node, ctx) => {
    const x = input(node, ctx, 0);
    const keep = attrInt(node, 'keepdims', 1) === 1;
    const axesFromInput = ctx.opset >= axesInputOpset;
    const axes = axesFromInput ? (ctx.ins[1] ? constInts(ctx, 1) : []) : (attrInts(node, 'axes') ?? []);
    if (!x.shape || axes === undefined) return [{ dataType: x.dataType }];
    if (axes.length === 0 && axesFromInput && attrInt(node, 'noop_with_empty_axes', 0) === 1) return [{ dataType: x.dataType, shape: [...x.shape] }];
    const set = new Set(axes.length === 0 ? x.shape.map((_, i) => i) : axes.map((a) => normalizeAxis(a, x.shape!.length, node)));
    const shape = keep ? x.shape.map((d, i) => (set.has(i) ? 1 : d)) : x.shape.filter((_, i) => !set.has(i));
    return [{ dataType: x.dataType, shape }];
  };

const argReduce: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  if (!x.shape) return [{ dataType: 'int64' }];
  const axis = normalizeAxis(attrInt(node, 'axis', 0), x.shape.length, node);
  const keep = attrInt(node, 'keepdims', 1) === 1;
  return [{ dataType: 'int64', shape: keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis) }];
};

const batchNorm: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const c = x.shape?.[1] ?? null;
  return node.outputs.map((_, i) => (i === 0 ? strip(x) : { dataType: x.dataType, shape: [c] }));
};

const layerNorm: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  if (!x.shape) return node.outputs.map(() => ({ dataType: x.dataType }));
  const axis = normalizeAxis(attrInt(node, 'axis', -1), x.shape.length, node);
  const stat = x.shape.map((d, i) => (i < axis ? d : 1));
  return node.outputs.map((_, i) => (i === 0 ? strip(x) : { dataType: 'float32', shape: [...stat] }));
};

const dropout: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  return node.outputs.map((_, i) => (i === 0 ? strip(x) : { dataType: 'bool', shape: x.shape ? [...x.shape] : undefined }));
};

const resize: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  if (!x.shape) return [{ dataType: x.dataType }];
  const sizes = ctx.ins[3] ? constInts(ctx, 3) : undefined;
  if (sizes && sizes.length > 0) return [{ dataType: x.dataType, shape: sizes }];
  const scales = node.opType === 'Upsample' ? constInts(ctx, 1) : ctx.ins[2] ? constInts(ctx, 2) : undefined;
  if (!scales || scales.length === 0) return [{ dataType: x.dataType, shape: x.shape.map(() => null) }];
  return [{ dataType: x.dataType, shape: x.shape.map((d, i) => (d === null ? null : Math.floor(d * scales[i]!))) }];
};

const depthToSpace: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const b = attrInt(node, 'blocksize', 1);
  const s = x.shape;
  if (!s) return [{ dataType: x.dataType }];
  const div = (d: SDim, k: number): SDim => (d === null ? null : d / k);
  const mul = (d: SDim, k: number): SDim => (d === null ? null : d * k);
  return [
    {
      dataType: x.dataType,
      shape:
        node.opType === 'DepthToSpace' ? [s[0]!, div(s[1]!, b * b), mul(s[2]!, b), mul(s[3]!, b)] : [s[0]!, mul(s[1]!, b * b), div(s[2]!, b), div(s[3]!, b)],
    },
  ];
};

const topK: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const k = constInts(ctx, 1)?.[0] ?? null;
  if (!x.shape) return [{ dataType: x.dataType }, { dataType: 'int64' }];
  const axis = normalizeAxis(attrInt(node, 'axis', -1), x.shape.length, node);
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  return [
    { dataType: x.dataType, shape },
    { dataType: 'int64', shape: [...shape] },
  ];
};

const range: ShapeHandler = (node, ctx) => [{ dataType: input(node, ctx, 0).dataType, shape: [null] }];

/** Shape handlers keyed by op type (custom domains as `domain:Op`). */
const einsum: ShapeHandler = (node, ctx) => {
  const x = input(node, ctx, 0);
  const eq = parseEinsum(attrString(node, 'equation', ''));
  const shapes = node.inputs.map((_, i) => input(node, ctx, i).shape);
  if (typeof eq === 'string' || shapes.some((s) => s === undefined)) return [{ dataType: x.dataType }];
  const shape = einsumShape(eq, shapes as SDim[][]);
  return [{ dataType: x.dataType, shape: typeof shape === 'string' ? undefined : shape }];
};

const handlers: Record<string, ShapeHandler> = {
  Einsum: einsum,
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Gemm: gemm,
  MatMul: matmul,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Expand: expand,
  Tile: tile,
  Pad: pad,
  Shape: shapeOp,
  Size: () => [{ dataType: 'int64', shape: [] }],
  ConstantOfShape: constantOfShape,
  Range: range,
  ReduceSum: reduce(13),
  ReduceMean: reduce(18),
  ReduceMax: reduce(18),
  ReduceMin: reduce(18),
  ReduceProd: reduce(18),
  ReduceL1: reduce(18),
  ReduceL2: reduce(18),
  ReduceLogSumExp: reduce(18),
  ReduceSumSquare: reduce(18),
  ArgMax: argReduce,
  ArgMin: argReduce,
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Dropout: dropout,
  Resize: resize,
  Upsample: resize,
  DepthToSpace: depthToSpace,
  SpaceToDepth: depthToSpace,
  TopK: topK,
  Cast: (node, ctx) => [{ dataType: castTarget(node), shape: input(node, ctx, 0).shape }],
  CastLike: (node, ctx) => [{ dataType: input(node, ctx, 1).dataType, shape: input(node, ctx, 0).shape }],
  Where: (node, ctx) => [{ dataType: input(node, ctx, 1).dataType, shape: broadcast(ctx.ins.map((f) => f?.shape)) }],
  GatherElements: (node, ctx) => [{ dataType: input(node, ctx, 0).dataType, shape: input(node, ctx, 1).shape }],
  NonZero: (node, ctx) => [{ dataType: 'int64', shape: [input(node, ctx, 0).shape?.length ?? null, null] }],
  EyeLike: same(),
  ScatterElements: same(),
  ScatterND: same(),
  CumSum: same(),
  Trilu: same(),
  'xai.tools:SiLU': same(),
};
for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'PRelu', 'Max', 'Min', 'Sum', 'Mean', 'BitShift']) handlers[op] = elementwise();
for (const op of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor']) handlers[op] = elementwise('bool');
for (const op of [
  'Identity',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Tanh',
  'Exp',
  'Log',
  'Sqrt',
  'Abs',
  'Neg',
  'Elu',
  'Selu',
  'Celu',
  'Softplus',
  'Softsign',
  'Erf',
  'Gelu',
  'Mish',
  'ThresholdedRelu',
  'Shrink',
  'Clip',
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Sin',
  'Cos',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'InstanceNormalization',
  'LRN',
  'MeanVarianceNormalization',
  'LpNormalization',
])
  handlers[op] = same();
for (const op of ['Not', 'IsNaN', 'IsInf']) handlers[op] = (node, ctx) => [{ dataType: 'bool', shape: input(node, ctx, 0).shape }];

// ---------------------------------------------------------------------------------------------
// Partially known integer vectors (shape arithmetic on values with dynamic dims)

const PARTIAL_MAX = 16;

/** Elements of a small integer vector: its value when constant, else its partial value. */
function partialOf(f: ValueFacts | undefined): SDim[] | undefined {
  if (!f) return undefined;
  if (f.value)
    return f.value.dims.length <= 1 && f.value.data.length <= PARTIAL_MAX && f.dataType !== 'float32' && f.dataType !== 'float64'
      ? toNumbers(f.value)
      : undefined;
  return f.partial;
}

type PartialRule = (node: Node, ins: Array<ValueFacts | undefined>) => SDim[] | undefined;

const partialArith =
  (f: (a: number, b: number) => number): PartialRule =>
  (_node, ins) => {
    const a = partialOf(ins[0]);
    const b = partialOf(ins[1]);
    if (!a || !b || (a.length !== b.length && a.length !== 1 && b.length !== 1)) return undefined;
    const n = Math.max(a.length, b.length);
    return Array.from({ length: n }, (_, i) => {
      const x = a[a.length === 1 ? 0 : i]!;
      const y = b[b.length === 1 ? 0 : i]!;
      return x === null || y === null ? null : f(x, y);
    });
  };

/** How ops combine partial values; the result is a vector (rank-0 results are stored as 1 element). */
const partialRules: Record<string, PartialRule> = {
  Shape: (node, ins) => {
    const shape = ins[0]?.shape;
    if (!shape) return undefined;
    const rank = shape.length;
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
    return shape.slice(clamp(attrInt(node, 'start', 0)), clamp(attrInt(node, 'end', rank)));
  },
  Gather: (node, ins) => {
    const data = partialOf(ins[0]);
    const indices = ins[1]?.value ? toNumbers(ins[1].value) : undefined;
    if (!data || !indices || attrInt(node, 'axis', 0) !== 0) return undefined;
    return indices.map((i) => data[i < 0 ? i + data.length : i] ?? null);
  },
  Unsqueeze: (_node, ins) => partialOf(ins[0]),
  Squeeze: (_node, ins) => partialOf(ins[0]),
  Identity: (_node, ins) => partialOf(ins[0]),
  Cast: (node, ins) => (castTarget(node).startsWith('int') ? partialOf(ins[0]) : undefined),
  Concat: (_node, ins) => {
    const parts = ins.map(partialOf);
    return parts.every((p) => p !== undefined) ? parts.flat() : undefined;
  },
  Add: partialArith((a, b) => a + b),
  Sub: partialArith((a, b) => a - b),
  Mul: partialArith((a, b) => a * b),
  Div: partialArith((a, b) => Math.trunc(a / b)),
};

/** Op types (`domain:Op` outside ai.onnx) that shape inference understands. */
export function supportsShapeInference(node: Node): boolean {
  return (node.domain ? `${node.domain}:${node.opType}` : node.opType) in handlers;
}

/**
 * Infers element type, shape and constant value of every value in the graph. `inputShapes` gives
 * concrete shapes for graph inputs (by name, or one array for the single input); inputs not given
 * keep their declared shape (symbolic dims become null). Values of unsupported ops get their
 * declared value info or stay unknown. Throws (plain Error) on inconsistent graphs.
 */
export function inferValues(model: Model, inputShapes?: number[] | Record<string, number[]>): Map<string, ValueFacts> {
  const graph = model.graph;
  const opset = defaultOpset(model);
  const facts = new Map<string, ValueFacts>();
  for (const [name, t] of graph.initializers) facts.set(name, { dataType: t.dataType, shape: [...t.dims], value: t });
  const given = Array.isArray(inputShapes) ? { [graph.inputs[0]?.name ?? '']: inputShapes } : (inputShapes ?? {});
  for (const v of graph.inputs) {
    const shape = given[v.name] ?? v.shape?.map((d) => (typeof d === 'number' ? d : null));
    facts.set(v.name, { dataType: v.dataType, shape: shape ? [...shape] : undefined });
  }
  for (const node of graph.nodes) {
    const ins = node.inputs.map((name) => (name ? facts.get(name) : undefined));
    let outs: ValueFacts[] | undefined;
    const allConstant = node.inputs.length > 0 && node.inputs.every((name, i) => name === '' || ins[i]?.value !== undefined);
    // `Shape` only needs its input's static shape, not its value.
    const shapeOnly = node.opType === 'Shape' && node.domain === '' && known(ins[0]?.shape);
    if (allConstant || shapeOnly) {
      const inputs = shapeOnly
        ? [{ name: '', dataType: ins[0]!.dataType, dims: ins[0]!.shape as number[], data: new Float32Array(0) }]
        : ins.map((f) => f?.value);
      const values = evaluateNode(node, inputs, opset);
      if (values && values.every((t) => t.data.length <= MAX_FOLD_ELEMENTS)) outs = values.map((t) => ({ dataType: t.dataType, shape: [...t.dims], value: t }));
    }
    if (!outs) {
      const handler = handlers[node.domain ? `${node.domain}:${node.opType}` : node.opType];
      if (handler && ins.every((f, i) => f !== undefined || node.inputs[i] === '')) {
        outs = handler(node, { opset, ins });
      } else {
        outs = node.outputs.map((name) => {
          const info = graph.valueInfo.get(name) ?? graph.outputs.find((o) => o.name === name);
          return { dataType: info?.dataType ?? 'float32', shape: info?.shape?.map((d) => (typeof d === 'number' ? d : null)) };
        });
      }
    }
    const rule = node.domain === '' && outs.length === 1 && !outs[0]!.value ? partialRules[node.opType] : undefined;
    if (rule) {
      const partial = rule(node, ins);
      if (partial && partial.length <= PARTIAL_MAX) outs[0]!.partial = partial;
    }
    node.outputs.forEach((name, i) => {
      if (name && outs![i]) facts.set(name, outs![i]!);
    });
  }
  return facts;
}

/**
 * The static shape of every value (graph inputs, initializers, node outputs) for a concrete input
 * shape (the full shape including the batch dimension, for the model's single input; or a map by
 * input name). Throws `UserError` naming the node when a shape cannot be determined (an op shape
 * inference does not know, or a shape that depends on data).
 */
export function inferShapes(model: Model, inputShape: number[] | Record<string, number[]>): Map<string, number[]> {
  let facts: Map<string, ValueFacts>;
  try {
    facts = inferValues(model, inputShape);
  } catch (error) {
    throw new UserError(undefined, `shape inference failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const shapes = new Map<string, number[]>();
  for (const [name, f] of facts) if (known(f.shape)) shapes.set(name, f.shape);
  for (const node of model.graph.nodes) {
    for (const out of node.outputs) {
      if (out && !shapes.has(out)) {
        const reason = supportsShapeInference(node) ? 'its shape depends on data or on unknown inputs' : 'this op is not supported by shape inference';
        throw new UserError(undefined, `cannot infer the shape of ${out} (node ${node.name}, ${node.opType}): ${reason}`);
      }
    }
  }
  return shapes;
}

/**
 * The rank of each value where shape inference knows it, for rewrites done while a model is read;
 * when inference fails (a model the later passes will refuse anyway) every rank is unknown.
 */
export function knownRanks(model: Model): (name: string) => number | undefined {
  try {
    const facts = inferValues(model);
    return (name) => facts.get(name)?.shape?.length;
  } catch {
    return () => undefined;
  }
}
