import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { GraphBuilder, attr, modelOf } from './builder.js';
import { encodeModel, readModel } from './codec.js';
import { foldConstants, foldConstantsWithReport } from './fold.js';
import type { Model } from './ir.js';
import { runModel } from './ort.js';
import { inferShapes, inferValues } from './shapes.js';
import { conformanceDir, conformanceModels, fixtureIo, fixturesDir, maxRelativeDifference } from './testing.js';

/** Shapes onnxruntime reports for every node output, each exposed as an extra graph output. */
async function ortShapes(model: Model, inputShape: number[]): Promise<Map<string, number[]>> {
  const facts = inferValues(model, inputShape);
  const probe: Model = { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs] } };
  const existing = new Set(probe.graph.outputs.map((o) => o.name));
  for (const node of model.graph.nodes) {
    for (const out of node.outputs) {
      if (out && !existing.has(out)) probe.graph.outputs.push({ name: out, dataType: facts.get(out)!.dataType });
    }
  }
  const session = await ort.InferenceSession.create(encodeModel(probe), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const input = model.graph.inputs[0]!;
  const size = inputShape.reduce((a, b) => a * b, 1);
  const results = await session.run({ [input.name]: new ort.Tensor('float32', new Float32Array(size), inputShape) });
  await session.release();
  return new Map(Object.entries(results).map(([k, t]) => [k, [...t.dims]]));
}

const models: Array<{ path: string; sampleShape: number[] }> = [
  ...conformanceModels.flatMap(({ name, sampleShape }) => [
    { path: join(conformanceDir, `${name}.onnx`), sampleShape },
    { path: join(conformanceDir, `${name}.folded.onnx`), sampleShape },
  ]),
  { path: join(fixturesDir, 'view_net_op11.onnx'), sampleShape: [3, 7, 7] },
  { path: join(fixturesDir, 'view_net_op13.onnx'), sampleShape: [3, 7, 7] },
  { path: join(fixturesDir, 'zoo_op17.onnx'), sampleShape: [3, 8, 8] },
];

