/**
 * Pattern recognition on the (canonized) graph, run by the relevance compiler before rules are
 * assigned: a pass finds a subgraph that is ONE layer for LRP purposes (a decomposed LayerNorm, a
 * GELU built from Erf/Mul/Add, hard-swish from Clip/Add/Div/Mul) and reports it as a `Group`. The
 * forward graph is not changed: a group is a stand-in node (`node`, domain `xai.tools`) over its
 * members that composites and rule maps see instead of the members. When the stand-in gets a rule,
 * the rule replaces the members' relevance; when it gets none, the members keep their own VJPs.
 */
import type { Graph, Node, Tensor } from '../../onnx/ir.js';

export interface PatternContext {
  graph: Graph;
  producer: (value: string) => Node | undefined;
  consumers: (value: string) => Node[];
  constant: (name: string) => Tensor | undefined;
  /** True when the value depends on the model input. */
  dependent: (name: string) => boolean;
  shape: (name: string) => number[] | undefined;
  /** Names the model in errors. */
  source?: string;
}

export interface Group {
  /** The stand-in node: inputs [x, …constants], outputs [y]. */
  node: Node;
  /** The graph nodes it stands for, in graph order. */
  members: Node[];
}

export interface PatternPass {
  name: string;
  /** Groups found; nodes already claimed by an earlier pass are in `claimed` and must be left alone. */
  find(ctx: PatternContext, claimed: ReadonlySet<Node>): Group[];
}

/** The single scalar value of a constant, or undefined. */
export function scalarConstant(ctx: PatternContext, name: string | undefined): number | undefined {
  const t = name ? ctx.constant(name) : undefined;
  if (!t || t.data.length !== 1) return undefined;
  return Number(t.data[0]);
}
