/**
 * The relevance compiler: turns a (canonized) model into ONE ONNX graph with inputs `input`
 * [B, …sample] and `output_relevance` [B, classes] and outputs `logits` and `relevance`:
 * the forward pass, then for every node on the path from input to output, in reverse order, the
 * node's rule (composite / rule map) or its exact VJP. Relevance reaching a value from several
 * consumers is summed before its producer sees it (spec §1).
 *
 * Everything is checked before anything is emitted: an op without a VJP handler, or a rule that
 * does not fit its node, is a UserError naming the op type and the node.
 */
import { UserError } from '../errors.js';
import { attr } from '../onnx/builder.js';
import { cloneModel, defaultOpset } from '../onnx/graph.js';
import type { Model, Node, Tensor } from '../onnx/ir.js';
import { inferValues, type ValueFacts } from '../onnx/shapes.js';
import { isFloatType, toNumbers } from '../onnx/tensor.js';
import { assignRules, type Assignment, type RuleSpec } from './composites.js';
import { Emitter, sameShape } from './emitter.js';
import { classify, type LayerKind } from './kinds.js';
import { asLinearLayer } from './linear.js';
import { ruleDefinition, ruleMismatch, type RuleContext } from './rules.js';
import { lowerMarkers } from './canonize/index.js';
import { opRecord, recordKey } from './ops.js';
import type { InputRelevance, VjpContext, VjpHandler } from './vjp.js';

/** The VJP handler of a node, from its op record. */
function handlerFor(node: Node): VjpHandler | undefined {
  return opRecord(node)?.vjp;
}

export const INPUT = 'input';
export const OUTPUT_RELEVANCE = 'output_relevance';
export const LOGITS = 'logits';
export const RELEVANCE = 'relevance';
/** The generated graph needs ScatterElements with reduction (opset 16). */
const MIN_COMPILED_OPSET = 16;

export interface RelevanceGraphOptions {
  /** Full input shape, batch axis included: the graph is compiled for exactly this shape. */
  inputShape: number[];
  /** Rules per node; null = the plain gradient. */
  spec: RuleSpec | null;
  /** Names the model in error messages. */
  source?: string;
}

export interface RelevanceGraph {
  model: Model;
  inputShape: number[];
  logitsShape: number[];
  /** Rule (or null = gradient) of every node on the relevance path, in graph order. */
  assignments: Assignment[];
}

/** Rewrites opset-11/12 forms the compiled graph (opset ≥ 16) reads differently. */
function upgradeOpset(model: Model, source: string | undefined): void {
  const opset = defaultOpset(model);
  if (opset >= MIN_COMPILED_OPSET) return;
  const g = model.graph;
  let counter = 0;
  const intsConstant = (values: number[]): string => {
    let name: string;
    do name = `upgrade_axes_${counter++}`; while (g.initializers.has(name));
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    g.initializers.set(name, { name, dataType: 'int64', dims: [values.length], data });
    return name;
  };
  if (opset < 13) {
    for (const node of g.nodes) {
      const attrToInput = (attrName: string, position: number): void => {
        const a = node.attributes[attrName];
        if (!a || a.type !== 'ints') return;
        delete node.attributes[attrName];
        while (node.inputs.length < position) node.inputs.push('');
        node.inputs[position] = intsConstant(a.value);
      };
      if (node.opType === 'Squeeze' || node.opType === 'Unsqueeze' || node.opType === 'ReduceSum') attrToInput('axes', 1);
      if (node.opType === 'Split') attrToInput('split', 1);
      if (node.opType === 'Softmax' || node.opType === 'LogSoftmax') {
        // Before opset 13 these flatten the input to 2-D at `axis` (default 1); same as opset 13 only for the last axis.
        const a = node.attributes.axis;
        const axis = a?.type === 'int' ? a.value : 1;
        const rankOk = axis === -1 || axis === 1; // classifier heads: [N, classes]
        if (!rankOk) throw new UserError(source, `node "${node.name}": ${node.opType} at opset ${opset} with axis ${axis} is not supported`);
        node.attributes.axis = attr.int(-1);
      }
      if (node.opType === 'Dropout') delete node.attributes.ratio;
    }
  }
  const entry = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (entry) entry.version = MIN_COMPILED_OPSET;
  model.irVersion = Math.max(model.irVersion, 8);
}

