import { describe, expect, it } from 'vitest';
import { GraphBuilder, attr, modelOf } from '../../onnx/builder.js';
import { cloneModel } from '../../onnx/graph.js';
import type { Model } from '../../onnx/ir.js';
import { runModel } from '../../onnx/ort.js';
import { join } from 'node:path';
import { readModel } from '../../onnx/codec.js';
import { conformanceData, conformanceDir, conformanceModels, fixtureIo, fixturesDir, maxRelativeDifference, randomFloats } from '../../onnx/testing.js';
import { canonize, canonizePasses, lowerMarkers, MARKER_DOMAIN, type CanonizeOptions } from './index.js';

const ops = (m: Model): string[] => m.graph.nodes.map((n) => (n.domain ? `${n.domain}:${n.opType}` : n.opType));

async function run(model: Model, shape: number[], seed = 7): Promise<Float32Array> {
  const size = shape.reduce((a, b) => a * b, 1);
  const lowered = lowerMarkers(cloneModel(model));
  const out = await runModel(lowered, { [model.graph.inputs[0]!.name]: { data: randomFloats(size, seed), dims: shape } });
  return out.get(model.graph.outputs[0]!.name)!.data;
}

/** Canonizes and checks the outputs after EVERY pass against the original (same output name). */
async function canonizeChecked(model: Model, shape: number[], options: CanonizeOptions = {}, tolerance = 1e-5) {
  const reference = await run(model, shape);
  const working = cloneModel(model);
  const resolved = {
    mergeBatchNorm: options.mergeBatchNorm ?? true,
    keepSoftmax: options.keepSoftmax ?? true,
    siluMarker: true,
    inputShape: options.inputShape,
  };
  for (const pass of canonizePasses) {
    pass.run(working, resolved);
    expect(maxRelativeDifference(await run(working, shape), reference), pass.name).toBeLessThan(tolerance);
  }
  const result = canonize(model, { keepSoftmax: true, ...options });
  expect(maxRelativeDifference(await run(result.model, shape), reference)).toBeLessThan(tolerance);
  return result;
}

function dense(b: GraphBuilder, x: string, k: number, n: number, seed: number): string {
  const w = b.constant(randomFloats(k * n, seed), [k, n], 'w');
  return b.addNode('MatMul', [x, w])[0]!;
}

describe('fuse-dense', () => {
  it('fuses MatMul + Add(bias) on a 2-D input into one canonical Gemm', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 6]);
    const m = dense(b, 'x', 6, 4, 1);
    const [y] = b.addNode('Add', [b.constant(randomFloats(4, 2), [4]), m]);
    b.addOutput(y!, 'float32');
    const { model, changes } = await canonizeChecked(modelOf(b.graph, 13), [3, 6]);
    expect(ops(model)).toEqual(['Gemm']);
    const gemm = model.graph.nodes[0]!;
    expect(gemm.attributes.transB).toEqual({ type: 'int', value: 1 });
    expect(model.graph.initializers.get(gemm.inputs[1]!)!.dims).toEqual([4, 6]);
    expect(model.graph.initializers.get(gemm.inputs[2]!)!.dims).toEqual([4]);
    expect(changes.join('\n')).toMatch(/fuse-dense: fused MatMul .* \+ Add .* into Gemm/);
  });

  it('fuses token-wise MatMul + Add on a rank-3 input with a dynamic batch via Reshape → Gemm → Reshape', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['batch', 5, 6]);
    const m = dense(b, 'x', 6, 4, 3);
    const [y] = b.addNode('Add', [m, b.constant(randomFloats(4, 4), [1, 1, 4])]);
    const [z] = b.addNode('Relu', [y!]);
    b.addOutput(z!, 'float32');
    const { model } = await canonizeChecked(modelOf(b.graph, 13), [2, 5, 6]);
    expect(ops(model)).toEqual(['Reshape', 'Gemm', 'Reshape', 'Relu']);
    // Still batch-size independent.
    const original = modelOf(b.graph, 13);
    expect(maxRelativeDifference(await run(model, [7, 5, 6]), await run(original, [7, 5, 6]))).toBeLessThan(1e-6);
  });

  it('gives a MatMul without bias a zero bias and leaves a non-bias Add alone', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['batch', 5, 6]);
    const m = dense(b, 'x', 6, 4, 5);
    const [y] = b.addNode('Add', [m, b.constant(randomFloats(20, 6), [5, 4])]); // positional, not a bias
    b.addOutput(y!, 'float32');
    const { model } = await canonizeChecked(modelOf(b.graph, 13), [2, 5, 6]);
    expect(ops(model)).toEqual(['Reshape', 'Gemm', 'Reshape', 'Add']);
    const bias = model.graph.initializers.get(model.graph.nodes[1]!.inputs[2]!)!;
    expect(Array.from(bias.data as Float32Array)).toEqual([0, 0, 0, 0]);
  });

  it('normalises Gemm transB, alpha, beta and a [1, N] bias', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 6]);
    const w = b.constant(randomFloats(24, 8), [6, 4]);
    const c = b.constant(randomFloats(4, 9), [1, 4]);
    const [y] = b.addNode('Gemm', ['x', w, c], { alpha: attr.float(0.5), beta: attr.float(2) });
    b.addOutput(y!, 'float32');
    const { model, changes } = await canonizeChecked(modelOf(b.graph, 13), [3, 6]);
    const gemm = model.graph.nodes[0]!;
    expect(gemm.attributes).toEqual({ transB: { type: 'int', value: 1 } });
    expect(changes.join('\n')).toMatch(/normalised Gemm .*transB, alpha, beta, bias shape/);
  });
});

