/**
 * The relevance compiler: turns a (canonized) model into ONE ONNX graph with inputs `input`
 * [B, …sample] and `output_relevance` [B, classes] and outputs `logits` and `relevance`:
 * the forward pass, then for every node on the path from input to output, in reverse order, the
 * node's rule (composite / rule map) or its exact VJP. Relevance reaching a value from several
 * consumers is summed before its producer sees it.
 *
 * Phases (each a function below): prepare (copy, opset upgrade, shapes) → attribution point (the
 * input, or a token model's embedding Gather output) → dependence and relevance path → sign
 * analysis → pattern recognition (patterns/) → kinds and rules → checks → emission.
 *
 * Everything is checked before anything is emitted: an op without a record or VJP, or a rule that
 * does not fit its node, is a UserError naming the op type and the node.
 */
import { UserError } from '../errors.js';
import { attr } from '../onnx/builder.js';
import { cloneModel, defaultOpset } from '../onnx/graph.js';
import type { Graph, Model, Node, Tensor, ValueInfo } from '../onnx/ir.js';
import { inferValues, supportsShapeInference, type ValueFacts } from '../onnx/shapes.js';
import { isFloatType, toNumbers } from '../onnx/tensor.js';
import { assignRules, type Assignment, type RuleSpec } from './composites.js';
import { Emitter, sameShape } from './emitter.js';
import { classify, type LayerKind } from './kinds.js';
import { asLinearLayer } from './linear.js';
import { positiveSupport } from './support.js';
import { ruleDefinition, ruleMismatch, type RuleContext } from './rules.js';
import { lowerMarkers } from './canonize/index.js';
import { recognisePatterns, type Group, type PatternContext } from './patterns/index.js';
import { isSquashed } from './patterns/squashing.js';
import { consumers as consumersOf, producers as producersOf } from '../onnx/graph.js';
import { opRecord, recordKey } from './ops.js';
import type { InputRelevance, VjpContext, VjpHandler } from './vjp.js';

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
  /** Element type of `input`: float32, or int64/int32 token ids (attributed at their embedding). */
  inputType: 'float32' | 'int64' | 'int32';
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
    do name = `upgrade_axes_${counter++}`;
    while (g.initializers.has(name));
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

/** What the phases share: the private copy of the model and what is known about its values. */
interface Prepared {
  model: Model;
  graph: Graph;
  source: string | undefined;
  facts: Map<string, ValueFacts>;
  shapes: Map<string, number[]>;
  input: ValueInfo;
  output: string;
  constant: (name: string) => Tensor | undefined;
}

function prepare(original: Model, options: RelevanceGraphOptions): Prepared {
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
  const output = graph.outputs[0]!.name;
  graph.outputs = [graph.outputs[0]!];
  // Constants include computed ones (e.g. `Shape → Gather → Concat` chains, known for a static input shape).
  const constant = (name: string): Tensor | undefined => graph.initializers.get(name) ?? facts.get(name)?.value;
  return { model, graph, source, facts, shapes, input, output, constant };
}

/**
 * Where relevance is read off: the float input itself, or for integer token ids `[N, T]` the output
 * of the embedding Gather that reads them (`[N, T, E]`, later summed over E).
 */
function attributionPoint(p: Prepared): { start: string; inputType: RelevanceGraph['inputType'] } {
  const { input, graph, source } = p;
  if (input.dataType === 'float32') return { start: input.name, inputType: 'float32' };
  if (input.dataType !== 'int64' && input.dataType !== 'int32')
    throw new UserError(source, `the model input must be float32 or integer token ids, it is ${input.dataType}`);
  const readers = graph.nodes.filter((n) => n.inputs.includes(input.name));
  const embeddings = readers.filter((n) => n.opType === 'Gather' && n.inputs[1] === input.name && isFloatType(p.constant(n.inputs[0]!)?.dataType ?? 'int64'));
  if (embeddings.length !== 1 || readers.some((n) => !embeddings.includes(n) && n.opType !== 'Shape')) {
    const what =
      embeddings.length === 0
        ? 'no embedding Gather (Gather from a constant float table) reads them'
        : `it is read by ${readers.map((n) => `"${n.name}" (${n.opType})`).join(', ')}, not by one embedding Gather only`;
    throw new UserError(source, `the model input ${input.name} holds ${input.dataType} token ids, but ${what}`);
  }
  return { start: embeddings[0]!.outputs[0]!, inputType: input.dataType };
}

