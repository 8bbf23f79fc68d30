/**
 * Queries and small rewrites on the graph IR that every pass needs: who produces and who consumes a
 * value, topological order, dead-code removal, renaming a value, deep copies.
 */
import type { Graph, Model, Node } from './ir.js';
import { shareTensor } from './tensor.js';

/** Map from value name to the node that produces it (graph inputs and initializers have none). */
export function producers(graph: Graph): Map<string, Node> {
  const map = new Map<string, Node>();
  for (const node of graph.nodes) for (const out of node.outputs) if (out) map.set(out, node);
  return map;
}

/** Map from value name to the nodes that read it (a node reading it twice appears once). */
export function consumers(graph: Graph): Map<string, Node[]> {
  const map = new Map<string, Node[]>();
  for (const node of graph.nodes) {
    for (const input of new Set(node.inputs)) {
      if (!input) continue;
      const list = map.get(input);
      if (list) list.push(node);
      else map.set(input, [node]);
    }
  }
  return map;
}

/** True when `name` is a graph output. */
export function isGraphOutput(graph: Graph, name: string): boolean {
  return graph.outputs.some((o) => o.name === name);
}

/** The version of the default (ai.onnx) opset the model imports. */
export function defaultOpset(model: Model): number {
  return model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1;
}

/**
 * Nodes in topological order, keeping the given order wherever it is already valid (stable Kahn).
 * Throws when the graph has a cycle or reads a value nobody defines.
 */
export function topologicalSort(graph: Graph): Node[] {
  const available = new Set<string>(['']);
  for (const input of graph.inputs) available.add(input.name);
  for (const name of graph.initializers.keys()) available.add(name);
  const done = new Set<Node>();
  const order: Node[] = [];
  let pending = graph.nodes;
  while (pending.length > 0) {
    const next: Node[] = [];
    for (const node of pending) {
      if (node.inputs.every((i) => available.has(i))) {
        order.push(node);
        done.add(node);
        for (const out of node.outputs) available.add(out);
      } else {
        next.push(node);
      }
    }
    if (next.length === pending.length) {
      const node = next[0]!;
      const missing = node.inputs.find((i) => !available.has(i));
      const defined = graph.nodes.some((n) => n.outputs.includes(missing!));
      throw new Error(
        defined
          ? `the graph has a cycle through node ${node.name} (${node.opType})`
          : `node ${node.name} (${node.opType}) reads ${missing}, which no node, input or initializer defines`,
      );
    }
    pending = next;
  }
  return order;
}

/**
 * Removes nodes whose outputs nobody needs (transitively from the graph outputs), then initializers
 * and value infos no longer referenced. Mutates `graph`; returns the names of the removed nodes.
 */
export function removeDeadCode(graph: Graph): string[] {
  const needed = new Set<string>(graph.outputs.map((o) => o.name));
  const keep = new Set<Node>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (node.outputs.some((o) => needed.has(o))) {
      keep.add(node);
      for (const input of node.inputs) if (input) needed.add(input);
    }
  }
  const removed = graph.nodes.filter((n) => !keep.has(n)).map((n) => n.name);
  graph.nodes = graph.nodes.filter((n) => keep.has(n));
  for (const name of [...graph.initializers.keys()]) if (!needed.has(name)) graph.initializers.delete(name);
  const defined = new Set<string>(graph.nodes.flatMap((n) => n.outputs));
  for (const name of [...graph.valueInfo.keys()]) if (!defined.has(name)) graph.valueInfo.delete(name);
  return removed;
}

/**
 * Makes every reader of `from` read `to` instead (node inputs and graph outputs). When `from` is a
 * graph output, the output keeps its name: instead the producer of `to` is renamed to produce it,
 * which is only done when `to` is itself produced by a node and not a graph output/input.
 * Returns false when the rename is impossible (the caller then keeps its node).
 */
export function replaceValue(graph: Graph, from: string, to: string): boolean {
  if (isGraphOutput(graph, from)) {
    const producer = graph.nodes.find((n) => n.outputs.includes(to));
    if (!producer || isGraphOutput(graph, to) || graph.inputs.some((i) => i.name === to)) return false;
    // `to` becomes `from`: rename its definition and all its readers.
    producer.outputs = producer.outputs.map((o) => (o === to ? from : o));
    for (const node of graph.nodes) node.inputs = node.inputs.map((i) => (i === to ? from : i));
    graph.valueInfo.delete(to);
    return true;
  }
  for (const node of graph.nodes) node.inputs = node.inputs.map((i) => (i === from ? to : i));
  graph.valueInfo.delete(from);
  return true;
}

/**
 * A copy of a model whose graph structure (nodes, inputs, outputs, initializer and value-info maps)
 * passes can mutate freely. Tensor DATA is shared, not copied (copy-on-write): canonize, the
 * relevance compiler and the forward graph each clone the model, and copying every weight each time
 * cost several GB on VGG-16. No pass writes into a tensor's data; they add new initializers instead.
 */
export function cloneModel(model: Model): Model {
  const g = model.graph;
  return {
    ...model,
    opsetImports: model.opsetImports.map((o) => ({ ...o })),
    graph: {
      name: g.name,
      nodes: g.nodes.map((n) => ({
        ...n,
        inputs: [...n.inputs],
        outputs: [...n.outputs],
        attributes: Object.fromEntries(
          Object.entries(n.attributes).map(([k, a]) => [k, a.type === 'tensor' ? { type: 'tensor', value: shareTensor(a.value) } : structuredClone(a)]),
        ),
      })),
      inputs: g.inputs.map((v) => structuredClone(v)),
      outputs: g.outputs.map((v) => structuredClone(v)),
      initializers: new Map([...g.initializers].map(([k, t]) => [k, shareTensor(t)])),
      valueInfo: new Map([...g.valueInfo].map(([k, v]) => [k, structuredClone(v)])),
    },
  };
}
