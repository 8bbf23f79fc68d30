/**
 * The opset upgrade pass: when a model is read, operator forms of opsets 7–12 are rewritten to
 * their opset-13 equivalents, so every later pass (shape inference, canonizers, the relevance
 * compiler) knows one form of each op. Each rewrite follows the ONNX operator changelog
 * (onnx/docs/Changelog.md):
 *
 * | op | before | change |
 * |---|---|---|
 * | Clip | < 11 | `min`/`max` attributes → inputs 1, 2 |
 * | Pad | < 11 | `pads`/`value` attributes → inputs 1, 2 |
 * | Slice | < 10 | `starts`/`ends`/`axes` attributes → inputs 1–3 |
 * | TopK | < 10 | `k` attribute → input 1 |
 * | Split | < 13 | `split` attribute → input 1 |
 * | Squeeze, Unsqueeze, ReduceSum | < 13 | `axes` attribute → input 1 |
 * | BatchNormalization | < 9 | `spatial` (1 = today's op), `is_test`, `consumed_inputs` dropped; unused training outputs dropped |
 * | Dropout | < 13 | an inference no-op: Identity (or `ratio`/`is_test` dropped when its mask is read) |
 * | Upsample | 7–10 | → Resize (`asymmetric` coordinates, `floor` nearest rounding: Upsample's semantics) |
 * | Resize | 10 | → opset-13 Resize, `asymmetric`; nearest rounds down on enlarged axes, up on shrunk ones (onnxruntime's Resize-10) |
 * | Scatter | < 11 | → ScatterElements |
 * | Softmax, LogSoftmax, Hardmax | < 13 | 2-D coercion at `axis` (default 1): the same op on the last axis, else Flatten → op → Reshape |
 *
 * The other ops used by classifiers (Conv, Gemm, pools, BatchNormalization ≥ 9, Relu, Concat,
 * Reshape, …) kept their semantics across 7–13 (only types or negative axes were added).
 *
 * Opsets 13–21 are read as written, except Pad's and Resize's opset-18 partial `axes` forms, made
 * full-rank (upgrade-axes.ts). Those opsets changed no other form an exporter writes incompatibly:
 * Reduce* took `axes` as an input (18; every pass reads both), Split gained `num_outputs` (18),
 * Gelu became an op (20), and the rest only gained types (19, 21) or options off by default
 * (Resize `antialias`, AveragePool `dilations`, Pad `wrap`).
 *
 * At every opset, Einsums of the batched-matmul forms become Transpose/MatMul (einsum.ts).
 */
import { attr, GraphBuilder } from './builder.js';
import { consumers, defaultOpset, isGraphOutput } from './graph.js';
import type { Model, Node } from './ir.js';
import { inferValues } from './shapes.js';
import { rewriteEinsums } from './einsum.js';
import { AxesFormError, expandPartialAxes } from './upgrade-axes.js';
import { float32Tensor, toNumbers } from './tensor.js';

/** The opset the pass upgrades to. */
export const UPGRADED_OPSET = 13;

export class UpgradeError extends Error {}

/**
 * Rewrites `model` in place to opset 13 when it imports an older default opset; returns one line
 * per kind of rewrite (e.g. `Clip: attributes min/max → inputs (×3)`). Throws `UpgradeError` for
 * forms with no opset-13 equivalent (BatchNormalization with spatial = 0).
 */
export function upgradeModel(model: Model): string[] {
  const notes = upgradeForms(model);
  // After the forms: the rewrite writes opset-13 Squeeze/Unsqueeze (axes as inputs).
  return [...notes, ...rewriteEinsums(model)];
}

