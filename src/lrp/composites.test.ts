/**
 * Composites end to end on the hand-built models of Zennit's checks (docs/lrp.md §8): a tiny CNN with BatchNorm (with and
 * without BN folding) and a residual sum, and the rule-selection semantics.
 */
import { describe, expect, it } from 'vitest';
import { attr, type GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/ir.js';
import { canonize } from './canonize/index.js';
import { assignRules, buildComposite, type CompositeParams } from './composites.js';
import { expectClose, modelAround, pat, relevanceOf } from './testing.js';

const conv = (b: GraphBuilder, x: string, weight: number[], dims: number[], bias: number[], pad: number): string =>
  b.addNode('Conv', [x, b.constant(weight, dims), b.constant(bias, [bias.length])], {
    kernel_shape: attr.ints(dims.slice(2)),
    pads: attr.ints([pad, pad, pad, pad]),
  })[0]!;
const gemm = (b: GraphBuilder, x: string, weight: number[], dims: number[], bias: number[]): string =>
  b.addNode('Gemm', [x, b.constant(weight, dims), b.constant(bias, [bias.length])], { transB: attr.int(1) })[0]!;
const relu = (b: GraphBuilder, x: string): string => b.addNode('Relu', [x])[0]!;

/** The tiny CNN: conv0 → relu → conv1 → bn1 → relu → maxpool → flatten → fc0 → relu → fc1. */
function tinyCnn(): Model {
  return modelAround([1, 1, 4, 4], (b, x) => {
    let h = relu(b, conv(b, x, pat([2, 1, 2, 2], 7, 11, 5, 4), [2, 1, 2, 2], [0.1, -0.1], 0));
    h = conv(b, h, pat([2, 2, 2, 2], 5, 9, 4, 4), [2, 2, 2, 2], [0.2, 0.05], 1);
    const bn = [
      [1.5, 0.5],
      [0.1, -0.3],
      [0.4, -0.2],
      [2, 0.5],
    ].map((v) => b.constant(v, [2]));
    h = b.addNode('BatchNormalization', [h, ...bn], { epsilon: attr.float(1e-5) })[0]!;
    h = relu(b, h);
    h = b.addNode('MaxPool', [h], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) })[0]!;
    h = b.addNode('Flatten', [h], { axis: attr.int(1) })[0]!;
    h = relu(b, gemm(b, h, pat([3, 8], 3, 7, 3, 3), [3, 8], [0.05, 0, -0.05]));
    return gemm(b, h, pat([2, 3], 2, 5, 2, 2), [2, 3], [0, 0.1]);
  });
}

/** The residual model: h = relu(conv0 x); y = relu(h + conv1 h); out = fc(flatten(GAP(y))). */
function residual(): Model {
  return modelAround([1, 1, 4, 4], (b, x) => {
    const h = relu(b, conv(b, x, pat([2, 1, 3, 3], 5, 11, 5, 5), [2, 1, 3, 3], [0.1, 0.2], 1));
    const r = conv(b, h, pat([2, 2, 3, 3], 7, 13, 6, 6), [2, 2, 3, 3], [-0.1, 0.05], 1);
    const y = relu(b, b.addNode('Add', [h, r])[0]!);
    const pooled = b.addNode('GlobalAveragePool', [y])[0]!;
    const flat = b.addNode('Flatten', [pooled], { axis: attr.int(1) })[0]!;
    return gemm(b, flat, [1, -0.5, 0.25, 0.75], [2, 2], [0, 0.1]);
  });
}

const x = pat([1, 1, 4, 4], 3, 13, 6, 3);
const seed = [1, 0];
const box: CompositeParams = { low: -2, high: 2 };

async function attribute(model: Model, composite: string | null, fold: boolean): Promise<{ relevance: number[]; logits: number[] }> {
  const m = fold ? canonize(model).model : model;
  return relevanceOf(m, x, [1, 1, 4, 4], seed, composite ? buildComposite(composite, box) : null);
}