export function compileRelevanceGraph(original: Model, options: RelevanceGraphOptions): RelevanceGraph {
  const { source } = options;
  const model = cloneModel(original);
  upgradeOpset(model, source);
  const graph = model.graph;
  let facts: Map<string, ValueFacts>;
  try {
    facts = inferValues(model, options.inputShape);
  } catch (error) {
    throw new UserError(source, `shape inference failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const shapes = new Map<string, number[]>();
  for (const [name, f] of facts) if (f.shape && f.shape.every((d) => d !== null)) shapes.set(name, f.shape as number[]);
  if (graph.inputs.length !== 1) throw new UserError(source, `the model must have exactly one input, it has ${graph.inputs.length}`);
  if (graph.outputs.length < 1) throw new UserError(source, 'the model has no output');
  const input = graph.inputs[0]!;
  if (input.dataType !== 'float32') throw new UserError(source, `the model input must be float32, it is ${input.dataType}`);
  const output = graph.outputs[0]!.name;
  graph.outputs = [graph.outputs[0]!];

  // Constants include computed ones (e.g. `Shape → Gather → Concat` chains, known for a static input shape).
  const constant = (name: string): Tensor | undefined => graph.initializers.get(name) ?? facts.get(name)?.value;
  // Relevance flows only through floating-point values that depend on the input.
  const dependentValues = new Set<string>([input.name]);
  for (const node of graph.nodes) {
    if (!node.inputs.some((i) => i && dependentValues.has(i))) continue;
    for (const o of node.outputs) {
      const f = o ? facts.get(o) : undefined;
      if (o && (!f || (isFloatType(f.dataType) && f.value === undefined))) dependentValues.add(o);
    }
  }
  const dependent = (name: string): boolean => !!name && dependentValues.has(name);
  if (!dependent(output)) throw new UserError(source, `the output ${output} does not depend on the input`);

  // Nodes on the relevance path: those through which the output depends on the input.
  const onPath = new Set<string>([output]);
  const pathNodes: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (!node.outputs.some((o) => onPath.has(o))) continue;
    const computed = node.inputs.filter(dependent);
    if (computed.length === 0) continue;
    pathNodes.unshift(node);
    for (const c of computed) onPath.add(c);
  }

  // Values known to be ≥ 0 (their x⁻ branches vanish).
  const nonNegative = new Set<string>();
  const constantNonNegative = (name: string): boolean => {
    const t = constant(name);
    return !!t && toNumbers(t).every((v) => v >= 0);
  };
  for (const node of graph.nodes) {
    const record = opRecord(node);
    if (!record?.sign) continue;
    const known = (i: number): boolean => nonNegative.has(node.inputs[i]!) || constantNonNegative(node.inputs[i]!);
    if (record.sign(node, { nonNegative: known })) for (const o of record.signOnAllOutputs ? node.outputs : node.outputs.slice(0, 1)) if (o) nonNegative.add(o);
  }

  // Kinds and rules, in graph order.
  const kindContext = { dependent, isConstant: (n: string) => !!constant(n), shape: (n: string) => shapes.get(n) };
  const classified = pathNodes.map((node) => ({
    node,
    kind: classify(node, kindContext) as LayerKind,
    weights: node.inputs.filter((i) => i && constant(i)),
  }));
  const assignments = assignRules(classified, options.spec);

  // Check every node before emitting anything: ops nothing can handle first, then shapes, then fit.
  const needsVjp = (a: Assignment): boolean => !a.rule || ruleDefinition(a.rule).target === 'any';
  const unsupported = assignments.filter((a) => needsVjp(a) && !handlerFor(a.node) && !(a.rule && asLinearLayer(a.node, graph, shapes)));
  if (unsupported.length > 0) {
    const { node } = unsupported[0]!;
    const more = unsupported.length > 1 ? ` (and ${unsupported.length - 1} more unsupported node${unsupported.length > 2 ? 's' : ''})` : '';
    const why = opRecord(node) ? 'its op record (src/lrp/ops.ts) has no VJP' : 'no op record in src/lrp/ops.ts';
    throw new UserError(source, `unsupported op ${recordKey(node)} in node "${node.name}" (${why})${more}`);
  }
  for (const node of pathNodes) {
    for (const v of [...node.inputs.filter(dependent), ...node.outputs.filter(Boolean)]) {
      if (!shapes.has(v)) throw new UserError(source, `node "${node.name}" (${node.opType}): the static shape of ${v} is unknown`);
    }
  }

  const problems: string[] = [];
  const checkContext = { graph, dependent, constant, shapes };
  for (const a of assignments) {
    const { node } = a;
    const handler = handlerFor(node);
    const handlerProblem = handler ? handler.check?.(node, checkContext) ?? null : 'unsupported';
    if (a.rule) {
      const layer = asLinearLayer(node, graph, shapes);
      const x = node.inputs.find(dependent)!;
      const mismatch = ruleMismatch(a.rule, node, layer, sameShape(shapes.get(x)!, shapes.get(node.outputs[0]!)!), handlerProblem === null);
      if (mismatch) problems.push(`node "${node.name}" (${node.opType}): ${mismatch}`);
    } else if (handlerProblem) {
      problems.push(`node "${node.name}" (${node.opType}): ${handlerProblem}`);
    }
  }
  if (problems.length > 0) {
    throw new UserError(source, problems.length === 1 ? problems[0]! : `${problems[0]} (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`);
  }

  // Rename the model input to `input` (the compiled graph's contract).
  if (input.name !== INPUT) {
    const taken = graph.nodes.some((n) => n.outputs.includes(INPUT)) || graph.initializers.has(INPUT);
    if (taken) throw new UserError(source, `the model uses the name "${INPUT}" for an inner value; rename it`);
    const from = input.name;
    for (const node of graph.nodes) node.inputs = node.inputs.map((i) => (i === from ? INPUT : i));
    if (output === from) throw new UserError(source, 'the model output is its input');
    shapes.set(INPUT, shapes.get(from)!);
    dependentValues.add(INPUT);
    input.name = INPUT;
  }

  const em = new Emitter(graph, shapes);
  for (const reserved of [OUTPUT_RELEVANCE, LOGITS, RELEVANCE]) em.builder.reserve(reserved);
  const inputShape = em.shape(INPUT);
  const logitsShape = em.shape(output);
  em.builder.addInput(OUTPUT_RELEVANCE, 'float32', logitsShape);
  em.shapes.set(OUTPUT_RELEVANCE, logitsShape);

  const relevance = new Map<string, string[]>();
  const contribute = (value: string, r: string): void => {
    const list = relevance.get(value);
    if (list) list.push(r);
    else relevance.set(value, [r]);
  };
  contribute(output, OUTPUT_RELEVANCE);

  for (let i = assignments.length - 1; i >= 0; i--) {
    const { node, rule } = assignments[i]!;
    const R = node.outputs.map((o) => {
      const list = relevance.get(o);
      return list ? em.sum(list) : null;
    });
    if (R.every((r) => r === null)) continue;
    const vctx: VjpContext = { em, node, graph, dependent: (n) => dependent(n) || n === INPUT, constant };
    let Rin: InputRelevance;
    if (rule) {
      if (R[0] === null) continue;
      const xIndex = node.inputs.findIndex((n) => vctx.dependent(n));
      const layer = asLinearLayer(node, graph, em.shapes);
      const ctx: RuleContext = {
        em, node, layer: layer && typeof layer !== 'string' ? layer : null,
        x: node.inputs[xIndex]!, xIndex, R: R[0]!, z: node.outputs[0]!,
        nonNegative: nonNegative.has(node.inputs[xIndex]!),
        vjp: (s) => handlerFor(node)!.backward(vctx, [s, ...R.slice(1).map(() => null)]),
      };
      Rin = ruleDefinition(rule).build(ctx, rule.params);
    } else {
      Rin = handlerFor(node)!.backward(vctx, R);
    }
    Rin.forEach((r, k) => {
      const name = node.inputs[k];
      if (r && name && vctx.dependent(name)) contribute(name, r);
    });
  }

  const inputRelevance = relevance.get(INPUT);
  const result = inputRelevance ? em.sum(inputRelevance) : em.zeros(inputShape);
  em.builder.addNode('Identity', [result], {}, 1, { outputs: [RELEVANCE], name: 'relevance_output' });
  if (output !== LOGITS) em.builder.addNode('Identity', [output], {}, 1, { outputs: [LOGITS], name: 'logits_output' });
  graph.outputs = [
    { name: LOGITS, dataType: 'float32', shape: logitsShape },
    { name: RELEVANCE, dataType: 'float32', shape: inputShape },
  ];
  graph.inputs[0] = { name: INPUT, dataType: 'float32', shape: inputShape };
  lowerMarkers(model);
  return { model, inputShape, logitsShape, assignments };
}
