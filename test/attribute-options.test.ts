/**
 * `attribute` options whose effect is checked against values computed here, by hand or from
 * independent forward passes: --target <class> / prediction (finite differences of the model
 * through onnxruntime), --alpha/--beta, --stabilizer, --zero-params, --beta-smooth and per-channel
 * --low/--high on one-layer models whose rules can be written out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attr, GraphBuilder, modelOf } from '../src/onnx/builder.js';
import { writeModel } from '../src/onnx/codec.js';
import { conformanceDir, readAttribution, readReference, relativeErrors, writeDataset } from './attribute-data.js';
import { runCli } from './helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-attribute-options-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Runs `attribute` and returns the attribution rows. */
async function attribute(model: string, dataset: string, args: string[]): Promise<Float32Array> {
  const output = join(dir, `out-${counter++}.h5`);
  const r = await runCli(['attribute', '--model', model, '--dataset', dataset, '-o', output, '-q', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return (await readAttribution(output)).attribution;
}

function expectRowsClose(actual: Float32Array, expected: number[], rows: number, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (const e of relativeErrors(actual, Float32Array.from(expected), rows)) expect(e).toBeLessThan(tolerance);
}

describe('--target on the 3-class conformance MLP (labels all 1, predictions 2, 2, 1, 1)', () => {
  const model = join(conformanceDir, 'mlp_bn.onnx');
  let data: string;
  let input: Float32Array;
  let session: ort.InferenceSession;
  beforeAll(async () => {
    const ref = await readReference(join(conformanceDir, 'mlp_bn.h5'));
    input = ref.input;
    data = join(dir, 'mlp.h5');
    await writeDataset(data, ref.input, ref.shape, ref.target);
    session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  });
  afterAll(() => session.release());

  const logits = async (rows: Float32Array, n: number): Promise<Float32Array> =>
    (await session.run({ input: new ort.Tensor('float32', rows, [n, 20]) })).logits!.data as Float32Array;

  /** Central differences of logit c of sample i, all 40 perturbed copies in one run (ReLU net: exact between kinks). */
  async function finiteGradient(i: number, c: number, h = 1e-3): Promise<number[]> {
    const x = input.subarray(i * 20, i * 20 + 20);
    const batch = new Float32Array(40 * 20);
    for (let j = 0; j < 20; j++) {
      batch.set(x, 2 * j * 20);
      batch.set(x, (2 * j + 1) * 20);
      batch[2 * j * 20 + j]! += h;
      batch[(2 * j + 1) * 20 + j]! -= h;
    }
    const y = await logits(batch, 40);
    return Array.from({ length: 20 }, (_, j) => (y[2 * j * 3 + c]! - y[(2 * j + 1) * 3 + c]!) / (2 * h));
  }

  it('--target 0 (nobody’s label or prediction) is the gradient of logit 0', async () => {
    const got = await attribute(model, data, ['--composite', 'none', '--target', '0']);
    const expected = (await Promise.all([0, 1, 2, 3].map((i) => finiteGradient(i, 0)))).flat();
    expectRowsClose(got, expected, 4, 1e-2);
    // …and not the gradient of the label class.
    const label = (await Promise.all([0, 1, 2, 3].map((i) => finiteGradient(i, 1)))).flat();
    for (const e of relativeErrors(got, Float32Array.from(label), 4)) expect(e).toBeGreaterThan(0.1);
  });

  it('--target prediction seeds each sample’s arg-max logit; the default seeds the label', async () => {
    const y = await logits(input, 4);
    const argmax = [0, 1, 2, 3].map((i) => [0, 1, 2].reduce((best, c) => (y[i * 3 + c]! > y[i * 3 + best]! ? c : best), 0));
    expect(argmax).toEqual([2, 2, 1, 1]);
    const byPrediction = await attribute(model, data, ['--composite', 'none', '--target', 'prediction']);
    expectRowsClose(byPrediction, (await Promise.all(argmax.map((c, i) => finiteGradient(i, c)))).flat(), 4, 1e-2);
    const byLabel = await attribute(model, data, ['--composite', 'none']);
    expectRowsClose(byLabel, (await Promise.all([0, 1, 2, 3].map((i) => finiteGradient(i, 1)))).flat(), 4, 1e-2);
  });
});

/**
 * Conv(C→2, kernel covering the whole C×2×2 input) → Flatten: one linear layer with contributions
 * z_cj = x_j·w_cj, so each rule's relevance can be written down.
 */
async function convModel(name: string, channels: number, weight: number[], bias: number[] | null): Promise<string> {
  const b = new GraphBuilder();
  const x = b.addInput('input', 'float32', ['batch', channels, 2, 2]);
  const inputs = [x, b.constant(weight, [2, channels, 2, 2]), ...(bias ? [b.constant(bias, [2])] : [])];
  const [c] = b.addNode('Conv', inputs, { kernel_shape: attr.ints([2, 2]) }, 1, { name: 'conv' });
  const [y] = b.addNode('Flatten', [c!], {}, 1, { name: 'flatten' });
  b.addOutput(y!, 'float32');
  const path = join(dir, `${name}.onnx`);
  await writeModel(path, modelOf(b.graph, 13));
  return path;
}

const W = [0.8, -0.5, 0.3, -0.9, -0.4, 0.7, 0.6, -0.2];
const X = [
  [1.2, 0.4, -0.7, 0.9],
  [-0.3, 1.1, 0.5, -1.4],
];

/** α z⁺/(Σz⁺ + b⁺ + s) − β z⁻/(Σz⁻ + b⁻ − s) for class 0 (Zennit's AlphaBeta with its stabiliser). */
function alphaBeta(x: number[], alpha: number, beta: number, bias = 0, s = 1e-6): number[] {
  const z = x.map((v, j) => v * W[j]!);
  const pos = z.reduce((a, v) => a + Math.max(v, 0), 0) + Math.max(bias, 0) + s;
  const neg = z.reduce((a, v) => a + Math.min(v, 0), 0) + Math.min(bias, 0) - s;
  return z.map((v) => (alpha * Math.max(v, 0)) / pos - (beta * Math.min(v, 0)) / neg);
}

describe('alpha-beta options on a single convolution', () => {
  let data: string;
  beforeAll(async () => {
    data = join(dir, 'conv.h5');
    await writeDataset(data, Float32Array.from(X.flat()), [2, 1, 2, 2], [0, 0]);
  });

  for (const [alpha, beta] of [
    [2, 1],
    [1, 0],
    [3, 2],
  ] as const) {
    it(`--alpha ${alpha} --beta ${beta}`, async () => {
      const model = await convModel(`ab-${alpha}`, 1, W, null);
      const got = await attribute(model, data, ['--composite', 'epsilon-alpha2-beta1', '--alpha', String(alpha), '--beta', String(beta)]);
      expectRowsClose(
        got,
        X.flatMap((x) => alphaBeta(x, alpha, beta)),
        2,
        1e-5,
      );
    });
  }

  it('--stabilizer enters the denominators', async () => {
    const model = await convModel('stab', 1, W, null);
    const got = await attribute(model, data, ['--composite', 'epsilon-alpha2-beta1', '--stabilizer', '0.5']);
    expectRowsClose(
      got,
      X.flatMap((x) => alphaBeta(x, 2, 1, 0, 0.5)),
      2,
      1e-5,
    );
  });

  it('--zero-params bias drops the bias from the denominators; weight leaves nothing to redistribute', async () => {
    const model = await convModel('bias', 1, W, [0.6, -0.3]);
    const withBias = await attribute(model, data, ['--composite', 'epsilon-alpha2-beta1']);
    expectRowsClose(
      withBias,
      X.flatMap((x) => alphaBeta(x, 2, 1, 0.6)),
      2,
      1e-5,
    );
    const noBias = await attribute(model, data, ['--composite', 'epsilon-alpha2-beta1', '--zero-params', 'bias']);
    expectRowsClose(
      noBias,
      X.flatMap((x) => alphaBeta(x, 2, 1, 0)),
      2,
      1e-5,
    );
    const noWeight = await attribute(model, data, ['--composite', 'epsilon-alpha2-beta1', '--zero-params', 'weight']);
    expect(Array.from(noWeight).every((v) => v === 0)).toBe(true);
    expect(Array.from(withBias).some((v) => Math.abs(v) > 0.1)).toBe(true);
  });
});

describe('--low/--high per channel (epsilon-gamma-box: the first layer gets the z-box rule)', () => {
  // Conv(2→2, kernel 2×2) on 2×2×2 samples: 8 contributions per class, four in each channel.
  const W16 = Array.from({ length: 16 }, (_, k) => (((k * 5) % 9) - 4) / 5);
  const samples = [
    [1.2, 0.4, -0.7, 0.9, -0.3, 1.1, 0.5, -1.4],
    [0.6, -0.8, 0.2, 0.3, 1.3, -0.1, -0.9, 0.7],
  ];
  /** (z_j − l_j w⁺_j − h_j w⁻_j) / Σ_j (…) for class 0, with l, h the bounds of pixel j's channel. */
  function zBox(x: number[], low: number[], high: number[]): number[] {
    const terms = x.map((v, j) => {
      const w = W16[j]!;
      const ch = Math.floor(j / 4);
      return v * w - low[ch]! * Math.max(w, 0) - high[ch]! * Math.min(w, 0);
    });
    const total = terms.reduce((a, v) => a + v, 0);
    return terms.map((t) => t / (total + 1e-6 * Math.sign(total)));
  }

  it('one bound per channel differs from a single bound and matches the rule', async () => {
    const model = await convModel('zbox', 2, W16, null);
    const data = join(dir, 'zbox.h5');
    await writeDataset(data, Float32Array.from(samples.flat()), [2, 2, 2, 2], [0, 0]);
    const perChannel = await attribute(model, data, ['--composite', 'epsilon-gamma-box', '--low', '-1,-2', '--high', '1.5,3']);
    expectRowsClose(
      perChannel,
      samples.flatMap((x) => zBox(x, [-1, -2], [1.5, 3])),
      2,
      1e-5,
    );
    const single = await attribute(model, data, ['--composite', 'epsilon-gamma-box', '--low', '-1', '--high', '1.5']);
    expectRowsClose(
      single,
      samples.flatMap((x) => zBox(x, [-1, -1], [1.5, 1.5])),
      2,
      1e-5,
    );
    for (const e of relativeErrors(perChannel, single, 2)) expect(e).toBeGreaterThan(0.05);
  });
});

describe('--beta-smooth', () => {
  // Gemm(2→2) → ReLU → Gemm(2→1): the beta-smooth composite back-propagates through ReLU as if it
  // were softplus with that beta, i.e. with derivative sigmoid(beta·h).
  const W1 = [
    [1, -0.5],
    [0.3, 0.8],
  ];
  const W2 = [1.2, -0.7];
  const xs = [
    [0.2, 0.1],
    [-0.3, 0.4],
  ];
  const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
  const smoothGradient = (x: number[], beta: number): number[] => {
    const h = W1.map((row) => row[0]! * x[0]! + row[1]! * x[1]!);
    return [0, 1].map((j) => W1.reduce((s, row, i) => s + W2[i]! * sigmoid(beta * h[i]!) * row[j]!, 0));
  };

  for (const beta of [10, 2]) {
    it(`--beta-smooth ${beta}`, async () => {
      const b = new GraphBuilder();
      const x = b.addInput('input', 'float32', ['batch', 2]);
      const [h] = b.addNode('Gemm', [x, b.constant(W1.flat(), [2, 2])], { transB: attr.int(1) }, 1, { name: 'fc1' });
      const [r] = b.addNode('Relu', [h!], {}, 1, { name: 'relu' });
      const [y] = b.addNode('Gemm', [r!, b.constant(W2, [1, 2])], { transB: attr.int(1) }, 1, { name: 'fc2' });
      b.addOutput(y!, 'float32');
      const model = join(dir, `smooth-${beta}.onnx`);
      await writeModel(model, modelOf(b.graph, 13));
      const data = join(dir, `smooth-${beta}.h5`);
      await writeDataset(data, Float32Array.from(xs.flat()), [2, 2], [0, 0]);
      const got = await attribute(model, data, ['--composite', 'beta-smooth', '--beta-smooth', String(beta)]);
      expectRowsClose(
        got,
        xs.flatMap((s) => smoothGradient(s, beta)),
        2,
        1e-4,
      );
    });
  }
});
