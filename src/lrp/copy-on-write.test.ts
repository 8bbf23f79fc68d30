/**
 * Copy-on-write weights: `cloneModel` shares tensor data, so canonize, the relevance compiler and the
 * engine must never write into an initializer's buffer. Compiles a model whose weights every
 * weight-touching pass rewrites (BN folding, Gemm normalisation, rules that stack/flip weights) and
 * checks that the input model's buffers still hold exactly their original bytes.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, attr, modelOf } from '../onnx/builder.js';
import { cloneModel } from '../onnx/graph.js';
import type { Model } from '../onnx/ir.js';
import { randomFloats } from '../onnx/testing.js';
import { canonize } from './canonize/index.js';
import { buildComposite } from './composites.js';
import { compileRelevanceGraph } from './compiler.js';
import { compileAttributor } from './engine.js';

/** Conv → BatchNorm → Relu → Flatten → Gemm(transB = 0, alpha = 2): every weight pass has work. */
function convBnGemm(): Model {
  const b = new GraphBuilder();
  b.addInput('x', 'float32', ['n', 2, 4, 4]);
  const [c] = b.addNode('Conv', ['x', b.constant(randomFloats(54, 1), [3, 2, 3, 3]), b.constant(randomFloats(3, 2), [3])], { pads: attr.ints([1, 1, 1, 1]) });
  const stats = [randomFloats(3, 3), randomFloats(3, 4), randomFloats(3, 5), randomFloats(3, 6).map((v) => 1 + Math.abs(v))];
  const [bn] = b.addNode('BatchNormalization', [c!, ...stats.map((s) => b.constant(s, [3]))]);
  const [r] = b.addNode('Relu', [bn!]);
  const [f] = b.addNode('Flatten', [r!]);
  const [y] = b.addNode('Gemm', [f!, b.constant(randomFloats(48 * 5, 7), [48, 5]), b.constant(randomFloats(5, 8), [5])], { alpha: attr.float(2) });
  b.addOutput(y!, 'float32');
  return modelOf(b.graph, 13);
}

const snapshot = (model: Model): Map<string, Uint8Array> =>
  new Map([...model.graph.initializers].map(([name, t]) => [name, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice()]));

function expectUnchanged(model: Model, before: Map<string, Uint8Array>): void {
  expect([...model.graph.initializers.keys()]).toEqual([...before.keys()]);
  for (const [name, t] of model.graph.initializers) {
    expect(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), name).toEqual(before.get(name));
  }
}

describe('copy-on-write weights', () => {
  it('cloneModel shares tensor data but not the graph structure', () => {
    const model = convBnGemm();
    const count = model.graph.initializers.size;
    const copy = cloneModel(model);
    for (const [name, t] of model.graph.initializers) {
      const c = copy.graph.initializers.get(name)!;
      expect(c).not.toBe(t);
      expect(c.data).toBe(t.data);
    }
    copy.graph.initializers.clear();
    copy.graph.nodes[0]!.inputs[0] = 'other';
    expect(model.graph.initializers.size).toBe(count);
    expect(model.graph.nodes[0]!.inputs[0]).toBe('x');
  });

  it('canonize, the relevance compiler and the engine leave the input weights untouched', async () => {
    const model = convBnGemm();
    const before = snapshot(model);
    const { model: canonical, changes } = canonize(model);
    expect(changes.some((c) => c.startsWith('merge-batchnorm: merged'))).toBe(true);
    expect(changes.some((c) => c.startsWith('fuse-dense: normalised Gemm'))).toBe(true);
    const canonicalBefore = snapshot(canonical);
    for (const name of ['epsilon-gamma-box', 'epsilon-plus-flat', 'epsilon-alpha2-beta1']) {
      const spec = buildComposite(name, { low: -3, high: 3 });
      compileRelevanceGraph(canonical, { inputShape: [2, 2, 4, 4], spec });
      const engine = await compileAttributor(model, { batchSize: 2, sampleShape: [2, 4, 4], spec });
      await engine.run(randomFloats(64, 9), 'prediction');
      await engine.close();
    }
    expectUnchanged(model, before);
    expectUnchanged(canonical, canonicalBefore);
  });
});
