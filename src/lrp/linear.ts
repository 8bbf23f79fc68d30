/**
 * Linear layers (Conv, ConvTranspose, Gemm, MatMul with a constant weight) seen the way the LRP rules
 * see them: a weight W, a per-output-channel bias b, the map `L(W, u)` and its adjoint `adj(W, s)`.
 * Rules hand in modified copies of W (clamped, scaled, squared, ones) and get back emitted nodes:
 *   - `forward(u, variants)`   L(W_k, u) + b_k for several variants sharing one input,
 *   - `forwardSum(terms, b)`   Σ_k L(W_k, u_k) + b,
 *   - `adjointSum(pairs)`      Σ_k adj(W_k, s_k),
 *   - `adjointMany(s, Ws)`     adj(W_k, s) for several variants sharing one relevance.
 * Variants that share an operand run as ONE wider op: weights concatenated along the output-channel
 * axis (forward, adjointSum) or the input-channel axis (adjointMany); terms with the same input are
 * merged by adding their weights, since L is linear in W.
 */
import { attr } from '../onnx/builder.js';
import { attrFloat, attrInt, attrInts, attrString } from '../onnx/attributes.js';
import type { Attribute, Graph, Node } from '../onnx/ir.js';
import { float32Data, toNumbers } from '../onnx/tensor.js';
import { MARKER_DOMAIN } from './canonize/types.js';
import type { Emitter } from './emitter.js';

export type LinearType = 'conv' | 'convTranspose' | 'dense';

export interface ConvGeometry {
  strides: number[];
  /** [begin…, end…] like ONNX `pads`. */
  pads: number[];
  dilations: number[];
  group: number;
  kernel: number[];
}

export interface LinearLayer {
  node: Node;
  type: LinearType;
  /** The activation input and the output value. */
  input: string;
  output: string;
  /**
   * Conv: [out, in/group, k…]; ConvTranspose: [in, out/group, k…]; dense: [out, in]. Read-only: it
   * may be the model initializer's own (shared) buffer; rules derive new arrays from it.
   */
  weight: Float32Array;
  weightDims: number[];
  /** One value per output channel; null when the node has no bias. */
  bias: Float32Array | null;
  outChannels: number;
  geometry?: ConvGeometry;
}

export interface Variant {
  weight: Float32Array;
  bias: Float32Array | null;
}