describe('inferShapes', () => {
  for (const { path, sampleShape } of models) {
    it(`matches onnxruntime for every value of ${path.split('/').pop()} (batch 3)`, async () => {
      const model = readModel(path);
      const shapes = inferShapes(model, [3, ...sampleShape]);
      const reference = await ortShapes(model, [3, ...sampleShape]);
      expect(reference.size).toBeGreaterThan(3);
      for (const [name, dims] of reference) expect([name, shapes.get(name)]).toEqual([name, dims]);
      for (const [name, t] of model.graph.initializers) expect(shapes.get(name)).toEqual(t.dims);
    });
  }

  it('propagates partly known shape vectors without a concrete input shape (dynamic batch)', () => {
    const model = readModel(join(fixturesDir, 'zoo_op17.onnx'));
    const facts = inferValues(model);
    const reshape = model.graph.nodes.find((n) => n.opType === 'Reshape')!;
    expect(facts.get(reshape.inputs[1]!)!.partial).toEqual([null, 40, 10]);
    expect(facts.get(reshape.outputs[0]!)!.shape).toEqual([null, 40, 10]);
    expect(facts.get(model.graph.outputs[0]!.name)!.shape).toEqual([null, 5]);
  });

  for (const opset of [11, 13, 18]) {
    it(`agrees with onnxruntime on opset-dependent ops at opset ${opset} (axes/split/pads as attributes or inputs)`, async () => {
      const b = new GraphBuilder();
      b.addInput('x', 'float32', ['n', 5, 6, 7]);
      const axesIn = opset >= 13;
      const [rs] = axesIn
        ? b.addNode('ReduceSum', ['x', b.constantInt64([1, -1])], { keepdims: attr.int(0) })
        : b.addNode('ReduceSum', ['x'], { axes: attr.ints([1, -1]), keepdims: attr.int(0) });
      const [rm] = opset >= 18 ? b.addNode('ReduceMean', ['x', b.constantInt64([2])]) : b.addNode('ReduceMean', ['x'], { axes: attr.ints([2]) });
      const [sq] = axesIn ? b.addNode('Squeeze', [rm!, b.constantInt64([2])]) : b.addNode('Squeeze', [rm!], { axes: attr.ints([2]) });
      const [us] = axesIn ? b.addNode('Unsqueeze', [sq!, b.constantInt64([0, -1])]) : b.addNode('Unsqueeze', [sq!], { axes: attr.ints([0, -1]) });
      const parts =
        opset >= 18
          ? b.addNode('Split', ['x'], { axis: attr.int(1), num_outputs: attr.int(3) }, 3)
          : axesIn
            ? b.addNode('Split', ['x', b.constantInt64([1, 4])], { axis: attr.int(1) }, 2)
            : b.addNode('Split', ['x'], { axis: attr.int(1), split: attr.ints([1, 4]) }, 2);
      const padInputs = ['x', b.constantInt64(opset >= 18 ? [1, 2, 3, 4] : [0, 0, 1, 2, 0, 0, 3, 4])];
      if (opset >= 18) padInputs.push('', b.constantInt64([2, 3]));
      const [pd] = b.addNode('Pad', padInputs);
      const [rz] = b.addNode('Resize', ['x', opset >= 13 ? '' : b.constant([], [0]), b.constant([1, 1, 2, 0.5], [4])], { mode: attr.string('nearest') });
      const [am] = b.addNode('ArgMax', ['x'], { axis: attr.int(3), keepdims: attr.int(0) });
      const [tk, ti] = b.addNode('TopK', ['x', b.constantInt64([3])], { axis: attr.int(-1) }, 2);
      for (const out of [rs, us, ...parts, pd, rz, am, tk, ti]) b.addOutput(out!, inferValues(modelOf(b.graph, opset)).get(out!)!.dataType);
      const model = modelOf(b.graph, opset);
      const shapes = inferShapes(model, [2, 5, 6, 7]);
      const reference = await ortShapes(model, [2, 5, 6, 7]);
      for (const [name, dims] of reference) expect([name, shapes.get(name)]).toEqual([name, dims]);
      expect(reference.size).toBeGreaterThanOrEqual(10);
    });
  }

  it('names the node when an op is unknown to shape inference', () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', [1, 4]);
    const [y] = b.addNode('MysteryOp', ['x'], {}, 1, { name: 'mystery', domain: 'com.example' });
    b.addOutput(y!, 'float32');
    expect(() => inferShapes(modelOf(b.graph, 13), [1, 4])).toThrow(UserError);
    expect(() => inferShapes(modelOf(b.graph, 13), [1, 4])).toThrow(/node mystery, MysteryOp/);
  });

  it('covers pooling with ceil_mode, ConvTranspose with output_padding, Pad, Slice and Split', () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 2, 9, 9]);
    const [p] = b.addNode('MaxPool', ['x'], {
      kernel_shape: { type: 'ints', value: [2, 2] },
      strides: { type: 'ints', value: [2, 2] },
      ceil_mode: { type: 'int', value: 1 },
    });
    const w = b.constant(new Float32Array(2 * 3 * 3 * 3), [2, 3, 3, 3]);
    const [t] = b.addNode('ConvTranspose', [p!, w], {
      strides: { type: 'ints', value: [2, 2] },
      pads: { type: 'ints', value: [1, 1, 1, 1] },
      output_padding: { type: 'ints', value: [1, 1] },
    });
    const [padded] = b.addNode('Pad', [t!, b.constantInt64([0, 0, 1, 2, 0, 0, 3, 4])]);
    const [s] = b.addNode('Slice', [padded!, b.constantInt64([1, -5]), b.constantInt64([100, -1]), b.constantInt64([2, 3]), b.constantInt64([2, 1])]);
    const parts = b.addNode('Split', [s!, b.constantInt64([1, 2])], { axis: { type: 'int', value: 1 } }, 2);
    b.addOutput(parts[1]!, 'float32');
    const shapes = inferShapes(modelOf(b.graph, 13), [2, 2, 9, 9]);
    expect(shapes.get(p!)).toEqual([2, 2, 5, 5]);
    expect(shapes.get(t!)).toEqual([2, 3, 10, 10]);
    expect(shapes.get(padded!)).toEqual([2, 3, 14, 16]);
    expect(shapes.get(s!)).toEqual([2, 3, 7, 4]);
    expect(shapes.get(parts[1]!)).toEqual([2, 2, 7, 4]);
  });
});

