/**
 * Attributors against results computed here independently of the compiled graph: the chosen
 * class's analytic gradient, SmoothGrad's average over the very noise onnxruntime draws for the
 * seed, and occlusion's score from one forward pass per occluded window. A target that is ignored,
 * an all-zero SmoothGrad or a score taken from the wrong window would fail these.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, GraphBuilder, modelOf } from '../onnx/builder.js';
import { encodeModel } from '../onnx/codec.js';
import type { MethodOptions } from './attributors.js';
import { compileAttributor, type Target } from './engine.js';
import { expectClose, modelAround } from './testing.js';

// Linear(3→3) → Tanh → Linear(3→3): three classes whose gradients differ.
const W1 = [
  [1, -2, 0.5],
  [0.25, 1, -1],
  [-0.5, 0.75, 0.3],
];
const B1 = [0.1, -0.2, 0.05];
const W2 = [
  [1.5, -0.5, 0.2],
  [-1, 0.8, 1.2],
  [0.3, 1.1, -0.9],
];
const B2 = [0.3, -0.1, 0.2];

const mlp = () =>
  modelAround(['batch', 3] as never, (b, x) => {
    const [h] = b.addNode('Gemm', [x, b.constant(W1.flat(), [3, 3]), b.constant(B1, [3])], { transB: attr.int(1) });
    const [t] = b.addNode('Tanh', [h!]);
    return b.addNode('Gemm', [t!, b.constant(W2.flat(), [3, 3]), b.constant(B2, [3])], { transB: attr.int(1) })[0]!;
  });

function forward(x: number[]): { t: number[]; y: number[] } {
  const t = W1.map((row, i) => Math.tanh(row.reduce((s, w, j) => s + w * x[j]!, B1[i]!)));
  const y = W2.map((row, c) => row.reduce((s, w, i) => s + w * t[i]!, B2[c]!));
  return { t, y };
}

/** ∂y_c/∂x = Σ_i W2[c][i] (1 − t_i²) W1[i]. */
function gradient(x: number[], c: number): number[] {
  const { t } = forward(x);
  return [0, 1, 2].map((j) => W1.reduce((s, row, i) => s + W2[c]![i]! * (1 - t[i]! ** 2) * row[j]!, 0));
}

async function run(method: MethodOptions | undefined, x: number[], target: Target, batchSize = x.length / 3) {
  const engine = await compileAttributor(mlp(), { batchSize, sampleShape: [3], spec: null, method });
  try {
    const out = await engine.run(Float32Array.from(x), target);
    return { relevance: Array.from(out.relevance), logits: Array.from(out.logits) };
  } finally {
    await engine.close();
  }
}

const samples = [
  [0.5, -1, 2], // arg-max class 0
  [-1, 0.5, 0.2], // arg-max class 1
  [2, 1, 0], // arg-max class 2
];
const argmax = (v: number[]): number => v.indexOf(Math.max(...v));

describe('targets', () => {
  it('the sample set covers every class as prediction (else the test below proves nothing)', () => {
    expect(samples.map((x) => argmax(forward(x).y))).toEqual([0, 1, 2]);
  });

  it('a chosen class gives that class’s gradient, per sample', async () => {
    const x = samples.flat();
    for (const c of [0, 1, 2]) {
      const { relevance } = await run({ kind: 'gradient' }, x, Int32Array.of(c, c, c));
      expectClose(
        relevance,
        samples.flatMap((s) => gradient(s, c)),
        1e-4,
        1e-6,
      );
    }
    // Different classes in one batch: each row is seeded with its own class.
    const { relevance } = await run({ kind: 'gradient' }, x, Int32Array.of(2, 0, 1));
    expectClose(relevance, [gradient(samples[0]!, 2), gradient(samples[1]!, 0), gradient(samples[2]!, 1)].flat(), 1e-4, 1e-6);
  });

  it("'prediction' seeds each sample's own arg-max class of a multi-class model", async () => {
    const { relevance, logits } = await run({ kind: 'gradient' }, samples.flat(), 'prediction');
    expectClose(
      logits,
      samples.flatMap((s) => forward(s).y),
      1e-5,
      1e-6,
    );
    expectClose(
      relevance,
      samples.flatMap((s) => gradient(s, argmax(forward(s).y))),
      1e-4,
      1e-6,
    );
  });
});

