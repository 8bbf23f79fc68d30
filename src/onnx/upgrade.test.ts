/**
 * The opset upgrade pass against onnxruntime itself: each old-opset model runs in onnxruntime as
 * written (its own implementation of the old op) and after the upgrade to opset 13; the outputs
 * must agree. A rewrite with the wrong semantics (Upsample coordinates, 2-D Softmax coercion, a
 * dropped attribute) changes the numbers.
 */
import { describe, expect, it } from 'vitest';
import { attr, emptyGraph, GraphBuilder, modelOf } from './builder.js';
import { decodeModel, encodeModel } from './codec.js';
import type { Attribute } from './ir.js';
import { runModel } from './ort.js';
import { inferValues } from './shapes.js';
import { float32Tensor } from './tensor.js';
import { mulberry32 } from '../util/mulberry32.js';

function random(n: number, seed = 1): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rand() * 4 - 2);
}

/** A one-op model `op(x, …extra)` at `opset`; returns both the original bytes and the decoded (upgraded) model. */
function oneOp(
  opset: number,
  op: string,
  xShape: number[],
  attributes: Record<string, Attribute>,
  extra: (b: GraphBuilder) => string[] = () => [],
  outputs = 1,
) {
  const b = new GraphBuilder(emptyGraph());
  b.addInput('x', 'float32', xShape);
  const ys = b.addNode(op, ['x', ...extra(b)], attributes, outputs);
  for (const y of ys) b.addOutput(y, 'float32');
  const bytes = encodeModel(modelOf(b.graph, opset));
  return { bytes, upgraded: decodeModel(bytes), output: ys[0]! };
}

async function expectSameOutputs(
  opset: number,
  op: string,
  xShape: number[],
  attributes: Record<string, Attribute>,
  extra?: (b: GraphBuilder) => string[],
  outputs?: number,
): Promise<string[]> {
  const { bytes, upgraded, output } = oneOp(opset, op, xShape, attributes, extra, outputs);
  const x = { data: random(xShape.reduce((a, b) => a * b, 1)), dims: xShape };
  const before = (await runModel(bytes, { x })).get(output)!;
  const after = (await runModel(upgraded, { x })).get(output)!;
  // Opsets before 13 become 13; newer ones keep their opset.
  expect(upgraded.opsetImports[0]!.version).toBe(Math.max(opset, 13));
  expect(after.dims).toEqual(before.dims);
  // The later passes read the upgraded form: shape inference must know the output's shape.
  expect(inferValues(upgraded).get(output)?.shape).toEqual(before.dims);
  for (let i = 0; i < before.data.length; i++) expect(after.data[i]).toBeCloseTo(before.data[i]!, 5);
  return upgraded.graph.nodes.map((n) => n.opType);
}