/** Explicit conv geometry, resolving `auto_pad` against the static shapes. */
function convGeometry(node: Node, weightDims: number[], inShape: number[], outShape: number[]): ConvGeometry | string {
  const spatial = weightDims.length - 2;
  const kernel = attrInts(node, 'kernel_shape') ?? weightDims.slice(2);
  const strides = attrInts(node, 'strides') ?? new Array(spatial).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array(spatial).fill(1);
  const group = attrInt(node, 'group', 1);
  let pads = attrInts(node, 'pads') ?? new Array(2 * spatial).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (node.opType === 'ConvTranspose') {
    if (attrInts(node, 'output_shape') || (autoPad !== 'NOTSET' && autoPad !== 'VALID'))
      return 'ConvTranspose with output_shape or auto_pad SAME_* is not supported (export with explicit pads)';
    if (autoPad === 'VALID') pads = new Array(2 * spatial).fill(0);
  } else if (autoPad === 'VALID') {
    pads = new Array(2 * spatial).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array(2 * spatial).fill(0);
    for (let i = 0; i < spatial; i++) {
      const total = Math.max(0, (outShape[2 + i]! - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inShape[2 + i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + spatial] = total - pads[i]!;
    }
  }
  return { strides, pads, dilations, group, kernel };
}

/**
 * Reads a node as a linear layer. Returns a string explaining why not when the node has the right
 * op type but cannot be treated as one (the caller decides whether that is an error), or null when
 * the op type is not linear at all.
 */
export function asLinearLayer(node: Node, graph: Graph, shapes: Map<string, number[]>): LinearLayer | string | null {
  const constant = (name: string | undefined) => (name ? graph.initializers.get(name) : undefined);
  const inShape = shapes.get(node.inputs[0] ?? '');
  const outShape = shapes.get(node.outputs[0] ?? '');
  if (node.opType === 'Conv' || node.opType === 'ConvTranspose') {
    const w = constant(node.inputs[1]);
    if (!w) return 'the weight is not a constant';
    if (constant(node.inputs[0])) return 'the input is a constant';
    const b = constant(node.inputs[2]);
    if (node.inputs[2] && !b) return 'the bias is not a constant';
    if (!inShape || !outShape) return 'its shapes are unknown';
    const geometry = convGeometry(node, w.dims, inShape, outShape);
    if (typeof geometry === 'string') return geometry;
    const outChannels = node.opType === 'Conv' ? w.dims[0]! : w.dims[1]! * geometry.group;
    return {
      node,
      type: node.opType === 'Conv' ? 'conv' : 'convTranspose',
      input: node.inputs[0]!,
      output: node.outputs[0]!,
      // The initializer's own buffers, not copies (read-only; see LinearLayer.weight).
      weight: float32Data(w),
      weightDims: [...w.dims],
      bias: b ? float32Data(b) : null,
      outChannels,
      geometry,
    };
  }
  if (node.opType === 'Gemm') {
    const bTensor = constant(node.inputs[1]);
    if (!bTensor || bTensor.dims.length !== 2) return 'the weight is not a constant matrix';
    if (attrInt(node, 'transA', 0) !== 0) return 'transA = 1 is not supported';
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const transB = attrInt(node, 'transB', 0) === 1;
    const [r, c] = bTensor.dims as [number, number];
    const out = transB ? r : c;
    const inn = transB ? c : r;
    const src = float32Data(bTensor);
    // The canonical dense layer (transB = 1, alpha = 1) already holds W as [out, in]: share its buffer
    // (VGG-16's first dense weight alone is 411 MB); otherwise build the transposed/scaled copy.
    let weight = src;
    if (!transB || alpha !== 1) {
      weight = new Float32Array(out * inn);
      for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) weight[o * inn + i] = alpha * (transB ? src[o * inn + i]! : src[i * out + o]!);
    }
    let bias: Float32Array | null = null;
    if (node.inputs[2]) {
      const cTensor = constant(node.inputs[2]);
      if (!cTensor) return 'the bias is not a constant';
      const values = toNumbers(cTensor);
      const perChannel =
        values.length === out && cTensor.dims.filter((d) => d !== 1).length <= 1 && (cTensor.dims.at(-1) ?? 1) === (values.length === 1 ? 1 : out);
      if (values.length !== 1 && !perChannel) return 'the bias is not per output unit';
      bias = Float32Array.from({ length: out }, (_, o) => beta * (values.length === 1 ? values[0]! : values[o]!));
    }
    return { node, type: 'dense', input: node.inputs[0]!, output: node.outputs[0]!, weight, weightDims: [out, inn], bias, outChannels: out };
  }
  // MatMul(x, W), or the pattern stand-in Dense(x, W, b) = MatMul + bias Add (patterns/dense-bias.ts).
  if ((node.opType === 'MatMul' && node.domain === '') || (node.opType === 'Dense' && node.domain === MARKER_DOMAIN)) {
    const bTensor = constant(node.inputs[1]);
    if (!bTensor || bTensor.dims.length !== 2) return 'the weight is not a constant matrix';
    if (constant(node.inputs[0])) return 'the input is a constant';
    const [inn, out] = bTensor.dims as [number, number];
    const src = float32Data(bTensor);
    const weight = new Float32Array(out * inn);
    for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) weight[o * inn + i] = src[i * out + o]!;
    const biasTensor = node.inputs[2] ? constant(node.inputs[2]) : undefined;
    const bias = biasTensor ? Float32Array.from(toNumbers(biasTensor)) : null;
    return { node, type: 'dense', input: node.inputs[0]!, output: node.outputs[0]!, weight, weightDims: [out, inn], bias, outChannels: out };
  }
  return null;
}

// ---- weight algebra (compile time; the weights are constants; plain loops: ResNet-50 has 25M of them) ----

