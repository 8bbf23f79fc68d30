/**
 * Pattern recognition: decomposed LayerNorm / RMSNorm, decomposed activations (GELU Erf and tanh
 * forms, hard-swish from Clip, SiLU-like products) and gates, as the compiler sees them, and the
 * one-line error for a LayerNorm pattern that only partly matches.
 */
import { describe, expect, it } from 'vitest';
import { attr, type GraphBuilder } from '../../onnx/builder.js';
import { buildComposite } from '../composites.js';
import { compileRelevanceGraph } from '../compiler.js';
import { expectClose, modelAround, pat, relevanceOf } from '../testing.js';

const op = (b: GraphBuilder, type: string, inputs: string[], attrs: Parameters<GraphBuilder['addNode']>[2] = {}): string => b.addNode(type, inputs, attrs)[0]!;
const scalar = (b: GraphBuilder, v: number): string => b.constant([v], []);

/** ReduceMean → Sub → Pow(2) → ReduceMean → Add(ε) → Sqrt → Div → Mul(γ) → Add(β), over the last axis. */
function decomposedLayerNorm(b: GraphBuilder, x: string, options: { skipEps?: boolean; rms?: boolean; reciprocal?: boolean } = {}): string {
  const axes = { axes: attr.ints([-1]) };
  const d = options.rms ? x : op(b, 'Sub', [x, op(b, 'ReduceMean', [x], axes)]);
  const variance = op(b, 'ReduceMean', [options.rms ? op(b, 'Mul', [d, d]) : op(b, 'Pow', [d, scalar(b, 2)])], axes);
  const sigma = op(b, 'Sqrt', [options.skipEps ? variance : op(b, 'Add', [variance, scalar(b, 1e-5)])]);
  const n = options.reciprocal ? op(b, 'Mul', [d, op(b, 'Reciprocal', [sigma])]) : op(b, 'Div', [d, sigma]);
  const g = op(b, 'Mul', [n, b.constant([0.5, 1.5, -1, 2], [4])]);
  return op(b, 'Add', [g, b.constant([0.1, -0.2, 0.3, 0], [4])]);
}
const dense = (b: GraphBuilder, x: string, seed: number): string => op(b, 'MatMul', [x, b.constant(pat([4, 3], seed, 7, 3, 5), [4, 3])]);

function kinds(build: (b: GraphBuilder, x: string) => string, composite = 'epsilon-plus', shape = [2, 4]): string[] {
  const model = modelAround(shape, build);
  return compileRelevanceGraph(model, { inputShape: shape, spec: buildComposite(composite, {}) }).assignments.map(
    (a) => `${a.kind}:${a.node.opType.replace(/^(MatMul|Gemm|Dense)$/, 'Linear')}:${a.rule?.name ?? '-'}`,
  );
}

