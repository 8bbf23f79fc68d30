import { consumers, replaceValue } from '../../onnx/graph.js';
import type { Model, Node } from '../../onnx/ir.js';
import { toNumbers } from '../../onnx/tensor.js';
import type { CanonizePass } from './types.js';

/**
 * Removes Identity nodes and inference-mode Dropout nodes (no `training_mode` input, or a constant
 * false one, and no consumer of the mask output): readers are rewired to the node's input.
 */
export const dropIdentityPass: CanonizePass = {
  name: 'drop-identity',
  run(model) {
    const changes: string[] = [];
    for (const node of [...model.graph.nodes]) {
      if (node.domain !== '' || !(node.opType === 'Identity' || (node.opType === 'Dropout' && isInferenceDropout(model, node)))) continue;
      const from = node.outputs[0]!;
      const to = node.inputs[0]!;
      if (!replaceValue(model.graph, from, to)) continue;
      model.graph.nodes = model.graph.nodes.filter((n) => n !== node);
      changes.push(`removed ${node.opType} ${node.name}`);
    }
    return changes;
  },
};

function isInferenceDropout(model: Model, node: Node): boolean {
  const mask = node.outputs[1];
  if (mask && (consumers(model.graph).get(mask)?.length || model.graph.outputs.some((o) => o.name === mask))) return false;
  const training = node.inputs[2];
  if (!training) return true;
  const value = model.graph.initializers.get(training);
  return value !== undefined && toNumbers(value).every((v) => v === 0);
}