/** Values relevance flows through: floating-point values that depend on the attribution point. */
function dependence(p: Prepared, start: string): Set<string> {
  const values = new Set<string>([start]);
  for (const node of p.graph.nodes) {
    if (!node.inputs.some((i) => i && values.has(i))) continue;
    for (const o of node.outputs) {
      const f = o ? p.facts.get(o) : undefined;
      if (o && (!f || (isFloatType(f.dataType) && f.value === undefined))) values.add(o);
    }
  }
  return values;
}

/** Nodes through which the output depends on the attribution point, in graph order. */
function relevancePath(p: Prepared, dependent: (name: string) => boolean): Node[] {
  const onPath = new Set<string>([p.output]);
  const pathNodes: Node[] = [];
  for (let i = p.graph.nodes.length - 1; i >= 0; i--) {
    const node = p.graph.nodes[i]!;
    if (!node.outputs.some((o) => onPath.has(o))) continue;
    const computed = node.inputs.filter(dependent);
    if (computed.length === 0) continue;
    pathNodes.unshift(node);
    for (const c of computed) onPath.add(c);
  }
  return pathNodes;
}

/** Values known to be ≥ 0 (their x⁻ branches vanish), from the op records' sign behaviour. */
function signAnalysis(p: Prepared): Set<string> {
  const nonNegative = new Set<string>();
  const constantNonNegative = (name: string): boolean => {
    const t = p.constant(name);
    return !!t && toNumbers(t).every((v) => v >= 0);
  };
  for (const node of p.graph.nodes) {
    const record = opRecord(node);
    if (!record?.sign) continue;
    const known = (i: number): boolean => nonNegative.has(node.inputs[i]!) || constantNonNegative(node.inputs[i]!);
    if (record.sign(node, { nonNegative: known })) for (const o of record.signOnAllOutputs ? node.outputs : node.outputs.slice(0, 1)) if (o) nonNegative.add(o);
  }
  return nonNegative;
}

/** The VJP of a pattern stand-in: its members' VJPs, in reverse order. */
function composedVjp(members: Node[]): VjpHandler {
  return {
    check: (_node, ctx) => {
      for (const m of members) {
        const vjp = opRecord(m)?.vjp;
        if (!vjp) return `its member "${m.name}" (${recordKey(m)}) has no VJP in src/lrp/ops.ts`;
        const problem = vjp.check?.(m, ctx);
        if (problem) return `member "${m.name}": ${problem}`;
      }
      return null;
    },
    backward: (ctx, R) => {
      const group = ctx.node;
      const local = new Map<string, string[]>();
      const add = (v: string, r: string): void => void (local.get(v)?.push(r) ?? local.set(v, [r]));
      add(group.outputs[0]!, R[0]!);
      for (let i = members.length - 1; i >= 0; i--) {
        const m = members[i]!;
        const Rm = m.outputs.map((o) => (local.has(o) ? ctx.em.sum(local.get(o)!) : null));
        if (Rm.every((r) => r === null)) continue;
        opRecord(m)!
          .vjp!.backward({ ...ctx, node: m }, Rm)
          .forEach((r, k) => {
            const name = m.inputs[k];
            if (r && name && ctx.dependent(name)) add(name, r);
          });
      }
      const x = group.inputs[0]!;
      return group.inputs.map((_name, k) => (k === 0 && local.has(x) ? ctx.em.sum(local.get(x)!) : null));
    },
  };
}

interface Units {
  assignments: Assignment[];
  /** Stand-in node → the members it replaces (only groups that got a rule). */
  groups: Map<Node, Node[]>;
  /** Gates: node → index of the signal factor. */
  signals: Map<Node, number>;
}