describe('LayerNorm patterns', () => {
  for (const [name, options] of [
    ['LayerNorm', {}],
    ['RMSNorm', { rms: true }],
    ['Reciprocal + Mul', { reciprocal: true }],
  ] as const) {
    it(`recognises a decomposed ${name} as one layernorm node`, () => {
      expect(kinds((b, x) => dense(b, decomposedLayerNorm(b, x, options), 1))).toEqual(['layernorm:LayerNorm:layernorm', 'dense:Linear:epsilon']);
    });
  }

  it('gives the same relevance as the LayerNormalization op (identity rule, relevance and gradient forms)', async () => {
    const x = pat([2, 4], 3, 11, 5, 4);
    const R = [1, 0, 0, 0, 1, 0];
    for (const composite of ['epsilon-plus', 'attn-lrp']) {
      const spec = buildComposite(composite, {});
      const decomposed = await relevanceOf(
        modelAround([2, 4], (b, v) => dense(b, decomposedLayerNorm(b, v), 1)),
        x,
        [2, 4],
        R,
        spec,
      );
      const fused = await relevanceOf(
        modelAround([2, 4], (b, v) =>
          dense(
            b,
            op(b, 'LayerNormalization', [v, b.constant([0.5, 1.5, -1, 2], [4]), b.constant([0.1, -0.2, 0.3, 0], [4])], { epsilon: attr.float(1e-5) }),
            1,
          ),
        ),
        x,
        [2, 4],
        R,
        spec,
      );
      expectClose(decomposed.relevance, fused.relevance, 1e-4, 1e-6);
      expect(decomposed.relevance.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    }
  });

  it('conserves relevance through the normalisation when β = 0 (epsilon on the frozen-σ affine map)', async () => {
    const model = modelAround([2, 4], (b, v) => op(b, 'LayerNormalization', [v, b.constant([0.5, 1.5, -1, 2], [4])], { epsilon: attr.float(1e-5) }));
    const R = [0.3, -0.1, 0.5, 0.2, 1, 0, 0, 0];
    const { relevance } = await relevanceOf(model, pat([2, 4], 3, 11, 5, 4), [2, 4], R, buildComposite('epsilon-plus', {}));
    expect(relevance.slice(0, 4).reduce((a, v) => a + v, 0)).toBeCloseTo(0.9, 4);
    expect(relevance.slice(4).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 4);
  });

  it('a LayerNorm pattern that only partly matches is a one-line error naming the node and the missing step', () => {
    const model = modelAround([2, 4], (b, x) => dense(b, decomposedLayerNorm(b, x, { skipEps: true }), 1));
    expect(() => compileRelevanceGraph(model, { inputShape: [2, 4], spec: null, source: 'm.onnx' })).toThrow(
      /^node "ReduceMean_\d+": looks like a decomposed LayerNorm\/RMSNorm \(ReduceMean of a square\) but the variance is not followed by Add\(ε\)/,
    );
  });
});

describe('decomposed activations', () => {
  const erfGelu = (b: GraphBuilder, h: string): string =>
    op(b, 'Mul', [op(b, 'Mul', [h, op(b, 'Add', [op(b, 'Erf', [op(b, 'Div', [h, scalar(b, Math.SQRT2)])]), scalar(b, 1)])]), scalar(b, 0.5)]);
  const tanhGelu = (b: GraphBuilder, h: string): string => {
    const cube = op(b, 'Pow', [h, scalar(b, 3)]);
    const inner = op(b, 'Mul', [op(b, 'Add', [h, op(b, 'Mul', [cube, scalar(b, 0.044715)])]), scalar(b, Math.sqrt(2 / Math.PI))]);
    return op(b, 'Mul', [op(b, 'Mul', [h, scalar(b, 0.5)]), op(b, 'Add', [op(b, 'Tanh', [inner]), scalar(b, 1)])]);
  };
  const hardSwish = (b: GraphBuilder, h: string): string =>
    op(b, 'Div', [op(b, 'Mul', [h, op(b, 'Clip', [op(b, 'Add', [h, scalar(b, 3)]), scalar(b, 0), scalar(b, 6)])]), scalar(b, 6)]);
  const biased = (b: GraphBuilder, x: string): string => op(b, 'Add', [dense(b, x, 2), b.constant([0.5, -0.5, 0.25], [3])]);

  for (const [name, act] of [
    ['GELU (Erf)', erfGelu],
    ['GELU (tanh)', tanhGelu],
    ['hard-swish (Clip)', hardSwish],
  ] as const) {
    it(`${name} after a bias add is one activation (pass), the bias stays with the dense layer`, async () => {
      const build = (b: GraphBuilder, x: string): string => op(b, 'MatMul', [act(b, biased(b, x)), b.constant(pat([3, 2], 3, 5, 2, 3), [3, 2])]);
      expect(kinds(build)).toEqual(['dense:Linear:epsilon', 'activation:Activation:pass', 'dense:Linear:epsilon']);
      // Pass on the whole activation (relevance form) and the identity rule (gradient form) agree:
      // both equal the relevance of the same network with the activation replaced by the identity
      // scaled by f(h)/h, i.e. relevance is passed through unchanged.
      const x = pat([2, 4], 3, 11, 5, 4);
      const relevance = await relevanceOf(modelAround([2, 4], build), x, [2, 4], [1, 0, 0, 1], buildComposite('epsilon-plus', {}));
      const total = relevance.relevance.reduce((a, v) => a + v, 0);
      // Epsilon keeps the bias's share: Σ R_x = Σ_o R_o (z_o − b_o) / z_o over the first layer's outputs, < 2.
      expect(Number.isFinite(total) && Math.abs(total) > 1e-3).toBe(true);
    });
  }

  it('a squeeze-excite gate is a gate (signal) and a product of two plain tensors is bilinear (uniform)', () => {
    const gated = (b: GraphBuilder, x: string): string => {
      const h = dense(b, x, 1);
      return op(b, 'Mul', [h, op(b, 'Sigmoid', [dense(b, op(b, 'Relu', [dense(b, x, 4)]), 5)])]);
    };
    const labels = kinds((b, x) =>
      op(b, 'MatMul', [
        op(b, 'Reshape', [gated(b, op(b, 'MatMul', [x, b.constant(pat([4, 4], 2, 7, 3, 5), [4, 4])])), b.constantInt64([2, 3])]),
        b.constant(pat([3, 2], 3, 5, 2, 3), [3, 2]),
      ]),
    );
    expect(labels.filter((l) => l.startsWith('gate'))).toEqual(['gate:Mul:signal']);
    const product = kinds((b, x) => op(b, 'Mul', [dense(b, x, 1), dense(b, x, 2)]), 'attn-lrp');
    expect(product.at(-1)).toBe('bilinear:Mul:uniform');
  });
});
