/**
 * Dense layers in one canonical form, so LRP rules see weight and bias of a layer together
 * (docs/lrp.md §6). THE CANONICAL DENSE LAYER IS
 *
 *     Gemm(x, W, b)   with transA = 0, transB = 1, alpha = 1, beta = 1,
 *                     x of rank 2 [M, K], W constant [N, K] (PyTorch's Linear layout), b constant [N]
 *
 * This pass produces it from
 *  - `MatMul(x, W)` with a constant 2-D W, optionally followed by `Add(·, c)` where c is a constant
 *    that only varies along the last axis (a bias): for rank-2 x directly; for rank > 2 x (tokens)
 *    as `Reshape(x, [-1, K]) → Gemm → Reshape(·, [-1, d1, …, N])` (needs static dims after the
 *    first; otherwise the MatMul is left alone and reported);
 *  - any `Gemm` with a constant B and a per-output (or absent) C: transB, alpha, beta and the bias
 *    shape are normalised into new W and b initializers (clamping rules commute only with this form).
 * A MatMul without a following bias add gets a zero bias. Gemms with transA = 1, a non-constant
 * weight or a full [M, N] C are left as they are.
 */
import { GraphBuilder, attr } from '../../onnx/builder.js';
import { consumers, isGraphOutput } from '../../onnx/graph.js';
import type { Graph, Node, Tensor } from '../../onnx/ir.js';
import { attrFloat, attrInt } from '../../onnx/evaluate.js';
import { inferValues, type ValueFacts } from '../../onnx/shapes.js';
import { float32Data, float32Tensor, sizeOf, toFloat32 } from '../../onnx/tensor.js';
import type { CanonizePass } from './types.js';

export const fuseDensePass: CanonizePass = {
  name: 'fuse-dense',
  run(model, options) {
    const changes: string[] = [];
    const facts = inferValues(model, options.inputShape);
    const builder = new GraphBuilder(model.graph);
    for (const node of [...model.graph.nodes]) {
      if (node.domain !== '') continue;
      if (node.opType === 'MatMul') {
        const change = fuseMatMul(model.graph, builder, node, facts);
        if (change) changes.push(change);
      } else if (node.opType === 'Gemm') {
        const change = normalizeGemm(model.graph, builder, node);
        if (change) changes.push(change);
      }
    }
    return changes;
  },
};

// Only float32 weights: the rewritten initializers are float32.
const FLOATS = new Set(['float32']);

/** A constant bias that varies only along the last axis, as a length-n vector; undefined otherwise. */
function biasVector(t: Tensor | undefined, n: number, maxRank: number): Float32Array | undefined {
  if (!t || !FLOATS.has(t.dataType) || t.dims.length > maxRank) return undefined;
  const last = t.dims.length > 0 ? t.dims[t.dims.length - 1]! : 1;
  if (t.dims.slice(0, -1).some((d) => d !== 1) || (last !== n && last !== 1)) return undefined;
  const values = toFloat32(t);
  return last === n ? values : new Float32Array(n).fill(values[0]!);
}