/** Pattern recognition, kinds and rules: a group that gets a rule stands for its members, else the members stay. */
function assignUnits(p: Prepared, pathNodes: Node[], dependent: (name: string) => boolean, spec: RuleSpec | null): Units {
  const producers = producersOf(p.graph);
  const readers = consumersOf(p.graph);
  const patternContext: PatternContext = {
    graph: p.graph,
    producer: (v) => producers.get(v),
    consumers: (v) => readers.get(v) ?? [],
    constant: p.constant,
    dependent,
    shape: (v) => p.shapes.get(v),
    source: p.source,
  };
  const onPath = new Set(pathNodes);
  const found = recognisePatterns(patternContext).filter((g) => g.members.every((m) => onPath.has(m)));
  const squashed = (v: string): boolean => isSquashed(patternContext, v);
  const kindContext = { dependent, isConstant: (n: string) => !!p.constant(n), constant: p.constant, shape: (n: string) => p.shapes.get(n), squashed };
  const classifyAll = (nodes: Node[]) =>
    nodes.map((node) => ({ node, kind: classify(node, kindContext) as LayerKind, weights: node.inputs.filter((i) => i && p.constant(i)) }));
  const unitsFor = (groups: Group[]): Node[] => {
    const last = new Map<Node, Group>(groups.map((g) => [g.members.at(-1)!, g]));
    const inside = new Set(groups.flatMap((g) => g.members));
    return pathNodes.flatMap((n) => (last.has(n) ? [last.get(n)!.node] : inside.has(n) ? [] : [n]));
  };
  const trial = assignRules(classifyAll(unitsFor(found)), spec);
  const ruled = new Set(trial.filter((a) => a.rule).map((a) => a.node));
  const kept = found.filter((g) => ruled.has(g.node));
  const assignments = kept.length === found.length ? trial : assignRules(classifyAll(unitsFor(kept)), spec);
  const signals = new Map<Node, number>();
  for (const a of assignments) if (a.kind === 'gate') signals.set(a.node, squashed(a.node.inputs[0]!) ? 1 : 0);
  return { assignments, groups: new Map(kept.map((g) => [g.node, g.members])), signals };
}

export function compileRelevanceGraph(original: Model, options: RelevanceGraphOptions): RelevanceGraph {
  const p = prepare(original, options);
  const { graph, source, constant, input, output } = p;
  const { start, inputType } = attributionPoint(p);
  const dependentValues = dependence(p, start);
  const dependent = (name: string): boolean => !!name && dependentValues.has(name);
  if (!dependent(output)) throw new UserError(source, `the output ${output} does not depend on the input`);
  const pathNodes = relevancePath(p, dependent);
  const nonNegative = signAnalysis(p);
  const { assignments, groups, signals } = assignUnits(p, pathNodes, dependent, options.spec);
  const handlerFor = (node: Node): VjpHandler | undefined => (groups.has(node) ? composedVjp(groups.get(node)!) : opRecord(node)?.vjp);
  checkUnits(p, assignments, dependent, handlerFor);

  // Rename the model input to `input` (the compiled graph's contract).
  const shapes = p.shapes;
  let startValue = start;
  if (input.name !== INPUT) {
    const taken = graph.nodes.some((n) => n.outputs.includes(INPUT)) || graph.initializers.has(INPUT);
    if (taken) throw new UserError(source, `the model uses the name "${INPUT}" for an inner value; rename it`);
    const from = input.name;
    // Pattern stand-ins are not in the graph but read the input too.
    for (const node of [...graph.nodes, ...groups.keys()]) node.inputs = node.inputs.map((i) => (i === from ? INPUT : i));
    if (output === from) throw new UserError(source, 'the model output is its input');
    shapes.set(INPUT, shapes.get(from)!);
    if (start === from) {
      dependentValues.add(INPUT);
      startValue = INPUT;
    }
    input.name = INPUT;
  }

  const gradientForm = options.spec?.form === 'gradient';
  // In the gradient form R is a modified gradient, not relevance: the analysis does not apply.
  const supported = gradientForm
    ? () => false
    : positiveSupport({
        assignments,
        output,
        dependent: (n) => dependent(n) || n === startValue,
        nonNegative: (n) => nonNegative.has(n),
        isStandIn: (n) => groups.has(n),
      });
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
    const vctx: VjpContext = { em, node, graph, dependent: (n) => dependent(n) || n === startValue, constant };
    let Rin: InputRelevance;
    if (rule) {
      if (R[0] === null) continue;
      const xIndex = node.inputs.findIndex((n) => vctx.dependent(n));
      const layer = asLinearLayer(node, graph, em.shapes);
      const ctx: RuleContext = {
        em,
        node,
        layer: layer && typeof layer !== 'string' ? layer : null,
        x: node.inputs[xIndex]!,
        xIndex,
        R: R[0]!,
        z: node.outputs[0]!,
        nonNegative: nonNegative.has(node.inputs[xIndex]!),
        relevanceOnPositiveZ: supported(node.outputs[0]!),
        vjp: (s) => handlerFor(node)!.backward(vctx, [s, ...R.slice(1).map(() => null)]),
        signal: signals.get(node),
      };
      const def = ruleDefinition(rule);
      if (!gradientForm) Rin = def.build(ctx, rule.params);
      else if (def.gradient) Rin = def.gradient(ctx, rule.params);
      else {
        // The gradient form of a relevance rule: R = z ⊙ g in, g = R / x out (0 where x = 0).
        const explicit = def.build({ ...ctx, R: em.mul(ctx.z, ctx.R) }, rule.params);
        Rin = explicit.map((r, k) =>
          r ? em.where(em.op('Equal', [node.inputs[k]!, em.scalar(0)], {}, em.shape(node.inputs[k]!)), em.scalar(0), em.div(r, node.inputs[k]!)) : null,
        );
      }
    } else {
      Rin = handlerFor(node)!.backward(vctx, R);
    }
    Rin.forEach((r, k) => {
      const name = node.inputs[k];
      if (r && name && vctx.dependent(name)) contribute(name, r);
    });
  }

  const arriving = relevance.get(startValue);
  const startShape = em.shape(startValue);
  let result = arriving ? em.sum(arriving) : em.zeros(startShape);
  // Gradient form and token inputs: x ⊙ g (for tokens also without rules: gradient × embedding).
  if (arriving && (gradientForm || (inputType !== 'float32' && !options.spec))) result = em.mul(startValue, result);
  if (inputType !== 'float32') {
    result = em.op('ReduceSum', [result, em.int64([startShape.length - 1])], { keepdims: attr.int(0) }, startShape.slice(0, -1));
  }
  em.builder.addNode('Identity', [result], {}, 1, { outputs: [RELEVANCE], name: 'relevance_output' });
  if (output !== LOGITS) em.builder.addNode('Identity', [output], {}, 1, { outputs: [LOGITS], name: 'logits_output' });
  graph.outputs = [
    { name: LOGITS, dataType: 'float32', shape: logitsShape },
    { name: RELEVANCE, dataType: 'float32', shape: inputShape },
  ];
  graph.inputs[0] = { name: INPUT, dataType: inputType, shape: inputShape };
  lowerMarkers(p.model);
  return { model: p.model, inputShape, inputType, logitsShape, assignments };
}

