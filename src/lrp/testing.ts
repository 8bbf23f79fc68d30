/**
 * Test-only helpers for the LRP unit tests: tiny hand-built models and a runner for compiled
 * relevance graphs (imported by src/lrp/*.test.ts only).
 */
import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder, modelOf } from '../onnx/builder.js';
import { encodeModel } from '../onnx/codec.js';
import type { Model } from '../onnx/ir.js';
import type { RuleSpec } from './composites.js';
import { compileRelevanceGraph, INPUT, LOGITS, OUTPUT_RELEVANCE, RELEVANCE } from './compiler.js';
import { makeRule } from './rules.js';

/** Zennit's test pattern: ((k·m) mod M − o) / d over the row-major index k. */
export function pat(shape: number[], m: number, M: number, o: number, d: number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, k) => (((k * m) % M) - o) / d);
}

/** A model around one node: `build(b, x)` appends nodes reading `x` and returns the output name. */
export function modelAround(inputShape: number[], build: (b: GraphBuilder, x: string) => string, opset = 17): Model {
  const b = new GraphBuilder();
  const x = b.addInput('x', 'float32', inputShape);
  const y = build(b, x);
  b.addOutput(y, 'float32');
  return modelOf(b.graph, opset);
}

/** One Gemm layer y = x·Wᵀ + b (W given as [out][in]). */
export function denseModel(W: number[][], bias: number[] | null): Model {
  return modelAround([1, W[0]!.length], (b, x) => {
    const w = b.constant(W.flat(), [W.length, W[0]!.length], 'W');
    const inputs = [x, w, ...(bias ? [b.constant(bias, [bias.length], 'b')] : [])];
    return b.addNode('Gemm', inputs, { transB: attr.int(1) })[0]!;
  });
}

/** One Conv layer. */
export function convModel(inputShape: number[], weight: number[], weightDims: number[], bias: number[] | null, pads: number[]): Model {
  return modelAround(inputShape, (b, x) => {
    const inputs = [x, b.constant(weight, weightDims, 'W'), ...(bias ? [b.constant(bias, [bias.length], 'b')] : [])];
    return b.addNode('Conv', inputs, { pads: attr.ints(pads), kernel_shape: attr.ints(weightDims.slice(2)) })[0]!;
  });
}

/** Rule spec giving every linear layer `rule(params)`. */
export function everyLinear(rule: string, params: Record<string, unknown> = {}): RuleSpec {
  return { first: [], layers: [{ match: { kind: 'linear' }, rule: makeRule(rule, params) }] };
}

/** Compiles `model` for `x`'s shape and runs one relevance pass seeded with `R`. */
export async function relevanceOf(
  model: Model,
  x: number[],
  xDims: number[],
  R: number[],
  spec: RuleSpec | null,
): Promise<{ relevance: number[]; logits: number[] }> {
  const compiled = compileRelevanceGraph(model, { inputShape: xDims, spec });
  const session = await ort.InferenceSession.create(encodeModel(compiled.model), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run({
      [INPUT]: new ort.Tensor('float32', Float32Array.from(x), xDims),
      [OUTPUT_RELEVANCE]: new ort.Tensor('float32', Float32Array.from(R), compiled.logitsShape),
    });
    return { relevance: Array.from(out[RELEVANCE]!.data as Float32Array), logits: Array.from(out[LOGITS]!.data as Float32Array) };
  } finally {
    await session.release();
  }
}

/** Element-wise closeness with a relative tolerance plus a small absolute floor. */
export function expectClose(actual: number[], expected: number[], rtol = 1e-4, atol = 1e-6): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e}\n  actual   [${actual.join(', ')}]\n  expected [${expected.join(', ')}]`);
    }
  });
}
