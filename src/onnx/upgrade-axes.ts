/**
 * Opset 18 gave Pad an `axes` input and Resize an `axes` attribute (pads, scales or sizes for the
 * listed axes only) and a `keep_aspect_ratio_policy`. The later passes (shape inference, the Pad and
 * Resize relevance rules) read full-rank pads, scales and sizes, so these forms are rewritten when
 * the model is read (onnx/docs/Changelog.md, Pad-18 and Resize-18):
 *
 * | op | form | rewrite |
 * |---|---|---|
 * | Pad ≥ 18 | constant `pads` for constant `axes` | full-rank pads (0 on the other axes), `axes` dropped |
 * | Resize ≥ 18 | `axes` with constant scales (or roi) | full-rank scales (1 on the other axes; roi 0…1) |
 * | Resize ≥ 18 | `axes` with sizes | full-rank sizes: the input's own dims (Shape → Gather) on the other axes |
 * | Resize ≥ 18 | sizes with `keep_aspect_ratio_policy` not_larger / not_smaller | refused (the output shape depends on the input's dims) |
 *
 * The other forms new in opsets 18–21 need no rewrite: Reduce* axes inputs, Split's `num_outputs`
 * and the Gelu op are read as they are; the rest only gained types.
 */
import { attr, GraphBuilder } from './builder.js';
import { defaultOpset } from './graph.js';
import type { Model, Node } from './ir.js';
import { knownRanks } from './shapes.js';
import { toNumbers } from './tensor.js';

export class AxesFormError extends Error {}

/** Rewrites the opset-18 partial-axes forms of `model` in place; returns one line per kind of rewrite. */
export function expandPartialAxes(model: Model): string[] {
  if (defaultOpset(model) < 18) return [];
  const g = model.graph;
  const isDefault = (n: Node): boolean => n.domain === '' || n.domain === 'ai.onnx';
  const targets = g.nodes.filter(
    (n) =>
      isDefault(n) && ((n.opType === 'Pad' && !!n.inputs[3]) || (n.opType === 'Resize' && (!!n.attributes.axes || !!n.attributes.keep_aspect_ratio_policy))),
  );
  if (targets.length === 0) return [];

  // Unknown ranks leave those nodes as written, and their relevance rule says what it lacks.
  const rankOf = knownRanks(model);
  const b = new GraphBuilder(g);
  const counts = new Map<string, number>();
  const note = (what: string): void => {
    counts.set(what, (counts.get(what) ?? 0) + 1);
  };
  const constant = (name: string | undefined): number[] | undefined => {
    const t = name ? g.initializers.get(name) : undefined;
    return t ? toNumbers(t) : undefined;
  };
  /** Moves the nodes appended since `mark` to just before `node`. */
  const moveBefore = (node: Node, mark: number): void => {
    const added = g.nodes.splice(mark);
    g.nodes.splice(g.nodes.indexOf(node), 0, ...added);
  };

  for (const node of targets) {
    const rank = rankOf(node.inputs[0]!);
    if (node.opType === 'Pad') {
      const axes = constant(node.inputs[3]);
      const pads = constant(node.inputs[1]);
      if (rank === undefined || !axes || !pads) continue;
      const full = new Array<number>(2 * rank).fill(0);
      axes.forEach((a, i) => {
        const axis = a < 0 ? a + rank : a;
        full[axis] = pads[i]!;
        full[axis + rank] = pads[i + axes.length]!;
      });
      node.inputs[1] = b.constantInt64(full, [full.length], 'upgrade_pads');
      node.inputs.length = 3;
      while (node.inputs.length > 1 && node.inputs.at(-1) === '') node.inputs.pop();
      note('Pad-18: pads on selected axes → full-rank pads');
      continue;
    }
    // Resize
    const policy = node.attributes.keep_aspect_ratio_policy;
    const sizes = node.inputs[3] ?? '';
    if (policy?.type === 'string' && policy.value !== 'stretch' && sizes) {
      throw new AxesFormError(`node ${node.name}: Resize keep_aspect_ratio_policy ${policy.value} is not supported (stretch is)`);
    }
    delete node.attributes.keep_aspect_ratio_policy;
    const axesAttr = node.attributes.axes;
    if (!axesAttr || axesAttr.type !== 'ints') continue;
    if (rank === undefined) {
      throw new AxesFormError(`node ${node.name}: Resize with axes needs the input's rank, which is unknown`);
    }
    const axes = axesAttr.value.map((a) => (a < 0 ? a + rank : a));
    const mark = g.nodes.length;
    const roi = constant(node.inputs[1]);
    if (node.inputs[1] && roi && roi.length > 0) {
      const full = [...new Array<number>(rank).fill(0), ...new Array<number>(rank).fill(1)];
      axes.forEach((axis, i) => {
        full[axis] = roi[i]!;
        full[axis + rank] = roi[i + axes.length]!;
      });
      node.inputs[1] = b.constant(full, [full.length], 'upgrade_roi');
    }
    if (sizes) {
      const given = constant(sizes);
      const parts = Array.from({ length: rank }, (_, axis) => {
        const i = axes.indexOf(axis);
        if (i >= 0 && given) return b.constantInt64([given[i]!], [1], 'upgrade_size');
        if (i >= 0) return b.addNode('Gather', [sizes, b.constantInt64([i], [1], 'upgrade_index')], { axis: attr.int(0) })[0]!;
        const [shape] = b.addNode('Shape', [node.inputs[0]!], {}, 1, { name: `${node.name}_shape` });
        return b.addNode('Gather', [shape!, b.constantInt64([axis], [1], 'upgrade_index')], { axis: attr.int(0) })[0]!;
      });
      node.inputs[3] = b.addNode('Concat', parts, { axis: attr.int(0) }, 1, { name: `${node.name}_sizes` })[0]!;
      note('Resize-18: sizes on selected axes → full-rank sizes');
    } else {
      const scales = constant(node.inputs[2]);
      if (!scales) throw new AxesFormError(`node ${node.name}: Resize with axes needs constant scales or sizes`);
      const full = new Array<number>(rank).fill(1);
      axes.forEach((axis, i) => {
        full[axis] = scales[i]!;
      });
      node.inputs[2] = b.constant(full, [full.length], 'upgrade_scales');
      note('Resize-18: scales on selected axes → full-rank scales');
    }
    delete node.attributes.axes;
    moveBefore(node, mark);
  }
  return [...counts].map(([what, n]) => `${what}${n > 1 ? ` (×${n})` : ''}`);
}