function mapWeights(w: Float32Array, f: (v: number) => number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = f(w[i]!);
  return out;
}
export const positive = (w: Float32Array): Float32Array => mapWeights(w, (v) => (v > 0 ? v : 0));
export const negative = (w: Float32Array): Float32Array => mapWeights(w, (v) => (v < 0 ? v : 0));
export const onesLike = (w: Float32Array): Float32Array => new Float32Array(w.length).fill(1);
export const squared = (w: Float32Array): Float32Array => mapWeights(w, (v) => v * v);
/** w + γ·part (part = w⁺ or w⁻) */
export function plusScaled(w: Float32Array, part: Float32Array, gamma: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = w[i]! + gamma * part[i]!;
  return out;
}
export function addWeights(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** Stacked weights already built, so a rule's forward and adjoint share one constant. */
// Weight buffers are shared with the model (and between compiles), so entries also match on dims.
const stackCache = new WeakMap<
  Float32Array,
  Array<{ weights: Float32Array[]; dims: number[]; axis: number; result: { data: Float32Array; dims: number[] } }>
>();

/** Concatenates weights along `axis` of `dims` (compile time). */
function concatWeights(weights: Float32Array[], dims: number[], axis: number): { data: Float32Array; dims: number[] } {
  const cached = stackCache
    .get(weights[0]!)
    ?.find((e) => e.axis === axis && sameDims(e.dims, dims) && e.weights.length === weights.length && e.weights.every((w, i) => w === weights[i]));
  if (cached) return cached.result;
  const result = concatWeightsUncached(weights, dims, axis);
  const list = stackCache.get(weights[0]!) ?? [];
  list.push({ weights, dims: [...dims], axis, result });
  stackCache.set(weights[0]!, list);
  return result;
}

function concatWeightsUncached(weights: Float32Array[], dims: number[], axis: number): { data: Float32Array; dims: number[] } {
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis).reduce((a, b) => a * b, 1);
  const data = new Float32Array(weights.length * weights[0]!.length);
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const w of weights) {
      data.set(w.subarray(o * inner, (o + 1) * inner), offset);
      offset += inner;
    }
  }
  const out = [...dims];
  out[axis] = dims[axis]! * weights.length;
  return { data, dims: out };
}

/** Emits L(W, u) + b for conv-like layers with the given (possibly widened) weight. */
function emitConvLike(em: Emitter, layer: LinearLayer, u: string, weight: Float32Array, dims: number[], bias: Float32Array | null): string {
  const g = layer.geometry!;
  const attrs: Record<string, Attribute> = {
    strides: attr.ints(g.strides),
    pads: attr.ints(g.pads),
    dilations: attr.ints(g.dilations),
    group: attr.int(g.group),
    kernel_shape: attr.ints(g.kernel),
  };
  const outShape = [...em.shape(layer.output)];
  outShape[0] = em.shape(u)[0]!;
  if (layer.type === 'conv') outShape[1] = dims[0]!;
  else {
    outShape[1] = dims[1]! * g.group;
    const op = layer.node.attributes.output_padding;
    if (op) attrs.output_padding = op;
  }
  const inputs = [u, em.constant(weight, dims, 'rel_w')];
  if (bias) inputs.push(em.constant(bias, [bias.length], 'rel_b'));
  return em.op(layer.type === 'conv' ? 'Conv' : 'ConvTranspose', inputs, attrs, outShape);
}

/** Emits u·Wᵀ + b for dense layers; `weight` is [out, in] (possibly stacked variants). */
function emitDense(em: Emitter, u: string, weight: Float32Array, dims: number[], bias: Float32Array | null): string {
  const [out, inn] = dims as [number, number];
  const transposed = new Float32Array(weight.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) transposed[i * out + o] = weight[o * inn + i]!;
  const uShape = em.shape(u);
  const y = em.op('MatMul', [u, em.constant(transposed, [inn, out], 'rel_w')], {}, [...uShape.slice(0, -1), out]);
  return bias ? em.add(y, em.constant(bias, [out], 'rel_b')) : y;
}

