/**
 * Building blocks of exact vector-Jacobian products: what a node without an LRP rule does with the
 * relevance arriving at its outputs, and what the Norm and Epsilon rules use on non-linear nodes.
 * Each op's handler sits in its record (ops.ts). Handlers emit ONNX nodes through the Emitter;
 * `check` rejects attribute combinations a handler cannot differentiate before anything is emitted.
 */
import { attr } from '../onnx/builder.js';
import { attrInt, attrInts } from '../onnx/attributes.js';
import type { Graph, Node, Tensor } from '../onnx/ir.js';
import { toNumbers } from '../onnx/tensor.js';
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

export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Relevance for input 0 only. */
export function first(ctx: VjpContext, value: string): InputRelevance {
  return ctx.node.inputs.map((_, i) => (i === 0 ? value : null));
}
export function only(R: Array<string | null>): string {
  return R[0]!;
}

/** Elementwise op whose derivative is computed from (x, y): Rin = R ⊙ f'(x, y). */
export function elementwise(derivative: (em: Emitter, x: string, y: string, node: Node) => string): VjpHandler {
  return { backward: (ctx, R) => first(ctx, ctx.em.mul(only(R), derivative(ctx.em, ctx.node.inputs[0]!, ctx.node.outputs[0]!, ctx.node))) };
}
/** Elementwise op with a masking derivative: Rin = cond(x) ? R : other(R). */
export function masked(cond: (em: Emitter, x: string, node: Node) => string, otherwise: (em: Emitter, r: string, node: Node, x: string) => string): VjpHandler {
  return {
    backward: (ctx, R) => {
      const r = only(R);
      const x = ctx.node.inputs[0]!;
      return first(ctx, ctx.em.where(cond(ctx.em, x, ctx.node), r, otherwise(ctx.em, r, ctx.node, x)));
    },
  };
}

export const routeIdentity: VjpHandler = { backward: (ctx, R) => first(ctx, only(R)) };
export const routeReshape: VjpHandler = { backward: (ctx, R) => first(ctx, ctx.em.reshape(only(R), ctx.em.shape(ctx.node.inputs[0]!))) };

export function constantInts(ctx: Pick<VjpContext, 'constant'>, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const t = ctx.constant(name);
  return t ? toNumbers(t) : undefined;
}

/** Slice parameters resolved to per-axis [begin, end) with unit steps; a string when unsupported. */
/** What a Slice keeps of one axis: elements begin, begin + step, … below end (step ≥ 1); count of them. */
export interface SliceAxis {
  begin: number;
  end: number;
  step: number;
  count: number;
}

/** The kept window of every axis of a Slice with constant bounds and positive steps, or why not. */
export function sliceWindow(node: Node, ctx: Pick<VjpContext, 'constant'>, inShape: number[]): SliceAxis[] | string {
  const starts = constantInts(ctx, node.inputs[1]) ?? attrInts(node, 'starts');
  const ends = constantInts(ctx, node.inputs[2]) ?? attrInts(node, 'ends');
  const axes = constantInts(ctx, node.inputs[3]) ?? attrInts(node, 'axes') ?? starts?.map((_, i) => i);
  const steps = constantInts(ctx, node.inputs[4]) ?? starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps) return 'its starts/ends/axes/steps are not constants';
  if (steps.some((s) => s < 1)) return 'slices with negative steps are not supported';
  const window: SliceAxis[] = inShape.map((d) => ({ begin: 0, end: d, step: 1, count: d }));
  axes.forEach((a, i) => {
    const axis = normAxis(a, inShape.length);
    const d = inShape[axis]!;
    const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const begin = clampIndex(starts[i]!);
    const end = Math.max(begin, clampIndex(ends[i]!));
    const step = steps[i]!;
    window[axis] = { begin, end, step, count: Math.ceil((end - begin) / step) };
  });
  return window;
}

/**
 * The adjoint of a Slice: R (the kept elements) back in place in a zero tensor of the input's shape.
 * A strided axis is first spread out — each element followed by step − 1 zeros (reshape to
 * [… count, 1 …], pad to [… count, step …], reshape to [… count·step …]) — then cropped to what fits
 * from `begin`; one Pad then puts every axis at its offset.
 */
export function sliceAdjoint(em: Emitter, r: string, window: SliceAxis[], inShape: number[]): string {
  let out = r;
  window.forEach((w, axis) => {
    if (w.step === 1 || w.count === 0) return;
    const shape = em.shape(out);
    const spread = [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)];
    const pads = new Array<number>(2 * spread.length).fill(0);
    pads[spread.length + axis + 1] = w.step - 1;
    const padded = em.op(
      'Pad',
      [em.reshape(out, spread), em.int64(pads)],
      { mode: attr.string('constant') },
      spread.map((d, i) => (i === axis + 1 ? w.step : d)),
    );
    const flat = shape.map((d, i) => (i === axis ? w.count * w.step : d));
    out = em.reshape(padded, flat);
    const fits = inShape[axis]! - w.begin;
    if (w.count * w.step > fits) {
      out = em.op(
        'Slice',
        [out, em.int64([0]), em.int64([fits]), em.int64([axis])],
        {},
        flat.map((d, i) => (i === axis ? fits : d)),
      );
    }
  });
  const covered = em.shape(out);
  const pads = [...window.map((w) => w.begin), ...window.map((w, i) => inShape[i]! - w.begin - covered[i]!)];
  if (pads.every((p) => p === 0)) return out;
  return em.op('Pad', [out, em.int64(pads)], { mode: attr.string('constant') }, inShape);
}

