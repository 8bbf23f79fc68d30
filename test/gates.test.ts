/**
 * Gates and decomposed activations through the real CLI, on a MobileNetV3-like model exported at
 * opset 11 (fixtures/gates, built by fixtures/build/make_gates_fixture.py): hard-swish as
 * x·clip(x + 3, 0, 6)/6, squeeze-excite gates x·hardsigmoid(f(x)) (Clip-built) and x·σ(f(x)), a SiLU,
 * all biases zero. Recognised as activations (pass) and gates (all relevance to the signal), LRP
 * conserves relevance; through the product rule it summed to 30–200.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribution } from './attribute-data.js';
import { repoRoot, runCli } from './helpers/cli.js';

const model = join(repoRoot, 'fixtures', 'gates', 'mobilenetv3_tiny.op11.onnx');
const dataset = join(repoRoot, 'fixtures', 'gates', 'mobilenetv3_tiny.h5');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-gates-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function sums(composite: string, extra: string[] = []): Promise<{ totals: number[]; logits: number[] }> {
  const output = join(dir, `${composite}.h5`);
  const result = await runCli([
    'attribute',
    '--model',
    model,
    '--dataset',
    dataset,
    '-o',
    output,
    '--quiet',
    '--composite',
    composite,
    '--zero-params',
    'bias',
    ...extra,
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const a = await readAttribution(output);
  const n = a.shape[0]!;
  const size = a.attribution.length / n;
  const classes = a.prediction.length / n;
  return {
    totals: Array.from({ length: n }, (_, s) => a.attribution.subarray(s * size, (s + 1) * size).reduce((t, v) => t + v, 0)),
    logits: Array.from({ length: n }, (_, s) => a.prediction[s * classes + a.label[s]!]!),
  };
}

describe('MobileNetV3-like model with hard-swish and squeeze-excite gates (opset 11)', () => {
  it('epsilon-gamma-box conserves relevance: ΣR = 1 within 1e-3', async () => {
    const { totals } = await sums('epsilon-gamma-box', ['--low', '-1', '--high', '1']);
    for (const t of totals) expect(Math.abs(t - 1)).toBeLessThanOrEqual(1e-3);
  });

  it('epsilon-plus conserves up to what z-plus drops at linear-bottleneck outputs', async () => {
    // z-plus cannot pass on relevance of a unit whose contributions are all negative (MobileNet's
    // project convolutions have no ReLU after them): measured 0.989–0.999, never the 30–200 of
    // gates treated as products.
    const { totals } = await sums('epsilon-plus');
    for (const t of totals) expect(Math.abs(t - 1)).toBeLessThanOrEqual(2e-2);
  });

  it('cp-lrp conserves the target logit (gates constant)', async () => {
    const { totals, logits } = await sums('cp-lrp');
    totals.forEach((t, i) => expect(Math.abs(t - logits[i]!)).toBeLessThanOrEqual(1e-4 * Math.abs(logits[i]!)));
  });
});