/** L(W_k, u) + b_k for every variant, as one wide op where the layer allows it. */
export function forward(em: Emitter, layer: LinearLayer, u: string, variants: Variant[]): string[] {
  const wide = variants.length > 1 && (layer.type === 'dense' || (layer.type === 'conv' && layer.geometry!.group === 1));
  const channelAxis = layer.type === 'dense' ? em.shape(layer.output).length - 1 : 1;
  const emitOne = (weight: Float32Array, dims: number[], bias: Float32Array | null): string =>
    layer.type === 'dense' ? emitDense(em, u, weight, dims, bias) : emitConvLike(em, layer, u, weight, dims, bias);
  if (!wide) return variants.map((v) => emitOne(v.weight, layer.weightDims, v.bias));
  const stacked = concatWeights(
    variants.map((v) => v.weight),
    layer.weightDims,
    0,
  );
  const anyBias = variants.some((v) => v.bias);
  const bias = anyBias ? Float32Array.from(variants.flatMap((v) => Array.from(v.bias ?? new Float32Array(layer.outChannels)))) : null;
  const y = emitOne(stacked.data, stacked.dims, bias);
  return em.split(
    y,
    channelAxis,
    variants.map(() => layer.outChannels),
  );
}

/** Σ_k L(W_k, u_k) + bias; terms that share an input are merged by adding their weights. */
export function forwardSum(em: Emitter, layer: LinearLayer, terms: Array<{ u: string; weight: Float32Array }>, bias: Float32Array | null): string {
  const merged = new Map<string, Float32Array>();
  for (const t of terms) merged.set(t.u, merged.has(t.u) ? addWeights(merged.get(t.u)!, t.weight) : t.weight);
  const parts = [...merged].map(([u, weight], i) => forward(em, layer, u, [{ weight, bias: i === 0 ? bias : null }])[0]!);
  return em.sum(parts);
}

const flipCache = new WeakMap<Float32Array, { dims: number[]; group: number; result: { data: Float32Array; dims: number[] } }>();

const sameDims = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Conv weight [out, in/g, k…] → the kernel whose correlation is its transposed convolution:
 * [in, out/g, k…] with every spatial axis reversed (per group).
 */
function flippedKernel(weight: Float32Array, dims: number[], group: number): { data: Float32Array; dims: number[] } {
  const cached = flipCache.get(weight);
  if (cached && cached.group === group && sameDims(cached.dims, dims)) return cached.result;
  const [out, inPerGroup] = dims as [number, number];
  const k = dims.slice(2).reduce((a, b) => a * b, 1);
  const outPerGroup = out / group;
  const data = new Float32Array(weight.length);
  for (let gi = 0; gi < group; gi++) {
    for (let co = 0; co < outPerGroup; co++) {
      for (let ci = 0; ci < inPerGroup; ci++) {
        const src = ((gi * outPerGroup + co) * inPerGroup + ci) * k;
        const dst = ((gi * inPerGroup + ci) * outPerGroup + co) * k;
        for (let j = 0; j < k; j++) data[dst + k - 1 - j] = weight[src + j]!;
      }
    }
  }
  const result = { data, dims: [inPerGroup * group, outPerGroup, ...dims.slice(2)] };
  flipCache.set(weight, { dims: [...dims], group, result });
  return result;
}

