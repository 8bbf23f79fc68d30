/**
 * Emitting graphs: `GraphBuilder` appends nodes and initializers to a graph with names that never
 * collide with existing ones. Used by the canonizers and by the relevance compiler.
 *
 *   const b = new GraphBuilder(graph);              // or new GraphBuilder() for an empty graph
 *   const w = b.constant([1, 2, 3, 4], [2, 2]);     // float32 initializer, returns its name
 *   const [y] = b.addNode('MatMul', [x, w]);         // returns the (fresh) output names
 *   const [z] = b.addNode('Softmax', [y], { axis: attr.int(-1) });
 */
import type { Attribute, DataType, Graph, Model, Node, Tensor, ValueInfo } from './ir.js';
import { float32Tensor, int64Tensor } from './tensor.js';

/** Constructors for tagged attributes (ONNX distinguishes int and float attributes). */
export const attr = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
  strings: (value: string[]): Attribute => ({ type: 'strings', value }),
  tensor: (value: Tensor): Attribute => ({ type: 'tensor', value }),
};

export interface AddNodeOptions {
  /** Node name (made unique); default `<opType>_<n>`. */
  name?: string;
  /** Operator domain; default '' (ai.onnx). */
  domain?: string;
  /** Explicit output names (must be unused); default fresh names from `outputPrefix`. */
  outputs?: string[];
  /** Prefix for generated output names; default the node name. */
  outputPrefix?: string;
}

/** An empty graph named `name`. */
export function emptyGraph(name = 'graph'): Graph {
  return { name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map() };
}

/** A model around `graph` importing the default opset `opset` (plus any `extraOpsets`). */
export function modelOf(graph: Graph, opset: number, extraOpsets: Array<{ domain: string; version: number }> = []): Model {
  return { irVersion: 8, opsetImports: [{ domain: '', version: opset }, ...extraOpsets], producerName: 'xai-tools', producerVersion: '0.1.0', graph };
}

export class GraphBuilder {
  readonly graph: Graph;
  private readonly used = new Set<string>();
  private counter = 0;

  /** Wraps `graph` (default: a new empty graph) and reserves every name already in it. */
  constructor(graph: Graph = emptyGraph()) {
    this.graph = graph;
    for (const v of graph.inputs) this.used.add(v.name);
    for (const v of graph.outputs) this.used.add(v.name);
    for (const name of graph.initializers.keys()) this.used.add(name);
    for (const name of graph.valueInfo.keys()) this.used.add(name);
    for (const node of graph.nodes) {
      this.used.add(node.name);
      for (const name of node.inputs) this.used.add(name);
      for (const name of node.outputs) this.used.add(name);
    }
  }

  /** A name (for a value or node) not used anywhere in the graph yet; reserved on return. */
  uniqueName(prefix: string): string {
    let name = prefix;
    while (this.used.has(name) || name === '') name = `${prefix}_${this.counter++}`;
    this.used.add(name);
    return name;
  }

  /** Marks a name as taken (e.g. an output name the caller will define itself). */
  reserve(name: string): void {
    this.used.add(name);
  }

  /**
   * Appends a node `opType(inputs)` with `attributes` and returns its `outputsCount` output names
   * (fresh unless `options.outputs` gives them). Inputs '' mark omitted optional inputs.
   */
  addNode(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputsCount = 1, options: AddNodeOptions = {}): string[] {
    const name = this.uniqueName(options.name ?? opType);
    const prefix = options.outputPrefix ?? name;
    const outputs = options.outputs ?? Array.from({ length: outputsCount }, (_, i) => this.uniqueName(outputsCount === 1 ? prefix : `${prefix}_out${i}`));
    for (const o of options.outputs ?? []) this.used.add(o);
    const node: Node = { name, opType, domain: options.domain ?? '', inputs: [...inputs], outputs, attributes };
    this.graph.nodes.push(node);
    return outputs;
  }

  /** Adds an initializer; renames it when its name is empty or taken. Returns the name used. */
  addInitializer(tensor: Tensor): string {
    const name = this.uniqueName(tensor.name || 'const');
    this.graph.initializers.set(name, { ...tensor, name });
    return name;
  }

  /** Adds a float32 initializer holding `values` with shape `dims` (default 1-D); returns its name. */
  constant(values: ArrayLike<number>, dims: number[] = [values.length], prefix = 'const'): string {
    return this.addInitializer(float32Tensor(prefix, values, dims));
  }

  /** Adds an int64 initializer (shapes, axes, indices); returns its name. */
  constantInt64(values: ArrayLike<number | bigint>, dims: number[] = [values.length], prefix = 'const_i64'): string {
    return this.addInitializer(int64Tensor(prefix, values, dims));
  }

  /** Declares a graph input of element type `dataType` and shape `shape` (symbolic dims allowed). */
  addInput(name: string, dataType: DataType, shape?: ValueInfo['shape']): string {
    this.used.add(name);
    this.graph.inputs.push({ name, dataType, shape });
    return name;
  }

  /** Declares `name` (an existing value) as a graph output. */
  addOutput(name: string, dataType: DataType, shape?: ValueInfo['shape']): void {
    this.graph.outputs.push({ name, dataType, shape });
  }
}
