/**
 * Constant folding: every node whose outputs are all known constants (initializers, `Shape` of a
 * value with a static shape, and anything computed from those by an exact JS kernel) is replaced by
 * initializers holding its outputs; nodes and initializers nothing needs any more are removed.
 *
 * With `inputShape`, `Shape` of anything downstream of the input becomes constant too, so chains like
 * the `Shape → Gather → Unsqueeze → Concat → Reshape` that `x.view(x.size(0), -1)` exports fold into
 * a constant Reshape target. That bakes the batch size into the graph: fold once per input shape.
 */
import { cloneModel, isGraphOutput, removeDeadCode } from './graph.js';
import type { Model } from './ir.js';
import { inferValues } from './shapes.js';

export interface FoldOptions {
  /** Concrete shape of the (single) graph input, or shapes by input name; default the declared shapes. */
  inputShape?: number[] | Record<string, number[]>;
}

export interface FoldResult {
  model: Model;
  /** Names of the nodes that were folded into initializers or removed as dead. */
  folded: string[];
}

/** Folds constant subgraphs into initializers (see the module comment); the input model is not modified. */
export function foldConstants(model: Model, options: FoldOptions = {}): Model {
  return foldConstantsWithReport(model, options).model;
}

/** `foldConstants`, also reporting which nodes disappeared. */
export function foldConstantsWithReport(model: Model, options: FoldOptions = {}): FoldResult {
  const out = cloneModel(model);
  return { model: out, folded: foldConstantsInPlace(out, options) };
}

/** Folds `model` in place (no copy of its weights); returns the names of the nodes that disappeared. */
export function foldConstantsInPlace(out: Model, options: FoldOptions = {}): string[] {
  const graph = out.graph;
  const facts = inferValues(out, options.inputShape);
  const folded: string[] = [];
  graph.nodes = graph.nodes.filter((node) => {
    const outputs = node.outputs.filter((o) => o !== '');
    const constant = outputs.length > 0 && outputs.every((o) => facts.get(o)?.value !== undefined && !isGraphOutput(graph, o));
    if (!constant) return true;
    for (const o of outputs) graph.initializers.set(o, { ...facts.get(o)!.value!, name: o });
    folded.push(node.name);
    return false;
  });
  folded.push(...removeDeadCode(graph));
  return folded;
}