/** Checks every unit before anything is emitted: ops nothing can handle first, then shapes, then fit. */
function checkUnits(p: Prepared, assignments: Assignment[], dependent: (name: string) => boolean, handlerFor: (node: Node) => VjpHandler | undefined): void {
  const { graph, shapes, source, constant } = p;
  const needsVjp = (a: Assignment): boolean => !a.rule || ['any', 'product', 'gate', 'softmax'].includes(ruleDefinition(a.rule).target);
  const unsupported = assignments.filter((a) => needsVjp(a) && !handlerFor(a.node) && !(a.rule && asLinearLayer(a.node, graph, shapes)));
  if (unsupported.length > 0) {
    // Every unsupported op at once, with its count and first node, so one run tells the whole story.
    const byOp = new Map<string, Node[]>();
    for (const { node } of unsupported) byOp.set(recordKey(node), [...(byOp.get(recordKey(node)) ?? []), node]);
    const list = [...byOp].map(([op, nodes]) => {
      const why = opRecord(nodes[0]!) ? 'its op record (src/lrp/ops.ts) has no VJP' : 'no op record in src/lrp/ops.ts';
      return `${op} ×${nodes.length} (node "${nodes[0]!.name}"${nodes.length > 1 ? ', …' : ''}; ${why})`;
    });
    throw new UserError(source, `unsupported op${list.length > 1 ? 's' : ''} ${list.join(', ')}`);
  }
  for (const { node } of assignments) {
    for (const v of [...node.inputs.filter(dependent), ...node.outputs.filter(Boolean)]) {
      if (shapes.has(v)) continue;
      const why = supportsShapeInference(node)
        ? 'it depends on data or on unknown inputs'
        : `op ${recordKey(node)} has no shape function in src/onnx/shapes.ts`;
      throw new UserError(source, `node "${node.name}" (${node.opType}): the static shape of ${v} is unknown (${why})`);
    }
  }
  const problems: string[] = [];
  const checkContext = { graph, dependent, constant, shapes };
  for (const a of assignments) {
    const { node } = a;
    const handler = handlerFor(node);
    const handlerProblem = handler ? (handler.check?.(node, checkContext) ?? null) : 'unsupported';
    if (a.rule) {
      const layer = asLinearLayer(node, graph, shapes);
      const x = node.inputs.find(dependent)!;
      const mismatch = ruleMismatch(a.rule, node, a.kind, layer, sameShape(shapes.get(x)!, shapes.get(node.outputs[0]!)!), handlerProblem === null);
      if (mismatch) problems.push(`node "${node.name}" (${node.opType}): ${mismatch}`);
    } else if (handlerProblem) {
      problems.push(`node "${node.name}" (${node.opType}): ${handlerProblem}`);
    }
  }
  if (problems.length > 0) {
    throw new UserError(
      source,
      problems.length === 1 ? problems[0]! : `${problems[0]} (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`,
    );
  }
}
