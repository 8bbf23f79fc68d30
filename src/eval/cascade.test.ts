import { describe, expect, it } from 'vitest';
import { attr, GraphBuilder, modelOf } from '../onnx/builder.js';
import { silentProgress } from '../util/progress.js';
import { formatCascade, randomizeTop, runCascade, spearman, ssim, weightLayers } from './cascade.js';

/** Conv(1→2, 3×3) · ReLU · Flatten · Gemm(→3) on 1×6×6 inputs. */
function tinyModel() {
  const b = new GraphBuilder();
  b.addInput('x', 'float32', ['N', 1, 6, 6]);
  const w = Array.from({ length: 18 }, (_, i) => Math.sin(i + 1));
  const [conv] = b.addNode('Conv', ['x', b.constant(w, [2, 1, 3, 3], 'conv_w'), b.constant([0.1, -0.1], [2], 'conv_b')], { pads: attr.ints([1, 1, 1, 1]) });
  const [relu] = b.addNode('Relu', [conv!]);
  const [flat] = b.addNode('Flatten', [relu!]);
  b.addNode(
    'Gemm',
    [
      flat!,
      b.constant(
        Array.from({ length: 3 * 72 }, (_, i) => Math.cos(i)),
        [3, 72],
        'fc_w',
      ),
    ],
    { transB: attr.int(1) },
    1,
    { outputs: ['y'] },
  );
  b.addOutput('y', 'float32', ['N', 3]);
  return modelOf(b.graph, 13);
}

describe('cascading randomisation', () => {
  it('finds weight layers from the output back and randomises only the top ones (seeded)', () => {
    const model = tinyModel();
    const layers = weightLayers(model);
    expect(layers.map((l) => l.initializers)).toEqual([['fc_w'], ['conv_w', 'conv_b']]);
    const one = randomizeTop(model, layers, 1, 5);
    expect(one.graph.initializers.get('fc_w')!.data).not.toEqual(model.graph.initializers.get('fc_w')!.data);
    expect(one.graph.initializers.get('conv_w')!.data).toBe(model.graph.initializers.get('conv_w')!.data);
    expect(Array.from(randomizeTop(model, layers, 1, 5).graph.initializers.get('fc_w')!.data)).toEqual(Array.from(one.graph.initializers.get('fc_w')!.data));
    const both = randomizeTop(model, layers, 2, 5);
    expect(both.graph.initializers.get('conv_b')!.data).not.toEqual(model.graph.initializers.get('conv_b')!.data);
    // The original model is untouched (copy-on-write).
    expect((model.graph.initializers.get('fc_w')!.data as Float32Array)[1]).toBeCloseTo(Math.cos(1), 6);
  });

  it('Spearman ρ is 1 for monotone maps, −1 reversed, averages tied ranks; SSIM is 1 for equal maps', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 400])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks a = 0, 1.5, 1.5, 3 vs b = 0..3: ρ = 4.5 / √(4.5·5)
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    const map = Array.from({ length: 64 }, (_, i) => Math.sin(i));
    expect(
      ssim(
        map,
        map.map((v) => 3 * v + 1),
        8,
        8,
      ),
    ).toBeCloseTo(1, 6); // min-max scaling removes the affine change
    expect(
      ssim(
        map,
        map.map((v) => -v),
        8,
        8,
      ),
    ).toBeLessThan(0);
  });

  it('re-attributes per depth and flags a method by its deepest mean ρ', async () => {
    const model = tinyModel();
    const x = Float32Array.from({ length: 2 * 36 }, (_, i) => ((i * 37) % 11) / 11);
    const options = { x, targets: Int32Array.of(0, 2), sampleShape: [1, 6, 6], batchSize: 2, seed: 1, canonize: false };
    const methods = [{ name: 'gradient', spec: null, method: { kind: 'gradient' as const } }];
    const result = await runCascade(model, methods, { ...options, threshold: 0.5 }, silentProgress);
    expect(result.layers).toHaveLength(2);
    const m = result.methods[0]!;
    expect(m.spearman).toHaveLength(2 * 2);
    expect(m.meanSpearman).toHaveLength(2);
    for (const v of m.spearman) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-9);
    // Random weights all the way down: the gradient no longer looks like the original.
    expect(m.meanSpearman[1]!).toBeLessThan(0.5);
    expect(m.flagged).toBe(false);
    const lenient = await runCascade(model, methods, { ...options, threshold: -1 }, silentProgress);
    expect(lenient.methods[0]!.flagged).toBe(true);
    expect(formatCascade(lenient)).toMatch(/FLAGGED: gradient/);
    expect(formatCascade(result)).not.toMatch(/FLAGGED/);
  });
});
