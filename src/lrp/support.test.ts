import { describe, expect, it } from 'vitest';
import { attr, type GraphBuilder } from '../onnx/builder.js';
import type { RuleSpec } from './composites.js';
import { compileRelevanceGraph } from './compiler.js';
import { makeRule } from './rules.js';
import { expectClose, modelAround, pat, relevanceOf } from './testing.js';

const X = [1, 2, 6, 6];

/** ReLU → conv1(gamma) → ReLU → [Mul by 1] → conv2(`second`) → ReLU (or + conv3, ReLU) → flatten → Gemm. */
type Variant = 'plain' | 'opaque' | 'unsigned';

/**
 * plain: the analysis applies; opaque: a Mul by 1 hides conv1's ReLU from it; unsigned: no leading
 * ReLU (the data is clamped to ≥ 0 instead), so conv1 takes the general sign-split path, which owes
 * nothing to the analysis: the reference values.
 */
function chain(b: GraphBuilder, x: string, variant: Variant, tail: 'relu' | 'add'): string {
  const conv = (input: string, cin: number, cout: number, seed: number, name: string): string =>
    b.addNode(
      'Conv',
      [
        input,
        b.constant(pat([cout, cin, 3, 3], seed, 23, 11, 17), [cout, cin, 3, 3], `${name}_w`),
        b.constant(pat([cout], seed + 2, 7, 3, 9), [cout], `${name}_b`),
      ],
      { pads: attr.ints([1, 1, 1, 1]), kernel_shape: attr.ints([3, 3]) },
      1,
      { name },
    )[0]!;
  // The Gamma shortcut is for layers reading x ≥ 0 (after a ReLU), as every layer but the first is.
  const z1 = conv(variant === 'unsigned' ? x : b.addNode('Relu', [x])[0]!, 2, 3, 5, 'conv1');
  let a = b.addNode('Relu', [z1])[0]!;
  // Mul by 1 changes no value but has no sign record: the analysis cannot see through it.
  if (variant === 'opaque') a = b.addNode('Mul', [a, b.constant([1], [], 'one')])[0]!;
  const z2 = conv(a, 3, 4, 7, 'conv2');
  // 'add': conv2's output goes straight into a sum with a ReLU branch (a ResNet block's conv3), where
  // z2 < 0 does receive relevance.
  const y = tail === 'relu' ? b.addNode('Relu', [z2])[0]! : b.addNode('Relu', [b.addNode('Add', [z2, conv(a, 3, 4, 9, 'conv3')])[0]!])[0]!;
  const flat = b.addNode('Flatten', [y])[0]!;
  return b.addNode('Gemm', [flat, b.constant(pat([5, 144], 3, 31, 15, 40), [5, 144], 'fc_w')], { transB: attr.int(1) })[0]!;
}

function spec(secondRule: string): RuleSpec {
  return {
    first: [],
    layers: [
      { match: { name: /^conv2$/ }, rule: makeRule(secondRule) },
      { match: { kind: 'convolution' }, rule: makeRule('gamma', { gamma: 0.25 }) },
      { match: { kind: 'dense' }, rule: makeRule('epsilon') },
      { match: { kind: 'activation' }, rule: makeRule('pass') },
      { match: { kind: 'sum' }, rule: makeRule('norm') },
    ],
  };
}

/** Weights read by the compiled graph's convolutions (the Wd half widens one adjoint convolution). */
function convWeights(variant: Variant, tail: 'relu' | 'add', second: string): number {
  const { graph } = compileRelevanceGraph(
    modelAround(X, (b, x) => chain(b, x, variant, tail)),
    { inputShape: X, spec: spec(second) },
  ).model;
  return graph.nodes.filter((n) => n.opType === 'Conv').reduce((sum, n) => sum + graph.initializers.get(n.inputs[1]!)!.data.length, 0);
}
/** conv1's Wd half in the adjoint: 3 outputs × 2 inputs × 3 × 3. */
const CONV1_HALF = 3 * 2 * 9;

/** Relevance of the `plain` graph (analysis applies) and of the `reference` variant, on the same data. */
async function bothWays(reference: Variant, tail: 'relu' | 'add', second: string, x: number[], seed: number[]): Promise<[number[], number[]]> {
  const run = (variant: Variant) =>
    relevanceOf(
      modelAround(X, (b, i) => chain(b, i, variant, tail)),
      x,
      X,
      seed,
      spec(second),
    );
  return [(await run('plain')).relevance, (await run(reference)).relevance];
}

describe('positive-support analysis (Gamma leaves out the half nothing reaches)', () => {
  const x = pat(X, 7, 19, 9, 6).map((v) => Math.max(v, 0));
  const seed = [0.3, -1, 0.7, 0.2, 1];

  it('leaves out the Wd adjoint of a Gamma layer whose output feeds a ReLU, and keeps the values', async () => {
    // conv1 → ReLU → conv2 (gamma) → ReLU → Gemm: both conv1 and conv2 qualify.
    expect(convWeights('opaque', 'relu', 'gamma') - convWeights('plain', 'relu', 'gamma')).toBe(CONV1_HALF);
    const [seen, full] = await bothWays('unsigned', 'relu', 'gamma', x, seed);
    expect(seen.some((v) => v !== 0)).toBe(true);
    expectClose(seen, full, 1e-5, 1e-7);
  });

  it('keeps the negative half where z < 0 receives relevance (a rule that is not x ⊙ …, or a residual sum)', async () => {
    // conv2 with the flat rule sends relevance to conv1's dead units too; a wrongly dropped half would show.
    expect(convWeights('opaque', 'relu', 'flat')).toBe(convWeights('plain', 'relu', 'flat'));
    const [flat, flatFull] = await bothWays('unsigned', 'relu', 'flat', x, seed);
    expectClose(flat, flatFull, 1e-5, 1e-7);
    // conv2 → Add: its half stays (conv1 still qualifies, so the graphs differ by exactly conv1's half).
    expect(convWeights('opaque', 'add', 'gamma') - convWeights('plain', 'add', 'gamma')).toBe(CONV1_HALF);
    const [sum, sumFull] = await bothWays('unsigned', 'add', 'gamma', x, seed);
    expectClose(sum, sumFull, 1e-5, 1e-7);
  });
});