describe('composites on the tiny CNN', () => {
  const table: Array<[string | null, number[], number[] | null]> = [
    [
      'epsilon-gamma-box',
      [
        0, 0.14981416, -0.00024451, -0.0010701, 0.34504032, 0.23895182, 0.00516932, -0.00237799, 0.30579901, -0.0474933, 0.0209588, 0.00499377, -0.07418964,
        0.00330034, 0.00848327, 0.01070093,
      ],
      [
        0, 0.15932623, -0.00124809, -0.00184793, 0.36492258, 0.25397125, 0.00561867, -0.0041065, 0.32235669, -0.04992764, 0.03237529, 0.00862362, -0.07963193,
        0.00377075, 0.01344423, 0.01847919,
      ],
    ],
    [
      'epsilon-plus',
      [
        0, 0.11108303, 0, -0.00189496, 0.40142675, 0.21041068, -0.00063165, -0.00315827, 0.33167644, -0.05702409, 0.01894955, 0.00378991, -0.0608257, 0,
        0.01136973, 0,
      ],
      [
        0, 0.11585996, 0, -0.00213183, 0.41880616, 0.21969252, -0.00071061, -0.00355305, 0.34645963, -0.05908371, 0.02131821, 0.00426364, -0.06302263, 0,
        0.01279093, 0,
      ],
    ],
    [
      'epsilon-alpha2-beta1',
      [
        -0.67883984, 0.45291098, 0, -0.00757984, 1.60570698, 0.86912442, -0.01242471, -0.01263307, 1.32670575, -0.20419884, 0.05890752, 0.01515964, -0.2433028,
        0.00597331, 0.03797298, 0,
      ],
      [
        -0.70803218, 0.47151607, 0, -0.00852731, 1.67522465, 0.90464157, -0.01216058, -0.01421219, 1.38583853, -0.21383751, 0.06937184, 0.01705457, -0.2520905,
        0.00562332, 0.04409756, 0,
      ],
    ],
    [
      'epsilon-plus-flat',
      [
        0.10182612, 0.10182612, -0.00151597, -0.00151597, 0.26840125, 0.26840125, -0.00151597, -0.00151597, 0.13236067, 0.13236067, 0.00909579, 0.00909579,
        -0.03421446, -0.03421446, 0.00909579, 0.00909579,
      ],
      [
        0.10620498, 0.10620498, -0.00170546, -0.00170546, 0.28012824, 0.28012824, -0.00170546, -0.00170546, 0.13847303, 0.13847303, 0.01023275, 0.01023275,
        -0.03545023, -0.03545023, 0.01023275, 0.01023275,
      ],
    ],
    [
      'epsilon-alpha2-beta1-flat',
      [
        0.20365224, 0.20538231, -0.00130187, -0.00303194, 0.53680251, 0.54299931, 0.00316486, -0.00303194, 0.26472135, 0.27156496, 0.02503518, 0.01819157,
        -0.06842892, -0.06605204, 0.02056845, 0.01819157,
      ],
      [
        0.21240996, 0.21403866, -0.00178222, -0.00341093, 0.56025647, 0.56609019, 0.00242279, -0.00341093, 0.27694606, 0.28338868, 0.02690812, 0.02046549,
        -0.07090046, -0.06866285, 0.0227031, 0.02046549,
      ],
    ],
    [
      'excitation-backprop',
      [0, 0.05391667, 0, 0, 0.23274293, 0.17793029, 0, 0, 0.32927994, 0.09818838, 0.00600101, 0.0012002, 0.10473427, 0, 0.0036006, 0],
      [0, 0.05330282, 0, 0, 0.22985192, 0.1754221, 0, 0, 0.32441472, 0.09613363, 0.00954763, 0.00190953, 0.10254254, 0, 0.00572858, 0],
    ],
    [
      'guided-backprop',
      [0.22833577, -0.68500732, 0, 0, 1.35528339, -1.32582091, 0, 0, 1.94453746, -0.53032876, -0.22096866, 0.08838746, 0.70710501, 0, -0.08838746, 0.22096866],
      'same',
    ] as never,
    [
      'deconvnet',
      [
        -0.1031197, -0.55242513, 0, 0, 0.26516372, -0.61135044, 0.08838746, -0.26516239, 1.11958183, 0.60398498, 0.26516239, -0.30935612, 0.53032876,
        0.44194063, 0.44193732, 0.22096866,
      ],
      'same',
    ] as never,
    [
      null,
      [
        0.36828408, -1.39947713, 0.19150617, -0.02946249, 1.86351777, -1.80458783, 0.53032478, -0.07365622, 1.42894392, -0.0294605, 0.16204368, 0.17677493,
        -0.53032743, -0.08838746, 0.04419373, 0.44193732,
      ],
      null,
    ],
  ];
  for (const [composite, unfolded, folded] of table) {
    const name = composite ?? 'no composite (gradient)';
    it(`${name}, batch norm kept (no canonizer)`, async () => {
      const { relevance, logits } = await attribute(tinyCnn(), composite, false);
      expectClose(logits, [7.799180962, -8.746668464]);
      expectClose(relevance, unfolded, 1e-4, 2e-6);
    });
    if (folded) {
      it(`${name}, batch norm folded by the canonizer`, async () => {
        const { relevance } = await attribute(tinyCnn(), composite, true);
        expectClose(relevance, (folded as unknown) === 'same' ? unfolded : folded, 1e-4, 2e-6);
      });
    }
  }
});

