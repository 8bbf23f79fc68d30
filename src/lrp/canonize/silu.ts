/**
 * Recognises `Mul(x, Sigmoid(x))` (either operand order; how PyTorch exports nn.SiLU up to opset 18)
 * as one SiLU activation, so LRP composites treat it as an activation (Pass) instead of a product
 * of two computed tensors. The Sigmoid must have no other reader.
 *
 * FOR THE RELEVANCE COMPILER: the pair becomes ONE node
 *     { domain: 'xai.tools', opType: 'SiLU', inputs: [x], outputs: [y] }      (y = x·σ(x))
 * in the in-memory IR. It is a marker, unknown to onnxruntime: when emitting a forward graph,
 * write it as Sigmoid + Mul (`lowerMarkers` does this for a whole model; the `canonize` command
 * writes the lowered form). With `siluMarker: false` this pass changes nothing.
 */
import { consumers, isGraphOutput } from '../../onnx/graph.js';
import type { Model, Node } from '../../onnx/ir.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { MARKER_DOMAIN, type CanonizePass } from './types.js';

export const siluPass: CanonizePass = {
  name: 'silu',
  run(model, options) {
    if (!options.siluMarker) return [];
    const graph = model.graph;
    const changes: string[] = [];
    const readers = consumers(graph);
    for (const sigmoid of [...graph.nodes]) {
      if (sigmoid.opType !== 'Sigmoid' || sigmoid.domain !== '') continue;
      const s = sigmoid.outputs[0]!;
      const x = sigmoid.inputs[0]!;
      const users = readers.get(s) ?? [];
      const mul = users[0];
      if (users.length !== 1 || isGraphOutput(graph, s) || mul!.opType !== 'Mul' || mul!.domain !== '') continue;
      const ins = mul!.inputs;
      if (!((ins[0] === x && ins[1] === s) || (ins[0] === s && ins[1] === x))) continue;
      // The marker replaces the Mul in place (x is available there); the Sigmoid goes away.
      const marker: Node = { name: mul!.name, opType: 'SiLU', domain: MARKER_DOMAIN, inputs: [x], outputs: [...mul!.outputs], attributes: {} };
      graph.nodes = graph.nodes.filter((n) => n !== sigmoid).map((n) => (n === mul ? marker : n));
      changes.push(`recognised Sigmoid ${sigmoid.name} · Mul ${mul!.name} as SiLU ${marker.name}`);
    }
    if (changes.length > 0 && !model.opsetImports.some((o) => o.domain === MARKER_DOMAIN)) model.opsetImports.push({ domain: MARKER_DOMAIN, version: 1 });
    return changes;
  },
};

/**
 * Rewrites marker nodes (`xai.tools:SiLU`) back into standard ONNX ops (Sigmoid + Mul) so the model
 * runs in onnxruntime; removes the marker opset import. Mutates and returns `model`.
 */
export function lowerMarkers(model: Model): Model {
  const graph = model.graph;
  const builder = new GraphBuilder(graph);
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    if (node.domain === MARKER_DOMAIN && node.opType === 'SiLU') {
      const s = builder.uniqueName(`${node.name}_sigmoid_out`);
      nodes.push({ name: builder.uniqueName(`${node.name}_sigmoid`), opType: 'Sigmoid', domain: '', inputs: [node.inputs[0]!], outputs: [s], attributes: {} });
      nodes.push({ name: node.name, opType: 'Mul', domain: '', inputs: [node.inputs[0]!, s], outputs: [...node.outputs], attributes: {} });
    } else {
      nodes.push(node);
    }
  }
  graph.nodes = nodes;
  model.opsetImports = model.opsetImports.filter((o) => o.domain !== MARKER_DOMAIN);
  return model;
}
