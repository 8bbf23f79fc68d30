/**
 * Einsum through the real CLI: a classifier whose only layer is an Einsum contracting three labels
 * with a weight (`nchw,kchw->nk`, as Keras' EinsumDense converts) is read as a dense layer, so
 * epsilon-plus with the bias-free layer conserves relevance and equals the same weights as a Gemm;
 * an equation the reader cannot rewrite stops with one line naming the file, node and equation.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attr, emptyGraph, GraphBuilder, modelOf } from '../src/onnx/builder.js';
import { encodeModel } from '../src/onnx/codec.js';
import { mulberry32 } from '../src/util/mulberry32.js';
import { readAttribution, writeDataset } from './attribute-data.js';
import { runCli } from './helpers/cli.js';

const SAMPLE = [2, 3, 3];
const CLASSES = 4;
const size = SAMPLE.reduce((a, b) => a * b, 1);
const rand = mulberry32(3);
const weights = Float32Array.from({ length: CLASSES * size }, () => rand() * 2 - 1);
let dir: string;

/** `logits = f(input)` with the weight as a constant; `layer` builds f. */
function writeModel(name: string, layer: (b: GraphBuilder, x: string) => string): string {
  const b = new GraphBuilder(emptyGraph());
  b.addInput('input', 'float32', ['N', ...SAMPLE]);
  b.addOutput(layer(b, 'input'), 'float32');
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, encodeModel(modelOf(b.graph, 13)));
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-einsum-'));
  const data = Float32Array.from({ length: 3 * size }, () => rand());
  await writeDataset(join(dir, 'data.h5'), data, [3, ...SAMPLE], [0, 1, 2]);
  writeModel('einsum', (b, x) => b.addNode('Einsum', [x, b.constant(weights, [CLASSES, ...SAMPLE])], { equation: attr.string('nchw,kchw->nk') })[0]!);
  writeModel('gemm', (b, x) => {
    const [flat] = b.addNode('Flatten', [x], { axis: attr.int(1) });
    return b.addNode('Gemm', [flat!, b.constant(weights, [CLASSES, size])], { transB: attr.int(1) })[0]!;
  });
  writeModel(
    'refused',
    (b, x) => b.addNode('Einsum', [x, b.constant(weights.subarray(0, CLASSES * 2), [CLASSES, 2])], { equation: attr.string('nchw,kc->nk') })[0]!,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function attribute(model: string): Promise<Float32Array> {
  const output = join(dir, `${model}.h5`);
  const result = await runCli([
    'attribute',
    '--model',
    join(dir, `${model}.onnx`),
    '--dataset',
    join(dir, 'data.h5'),
    '-o',
    output,
    '--quiet',
    '--composite',
    'epsilon-plus',
    '--epsilon',
    '1e-9',
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return (await readAttribution(output)).attribution;
}

describe('Einsum through the CLI', () => {
  it('a weight contraction over three labels is a dense layer: conserves and equals its Gemm twin', async () => {
    const einsum = await attribute('einsum');
    const gemm = await attribute('gemm');
    expect(einsum.length).toBe(3 * size);
    for (let s = 0; s < 3; s++) {
      const total = einsum.subarray(s * size, (s + 1) * size).reduce((t, v) => t + v, 0);
      expect(Math.abs(total - 1)).toBeLessThanOrEqual(1e-4);
    }
    for (let i = 0; i < einsum.length; i++) expect(einsum[i]).toBeCloseTo(gemm[i]!, 5);
  }, 60_000);

  it('an equation that sums a label over one operand is refused in one line naming the node and equation', async () => {
    const output = join(dir, 'refused.h5');
    const model = join(dir, 'refused.onnx');
    const result = await runCli(['attribute', '--model', model, '--dataset', join(dir, 'data.h5'), '-o', output, '--quiet']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^xai-tools: .*refused\.onnx: node "[^"]+" \(Einsum\): equation "nchw,kc->nk" is not supported: label h is summed over one operand only/,
    );
    expect(existsSync(output)).toBe(false);
  }, 60_000);
});
