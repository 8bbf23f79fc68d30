/**
 * Attributors through the engine (compileAttributor) against Zennit's values (docs/lrp.md §7, §8), plus batching semantics:
 * padded last batches, predicted targets, SmoothGrad's clean last sample.
 */
import { describe, expect, it } from 'vitest';
import { attr } from '../onnx/builder.js';
import { buildComposite } from './composites.js';
import { compileAttributor } from './engine.js';
import type { MethodOptions } from './attributors.js';
import { expectClose, modelAround } from './testing.js';

/** Linear(3→2) → Tanh → Linear(2→1). */
const tanhMlp = () =>
  modelAround(['batch', 3] as never, (b, x) => {
    const [h] = b.addNode('Gemm', [x, b.constant([1, -2, 0.5, 0.25, 1, -1], [2, 3]), b.constant([0.1, -0.2], [2])], { transB: attr.int(1) });
    const [t] = b.addNode('Tanh', [h!]);
    return b.addNode('Gemm', [t!, b.constant([1.5, -0.5], [1, 2]), b.constant([0.3], [1])], { transB: attr.int(1) })[0]!;
  });

async function attribution(method: MethodOptions, x = [0.5, -1, 2], batchSize = 1): Promise<{ relevance: number[]; logits: number[] }> {
  const engine = await compileAttributor(tanhMlp(), { batchSize, sampleShape: [3], spec: null, method });
  try {
    const n = x.length / 3;
    const { relevance, logits } = await engine.run(Float32Array.from(x), new Int32Array(n));
    return { relevance: Array.from(relevance), logits: Array.from(logits) };
  } finally {
    await engine.close();
  }
}

describe('attributors', () => {
  it('Gradient', async () => {
    const { relevance, logits } = await attribution({ kind: 'gradient' });
    expectClose(logits, [2.2956329738]);
    expectClose(relevance, [0.00341062998, -0.01319448196, 0.00648523149]);
  });
  const ig: Array<[number, number, number[]]> = [
    [1, 0, [0.00170531499, 0.01319448196, 0.01297046298]],
    [4, 0, [0.0929085227, 0.4950402385, 0.370926267]],
    [20, 0, [0.1583247921, 0.8238718178, 0.6025085584]],
    [4, 1, [-0.1532351353, 1.5393396979, 0.270782116]],
  ];
  for (const [steps, baseline, expected] of ig) {
    it(`IntegratedGradients(n_iter=${steps}, baseline ${baseline})`, async () => {
      const { relevance, logits } = await attribution({ kind: 'integrated-gradients', steps, baseline });
      expectClose(logits, [2.2956329738]);
      expectClose(relevance, expected);
    });
  }
  it('SmoothGrad(n_iter=1) is the gradient; more samples stay close to it and are reproducible', async () => {
    const one = await attribution({ kind: 'smoothgrad', noiseLevel: 0.1, samples: 1 });
    expectClose(one.relevance, [0.00341062998, -0.01319448196, 0.00648523149]);
    const many = await attribution({ kind: 'smoothgrad', noiseLevel: 0.1, samples: 20 });
    expectClose(many.logits, [2.2956329738]); // the last sample is noise-free
    expect(many.relevance).not.toEqual(one.relevance);
    many.relevance.forEach((v, i) => expect(Math.abs(v - one.relevance[i]!)).toBeLessThan(0.05));
    const again = await attribution({ kind: 'smoothgrad', noiseLevel: 0.1, samples: 20 });
    expect(again.relevance).toEqual(many.relevance);
  });
  it('SmoothGrad with noise level 0 averages identical gradients', async () => {
    const { relevance } = await attribution({ kind: 'smoothgrad', noiseLevel: 0, samples: 5 });
    expectClose(relevance, [0.00341062998, -0.01319448196, 0.00648523149]);
  });

  describe('Occlusion (model Σ x ⊙ w, w = 1..16, x = ones)', () => {
    const weighted = () =>
      modelAround(['batch', 1, 4, 4] as never, (b, x) => {
        const [flat] = b.addNode('Flatten', [x], { axis: attr.int(1) });
        return b.addNode('MatMul', [
          flat!,
          b.constant(
            Array.from({ length: 16 }, (_, i) => i + 1),
            [16, 1],
          ),
        ])[0]!;
      });
    const cases: Array<[number | number[], number | number[], number[][]]> = [
      [
        2,
        2,
        [
          [14, 14, 22, 22],
          [14, 14, 22, 22],
          [46, 46, 54, 54],
          [46, 46, 54, 54],
        ],
      ],
      [
        [2, 2],
        [2, 2],
        [
          [14, 14, 22, 22],
          [14, 14, 22, 22],
          [46, 46, 54, 54],
          [46, 46, 54, 54],
        ],
      ],
      [
        [3, 3],
        [2, 2],
        [
          [276, 132, 276, 144],
          [114, 54, 114, 60],
          [276, 132, 276, 144],
          [162, 78, 162, 84],
        ],
      ],
      [
        8,
        8,
        [
          [136, 136, 136, 136],
          [136, 136, 136, 136],
          [136, 136, 136, 136],
          [136, 136, 136, 136],
        ],
      ],
      [
        [2, 2],
        [1, 1],
        [
          [96, 96, 112, 112],
          [96, 96, 112, 112],
          [160, 160, 176, 176],
          [160, 160, 176, 176],
        ],
      ],
    ];
    for (const [window, stride, rows] of cases) {
      it(`window ${JSON.stringify(window)}, stride ${JSON.stringify(stride)}`, async () => {
        const engine = await compileAttributor(weighted(), {
          batchSize: 2,
          sampleShape: [1, 4, 4],
          spec: null,
          method: { kind: 'occlusion', window, stride, chunk: 3 },
        });
        try {
          const { relevance, logits } = await engine.run(new Float32Array(16).fill(1), Int32Array.of(0));
          expectClose(Array.from(logits), [136]);
          expectClose(Array.from(relevance), rows.flat());
        } finally {
          await engine.close();
        }
      });
    }
  });
});

describe('the engine', () => {
  it('pads a short last batch and returns only its rows; samples do not interact', async () => {
    const x = [0.5, -1, 2, 1, 1, 1, -0.3, 0.2, 0.9];
    const all = await attribution({ kind: 'gradient' }, x, 4);
    expect(all.relevance).toHaveLength(9);
    const single = await attribution({ kind: 'gradient' }, x.slice(3, 6), 1);
    expectClose(all.relevance.slice(3, 6), single.relevance, 1e-6);
  });

  it("target 'prediction' seeds the arg-max class", async () => {
    const engine = await compileAttributor(tanhMlp(), { batchSize: 2, sampleShape: [3], spec: buildComposite('epsilon-plus', {}) });
    try {
      const byPrediction = await engine.run(Float32Array.of(0.5, -1, 2), 'prediction');
      const byClass = await engine.run(Float32Array.of(0.5, -1, 2), Int32Array.of(0));
      expect(Array.from(byPrediction.relevance)).toEqual(Array.from(byClass.relevance));
      expect(engine.numClasses).toBe(1);
      expect(engine.inputShape).toEqual([3]);
    } finally {
      await engine.close();
    }
  });

  it('rejects a sample shape the model does not take', async () => {
    const model = modelAround([1, 4], (b, x) => b.addNode('Relu', [x])[0]!);
    await expect(compileAttributor(model, { batchSize: 1, sampleShape: [5], spec: null })).rejects.toThrow(
      /expects samples of shape \(4\), the data has \(5\)/,
    );
  });
});