describe('drop-identity', () => {
  it('removes Identity and inference Dropout, including one that produces the graph output', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 4]);
    const [i] = b.addNode('Identity', ['x']);
    const [r] = b.addNode('Relu', [i!]);
    const [d] = b.addNode('Dropout', [r!, b.constant([0.5], [])]);
    const [t] = b.addNode('Tanh', [d!]);
    const [out] = b.addNode('Identity', [t!], {}, 1, { outputs: ['out'] });
    b.addOutput(out!, 'float32');
    const { model, changes } = await canonizeChecked(modelOf(b.graph, 13), [2, 4]);
    expect(ops(model)).toEqual(['Relu', 'Tanh']);
    expect(model.graph.outputs[0]!.name).toBe('out');
    expect(model.graph.nodes[1]!.outputs).toEqual(['out']);
    expect(changes.filter((c) => c.startsWith('drop-identity'))).toHaveLength(3);
  });

  it('keeps a Dropout whose mask is used, and one in training mode', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 4]);
    const [d, mask] = b.addNode('Dropout', ['x'], {}, 2);
    const [c] = b.addNode('Cast', [mask!], { to: attr.int(1) });
    const [y] = b.addNode('Add', [d!, c!]);
    b.addOutput(y!, 'float32');
    const { model } = await canonizeChecked(modelOf(b.graph, 13), [2, 4]);
    expect(ops(model)).toContain('Dropout');
  });
});

describe('strip-softmax', () => {
  for (const op of ['Softmax', 'LogSoftmax']) {
    it(`strips a trailing ${op} so the output (same name) holds the logits; --keep-softmax keeps it`, async () => {
      const b = new GraphBuilder();
      b.addInput('x', 'float32', ['n', 6]);
      const m = dense(b, 'x', 6, 3, 11);
      b.addNode(op, [m], { axis: attr.int(-1) }, 1, { outputs: ['probs'] });
      b.addOutput('probs', 'float32');
      const model = modelOf(b.graph, 13);
      const { model: stripped, changes } = canonize(model);
      expect(ops(stripped)).toEqual(['Gemm']);
      expect(stripped.graph.outputs.map((o) => o.name)).toEqual(['probs']);
      expect(changes.join('\n')).toMatch(new RegExp(`strip-softmax: removed trailing ${op}`));
      // The stripped output equals the original's pre-softmax logits.
      const logitsModel = cloneModel(model);
      logitsModel.graph.outputs = [{ name: m, dataType: 'float32' }];
      expect(maxRelativeDifference(await run(stripped, [4, 6]), await run(logitsModel, [4, 6]))).toBeLessThan(1e-6);
      const kept = canonize(model, { keepSoftmax: true }).model;
      expect(ops(kept)).toEqual(['Gemm', op]);
    });
  }
});