/** The noise a seeded RandomNormalLike draws on successive runs of one session. */
async function seededNoise(seed: number, shape: number[], runs: number): Promise<number[][]> {
  const b = new GraphBuilder();
  const x = b.addInput('x', 'float32', shape);
  const [noise] = b.addNode('RandomNormalLike', [x], { dtype: attr.int(1), seed: attr.float(seed) });
  b.addOutput(noise!, 'float32');
  const session = await ort.InferenceSession.create(encodeModel(modelOf(b.graph, 17)), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const size = shape.reduce((a, v) => a * v, 1);
    const out: number[][] = [];
    for (let k = 0; k < runs; k++)
      out.push(Array.from((await session.run({ x: new ort.Tensor('float32', new Float32Array(size), shape) }))[noise!]!.data as Float32Array));
    return out;
  } finally {
    await session.release();
  }
}

describe('SmoothGrad', () => {
  it('is the mean gradient over x + σ·ε for the seeded ε (σ = level·(max x − min x)), the last sample noise-free', async () => {
    const x = [...samples[0]!, ...samples[1]!];
    const n = 12;
    const level = 0.3;
    const seed = 7;
    const { relevance } = await run({ kind: 'smoothgrad', noiseLevel: level, samples: n, seed }, x, Int32Array.of(1, 2));
    const noise = await seededNoise(seed, [2, 3], n);
    const expected = [0, 1].flatMap((row) => {
      const xs = x.slice(row * 3, row * 3 + 3);
      const sigma = level * (Math.max(...xs) - Math.min(...xs));
      const sum = [0, 0, 0];
      for (let k = 0; k < n; k++) {
        const noisy = xs.map((v, j) => v + (k < n - 1 ? sigma * noise[k]![row * 3 + j]! : 0));
        gradient(noisy, row + 1).forEach((g, j) => (sum[j]! += g / n));
      }
      return sum;
    });
    expectClose(relevance, expected, 1e-3, 1e-6);
    // The noise matters: the mean differs from the plain gradient by far more than the tolerance.
    const plain = [gradient(samples[0]!, 1), gradient(samples[1]!, 2)].flat();
    expect(Math.max(...expected.map((e, i) => Math.abs(e - plain[i]!)))).toBeGreaterThan(0.05);
  });
});

describe('Occlusion --occlusion-score logit', () => {
  // Flatten(1×4×4) → MatMul(16→3) → Tanh → MatMul(3→2): nonlinear, so the score of a window is not a sum of pixel terms.
  const V = Array.from({ length: 48 }, (_, k) => (((k * 7) % 11) - 5) / 6);
  const U = [0.9, -0.4, -0.6, 1.1, 0.5, 0.7];
  const image = () =>
    modelAround(['batch', 1, 4, 4] as never, (b, x) => {
      const [flat] = b.addNode('Flatten', [x], { axis: attr.int(1) });
      const [h] = b.addNode('MatMul', [flat!, b.constant(V, [16, 3])]);
      const [t] = b.addNode('Tanh', [h!]);
      return b.addNode('MatMul', [t!, b.constant(U, [3, 2])])[0]!;
    });
  const logitOf = (input: number[], c: number): number => {
    const t = [0, 1, 2].map((i) => Math.tanh(input.reduce((s, v, p) => s + v * V[p * 3 + i]!, 0)));
    return t.reduce((s, v, i) => s + v * U[i * 2 + c]!, 0);
  };
  const pixels = Array.from({ length: 16 }, (_, p) => 0.2 + ((p * 5) % 7) / 4);

  for (const [window, stride] of [
    [2, 2],
    [3, 2],
    [2, 1],
  ] as const) {
    it(`window ${window}, stride ${stride}: each pixel sums the target logit of every window (kept, rest zeroed) that covers it`, async () => {
      // Windows start every `stride` pixels and wrap around the edge (the cyclic roll).
      const starts = Array.from({ length: Math.ceil(4 / stride) }, (_, k) => k * stride);
      const inside = (p: number, o: number): boolean => (p - o + 4) % 4 < window;
      const expected = new Array<number>(16).fill(0);
      for (const oy of starts) {
        for (const ox of starts) {
          const kept = pixels.map((v, p) => (inside(Math.floor(p / 4), oy) && inside(p % 4, ox) ? v : 0));
          const score = logitOf(kept, 1);
          kept.forEach((_, p) => {
            if (inside(Math.floor(p / 4), oy) && inside(p % 4, ox)) expected[p]! += score;
          });
        }
      }
      const engine = await compileAttributor(image(), {
        batchSize: 1,
        sampleShape: [1, 4, 4],
        spec: null,
        method: { kind: 'occlusion', window, stride, score: 'logit', chunk: 3 },
      });
      try {
        const { relevance } = await engine.run(Float32Array.from(pixels), Int32Array.of(1));
        expectClose(Array.from(relevance), expected, 1e-4, 1e-6);
      } finally {
        await engine.close();
      }
    });
  }
});
