/**
 * Gradient checks: the compiled plain-gradient pass (no rules: every node's exact VJP) against
 * central finite differences of Σ R ⊙ f(x), for small graphs covering every VJP handler.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, type GraphBuilder } from '../onnx/builder.js';
import { decodeModel, encodeModel } from '../onnx/codec.js';
import type { Model } from '../onnx/ir.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModel } from '../onnx/codec.js';
import { canonize, lowerMarkers } from './canonize/index.js';
import { compileRelevanceGraph } from './compiler.js';
import { buildComposite, COMPOSITE_NAMES } from './composites.js';
import { compileAttributor } from './engine.js';
import { expectClose, modelAround, relevanceOf } from './testing.js';

/** Deterministic values in [-1, 1) kept away from 0 (so ReLU-like kinks are not crossed). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    const v = s / 2 ** 32 - 0.5;
    return (v < 0 ? v - 0.05 : v + 0.05) * 1.8;
  });
}

async function numericGradient(model: Model, x: number[], dims: number[], R: number[], h = 1e-2): Promise<number[]> {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const f = async (v: number[]): Promise<number> => {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(v), dims) });
    const y = out[session.outputNames[0]!]!.data as Float32Array;
    return y.reduce((acc, yi, i) => acc + yi * R[i]!, 0);
  };
  const grad: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const up = [...x];
    const down = [...x];
    up[i]! += h;
    down[i]! -= h;
    grad.push(((await f(up)) - (await f(down))) / (2 * h));
  }
  await session.release();
  return grad;
}

async function outputSize(model: Model, x: number[], dims: number[]): Promise<number> {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(x), dims) });
  const n = (out[session.outputNames[0]!]!.data as Float32Array).length;
  await session.release();
  return n;
}

type Build = (b: GraphBuilder, x: string) => string;
const op = (b: GraphBuilder, type: string, inputs: string[], attrs: Parameters<GraphBuilder['addNode']>[2] = {}): string => b.addNode(type, inputs, attrs)[0]!;
const w = (b: GraphBuilder, dims: number[], seed: number): string =>
  b.constant(
    values(
      dims.reduce((a, c) => a * c, 1),
      seed,
    ),
    dims,
  );

const cases: Array<[string, number[], Build]> = [
  [
    'Conv, groups 2, stride 2, pads 1',
    [1, 4, 5, 5],
    (b, x) => op(b, 'Conv', [x, w(b, [4, 2, 3, 3], 1), w(b, [4], 2)], { group: attr.int(2), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
  ],
  [
    'Conv, dilation 2, asymmetric pads, stride 2',
    [1, 2, 6, 7],
    (b, x) => op(b, 'Conv', [x, w(b, [3, 2, 2, 3], 3)], { dilations: attr.ints([2, 2]), strides: attr.ints([2, 2]), pads: attr.ints([0, 1, 1, 0]) }),
  ],
  [
    'Conv, stride 1, groups 2, dilation 2, asymmetric pads (flipped-kernel adjoint)',
    [1, 4, 6, 5],
    (b, x) => op(b, 'Conv', [x, w(b, [6, 2, 3, 2], 15)], { group: attr.int(2), dilations: attr.ints([2, 1]), pads: attr.ints([2, 0, 1, 1]) }),
  ],
  [
    'Conv 1-D, stride 1, pads 3 (beyond the kernel reach: transposed conv)',
    [1, 2, 5],
    (b, x) => op(b, 'Conv', [x, w(b, [3, 2, 2], 16)], { pads: attr.ints([3, 1]) }),
  ],
  [
    'Conv, auto_pad SAME_UPPER',
    [1, 2, 5, 5],
    (b, x) => op(b, 'Conv', [x, w(b, [2, 2, 2, 2], 4)], { auto_pad: attr.string('SAME_UPPER'), strides: attr.ints([2, 2]) }),
  ],
  [
    'ConvTranspose, stride 2, pads 1, output_padding 1',
    [1, 2, 3, 3],
    (b, x) =>
      op(b, 'ConvTranspose', [x, w(b, [2, 3, 3, 3], 5), w(b, [3], 6)], {
        strides: attr.ints([2, 2]),
        pads: attr.ints([1, 1, 1, 1]),
        output_padding: attr.ints([1, 1]),
      }),
  ],
  [
    'Gemm, transB 0, alpha, beta, row bias',
    [2, 3],
    (b, x) => op(b, 'Gemm', [x, w(b, [3, 4], 7), w(b, [1, 4], 8)], { alpha: attr.float(0.5), beta: attr.float(2) }),
  ],
  ['MatMul of two computed tensors', [1, 3, 4], (b, x) => op(b, 'MatMul', [x, op(b, 'Transpose', [op(b, 'Tanh', [x])], { perm: attr.ints([0, 2, 1]) })])],
  [
    'MaxPool 3×3/2, pads 1 (overlapping windows)',
    [1, 2, 6, 6],
    (b, x) => op(b, 'MaxPool', [x], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
  ],
  ['GlobalMaxPool', [1, 3, 3, 4], (b, x) => op(b, 'GlobalMaxPool', [x])],
  [
    'AveragePool 3×3/2 pads 1, padding not counted',
    [1, 2, 5, 5],
    (b, x) => op(b, 'AveragePool', [x], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
  ],
  [
    'AveragePool, padding counted, ceil_mode',
    [1, 1, 6, 6],
    (b, x) =>
      op(b, 'AveragePool', [x], {
        kernel_shape: attr.ints([3, 3]),
        strides: attr.ints([2, 2]),
        pads: attr.ints([1, 1, 1, 1]),
        count_include_pad: attr.int(1),
        ceil_mode: attr.int(1),
      }),
  ],
  ['GlobalAveragePool → Flatten', [1, 3, 2, 3], (b, x) => op(b, 'Flatten', [op(b, 'GlobalAveragePool', [x])])],
  [
    'Reshape, Transpose, Squeeze, Unsqueeze',
    [1, 2, 3, 4],
    (b, x) => {
      const r = op(b, 'Reshape', [x, b.constantInt64([1, 6, 4])]);
      const t = op(b, 'Transpose', [r], { perm: attr.ints([0, 2, 1]) });
      return op(b, 'Unsqueeze', [op(b, 'Squeeze', [t, b.constantInt64([0])]), b.constantInt64([1])]);
    },
  ],
  [
    'Concat, Split, Slice, Pad',
    [1, 4, 3],
    (b, x) => {
      const c = op(b, 'Concat', [x, op(b, 'Sigmoid', [x])], { axis: attr.int(1) });
      const [p, q] = b.addNode('Split', [c, b.constantInt64([3, 5])], { axis: attr.int(1) }, 2);
      const s = op(b, 'Slice', [q!, b.constantInt64([1, 0]), b.constantInt64([4, 2]), b.constantInt64([1, 2])]);
      const padded = op(b, 'Pad', [s, b.constantInt64([0, 1, 0, 0, 0, 1])]);
      return op(b, 'Add', [op(b, 'ReduceSum', [p!, b.constantInt64([1])], { keepdims: attr.int(1) }), padded]);
    },
  ],
  [
    "Slice with steps 2 and 3 (Swin's PatchMerging x[…, 0::2, 1::2]; a step that runs past the end)",
    [1, 2, 5, 7],
    (b, x) => {
      const even = op(b, 'Slice', [x, b.constantInt64([0, 1]), b.constantInt64([5, 7]), b.constantInt64([2, 3]), b.constantInt64([2, 2])]);
      const third = op(b, 'Slice', [x, b.constantInt64([1, -6]), b.constantInt64([9, 100]), b.constantInt64([2, -1]), b.constantInt64([3, 3])]);
      return op(b, 'Concat', [op(b, 'Flatten', [even]), op(b, 'Flatten', [op(b, 'Tanh', [third])])], { axis: attr.int(1) });
    },
  ],
  [
    'LRN, size 3 and size 5 (window past both channel edges), AlexNet-like and strong α, β, bias',
    [1, 6, 2, 3],
    (b, x) =>
      op(b, 'Add', [
        op(b, 'LRN', [x], { size: attr.int(3), alpha: attr.float(0.6), beta: attr.float(0.75), bias: attr.float(1) }),
        op(b, 'LRN', [op(b, 'Tanh', [x])], { size: attr.int(5), alpha: attr.float(2), beta: attr.float(1.5), bias: attr.float(0.5) }),
      ]),
  ],
  [
    'Add/Sub/Mul/Div with broadcasting',
    [2, 3],
    (b, x) => {
      const t = op(b, 'Tanh', [x]);
      const a = op(b, 'Add', [x, w(b, [3], 9)]);
      const m = op(b, 'Mul', [a, op(b, 'Sub', [t, w(b, [2, 1], 10)])]);
      return op(b, 'Div', [m, op(b, 'Add', [op(b, 'Exp', [x]), b.constant([1], [])])]);
    },
  ],
  [
    'Softmax and LogSoftmax',
    [2, 4],
    (b, x) => op(b, 'Add', [op(b, 'Softmax', [x], { axis: attr.int(-1) }), op(b, 'LogSoftmax', [op(b, 'Neg', [x])], { axis: attr.int(1) })]),
  ],
  ['BatchNormalization', [1, 3, 2, 2], (b, x) => op(b, 'BatchNormalization', [x, w(b, [3], 11), w(b, [3], 12), w(b, [3], 13), b.constant([0.5, 1, 2], [3])])],
  [
    'ReduceMean (keepdims 0) and ReduceSum',
    [2, 3, 2],
    (b, x) =>
      op(b, 'Mul', [
        op(b, 'ReduceMean', [x], { axes: attr.ints([1]), keepdims: attr.int(0) }),
        op(b, 'ReduceSum', [x, b.constantInt64([1])], { keepdims: attr.int(0) }),
      ]),
  ],
  [
    'activations I',
    [1, 8],
    (b, x) => {
      const parts = ['Relu', 'Sigmoid', 'Tanh', 'Softplus', 'Elu', 'Softsign'].map((t) => op(b, t, [x]));
      return op(b, 'Sum', [...parts, op(b, 'LeakyRelu', [x], { alpha: attr.float(0.1) }), op(b, 'PRelu', [x, w(b, [8], 14)])]);
    },
  ],
  [
    'activations II',
    [1, 8],
    (b, x) => {
      const parts = ['Erf', 'Selu', 'Celu', 'HardSwish', 'Abs'].map((t) => op(b, t, [x]));
      const clip = op(b, 'Clip', [x, b.constant([-0.5], []), b.constant([0.5], [])]);
      return op(b, 'Sum', [...parts, clip, op(b, 'HardSigmoid', [x], { alpha: attr.float(0.4) })]);
    },
  ],
  [
    'Resize nearest ×2 (asymmetric, floor: upgraded Upsample)',
    [1, 2, 3, 4],
    (b, x) =>
      op(b, 'Resize', [x, '', b.constant([1, 1, 2, 2], [4])], {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      }),
  ],
  [
    'Resize nearest ×0.5 / ×1.5 (half_pixel, round_prefer_floor)',
    [1, 1, 4, 4],
    (b, x) => op(b, 'Resize', [x, '', b.constant([1, 1, 0.5, 1.5], [4])], { mode: attr.string('nearest') }),
  ],
  ['Resize linear ×2 / ×1.5 (half_pixel)', [1, 2, 3, 4], (b, x) => op(b, 'Resize', [x, '', b.constant([1, 1, 2, 1.5], [4])], { mode: attr.string('linear') })],
  [
    'Resize linear to sizes 5×7 (align_corners)',
    [1, 1, 3, 4],
    (b, x) =>
      op(b, 'Resize', [x, '', '', b.constantInt64([1, 1, 5, 7], [4])], {
        mode: attr.string('linear'),
        coordinate_transformation_mode: attr.string('align_corners'),
      }),
  ],
  [
    'Resize linear ×2 (pytorch_half_pixel)',
    [1, 1, 3, 3],
    (b, x) =>
      op(b, 'Resize', [x, '', b.constant([1, 1, 2, 2], [4])], {
        mode: attr.string('linear'),
        coordinate_transformation_mode: attr.string('pytorch_half_pixel'),
      }),
  ],
];

describe('VJP handlers match finite differences', () => {
  for (const [label, dims, build] of cases) {
    it(label, async () => {
      const model = modelAround(dims, build);
      const n = dims.reduce((a, c) => a * c, 1);
      const x = values(n, 42);
      const R = values(await outputSize(model, x, dims), 7);
      const { relevance } = await relevanceOf(model, x, dims, R, null);
      expectClose(relevance, await numericGradient(model, x, dims, R), 2e-2, 3e-3);
    });
  }

  it('the SiLU marker of the canonizer (x·σ(x))', async () => {
    const model = modelAround([1, 6], (b, x) => op(b, 'Mul', [x, op(b, 'Sigmoid', [x])]));
    const canonical = canonize(model).model;
    const x = values(6, 3);
    const R = values(6, 4);
    const { relevance } = await relevanceOf(canonical, x, [1, 6], R, null);
    expectClose(relevance, await numericGradient(model, x, [1, 6], R), 2e-2, 3e-3);
  });
});

describe('torch-exported fixtures (fixtures/onnx)', () => {
  const fixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'onnx');
  for (const name of ['view_net_op11', 'zoo_op17']) {
    const io = JSON.parse(readFileSync(join(fixtures, `${name}.io.json`), 'utf8')) as { input_shape: number[]; input: number[] };
    const model = readModel(join(fixtures, `${name}.onnx`));

    it(`${name}: the gradient of the canonized model matches finite differences`, async () => {
      const canonical = canonize(model).model;
      const R = values(5 * io.input_shape[0]!, 5);
      const { relevance } = await relevanceOf(canonical, io.input, io.input_shape, R, null);
      const numeric = await numericGradient(lowerMarkers(canonize(model).model), io.input, io.input_shape, R);
      expectClose(relevance, numeric, 3e-2, 5e-3);
    });

    it(`${name}: every composite compiles and gives finite relevance`, async () => {
      for (const composite of COMPOSITE_NAMES) {
        const engine = await compileAttributor(model, { batchSize: 2, spec: buildComposite(composite, { low: -3, high: 3 }) });
        try {
          const { relevance } = await engine.run(Float32Array.from(io.input), 'prediction');
          expect(relevance.every(Number.isFinite)).toBe(true);
          expect(relevance.some((v) => v !== 0)).toBe(true);
        } finally {
          await engine.close();
        }
      }
    });
  }
});

describe('VJP checks refuse what the handler does not compute', () => {
  it('AveragePool-19 with dilations is refused in one line naming the node', () => {
    const model = modelAround(
      [1, 1, 6, 6],
      (b, x) => op(b, 'Flatten', [op(b, 'AveragePool', [x], { kernel_shape: attr.ints([2, 2]), dilations: attr.ints([2, 2]) })]),
      19,
    );
    expect(() => compileRelevanceGraph(model, { inputShape: [1, 1, 6, 6], spec: null })).toThrow(/AveragePool.*dilations other than 1 are not supported/);
  });
});

describe('Einsum (rewritten to MatMul when read; the rest refused)', () => {
  it('an equation the reader cannot rewrite is refused naming the node and the equation', () => {
    const model = modelAround([2, 3, 4], (b, x) => op(b, 'Einsum', [x, w(b, [2, 5, 4], 3)], { equation: attr.string('bij,bkj->bi') }));
    expect(() => compileRelevanceGraph(decodeModel(encodeModel(model)), { inputShape: [2, 3, 4], spec: null })).toThrow(
      /node "Einsum[^"]*" \(Einsum\): equation "bij,bkj->bi" is not supported: label k is summed over one operand only/,
    );
  });

  it('a rewritten attention Einsum pair has the exact gradient', async () => {
    // scores = x·xᵀ (bid,bjd->bij), softmax, context = p·x (bij,bjd->bid): both operands computed.
    const model = decodeModel(
      encodeModel(
        modelAround([2, 3, 4], (b, x) => {
          const scores = op(b, 'Einsum', [x, x], { equation: attr.string('bid,bjd->bij') });
          const p = op(b, 'Softmax', [scores], { axis: attr.int(-1) });
          return op(b, 'Flatten', [op(b, 'Einsum', [p, x], { equation: attr.string('bij,bjd->bid') })]);
        }),
      ),
    );
    expect(model.graph.nodes.map((n) => n.opType)).not.toContain('Einsum');
    const x = values(24, 5);
    const R = values(24, 6);
    const { relevance } = await relevanceOf(model, x, [2, 3, 4], R, null);
    expectClose(relevance, await numericGradient(model, x, [2, 3, 4], R), 2e-2, 3e-3);
  });
});