describe('silu', () => {
  it('recognises x·Sigmoid(x) in both operand orders as one marker node, lowered back for onnxruntime', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 4]);
    const [s1] = b.addNode('Sigmoid', ['x']);
    const [a] = b.addNode('Mul', ['x', s1!]);
    const [s2] = b.addNode('Sigmoid', [a!]);
    const [c] = b.addNode('Mul', [s2!, a!]);
    b.addOutput(c!, 'float32');
    const { model, changes } = await canonizeChecked(modelOf(b.graph, 13), [3, 4]);
    expect(ops(model)).toEqual([`${MARKER_DOMAIN}:SiLU`, `${MARKER_DOMAIN}:SiLU`]);
    expect(model.graph.nodes[0]!.inputs).toEqual(['x']);
    expect(changes.filter((l) => l.startsWith('silu:'))).toHaveLength(2);
    const lowered = lowerMarkers(cloneModel(model));
    expect(ops(lowered)).toEqual(['Sigmoid', 'Mul', 'Sigmoid', 'Mul']);
    expect(lowered.opsetImports.some((o) => o.domain === MARKER_DOMAIN)).toBe(false);
  });

  it('leaves a Sigmoid that has other readers, and x·Sigmoid(y)', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 4]);
    const [s] = b.addNode('Sigmoid', ['x']);
    const [m] = b.addNode('Mul', ['x', s!]);
    const [t] = b.addNode('Add', [m!, s!]);
    const [n] = b.addNode('Neg', ['x']);
    const [s2] = b.addNode('Sigmoid', [n!]);
    const [m2] = b.addNode('Mul', ['x', s2!]);
    const [y] = b.addNode('Add', [t!, m2!]);
    b.addOutput(y!, 'float32');
    const { model } = await canonizeChecked(modelOf(b.graph, 13), [3, 4]);
    expect(ops(model).filter((o) => o.endsWith('SiLU'))).toHaveLength(0);
  });
});