function upgradeForms(model: Model): string[] {
  const opset = defaultOpset(model);
  if (opset >= UPGRADED_OPSET) {
    try {
      return expandPartialAxes(model);
    } catch (error) {
      if (error instanceof AxesFormError) throw new UpgradeError(error.message);
      throw error;
    }
  }
  const g = model.graph;
  const b = new GraphBuilder(g);
  const counts = new Map<string, number>();
  const note = (what: string): void => {
    counts.set(what, (counts.get(what) ?? 0) + 1);
  };
  const ints = (values: number[]): string => b.constantInt64(values, [values.length], 'upgrade_ints');
  const scalar = (value: number): string => b.addInitializer(float32Tensor('upgrade_scalar', [value], []));
  /** Moves attribute `name` to input `position` (made from `make`); true when it was present. */
  const toInput = (node: Node, name: string, position: number, make: (a: NonNullable<Node['attributes'][string]>) => string): boolean => {
    const a = node.attributes[name];
    if (!a) return false;
    delete node.attributes[name];
    while (node.inputs.length <= position) node.inputs.push('');
    node.inputs[position] = make(a);
    while (node.inputs.length > 1 && node.inputs.at(-1) === '') node.inputs.pop();
    return true;
  };
  const intsOf = (a: NonNullable<Node['attributes'][string]>): string => ints(a.type === 'ints' ? a.value : a.type === 'int' ? [a.value] : []);
  const floatOf = (a: NonNullable<Node['attributes'][string]>): string => scalar(a.type === 'float' || a.type === 'int' ? a.value : 0);
  const used = (name: string): boolean => !!name && (isGraphOutput(g, name) || (consumers(g).get(name)?.length ?? 0) > 0);
  const coerced: Node[] = [];

  // A copy: rewrites insert nodes before the one they rewrite.
  for (const node of [...g.nodes]) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
    switch (node.opType) {
      case 'Clip':
        if (opset < 11) {
          const min = toInput(node, 'min', 1, floatOf);
          const max = toInput(node, 'max', 2, floatOf);
          if (min || max) note('Clip: attributes min/max → inputs');
        }
        break;
      case 'Pad':
        if (opset < 11) {
          const value = node.attributes.value;
          toInput(node, 'pads', 1, intsOf);
          delete node.attributes.value;
          if (value && value.type === 'float' && value.value !== 0) node.inputs[2] = scalar(value.value);
          note('Pad: attributes pads/value → inputs');
        }
        break;
      case 'Slice':
        if (opset < 10) {
          toInput(node, 'starts', 1, intsOf);
          toInput(node, 'ends', 2, intsOf);
          toInput(node, 'axes', 3, intsOf);
          note('Slice: attributes starts/ends/axes → inputs');
        }
        break;
      case 'TopK':
        if (opset < 10 && toInput(node, 'k', 1, intsOf)) note('TopK: attribute k → input');
        break;
      case 'Split':
        if (toInput(node, 'split', 1, intsOf)) note('Split: attribute split → input');
        break;
      case 'Squeeze':
      case 'Unsqueeze':
      case 'ReduceSum':
        if (toInput(node, 'axes', 1, intsOf)) note(`${node.opType}: attribute axes → input`);
        break;
      case 'BatchNormalization': {
        const spatial = node.attributes.spatial;
        if (spatial && spatial.type === 'int' && spatial.value === 0) {
          throw new UpgradeError(
            `node ${node.name}: BatchNormalization with spatial = 0 (statistics per element) has no equivalent after opset 9; re-export with spatial = 1`,
          );
        }
        const dropped = ['spatial', 'is_test', 'consumed_inputs'].filter((name) => name in node.attributes);
        for (const name of dropped) delete node.attributes[name];
        // Opset-7 exports list the training-time statistics outputs; inference never computes them.
        const before = node.outputs.length;
        while (node.outputs.length > 1 && !used(node.outputs.at(-1)!)) node.outputs.pop();
        if (dropped.length > 0 || node.outputs.length < before) note('BatchNormalization: spatial/is_test attributes and unused training outputs dropped');
        break;
      }
      case 'Dropout':
        if (!used(node.outputs[1] ?? '')) {
          node.opType = 'Identity';
          node.inputs = [node.inputs[0]!];
          node.outputs = [node.outputs[0]!];
          node.attributes = {};
          note('Dropout (inference) → Identity');
        } else {
          delete node.attributes.ratio;
          delete node.attributes.is_test;
          node.inputs = [node.inputs[0]!];
          note('Dropout: attributes ratio/is_test dropped');
        }
        break;
      case 'Upsample':
      case 'Resize': {
        if (node.opType === 'Resize' && opset >= 11) break;
        let mode = node.attributes.mode?.type === 'string' ? node.attributes.mode.value : 'nearest';
        if (mode === 'bilinear') mode = 'linear';
        const scales =
          node.attributes.scales?.type === 'floats'
            ? b.constant(node.attributes.scales.value, [node.attributes.scales.value.length], 'upgrade_scales')
            : node.inputs[1]!;
        note(`${node.opType}${node.opType === 'Resize' ? '-10' : ''} → Resize-13 (asymmetric coordinates)`);
        const resizeAttrs = (nearestMode: string): Record<string, NonNullable<Node['attributes'][string]>> => ({
          mode: attr.string(mode),
          coordinate_transformation_mode: attr.string('asymmetric'),
          ...(mode === 'nearest' ? { nearest_mode: attr.string(nearestMode) } : {}),
        });
        node.opType = 'Resize';
        node.attributes = resizeAttrs('floor');
        // onnxruntime's old nearest rounds down when enlarging an axis and up when shrinking it;
        // Resize-13 has one rounding for all axes, so mixed factors become two Resize nodes.
        const factors = g.initializers.get(scales);
        const values = factors ? toNumbers(factors) : [];
        const down = values.map((v) => (v < 1 ? v : 1));
        const up = values.map((v) => (v < 1 ? 1 : v));
        if (mode === 'nearest' && down.some((v) => v !== 1)) {
          node.attributes = resizeAttrs('ceil');
          if (up.some((v) => v !== 1)) {
            const [shrunk] = b.addNode('Resize', [node.inputs[0]!, '', b.constant(down, [down.length], 'upgrade_scales')], resizeAttrs('ceil'), 1, {
              name: `${node.name}_shrink`,
            });
            const shrink = g.nodes.pop()!;
            g.nodes.splice(g.nodes.indexOf(node), 0, shrink);
            node.attributes = resizeAttrs('floor');
            node.inputs = [shrunk!, '', b.constant(up, [up.length], 'upgrade_scales')];
            break;
          }
        }
        node.inputs = [node.inputs[0]!, '', scales];
        break;
      }
      case 'Scatter':
        node.opType = 'ScatterElements';
        note('Scatter → ScatterElements');
        break;
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax':
        coerced.push(node);
        break;
    }
  }

  if (coerced.length > 0) {
    // Ranks come from shape inference on the upgraded graph (Softmax keeps its input's shape, so
    // its own old semantics do not matter here); symbolic dims are fine, only the rank is needed.
    let rankOf: (name: string) => number | undefined = () => undefined;
    try {
      const facts = inferValues({ ...model, opsetImports: [{ domain: '', version: UPGRADED_OPSET }] });
      rankOf = (name) => facts.get(name)?.shape?.length;
    } catch {
      // Ranks stay unknown: the general rewrite below is right for any rank.
    }
    for (const node of coerced) {
      const a = node.attributes.axis;
      const axis = a?.type === 'int' ? a.value : 1;
      const rank = rankOf(node.inputs[0]!);
      if (rank !== undefined && (axis === -1 || axis === rank - 1)) {
        node.attributes.axis = attr.int(-1);
        note(`${node.opType}: 2-D coercion on the last axis = opset-13 axis −1`);
        continue;
      }
      // Flatten at `axis` → op over axis 1 of the 2-D view → back to the input's shape.
      const x = node.inputs[0]!;
      const y = node.outputs[0]!;
      const [flat] = b.addNode('Flatten', [x], { axis: attr.int(axis) }, 1, { name: `${node.name}_coerce2d` });
      const [shape] = b.addNode('Shape', [x], {}, 1, { name: `${node.name}_shape` });
      const [inner] = b.addNode(node.opType, [flat!], { axis: attr.int(1) }, 1, { name: `${node.name}_2d` });
      const back = g.nodes.pop()!;
      const shapeNode = g.nodes.pop()!;
      const flatten = g.nodes.pop()!;
      node.opType = 'Reshape';
      node.inputs = [inner!, shape!];
      node.outputs = [y];
      node.attributes = {};
      g.nodes.splice(g.nodes.indexOf(node), 0, flatten, shapeNode, back);
      note(`${back.opType}: 2-D coercion at axis ${axis} → Flatten/${back.opType}/Reshape`);
    }
  }

  const entry = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (entry) {
    entry.domain = '';
    entry.version = UPGRADED_OPSET;
  }
  // Opset 13 needs IR version 7 (onnx/docs/Versioning.md); IR < 4 listed initializers as inputs, which the codec already separated.
  model.irVersion = Math.max(model.irVersion, 7);
  return [...counts].map(([what, n]) => `${what}${n > 1 ? ` (×${n})` : ''}`);
}
