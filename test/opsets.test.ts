/**
 * Old opsets through the real CLI (fixtures/opsets, built by fixtures/build/make_opset_fixtures.py):
 * the same weights exported by torch at opsets 7, 9 and 10 and at opset 13 (Upsample, Resize-10,
 * Pad and Softmax in their old forms), and a network written the way other converters write it at
 * opset 9 (weights in Constant nodes, unfused BatchNormalization, hard-swish from Clip/Add/Mul/Div,
 * a squeeze-excite gate, symbolic H and W resolved from the dataset) against torch's opset-13
 * export of it. Each old file must give the relevance of its opset-13 twin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribution } from './attribute-data.js';
import { repoRoot, runCli } from './helpers/cli.js';

const fixtures = join(repoRoot, 'fixtures', 'opsets');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-opsets-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Attributions already computed (the opset-13 twins are shared by several old files). */
const done = new Map<string, Promise<Float32Array>>();

function attribute(model: string, dataset: string, composite: string, extra: string[] = []): Promise<Float32Array> {
  const key = `${model}-${composite}`;
  if (!done.has(key)) done.set(key, run(model, dataset, composite, extra, join(dir, `${key}.h5`)));
  return done.get(key)!;
}

async function run(model: string, dataset: string, composite: string, extra: string[], output: string): Promise<Float32Array> {
  const result = await runCli([
    'attribute',
    '--model',
    join(fixtures, `${model}.onnx`),
    '--dataset',
    join(fixtures, `${dataset}.h5`),
    '-o',
    output,
    '--quiet',
    '--composite',
    composite,
    ...extra,
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return (await readAttribution(output)).attribution;
}

function expectSame(old: Float32Array, current: Float32Array): void {
  expect(old.length).toBe(current.length);
  const scale = current.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(scale).toBeGreaterThan(0);
  expect(old.every(Number.isFinite)).toBe(true);
  let worst = 0;
  for (let i = 0; i < old.length; i++) worst = Math.max(worst, Math.abs(old[i]! - current[i]!));
  expect(worst).toBeLessThanOrEqual(1e-4 * scale);
}

describe('old opsets give the relevance of their opset-13 export', () => {
  const pairs: Array<[string, string, string]> = [
    ['plain.op7', 'plain.op13', 'classic'],
    ['classic.op9', 'classic.op13', 'classic'],
    ['classic.op10', 'classic.op13', 'classic'],
    ['converter.op9', 'converter.op13', 'converter'],
  ];
  for (const [old, current, dataset] of pairs) {
    for (const composite of ['epsilon-plus', 'epsilon-gamma-box']) {
      it(`${old} = ${current} (${composite})`, async () => {
        const extra = composite === 'epsilon-gamma-box' ? ['--low', '-1', '--high', '1'] : [];
        expectSame(await attribute(old, dataset, composite, extra), await attribute(current, dataset, composite, extra));
      });
    }
  }

  it('converter.op9 with biases zeroed: epsilon-gamma-box conserves relevance (gate and hard-swish recognised)', async () => {
    const output = join(dir, 'conserve.h5');
    const result = await runCli([
      'attribute',
      '--model',
      join(fixtures, 'converter.op9.onnx'),
      '--dataset',
      join(fixtures, 'converter.h5'),
      '-o',
      output,
      '--quiet',
      '--composite',
      'epsilon-gamma-box',
      '--low',
      '-1',
      '--high',
      '1',
      '--zero-params',
      'bias',
    ]);
    expect(result.code).toBe(0);
    const a = await readAttribution(output);
    const n = a.shape[0]!;
    const size = a.attribution.length / n;
    for (let s = 0; s < n; s++) {
      const total = a.attribution.subarray(s * size, (s + 1) * size).reduce((t, v) => t + v, 0);
      expect(Math.abs(total - 1)).toBeLessThanOrEqual(1e-3);
    }
  });
});