export function padAmounts(node: Node, ctx: Pick<VjpContext, 'constant'>): number[] | undefined {
  return constantInts(ctx, node.inputs[1]) ?? attrInts(node, 'pads');
}

/** Σ over broadcasting of R into each operand of an n-ary sum. */
export const sumLike = (signs: (i: number) => number): VjpHandler => ({
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
export function scatterToIndices(ctx: VjpContext, r: string, indices: string, inShape: number[]): string {
  const { em } = ctx;
  const total = inShape.reduce((a, b) => a * b, 1);
  const count = em.numel(r);
  const flatIndices = em.op('Reshape', [indices, em.int64([count])], {}, [count]);
  const flatR = em.reshape(r, [count]);
  const scattered = em.op('ScatterElements', [em.zeros([total]), flatIndices, flatR], { axis: attr.int(0), reduction: attr.string('add') }, [total]);
  return em.reshape(scattered, inShape);
}

export function linearAdjoint(): VjpHandler {
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
export const averagePool: VjpHandler = {
  check: (node) =>
    node.attributes.auto_pad && node.attributes.auto_pad.type === 'string' && !['NOTSET', 'VALID'].includes(node.attributes.auto_pad.value)
      ? 'auto_pad SAME_* is not supported'
      : // Opset 19 added dilations; the divisor and window arithmetic below assume contiguous windows.
        (attrInts(node, 'dilations') ?? []).some((d) => d !== 1)
        ? 'dilations other than 1 are not supported'
        : null,
  backward: (ctx, R) => {
    const { em, node } = ctx;
    const r = only(R);
    const x = node.inputs[0]!;
    const inShape = em.shape(x);
    const outShape = em.shape(r);
    const spatial = inShape.length - 2;
    const kernel = attrInts(node, 'kernel_shape')!;
    const strides = attrInts(node, 'strides') ?? new Array(spatial).fill(1);
    const pads =
      node.attributes.auto_pad?.type === 'string' && node.attributes.auto_pad.value === 'VALID'
        ? new Array(2 * spatial).fill(0)
        : (attrInts(node, 'pads') ?? new Array(2 * spatial).fill(0));
    const countPad = attrInt(node, 'count_include_pad', 0) === 1;
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
    const spread = em.op(
      'ConvTranspose',
      [scaled, em.constant(ones, [channels, 1, ...kernel])],
      {
        strides: attr.ints(strides),
        pads: attr.ints([...pads.slice(0, spatial), ...endPads]),
        group: attr.int(channels),
        kernel_shape: attr.ints(kernel),
        output_padding: attr.ints(outputPadding),
      },
      inShape,
    );
    return first(ctx, spread);
  },
};

export function reduceBackward(mean: boolean): VjpHandler {
  return {
    check: (node, ctx) => (node.inputs[1] && !ctx.constant(node.inputs[1]) ? 'its axes are not constant' : null),
    backward: (ctx, R) => {
      const { em, node } = ctx;
      const inShape = em.shape(node.inputs[0]!);
      const rank = inShape.length;
      const axesRaw = constantInts(ctx, node.inputs[1]) ?? attrInts(node, 'axes');
      const noopEmpty = attrInt(node, 'noop_with_empty_axes', 0) === 1;
      if ((!axesRaw || axesRaw.length === 0) && noopEmpty) return first(ctx, only(R));
      const axes = (axesRaw && axesRaw.length > 0 ? axesRaw : inShape.map((_, i) => i)).map((a) => normAxis(a, rank));
      const kept = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
      let g = em.expand(em.reshape(only(R), kept), inShape);
      if (mean) g = em.scale(g, 1 / axes.reduce((n, a) => n * inShape[a]!, 1));
      return first(ctx, g);
    },
  };
}

export function softmaxAxis(node: Node, rank: number): number {
  return normAxis(attrInt(node, 'axis', -1), rank);
}

/** A (Log)Softmax node's output with its shape, normalised axis and that shape reduced over the axis. */
export function softmaxOutput(ctx: VjpContext): { y: string; shape: number[]; axis: number; kept: number[] } {
  const y = ctx.node.outputs[0]!;
  const shape = ctx.em.shape(y);
  const axis = softmaxAxis(ctx.node, shape.length);
  return { y, shape, axis, kept: shape.map((d, i) => (i === axis ? 1 : d)) };
}