/** adj(W, s) for one weight (s output-shaped → input-shaped, batch taken from s). */
function adjointOne(em: Emitter, layer: LinearLayer, s: string, weight: Float32Array, dims: number[], inChannels?: number): string {
  const inShape = [...em.shape(layer.input)];
  inShape[0] = em.shape(s)[0]!;
  if (layer.type === 'dense') {
    const out = [...inShape.slice(0, -1), dims[1]!];
    return em.op('MatMul', [s, em.constant(weight, dims, 'rel_w')], {}, out);
  }
  const g = layer.geometry!;
  const sShape = em.shape(s);
  const spatial = g.kernel.length;
  if (layer.type === 'conv') {
    // Transposed conv with explicit end pads / output_padding so the output is exactly the input size
    // (PyTorch's placement; ONNX's output_shape would pad at the start instead).
    const endPads: number[] = [];
    const outputPadding: number[] = [];
    for (let i = 0; i < spatial; i++) {
      const full = (sShape[2 + i]! - 1) * g.strides[i]! + (g.kernel[i]! - 1) * g.dilations[i]! + 1 - g.pads[i]!;
      const diff = full - inShape[2 + i]!;
      endPads.push(Math.max(diff, 0));
      outputPadding.push(Math.max(-diff, 0));
    }
    const outShape = [...inShape];
    outShape[1] = inChannels ?? dims[1]! * g.group;
    // Stride 1: the adjoint is a plain convolution with the flipped, channel-transposed kernel,
    // which onnxruntime runs markedly faster than ConvTranspose (about 1.6× on VGG-16's layers).
    const reach = g.kernel.map((k, i) => (k - 1) * g.dilations[i]!);
    const flippedPads = [...reach.map((r, i) => r - g.pads[i]!), ...reach.map((r, i) => r - endPads[i]! + outputPadding[i]!)];
    if (g.strides.every((v) => v === 1) && flippedPads.every((p) => p >= 0)) {
      const flipped = flippedKernel(weight, dims, g.group);
      return em.op(
        'Conv',
        [s, em.constant(flipped.data, flipped.dims, 'rel_wflip')],
        {
          pads: attr.ints(flippedPads),
          dilations: attr.ints(g.dilations),
          group: attr.int(g.group),
          kernel_shape: attr.ints(g.kernel),
        },
        outShape,
      );
    }
    return em.op(
      'ConvTranspose',
      [s, em.constant(weight, dims, 'rel_w')],
      {
        strides: attr.ints(g.strides),
        pads: attr.ints([...g.pads.slice(0, spatial), ...endPads]),
        dilations: attr.ints(g.dilations),
        group: attr.int(g.group),
        kernel_shape: attr.ints(g.kernel),
        output_padding: attr.ints(outputPadding),
      },
      outShape,
    );
  }
  // ConvTranspose layer: its adjoint is the ordinary convolution with the same geometry.
  const outShape = [...inShape];
  outShape[1] = dims[0]!;
  return em.op(
    'Conv',
    [s, em.constant(weight, dims, 'rel_w')],
    {
      strides: attr.ints(g.strides),
      pads: attr.ints(g.pads),
      dilations: attr.ints(g.dilations),
      group: attr.int(g.group),
      kernel_shape: attr.ints(g.kernel),
    },
    outShape,
  );
}

/** Σ_k adj(W_k, s_k); pairs sharing s are merged, the rest run as one wide op where possible. */
export function adjointSum(em: Emitter, layer: LinearLayer, pairs: Array<{ s: string; weight: Float32Array }>): string {
  const merged = new Map<string, Float32Array>();
  for (const p of pairs) merged.set(p.s, merged.has(p.s) ? addWeights(merged.get(p.s)!, p.weight) : p.weight);
  const list = [...merged];
  const wide = list.length > 1 && (layer.type === 'dense' || (layer.type === 'conv' && layer.geometry!.group === 1));
  if (!wide) return em.sum(list.map(([s, w]) => adjointOne(em, layer, s, w, layer.weightDims)));
  // adj([W_1; W_2], [s_1, s_2]) = adj(W_1, s_1) + adj(W_2, s_2): stack along the output-channel axis.
  const stacked = concatWeights(
    list.map(([, w]) => w),
    layer.weightDims,
    0,
  );
  const channelAxis = layer.type === 'dense' ? em.shape(list[0]![0]).length - 1 : 1;
  const s = em.concat(
    list.map(([name]) => name),
    channelAxis,
  );
  return adjointOne(em, layer, s, stacked.data, stacked.dims, layer.type === 'conv' ? layer.weightDims[1]! : undefined);
}

/** [adj(W_1, s), adj(W_2, s), …] as one wide op (weights stacked along the input-channel axis) where possible. */
export function adjointMany(em: Emitter, layer: LinearLayer, s: string, weights: Float32Array[]): string[] {
  const wide = weights.length > 1 && (layer.type === 'dense' || (layer.type === 'conv' && layer.geometry!.group === 1));
  if (!wide) return weights.map((w) => adjointOne(em, layer, s, w, layer.weightDims));
  const stacked = concatWeights(weights, layer.weightDims, 1);
  const inChannels = layer.weightDims[1]!;
  const y = adjointOne(em, layer, s, stacked.data, stacked.dims, inChannels * weights.length);
  const channelAxis = layer.type === 'dense' ? em.shape(y).length - 1 : 1;
  return em.split(
    y,
    channelAxis,
    weights.map(() => inChannels),
  );
}