function fuseMatMul(graph: Graph, builder: GraphBuilder, node: Node, facts: Map<string, ValueFacts>): string | undefined {
  const [x, w] = node.inputs as [string, string];
  const weight = graph.initializers.get(w);
  if (!weight || weight.dims.length !== 2 || !FLOATS.has(weight.dataType) || graph.initializers.has(x)) return undefined;
  const xShape = facts.get(x)?.shape;
  if (!xShape || xShape.length < 2) return undefined;
  const [k, n] = weight.dims as [number, number];

  // A following bias add: the MatMul output's only reader, adding a per-output constant.
  const y = node.outputs[0]!;
  const readers = consumers(graph).get(y) ?? [];
  let add: Node | undefined;
  let bias: Float32Array | undefined;
  if (readers.length === 1 && !isGraphOutput(graph, y) && readers[0]!.opType === 'Add' && readers[0]!.domain === '') {
    const other = readers[0]!.inputs.find((i) => i !== y);
    bias = biasVector(other ? graph.initializers.get(other) : undefined, n, xShape.length);
    if (bias && readers[0]!.inputs.filter((i) => i === y).length === 1) add = readers[0];
    else bias = undefined;
  }
  const output = add ? add.outputs[0]! : y;

  // Leading dims of x (all but the batch axis) must be static to reshape back for rank > 2.
  const rank = xShape.length;
  if (rank > 2 && xShape.slice(1, -1).some((d) => d === null)) {
    return `kept MatMul ${node.name}: its input has more than one dynamic dimension, so it cannot be written as a Gemm`;
  }
  const wT = builder.addInitializer(float32Tensor(`${w}_dense_t`, transpose(float32Data(weight), k, n), [n, k]));
  const b = builder.addInitializer(float32Tensor(`${node.name}_dense_bias`, bias ?? new Float32Array(n), [n]));
  const gemmAttrs = { transB: attr.int(1) };
  const make = (name: string, opType: string, inputs: string[], out: string, attributes = {}): Node => ({
    name,
    opType,
    domain: '',
    inputs,
    outputs: [out],
    attributes,
  });
  let replacement: Node[];
  if (rank === 2) {
    replacement = [make(node.name, 'Gemm', [x, wT, b], output, gemmAttrs)];
  } else {
    const flatShape = builder.constantInt64([-1, k], [2], `${node.name}_flatten_shape`);
    const backShape = builder.constantInt64([-1, ...(xShape.slice(1, -1) as number[]), n], [rank], `${node.name}_unflatten_shape`);
    const flat = builder.uniqueName(`${node.name}_flat_in`);
    const gemmOut = builder.uniqueName(`${node.name}_flat_out`);
    replacement = [
      make(builder.uniqueName(`${node.name}_flatten`), 'Reshape', [x, flatShape], flat),
      make(node.name, 'Gemm', [flat, wT, b], gemmOut, gemmAttrs),
      make(builder.uniqueName(`${node.name}_unflatten`), 'Reshape', [gemmOut, backShape], output),
    ];
  }
  // The replacement takes the MatMul's place; the Add (if any) disappears.
  const at = graph.nodes.indexOf(node);
  graph.nodes.splice(at, 1, ...replacement);
  if (add) graph.nodes = graph.nodes.filter((nd) => nd !== add);
  const what = add ? `MatMul ${node.name} + Add ${add.name}` : `MatMul ${node.name}`;
  return `fused ${what} into Gemm ${node.name}${rank > 2 ? ` (over the last axis of a rank-${rank} input)` : ''}`;
}

function normalizeGemm(graph: Graph, builder: GraphBuilder, node: Node): string | undefined {
  const [, bName, cName] = node.inputs;
  const weight = graph.initializers.get(bName!);
  if (!weight || weight.dims.length !== 2 || !FLOATS.has(weight.dataType) || attrInt(node, 'transA', 0) !== 0) return undefined;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const transB = attrInt(node, 'transB', 0) === 1;
  const n = transB ? weight.dims[0]! : weight.dims[1]!;
  const k = transB ? weight.dims[1]! : weight.dims[0]!;
  const c = cName ? graph.initializers.get(cName) : undefined;
  if (cName && !c) return undefined;
  const canonical =
    transB &&
    alpha === 1 &&
    beta === 1 &&
    c !== undefined &&
    c.dims.length === 1 &&
    c.dims[0] === n &&
    c.dataType === 'float32' &&
    weight.dataType === 'float32';
  if (canonical) return undefined;
  const bias = c ? biasVector(c, n, 2) : new Float32Array(n);
  if (!bias) return undefined;

  // A private copy: it is scaled in place below (the initializer's buffer may be shared; see Tensor).
  const src = toFloat32(weight);
  const w = transB ? src : transpose(src, k, n);
  if (alpha !== 1) for (let i = 0; i < w.length; i++) w[i] = alpha * w[i]!;
  if (beta !== 1) for (let i = 0; i < bias.length; i++) bias[i] = beta * bias[i]!;
  node.inputs = [
    node.inputs[0]!,
    builder.addInitializer(float32Tensor(`${bName}_dense`, w, [n, k])),
    builder.addInitializer(float32Tensor(`${node.name}_dense_bias`, bias, [n])),
  ];
  node.attributes = { ...node.attributes, transB: attr.int(1) };
  delete node.attributes.alpha;
  delete node.attributes.beta;
  const what = [!transB && 'transB', alpha !== 1 && 'alpha', beta !== 1 && 'beta', !c ? 'missing bias' : c.dims.length !== 1 && 'bias shape']
    .filter(Boolean)
    .join(', ');
  return `normalised Gemm ${node.name} to transB=1 with a [${n}] bias${what ? ` (${what})` : ''}`;
}

/** [rows, cols] row-major → [cols, rows]. */
function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(sizeOf([rows, cols]));
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}