describe('upgrade to opset 13 keeps what onnxruntime computes for the old forms', () => {
  it('Clip-6 min/max attributes', async () => {
    expect(await expectSameOutputs(7, 'Clip', [2, 5], { min: attr.float(-0.5), max: attr.float(1) })).toEqual(['Clip']);
    await expectSameOutputs(9, 'Clip', [2, 5], { max: attr.float(0.3) });
  });

  it('Pad-2 pads/value attributes', async () => {
    await expectSameOutputs(9, 'Pad', [1, 2, 3, 3], { pads: attr.ints([0, 0, 1, 2, 0, 0, 2, 1]), value: attr.float(0.5) });
    await expectSameOutputs(10, 'Pad', [1, 2, 3, 3], { pads: attr.ints([0, 0, 1, 1, 0, 0, 1, 1]) });
  });

  it('Slice-1 attributes, Squeeze/Unsqueeze/ReduceSum axes, Split split', async () => {
    await expectSameOutputs(9, 'Slice', [2, 6, 5], { starts: attr.ints([1, -4]), ends: attr.ints([5, 1000]), axes: attr.ints([1, 2]) });
    await expectSameOutputs(11, 'Unsqueeze', [2, 3], { axes: attr.ints([0, 3]) });
    await expectSameOutputs(11, 'Squeeze', [2, 1, 3, 1], { axes: attr.ints([1, -1]) });
    await expectSameOutputs(12, 'ReduceSum', [2, 3, 4], { axes: attr.ints([1]), keepdims: attr.int(0) });
    await expectSameOutputs(11, 'Split', [2, 6], { axis: attr.int(1), split: attr.ints([2, 4]) }, () => [], 2);
  });

  it('BatchNormalization-7 spatial, Dropout-7/10 ratio', async () => {
    const bn = (b: GraphBuilder): string[] => [b.constant([1, 2], [2]), b.constant([0.5, -1], [2]), b.constant([0.1, 0.2], [2]), b.constant([1, 3], [2])];
    expect(await expectSameOutputs(7, 'BatchNormalization', [1, 2, 3, 3], { spatial: attr.int(1), epsilon: attr.float(1e-3) }, bn)).toEqual([
      'BatchNormalization',
    ]);
    expect(await expectSameOutputs(7, 'Dropout', [2, 4], { ratio: attr.float(0.3) })).toEqual(['Identity']);
    await expectSameOutputs(10, 'Dropout', [2, 4], { ratio: attr.float(0.3) });
  });

  it('refuses BatchNormalization with spatial = 0 in one line naming the node', () => {
    const bn = (b: GraphBuilder): string[] => [b.constant([1, 2], [2]), b.constant([0.5, -1], [2]), b.constant([0.1, 0.2], [2]), b.constant([1, 3], [2])];
    expect(() => oneOp(7, 'BatchNormalization', [1, 2, 3, 3], { spatial: attr.int(0) }, bn)).toThrow(/node BatchNormalization.*spatial = 0/);
  });

  it('Upsample-7 (scales attribute) and Upsample-9 / Resize-10 (scales input), nearest and linear → Resize-13', async () => {
    for (const mode of ['nearest', 'linear']) {
      expect(await expectSameOutputs(7, 'Upsample', [1, 2, 3, 4], { mode: attr.string(mode), scales: attr.floats([1, 1, 2, 3]) })).toEqual(['Resize']);
      const scales = (b: GraphBuilder): string[] => [b.constant([1, 1, 2, 2], [4])];
      await expectSameOutputs(9, 'Upsample', [1, 2, 3, 4], { mode: attr.string(mode) }, scales);
      await expectSameOutputs(10, 'Resize', [1, 2, 3, 4], { mode: attr.string(mode) }, scales);
      // Downscaling and non-integer factors exercise the coordinate rounding.
      await expectSameOutputs(10, 'Resize', [1, 1, 7, 9], { mode: attr.string(mode) }, (b) => [b.constant([1, 1, 0.6, 1.5], [4])]);
      await expectSameOutputs(10, 'Resize', [1, 1, 7, 9], { mode: attr.string(mode) }, (b) => [b.constant([1, 1, 0.5, 0.4], [4])]);
    }
  });

  it('Softmax/LogSoftmax/Hardmax-1 coerce to 2-D at axis: last axis stays one op, inner axes become Flatten/op/Reshape', async () => {
    expect(await expectSameOutputs(9, 'Softmax', [3, 5], {})).toEqual(['Softmax']);
    expect(await expectSameOutputs(11, 'LogSoftmax', [2, 3, 4], { axis: attr.int(2) })).toEqual(['LogSoftmax']);
    expect(await expectSameOutputs(11, 'Softmax', [2, 3, 4], {})).toEqual(['Flatten', 'Shape', 'Softmax', 'Reshape']);
    await expectSameOutputs(12, 'LogSoftmax', [2, 3, 2, 2], { axis: attr.int(2) });
    await expectSameOutputs(7, 'Hardmax', [2, 3, 4], { axis: attr.int(1) });
  });

  it('weights in Constant nodes become initializers at any opset', () => {
    const b = new GraphBuilder(emptyGraph());
    b.addInput('x', 'float32', [1, 2]);
    const [w] = b.addNode('Constant', [], { value: attr.tensor(float32Tensor('w', [1, 2, 3, 4], [2, 2])) });
    const [y] = b.addNode('MatMul', ['x', w!]);
    b.addOutput(y!, 'float32');
    const model = decodeModel(encodeModel(modelOf(b.graph, 9)));
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['MatMul']);
    expect(model.graph.initializers.get(w!)?.dims).toEqual([2, 2]);
  });
});

