/**
 * Strips a trailing Softmax/LogSoftmax: when a graph output is produced by one, the node is removed
 * and its input (the logits) takes over the output's name, so attributions start from the logits
 * (Zennit attributes the model's output before any softmax). Skipped with `keepSoftmax`.
 */
import { replaceValue } from '../../onnx/graph.js';
import type { CanonizePass } from './types.js';

const SOFTMAX = new Set(['Softmax', 'LogSoftmax']);

export const stripSoftmaxPass: CanonizePass = {
  name: 'strip-softmax',
  run(model, options) {
    if (options.keepSoftmax) return [];
    const graph = model.graph;
    const changes: string[] = [];
    for (const output of graph.outputs) {
      const node = graph.nodes.find((n) => n.outputs[0] === output.name);
      if (!node || !SOFTMAX.has(node.opType) || node.domain !== '') continue;
      if (graph.nodes.some((n) => n.inputs.includes(output.name))) continue;
      if (!replaceValue(graph, output.name, node.inputs[0]!)) continue;
      graph.nodes = graph.nodes.filter((n) => n !== node);
      changes.push(`removed trailing ${node.opType} ${node.name}: output ${output.name} now holds the logits`);
    }
    return changes;
  },
};
