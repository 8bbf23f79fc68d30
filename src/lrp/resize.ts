/**
 * Relevance through Resize (and Upsample, which the opset upgrade turns into Resize): its adjoint.
 * Nearest and linear Resize are separable linear maps, y = A_h · x · A_wᵀ per channel, with one
 * small interpolation matrix per resized axis (rows sum to 1, so the adjoint conserves relevance).
 * The matrices are built once at compile time from the ONNX coordinate rules; the relevance pass
 * applies them as two MatMuls inside onnxruntime.
 */
import { attrString } from '../onnx/attributes.js';
import type { Node, Tensor } from '../onnx/ir.js';
import { toNumbers } from '../onnx/tensor.js';
import { first, only, type VjpHandler } from './vjp.js';

const COORDINATE_MODES = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric'];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/** The input coordinate an output index maps to (ONNX Resize `coordinate_transformation_mode`). */
function sourceCoordinate(mode: string, out: number, scale: number, lengthIn: number, lengthOut: number): number {
  switch (mode) {
    case 'asymmetric':
      return out / scale;
    case 'align_corners':
      return lengthOut === 1 ? 0 : (out * (lengthIn - 1)) / (lengthOut - 1);
    case 'pytorch_half_pixel':
      return lengthOut > 1 ? (out + 0.5) / scale - 0.5 : 0;
    default:
      return (out + 0.5) / scale - 0.5;
  }
}

function roundNearest(mode: string, x: number): number {
  switch (mode) {
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    case 'round_prefer_ceil':
      return Math.round(x);
    default:
      return x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
  }
}

/** The [lengthOut, lengthIn] interpolation matrix of one axis, row-major. */
export function resizeMatrix(node: Pick<Node, 'attributes'>, lengthIn: number, lengthOut: number, scale: number): Float32Array {
  const mode = attrString(node as Node, 'mode', 'nearest');
  const coordinates = attrString(node as Node, 'coordinate_transformation_mode', 'half_pixel');
  const nearest = attrString(node as Node, 'nearest_mode', 'round_prefer_floor');
  const A = new Float32Array(lengthOut * lengthIn);
  for (let o = 0; o < lengthOut; o++) {
    const x = sourceCoordinate(coordinates, o, scale, lengthIn, lengthOut);
    if (mode === 'nearest') {
      A[o * lengthIn + Math.min(Math.max(roundNearest(nearest, x), 0), lengthIn - 1)] = 1;
    } else {
      const c = Math.min(Math.max(x, 0), lengthIn - 1);
      const i0 = Math.floor(c);
      const i1 = Math.min(i0 + 1, lengthIn - 1);
      const w = c - i0;
      A[o * lengthIn + i0] += 1 - w;
      A[o * lengthIn + i1] += w;
    }
  }
  return A;
}

interface ResizeContext {
  constant: (name: string) => Tensor | undefined;
}

/** Per-axis scale factors (from `scales`, else `sizes` / input length). */
function scalesOf(node: Node, ctx: ResizeContext, inShape: number[], outShape: number[]): number[] | string {
  const scales = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
  if (node.inputs[2] && !scales) return 'its scales are not constant';
  const values = scales ? toNumbers(scales) : [];
  if (values.length > 0) return values;
  return inShape.map((d, i) => outShape[i]! / d);
}

export const resizeAdjoint: VjpHandler = {
  check: (node, ctx) => {
    const mode = attrString(node, 'mode', 'nearest');
    if (mode !== 'nearest' && mode !== 'linear') return `mode ${mode} is not supported (nearest and linear are)`;
    const coordinates = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
    if (!COORDINATE_MODES.includes(coordinates)) return `coordinate_transformation_mode ${coordinates} is not supported`;
    if (!NEAREST_MODES.includes(attrString(node, 'nearest_mode', 'round_prefer_floor'))) return 'its nearest_mode is not supported';
    if (node.attributes.axes || (node.attributes.antialias?.type === 'int' && node.attributes.antialias.value !== 0))
      return 'axes and antialias are not supported';
    const inShape = ctx.shapes.get(node.inputs[0]!);
    const outShape = ctx.shapes.get(node.outputs[0]!);
    if (!inShape || !outShape) return 'its shapes are unknown';
    const scales = scalesOf(node, ctx, inShape, outShape);
    if (typeof scales === 'string') return scales;
    const resized = inShape.map((_d, i) => i).filter((i) => inShape[i] !== outShape[i] || scales[i] !== 1);
    return resized.every((i) => i >= inShape.length - 2) ? null : 'only the last two axes may be resized';
  },
  backward: (ctx, R) => {
    const { em, node } = ctx;
    const inShape = em.shape(node.inputs[0]!);
    const outShape = em.shape(node.outputs[0]!);
    const scales = scalesOf(node, ctx, inShape, outShape) as number[];
    const rank = inShape.length;
    let r = only(R);
    // Width (last axis): R · A_w  ([…, Ho, Wo] · [Wo, Wi]).
    if (inShape[rank - 1] !== outShape[rank - 1] || scales[rank - 1] !== 1) {
      const wi = inShape[rank - 1]!;
      const wo = outShape[rank - 1]!;
      const A = resizeMatrix(node, wi, wo, scales[rank - 1]!);
      r = em.op('MatMul', [r, em.constant(A, [wo, wi])], {}, [...outShape.slice(0, -1), wi]);
    }
    // Height (second-to-last axis): A_hᵀ · R  ([Hi, Ho] · […, Ho, W]).
    if (rank >= 2 && (inShape[rank - 2] !== outShape[rank - 2] || scales[rank - 2] !== 1)) {
      const hi = inShape[rank - 2]!;
      const ho = outShape[rank - 2]!;
      const A = resizeMatrix(node, hi, ho, scales[rank - 2]!);
      const At = new Float32Array(hi * ho);
      for (let o = 0; o < ho; o++) for (let i = 0; i < hi; i++) At[i * ho + o] = A[o * hi + i]!;
      r = em.op('MatMul', [em.constant(At, [hi, ho]), r], {}, inShape);
    }
    return first(ctx, r);
  },
};