describe('merge-batchnorm', () => {
  function bn(b: GraphBuilder, x: string, c: number, seed: number): string {
    const gamma = b.constant(randomFloats(c, seed), [c]);
    const beta = b.constant(randomFloats(c, seed + 1), [c]);
    const mean = b.constant(randomFloats(c, seed + 2), [c]);
    const variance = b.constant(
      Float32Array.from(randomFloats(c, seed + 3), (v) => 0.6 + Math.abs(v)),
      [c],
    );
    return b.addNode('BatchNormalization', [x, gamma, beta, mean, variance], { epsilon: attr.float(1e-3) })[0]!;
  }

  it('folds BN into Conv (no bias), grouped ConvTranspose, Gemm and MatMul+Add; keeps a BN after Relu', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 4, 5, 5]);
    const [conv] = b.addNode('Conv', ['x', b.constant(randomFloats(6 * 4 * 9, 20), [6, 4, 3, 3])], { pads: attr.ints([1, 1, 1, 1]) });
    const y1 = bn(b, conv!, 6, 30);
    const [up] = b.addNode('ConvTranspose', [y1, b.constant(randomFloats(6 * 2 * 4, 40), [6, 2, 2, 2]), b.constant(randomFloats(4, 41), [4])], {
      group: attr.int(2),
      strides: attr.ints([2, 2]),
    });
    const y2 = bn(b, up!, 4, 50);
    const [r] = b.addNode('Relu', [y2]);
    const y3 = bn(b, r!, 4, 60); // follows no linear layer: stays
    const [flat] = b.addNode('Flatten', [y3]);
    const [g] = b.addNode('Gemm', [flat!, b.constant(randomFloats(8 * 400, 70), [8, 400]), b.constant(randomFloats(8, 71), [8])], { transB: attr.int(1) });
    const y4 = bn(b, g!, 8, 80);
    const m = dense(b, y4, 8, 3, 90);
    const [a] = b.addNode('Add', [m, b.constant(randomFloats(3, 91), [3])]);
    const y5 = bn(b, a!, 3, 100);
    b.addOutput(y5, 'float32');
    const { model, changes } = await canonizeChecked(modelOf(b.graph, 13), [2, 4, 5, 5], {}, 1e-5);
    expect(ops(model)).toEqual(['Conv', 'ConvTranspose', 'Relu', 'BatchNormalization', 'Flatten', 'Gemm', 'Gemm']);
    const text = changes.join('\n');
    expect(text).toMatch(/merged BatchNormalization .* into Conv/);
    expect(text).toMatch(/merged BatchNormalization .* into ConvTranspose/);
    expect(text.match(/merged BatchNormalization .* into Gemm/g)).toHaveLength(2);
    expect(text).toMatch(/kept BatchNormalization .*: it does not follow a Conv, ConvTranspose or dense layer \(input from Relu/);
  });

  it('keeps a BN whose layer output has another reader, and every BN with mergeBatchNorm: false', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 3, 4, 4]);
    const [conv] = b.addNode('Conv', ['x', b.constant(randomFloats(3 * 3, 1), [3, 3, 1, 1])]);
    const y = bn(b, conv!, 3, 2);
    const [sum] = b.addNode('Add', [y, conv!]);
    const [c2] = b.addNode('Conv', [sum!, b.constant(randomFloats(3 * 3, 3), [3, 3, 1, 1])]);
    const z = bn(b, c2!, 3, 4);
    b.addOutput(z, 'float32');
    const { model, changes } = await canonizeChecked(modelOf(b.graph, 13), [2, 3, 4, 4]);
    expect(ops(model)).toEqual(['Conv', 'BatchNormalization', 'Add', 'Conv']);
    expect(changes.join('\n')).toMatch(/kept BatchNormalization .*also used elsewhere/);
    const off = canonize(modelOf(b.graph, 13), { mergeBatchNorm: false }).model;
    expect(ops(off).filter((o) => o === 'BatchNormalization')).toHaveLength(2);
  });
});

describe('every pass keeps the logits of real exports', () => {
  const resolved = { mergeBatchNorm: true, keepSoftmax: true, siluMarker: true, inputShape: undefined };
  for (const { name } of conformanceModels) {
    for (const file of [`${name}.onnx`, `${name}.folded.onnx`]) {
      it(file, async () => {
        const { input, inputDims, logits } = await conformanceData(name);
        const working = readModel(join(conformanceDir, file));
        for (const pass of canonizePasses) {
          pass.run(working, resolved);
          const out = (await runModel(lowerMarkers(cloneModel(working)), { input: { data: input, dims: inputDims } })).get('logits')!.data;
          expect(maxRelativeDifference(out, logits), `${file} after ${pass.name}`).toBeLessThan(1e-5);
        }
      });
    }
  }
  for (const name of ['zoo_op17', 'view_net_op11']) {
    it(`${name}.onnx (torch export with shape chains, SiLU, ConvTranspose, Softmax)`, async () => {
      const { inputShape, input, output } = fixtureIo(name);
      const working = readModel(join(fixturesDir, `${name}.onnx`));
      for (const pass of canonizePasses) {
        pass.run(working, resolved);
        const out = (await runModel(lowerMarkers(cloneModel(working)), { input: { data: input, dims: inputShape } })).get('logits')!.data;
        expect(maxRelativeDifference(out, output), `${name} after ${pass.name}`).toBeLessThan(1e-5);
      }
    });
  }
});

describe('canonize', () => {
  it('does not modify its input and reports nothing for an already canonical model', () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['n', 6]);
    const [y] = b.addNode('Gemm', ['x', b.constant(randomFloats(12, 1), [2, 6]), b.constant([1, 2], [2])], { transB: attr.int(1) });
    const [z] = b.addNode('Relu', [y!]);
    b.addOutput(z!, 'float32');
    const model = modelOf(b.graph, 13);
    const before = JSON.stringify(ops(model));
    const { changes } = canonize(model);
    expect(changes).toEqual([]);
    expect(JSON.stringify(ops(model))).toBe(before);
  });
});
