/**
 * Every rule on a single Gemm and a single Conv against Zennit test vectors (docs/lrp.md §8),
 * the element-wise rules and Norm, and conservation with zero biases.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { attr } from '../onnx/builder.js';
import { makeRule } from './rules.js';
import { convModel, denseModel, everyLinear, expectClose, modelAround, relevanceOf } from './testing.js';

describe('rules on a dense layer', () => {
  const W = [
    [0.5, -1, 2, 0],
    [-0.5, 1.5, 1, -2],
    [1, 0.25, -0.75, 0.5],
  ];
  const b = [0.1, -0.2, 0];
  const x = [1, -2, 0.5, 3];
  const R = [1, 0.5, -2];
  const cases: Array<[string, string, Record<string, unknown>, number[]]> = [
    ['Epsilon()', 'epsilon', {}, [-1.064705713, 1.3339830985, 0.712141968, -1.520065789]],
    ['Epsilon(0.25)', 'epsilon', { epsilon: 0.25 }, [-0.9103415103, 1.2115440115, 0.6332852333, -1.2825396825]],
    ["Epsilon(zero_params='bias')", 'epsilon', { zero_params: 'bias' }, [-1.0601335966, 1.353479293, 0.7194746069, -1.5128194138]],
    ['Epsilon(Stabilizer(0.5, clip))', 'epsilon', { epsilon: { epsilon: 0.5, clip: true } }, [-1.0647064288, 1.3339836492, 0.7121423263, -1.5200668896]],
    ['ZPlus()', 'z-plus', {}, [-0.6611108297, 0.5555554012, 0.7777767006, -1.19999952]],
    ['AlphaBeta(1, 0)', 'alpha-beta', { alpha: 1, beta: 0 }, [-0.6611108297, 0.5555554012, 0.7777767006, -1.19999952]],
    ["ZPlus(zero_params='bias')", 'z-plus', { zero_params: 'bias' }, [-0.657142578, 0.5714284082, 0.7857132041, -1.19999952]],
    ['AlphaBeta(2, 1)', 'alpha-beta', {}, [-1.3479948526, 2.0993274799, 2.4126952788, -2.7092773586]],
    ['Gamma(0.25)', 'gamma', {}, [-0.9453400411, 1.1612899877, 0.5896055267, -1.3440853085]],
    ["Gamma(0.25, zero_params='bias')", 'gamma', { zero_params: ['bias'] }, [-0.940780982, 1.1807078381, 0.5970693855, -1.3369956252]],
    ['Gamma(0)', 'gamma', { gamma: 0 }, [-1.064705713, 1.3339830985, 0.712141968, -1.520065789]],
    ['ZBox(-1, 2)', 'z-box', { low: -1, high: 2 }, [-0.8621792234, 1.1025636857, -0.5865380804, -0.15384643]],
    ['WSquare()', 'w-square', {}, [-1.0025593426, 0.2726516254, 0.2267694377, -0.0014145702]],
    ["WSquare(zero_params='bias')", 'w-square', { zero_params: 'bias' }, [-1.0023803948, 0.27380950308, 0.22857159456, 1.066665955e-7]],
    ['Flat()', 'flat', {}, [-0.1249999688, -0.1249999688, -0.1249999688, -0.1249999688]],
    ['Norm()', 'norm', {}, [-1.064705713, 1.3339830985, 0.712141968, -1.520065789]],
  ];
  for (const [label, rule, params, expected] of cases) {
    it(label, async () => {
      const { relevance, logits } = await relevanceOf(denseModel(W, b), x, [1, 4], R, everyLinear(rule, params));
      expectClose(logits, [3.6, -9.2, 1.625]);
      expectClose(relevance, expected);
    });
  }
});

describe('rules on a Conv2d with padding', () => {
  const weight = [1, -0.5, 0.25, 2, -1, 0.5, 1.5, -0.25];
  const bias = [0.5, -0.25];
  const x = [0.5, -1, 2, 1, 0, -0.5, -2, 1.5, 0.25];
  const R = Array.from({ length: 32 }, (_, k) => -1 + (2 * k) / 31);
  const cases: Array<[string, string, Record<string, unknown>, number[]]> = [
    ['Epsilon()', 'epsilon', {}, [-1.58520261, -2.09441284, -1.10150738, 1.99586107, 0, 2.69376797, 1.37972621, 1.55014879, 0.44430966]],
    ['ZPlus()', 'z-plus', {}, [-0.68440898, 0.02798861, -1.19297854, -0.15448048, 0, 0.39404003, 0.75708659, 0.48091938, 1.10125662]],
    ['AlphaBeta(2, 1)', 'alpha-beta', {}, [-0.77957348, 1.81726368, -2.5400789, -0.53287813, 0, 1.40904335, 1.43821709, 0.15428931, 1.72401897]],
    ['Gamma(0.25)', 'gamma', {}, [-1.10927295, -1.56433646, -1.08794408, 0.87848494, 0, 1.06967459, 1.34961064, 1.48646801, 0.61016956]],
    // One output has z = 0 exactly, so ±R/1e-6 terms cancel in elements 1 and 2: float32 PyTorch
    // gives 0.0352 and −1.8828 there (ill-conditioned); those two get an absolute tolerance of 1e-2.
    [
      'ZBox(-1, 2)',
      'z-box',
      { low: -1, high: 2 },
      [-1.80834752, 0.02933934, -1.88311493, 4.82956216, 2.30344415, 0.20026456, -6.68303522, 1.30092197, 1.54967145],
    ],
    ['WSquare()', 'w-square', {}, [-0.71849178, -0.72544467, -1.0155652, 0.0339179, -0.08110763, -0.09740252, 1.12532429, 0.91273871, 1.32407332]],
    ['Flat()', 'flat', {}, [-1.69354708, -0.903225387, -1.01612825, -0.225806347, 0, 0.225806347, 1.01612825, 0.903225387, 1.69354708]],
  ];
  for (const [label, rule, params, expected] of cases) {
    it(label, async () => {
      const model = convModel([1, 1, 3, 3], weight, [2, 1, 2, 2], bias, [1, 1, 1, 1]);
      const { relevance } = await relevanceOf(model, x, [1, 1, 3, 3], R, everyLinear(rule, params));
      if (rule === 'z-box') {
        expectClose([relevance[1]!, relevance[2]!], [expected[1]!, expected[2]!], 0, 1e-2);
        relevance[1] = expected[1]!;
        relevance[2] = expected[2]!;
      }
      expectClose(relevance, expected, 1e-4, 2e-6);
    });
  }

  it('the plain gradient of a conv is the transposed convolution of R', async () => {
    const model = convModel([1, 1, 3, 3], weight, [2, 1, 2, 2], bias, [1, 1, 1, 1]);
    const { relevance } = await relevanceOf(model, x, [1, 1, 3, 3], R, null);
    // Gradient = Epsilon's adj(W, s) with s = R: check against a direct sum over the 4×4 outputs.
    const expected = new Array(9).fill(0);
    for (let c = 0; c < 2; c++)
      for (let oy = 0; oy < 4; oy++)
        for (let ox = 0; ox < 4; ox++) {
          for (let ky = 0; ky < 2; ky++)
            for (let kx = 0; kx < 2; kx++) {
              const iy = oy + ky - 1;
              const ix = ox + kx - 1;
              if (iy >= 0 && iy < 3 && ix >= 0 && ix < 3) expected[iy * 3 + ix] += weight[c * 4 + ky * 2 + kx]! * R[c * 16 + oy * 4 + ox]!;
            }
        }
    expectClose(relevance, expected);
  });
});

describe('element-wise rules, Norm on sums and average pooling', () => {
  const x = [-1, 0, 0.5, 2, -0.2, 1];
  const R = [0.3, -0.7, -1, 2, 0.4, 0];
  const relu = modelAround([1, 6], (b, v) => b.addNode('Relu', [v])[0]!);
  const reluRule = (rule: string, params: Record<string, unknown> = {}) => ({ first: [], layers: [{ match: { op: 'Relu' }, rule: makeRule(rule, params) }] });
  const cases: Array<[string, ReturnType<typeof reluRule> | null, number[]]> = [
    ['Pass', reluRule('pass'), R],
    ['DeconvNet', reluRule('deconvnet'), [0.3, 0, 0, 2, 0.4, 0]],
    ['GuidedBackprop', reluRule('guided-backprop'), [0, 0, 0, 2, 0, 0]],
    ['BetaSmooth(10)', reluRule('beta-smooth'), [1.36193606e-5, -0.35, -0.993307149, 2, 0.0476811688, 0]],
    ['BetaSmooth(1)', reluRule('beta-smooth', { beta_smooth: 1 }), [0.08068243, -0.35, -0.62245933, 1.76159416, 0.1800664, 0]],
    ['plain gradient', null, [0, 0, -1, 2, 0, 0]],
  ];
  for (const [label, spec, expected] of cases) {
    it(`ReLU ${label}`, async () => {
      const { relevance } = await relevanceOf(relu, x, [1, 6], R, spec);
      expectClose(relevance, expected);
    });
  }

  it('Norm on a residual sum splits proportionally (fan-in through Split)', async () => {
    // x = [a, c] → Split → a + c: the Add of two computed tensors is a `sum`.
    const model = modelAround([1, 8], (b, v) => {
      const [a, c] = b.addNode('Split', [v, b.constantInt64([4, 4])], { axis: attr.int(1) }, 2);
      return b.addNode('Add', [a!, c!])[0]!;
    });
    const spec = { first: [], layers: [{ match: { kind: 'sum' }, rule: makeRule('norm') }] };
    const { relevance } = await relevanceOf(model, [1, -2, 0, 3, 1, 1, 0, -3], [1, 8], [1, 1, 1, 1], spec);
    expectClose(relevance, [0.49999975, 1.999998, 0, 3e6, 0.49999975, -0.999999, 0, -3e6], 1e-4, 1e-5);
    // Without a rule, the sum copies R into both operands.
    const plain = await relevanceOf(model, [1, -2, 0, 3, 1, 1, 0, -3], [1, 8], [1, 1, 1, 1], null);
    expectClose(plain.relevance, [1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('Norm on AvgPool2d(2)', async () => {
    const model = modelAround([1, 1, 2, 4], (b, v) => b.addNode('AveragePool', [v], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) })[0]!);
    const spec = { first: [], layers: [{ match: { kind: 'avgpool' }, rule: makeRule('norm') }] };
    const { relevance } = await relevanceOf(model, [1, 2, 0, -1, 3, -2, 1, 1], [1, 1, 2, 4], [1, 2], spec);
    expectClose(relevance, [0.24999975, 0.4999995, 0, -1.999992, 0.74999925, -0.4999995, 1.999992, 1.999992], 1e-4, 1e-6);
  });
});

describe('conservation with zero biases', () => {
  // Two Gemm layers with a ReLU between, biases zero: Epsilon and ZPlus conserve Σ relevance.
  const model = modelAround([2, 5], (b, v) => {
    const w1 = b.constant(
      Array.from({ length: 20 }, (_, k) => Math.sin(k + 1)),
      [4, 5],
    );
    const w2 = b.constant(
      Array.from({ length: 12 }, (_, k) => Math.cos(3 * k + 1)),
      [3, 4],
    );
    const zeros4 = b.constant([0, 0, 0, 0], [4]);
    const [h] = b.addNode('Gemm', [v, w1, zeros4], { transB: attr.int(1) });
    const [r] = b.addNode('Relu', [h!]);
    return b.addNode('Gemm', [r!, w2], { transB: attr.int(1) })[0]!;
  });
  // Positive inputs and mixed-sign weights: every denominator of every rule is non-zero here.
  const x = [0.3, 1.2, 0.8, 2.0, 0.5, 1.1, 0.4, 0.9, 0.2, 1.5];
  const R = [1, 0, 0, 1, 0, 0];
  for (const rule of ['epsilon', 'z-plus', 'alpha-beta', 'gamma', 'flat', 'w-square']) {
    it(`${rule}: Σ Rin = Σ R per sample`, async () => {
      const spec = {
        first: [],
        layers: [
          { match: { kind: 'activation' }, rule: makeRule('pass') },
          { match: { kind: 'dense' }, rule: makeRule(rule) },
        ],
      };
      const { relevance } = await relevanceOf(model, x, [2, 5], R, spec);
      const sums = [0, 1].map((s) => relevance.slice(s * 5, s * 5 + 5).reduce((a, c) => a + c, 0));
      expectClose(sums, [1, 1], 1e-4);
    });
  }
});

describe('rule parameters', () => {
  it('rejects unknown rules, unknown parameters and alpha − beta ≠ 1', () => {
    expect(() => makeRule('epsilonn')).toThrow(UserError);
    expect(() => makeRule('epsilon', { gamma: 1 })).toThrow(/gamma/);
    expect(() => makeRule('alpha-beta', { alpha: 2, beta: 2 })).toThrow(/alpha - beta must be 1/);
    expect(() => makeRule('alpha-beta', { alpha: -1, beta: -2 })).toThrow(/non-negative/);
    expect(() => makeRule('z-box', { low: -1 })).toThrow(/high/);
  });
});