describe('constant Mod', () => {
  it("folds Swin's window-padding arithmetic (Mod of shape values, both sign conventions) as onnxruntime computes it", async () => {
    const b = new GraphBuilder();
    const x = b.addInput('x', 'float32', [1, 2, 5, 7]);
    const width = b.addNode('Gather', [b.addNode('Shape', [x])[0]!, b.constantInt64([3], [])])[0]!;
    const short = b.addNode('Sub', [b.constantInt64([4], []), width])[0]!; // −3
    const pythonMod = b.addNode('Mod', [short, b.constantInt64([4], [])], {}, 1, { name: 'python_mod' })[0]!;
    const floats = b.constant([-7.5, 7.5, -2, 3], [4]);
    const cMod = b.addNode('Mod', [floats, b.constant([2, -2, 3, -2], [4])], { fmod: attr.int(1) }, 1, { name: 'c_mod' })[0]!;
    b.addOutput(pythonMod, 'int64');
    b.addOutput(cMod, 'float32');
    const model = modelOf(b.graph, 13);
    const facts = inferValues(model, [1, 2, 5, 7]);
    const ours = [pythonMod, cMod].map((name) => Array.from(facts.get(name)!.value!.data as ArrayLike<number | bigint>, Number));
    expect(ours[0]).toEqual([1]);
    const run = await runModel(model, { x: { data: new Float32Array(70), dims: [1, 2, 5, 7] } });
    expect(ours[1]).toEqual(Array.from(run.get(cMod)!.data as Float32Array));
    expect(ours[0]).toEqual(Array.from(run.get(pythonMod)!.data as BigInt64Array, Number));
  });
});

describe('foldConstants', () => {
  for (const name of ['view_net_op11', 'view_net_op13', 'zoo_op17']) {
    it(`folds the x.view(x.size(0), -1) chain of ${name} for a fixed input shape, outputs unchanged`, async () => {
      const model = readModel(join(fixturesDir, `${name}.onnx`));
      const { inputShape, input, output } = fixtureIo(name);
      const { model: folded, folded: names } = foldConstantsWithReport(model, { inputShape });
      const ops = folded.graph.nodes.map((n) => n.opType);
      for (const op of ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Transpose']) expect(ops).not.toContain(op);
      expect(names.length).toBeGreaterThan(3);
      // Every Reshape now has a constant target.
      for (const n of folded.graph.nodes.filter((n) => n.opType === 'Reshape')) expect(folded.graph.initializers.has(n.inputs[1]!)).toBe(true);
      const feeds = { input: { data: input, dims: inputShape } };
      const before = (await runModel(model, feeds)).get('logits')!.data;
      const after = (await runModel(folded, feeds)).get('logits')!.data;
      expect(Array.from(after)).toEqual(Array.from(before));
      expect(maxRelativeDifference(after, output)).toBeLessThan(1e-5);
      // The original model is untouched.
      expect(model.graph.nodes.map((n) => n.opType)).toContain('Shape');
    });
  }

  it('without an input shape keeps the batch-dependent chain but folds weight-only subgraphs', async () => {
    const model = readModel(join(fixturesDir, 'zoo_op17.onnx'));
    const folded = foldConstants(model);
    const ops = folded.graph.nodes.map((n) => n.opType);
    expect(ops).toContain('Shape');
    expect(ops).not.toContain('Transpose');
    const { inputShape, input } = fixtureIo('zoo_op17');
    const batch5 = new Float32Array((input.length / 2) * 5).map((_, i) => input[i % input.length]!);
    const feeds = { input: { data: batch5, dims: [5, ...inputShape.slice(1)] } };
    expect(Array.from((await runModel(folded, feeds)).get('logits')!.data)).toEqual(Array.from((await runModel(model, feeds)).get('logits')!.data));
  });
});