describe('the residual model (Sum → Norm, fan-out)', () => {
  const table: Array<[string, number[]]> = [
    [
      'epsilon-gamma-box',
      [
        0.18585042, 0.04272054, 0.10828826, -0.0154893, 0.09916269, 0.02882658, 0.04248802, 0.00509165, 0.0916495, 0.15526924, 0.05921984, -0.02680196,
        0.11581507, 0.0138886, -0.01196117, 0.03755912,
      ],
    ],
    [
      'epsilon-plus',
      [
        0.18787544, 0.01327138, 0, 0.05611718, 0.12148785, -0.0103824, 0.02346524, 0.02470062, 0.15890755, 0.09444744, 0.1150638, -0.0028397, 0.10194367,
        0.00137916, -0.00285771, 0,
      ],
    ],
    [
      'epsilon-plus-flat',
      [
        0.08075328, 0.07372515, 0.0838245, 0.02334128, 0.08250986, 0.06552367, 0.08083902, 0.0203558, 0.14468296, 0.09986579, 0.06441039, 0.01775028,
        0.07775279, 0.03996374, 0.01402288, 0.01402288,
      ],
    ],
  ];
  for (const [composite, expected] of table) {
    it(composite, async () => {
      const { relevance, logits } = await attribute(residual(), composite, false);
      expectClose(logits, [-0.4352430556, 1.3653645833]);
      expectClose(relevance, expected, 1e-4, 2e-6);
    });
  }
});

describe('rule selection', () => {
  it('gives the first-layer rule to exactly one node, in graph order', () => {
    const spec = buildComposite('epsilon-plus-flat', {});
    const nodes = (['convolution', 'activation', 'convolution', 'dense'] as const).map((kind, i) => ({
      node: { name: `n${i}`, opType: 'X', domain: '', inputs: [], outputs: [], attributes: {} },
      kind,
      weights: [],
    }));
    const rules = assignRules(nodes, spec).map((a) => `${a.rule?.name}${a.first ? '*' : ''}`);
    expect(rules).toEqual(['flat*', 'pass', 'z-plus', 'epsilon']);
  });

  it('epsilon-gamma-box needs the bounds; unknown composites are user errors', () => {
    expect(() => buildComposite('epsilon-gamma-box', {})).toThrow(/--low and --high/);
    expect(() => buildComposite('epsilon-pluss', {})).toThrow(/unknown composite "epsilon-pluss"/);
  });
});

describe('conservation on a real CNN with zeroed biases', () => {
  it('epsilon-plus (z-plus convolutions, epsilon dense, max-pool routing): Σ relevance = 1 per sample', async () => {
    const { readModel } = await import('../onnx/codec.js');
    const { compileAttributor } = await import('./engine.js');
    const { conformanceData, conformanceDir } = await import('../onnx/testing.js');
    const model = readModel(`${conformanceDir}/cnn_bn.folded.onnx`);
    for (const node of model.graph.nodes) {
      if ((node.opType === 'Conv' || node.opType === 'Gemm') && node.inputs[2]) model.graph.initializers.get(node.inputs[2])!.data.fill(0);
    }
    const { input } = await conformanceData('cnn_bn');
    for (const composite of ['epsilon-plus', 'epsilon-alpha2-beta1', 'epsilon-gamma-box', 'epsilon-plus-flat']) {
      const engine = await compileAttributor(model, { batchSize: 4, spec: buildComposite(composite, { low: -3, high: 3 }) });
      try {
        const { relevance } = await engine.run(input, Int32Array.of(0, 1, 2, 3));
        const n = relevance.length / 4;
        const sums = [0, 1, 2, 3].map((s) => relevance.subarray(s * n, (s + 1) * n).reduce((a, v) => a + v, 0));
        expectClose(sums, [1, 1, 1, 1], 1e-3);
      } finally {
        await engine.close();
      }
    }
  });
});