describe('opset 18–21 forms: the partial-axes forms become full-rank, the rest is read as written', () => {
  it('Pad-18 with an axes input → full-rank pads', async () => {
    const padsOnAxes = (b: GraphBuilder): string[] => [b.constantInt64([1, 2, 0, 3], [4]), b.constant([0.5], []), b.constantInt64([3, -2], [2])];
    const ops = await expectSameOutputs(18, 'Pad', [1, 2, 3, 4], {}, padsOnAxes);
    expect(ops).toEqual(['Pad']);
    const { upgraded } = oneOp(18, 'Pad', [1, 2, 3, 4], {}, padsOnAxes);
    expect(upgraded.graph.nodes[0]!.inputs).toHaveLength(3);
    await expectSameOutputs(21, 'Pad', [2, 3, 5], { mode: attr.string('constant') }, (b) => [b.constantInt64([2, 1], [2]), '', b.constantInt64([1], [1])]);
  });

  it('Resize-18 with an axes attribute (scales, sizes) → full-rank scales / sizes', async () => {
    for (const mode of ['nearest', 'linear']) {
      const ops = await expectSameOutputs(18, 'Resize', [1, 2, 3, 4], { mode: attr.string(mode), axes: attr.ints([2, 3]) }, (b) => [
        '',
        b.constant([2, 1.5], [2]),
      ]);
      expect(ops).toEqual(['Resize']);
      await expectSameOutputs(19, 'Resize', [1, 2, 5, 4], { mode: attr.string(mode), axes: attr.ints([-1]) }, (b) => ['', '', b.constantInt64([7], [1])]);
      await expectSameOutputs(19, 'Resize', [2, 1, 5, 4], { mode: attr.string(mode), axes: attr.ints([3, 2]) }, (b) => ['', '', b.constantInt64([6, 3], [2])]);
    }
  });

  it('refuses Resize sizes with keep_aspect_ratio_policy not_larger in one line naming the node', () => {
    expect(() =>
      oneOp(18, 'Resize', [1, 1, 4, 6], { keep_aspect_ratio_policy: attr.string('not_larger') }, (b) => ['', '', b.constantInt64([1, 1, 2, 2], [4])]),
    ).toThrow(/node Resize.*keep_aspect_ratio_policy not_larger is not supported/);
  });

  it('Reduce* axes inputs (18), Split num_outputs (18) and Gelu (20) keep their form; shape inference gives onnxruntime’s shapes', async () => {
    const cases: Array<[number, string, number[], Record<string, Attribute>, (b: GraphBuilder) => string[], number]> = [
      [18, 'ReduceMean', [2, 3, 4], { keepdims: attr.int(0) }, (b) => [b.constantInt64([-1, 0], [2])], 1],
      [18, 'ReduceMax', [2, 3, 4], {}, (b) => [b.constantInt64([1], [1])], 1],
      [18, 'ReduceL2', [2, 3, 4], { noop_with_empty_axes: attr.int(1) }, () => [], 1],
      [18, 'Split', [2, 10], { axis: attr.int(1), num_outputs: attr.int(3) }, () => [], 3],
      [20, 'Gelu', [2, 5], { approximate: attr.string('tanh') }, () => [], 1],
    ];
    for (const [opset, op, shape, attributes, extra, outputs] of cases) {
      const { bytes, upgraded } = oneOp(opset, op, shape, attributes, extra, outputs);
      expect(upgraded.graph.nodes.map((n) => [n.opType, n.inputs.length])).toEqual([[op, 1 + extra(new GraphBuilder()).length]]);
      const x = { data: random(shape.reduce((a, b) => a * b, 1)), dims: shape };
      const results = await runModel(bytes, { x });
      const facts = inferValues(upgraded);
      for (const name of upgraded.graph.nodes[0]!.outputs) expect(facts.get(name)?.shape).toEqual(results.get(name)?.dims);
    }
  });
});
