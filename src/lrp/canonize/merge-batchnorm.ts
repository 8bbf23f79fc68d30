/**
 * BatchNorm folding (Zennit's MergeBatchNorm, docs/lrp.md §6) as a graph rewrite. A
 * `BatchNormalization` in inference form (one output, constant statistics) whose input is produced
 * directly by a Conv, ConvTranspose or canonical Gemm (see fuse-dense: MatMul(+Add) has become a
 * Gemm by now) with constant weights, where the BN is the ONLY reader of that output (spec: fold
 * only into a sole producer), is folded into that layer:
 *
 *     s_c = γ_c / sqrt(σ²_c + ε),   W' = W · s (along the output-channel axis),   b' = (b − μ) · s + β
 *
 * The output-channel axis is axis 0 of W for Conv and Gemm (transB = 1), axis 1 for ConvTranspose
 * (with groups handled correctly: W is [C_in, C_out/g, k…]). The BN node is then removed (Zennit
 * keeps an identity BN that gets Pass; removing it is equivalent). New initializers are created,
 * so weights shared with other nodes are never modified. A BN that follows anything else stays.
 * Arithmetic in float64, rounded once to float32.
 */
import { GraphBuilder } from '../../onnx/builder.js';
import { attrFloat, attrInt } from '../../onnx/evaluate.js';
import { consumers, isGraphOutput, producers } from '../../onnx/graph.js';
import type { Graph, Node, Tensor } from '../../onnx/ir.js';
import { float32Tensor, sizeOf, toNumbers } from '../../onnx/tensor.js';
import type { CanonizePass } from './types.js';

export const mergeBatchNormPass: CanonizePass = {
  name: 'merge-batchnorm',
  run(model, options) {
    if (!options.mergeBatchNorm) return [];
    const graph = model.graph;
    const builder = new GraphBuilder(graph);
    // The value maps are built once and kept current by each fold (rebuilding them per BN made
    // canonize quadratic: 3000 Conv/BN pairs took 30 s).
    const index: ValueIndex = { producerOf: producers(graph), readersOf: consumers(graph), removed: new Set() };
    const changes: string[] = [];
    for (const bn of [...graph.nodes]) {
      if (bn.opType !== 'BatchNormalization' || bn.domain !== '') continue;
      const folded = tryFold(graph, builder, index, bn);
      changes.push(
        typeof folded === 'string'
          ? `kept BatchNormalization ${bn.name}: ${folded}`
          : `merged BatchNormalization ${bn.name} into ${folded.opType} ${folded.name}`,
      );
    }
    if (index.removed.size > 0) graph.nodes = graph.nodes.filter((n) => !index.removed.has(n));
    return changes;
  },
};

/** Who produces and who reads each value, and the BN nodes folded away so far. */
interface ValueIndex {
  producerOf: Map<string, Node>;
  readersOf: Map<string, Node[]>;
  removed: Set<Node>;
}

const LINEAR = new Set(['Conv', 'ConvTranspose', 'Gemm']);

/** Folds `bn` into its producer and returns that layer; returns why not when it cannot. */
function tryFold(graph: Graph, builder: GraphBuilder, index: ValueIndex, bn: Node): Node | string {
  if (bn.outputs.filter(Boolean).length > 1 || attrInt(bn, 'training_mode', 0) !== 0) return 'it is in training mode';
  const [x, scaleName, shiftName, meanName, varName] = bn.inputs;
  const stats = [scaleName, shiftName, meanName, varName].map((n) => (n ? graph.initializers.get(n) : undefined));
  if (stats.some((t) => t === undefined)) return 'its statistics are not constant';
  const linear = index.producerOf.get(x!);
  if (!linear || !LINEAR.has(linear.opType) || linear.domain !== '')
    return `it does not follow a Conv, ConvTranspose or dense layer (input from ${linear ? `${linear.opType} ${linear.name}` : 'a graph input'})`;
  const readers = index.readersOf.get(x!) ?? [];
  if (readers.length !== 1 || isGraphOutput(graph, x!)) return `the output of ${linear.opType} ${linear.name} is also used elsewhere`;
  const weight = graph.initializers.get(linear.inputs[1]!);
  const biasName = linear.inputs[2];
  const bias = biasName ? graph.initializers.get(biasName) : undefined;
  if (!weight || weight.dataType !== 'float32' || (biasName && !bias)) return `the weights of ${linear.opType} ${linear.name} are not constant`;

  const layout = channelLayout(linear, weight);
  if (typeof layout === 'string') return layout;
  const [gamma, beta, mean, variance] = (stats as Tensor[]).map(toNumbers) as [number[], number[], number[], number[]];
  const channels = layout.channels;
  if (gamma.length !== channels || beta.length !== channels || mean.length !== channels || variance.length !== channels) {
    return `its ${gamma.length} channels do not match the ${channels} outputs of ${linear.opType} ${linear.name}`;
  }
  const epsilon = attrFloat(bn, 'epsilon', 1e-5);
  const s = gamma.map((g, c) => g / Math.sqrt(variance[c]! + Math.fround(epsilon)));
  const w = weight.data as Float32Array;
  const scaled = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) scaled[i] = w[i]! * s[layout.channelOf(i)]!;
  const b = bias ? toNumbers(bias) : new Array<number>(channels).fill(0);
  const shifted = Float32Array.from(b, (v, c) => (v - mean[c]!) * s[c]! + beta[c]!);

  linear.inputs = [
    linear.inputs[0]!,
    builder.addInitializer(float32Tensor(`${linear.inputs[1]}_bn`, scaled, [...weight.dims])),
    builder.addInitializer(float32Tensor(`${linear.name}_bn_bias`, shifted, [channels])),
  ];
  // The layer now produces the BN's output name; the BN disappears.
  linear.outputs = [bn.outputs[0]!];
  index.removed.add(bn);
  index.producerOf.set(bn.outputs[0]!, linear);
  index.producerOf.delete(x!);
  index.readersOf.delete(x!);
  graph.valueInfo.delete(x!);
  return linear;
}

/** Number of output channels and, per flat weight index, its output channel. */
function channelLayout(linear: Node, weight: Tensor): { channels: number; channelOf: (i: number) => number } | string {
  const dims = weight.dims;
  if (linear.opType === 'Gemm') {
    if (attrInt(linear, 'transB', 0) !== 1 || attrFloat(linear, 'alpha', 1) !== 1 || attrFloat(linear, 'beta', 1) !== 1 || attrInt(linear, 'transA', 0) !== 0) {
      return `Gemm ${linear.name} is not in canonical form (transB=1, alpha=beta=1)`;
    }
    const inner = dims[1]!;
    return { channels: dims[0]!, channelOf: (i) => Math.floor(i / inner) };
  }
  const inner = sizeOf(dims.slice(2));
  if (linear.opType === 'Conv') {
    const perOut = sizeOf(dims.slice(1));
    return { channels: dims[0]!, channelOf: (i) => Math.floor(i / perOut) };
  }
  // ConvTranspose: W [C_in, C_out/g, k…]; input channel i of group ⌊i / (C_in/g)⌋ feeds outputs g·(C_out/g) + j.
  const group = attrInt(linear, 'group', 1);
  const cIn = dims[0]!;
  const outPerGroup = dims[1]!;
  const inPerGroup = cIn / group;
  return {
    channels: outPerGroup * group,
    channelOf: (i) => {
      const j = Math.floor(i / inner) % outPerGroup;
      const inChannel = Math.floor(i / (inner * outPerGroup));
      return Math.floor(inChannel / inPerGroup) * outPerGroup + j;
    },
  };
}
