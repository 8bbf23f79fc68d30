import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModel } from '../src/onnx/codec.js';
import { runModel } from '../src/onnx/ort.js';
import { conformanceData, conformanceDir, conformanceModels, fixtureIo, fixturesDir, maxRelativeDifference } from '../src/onnx/testing.js';
import { runCli } from './helpers/cli.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'xai-canonize-'));

describe('xai-tools canonize', () => {
  for (const { name } of conformanceModels) {
    for (const variant of ['', '.folded']) {
      const file = `${name}${variant}.onnx`;
      it(`canonizes ${file}: no BatchNormalization left after a linear layer, same logits`, async () => {
        const out = join(tempDir(), 'canonical.onnx');
        const r = await runCli(['canonize', join(conformanceDir, file), '-o', out]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`wrote ${out}`);
        const original = readModel(join(conformanceDir, file));
        const canonical = readModel(out);
        expect(canonical.graph.nodes.map((n) => n.opType)).not.toContain('BatchNormalization');
        const bnCount = original.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length;
        expect((r.stdout.match(/merge-batchnorm: merged BatchNormalization/g) ?? []).length).toBe(bnCount);
        const { input, inputDims, logits } = await conformanceData(name);
        const result = (await runModel(canonical, { input: { data: input, dims: inputDims } })).get('logits')!;
        expect(result.dims).toEqual([4, logits.length / 4]);
        expect(maxRelativeDifference(result.data, logits)).toBeLessThan(1e-5);
      });
    }
  }

  it('keeps BatchNormalization nodes with --no-merge-batchnorm', async () => {
    const out = join(tempDir(), 'kept.onnx');
    const r = await runCli(['canonize', join(conformanceDir, 'cnn_bn.onnx'), '-o', out, '--no-merge-batchnorm']);
    expect(r.code).toBe(0);
    expect(readModel(out).graph.nodes.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(3);
    const { input, inputDims, logits } = await conformanceData('cnn_bn');
    expect(maxRelativeDifference((await runModel(readModel(out), { input: { data: input, dims: inputDims } })).get('logits')!.data, logits)).toBeLessThan(1e-5);
  });

  it('canonizes a torch export with SiLU, MatMul+Add, ConvTranspose→BN and a trailing Softmax', async () => {
    const dir = tempDir();
    const { inputShape, input, output } = fixtureIo('zoo_op17');
    const feeds = { input: { data: input, dims: inputShape } };

    const kept = join(dir, 'kept.onnx');
    const r1 = await runCli(['canonize', join(fixturesDir, 'zoo_op17.onnx'), '-o', kept, '--keep-softmax']);
    expect(r1.code).toBe(0);
    for (const line of ['fuse-dense: fused MatMul', 'into ConvTranspose', 'silu: recognised', 'kept BatchNormalization /bn_in/BatchNormalization'])
      expect(r1.stdout).toContain(line);
    const keptModel = readModel(kept);
    expect(keptModel.graph.nodes.map((n) => n.opType)).toContain('Softmax');
    expect(keptModel.graph.nodes.every((n) => n.domain === '')).toBe(true);
    expect(maxRelativeDifference((await runModel(keptModel, feeds)).get('logits')!.data, output)).toBeLessThan(1e-5);

    const stripped = join(dir, 'stripped.onnx');
    const r2 = await runCli(['canonize', join(fixturesDir, 'zoo_op17.onnx'), '-o', stripped]);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toContain('strip-softmax: removed trailing Softmax');
    const logits = (await runModel(readModel(stripped), feeds)).get('logits')!;
    // softmax(logits) is the original output.
    const classes = logits.dims[1]!;
    const probs = new Float32Array(logits.data.length);
    for (let row = 0; row < logits.dims[0]!; row++) {
      const slice = logits.data.subarray(row * classes, (row + 1) * classes);
      const max = Math.max(...slice);
      const exps = Array.from(slice, (v) => Math.exp(v - max));
      const total = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, i) => (probs[row * classes + i] = e / total));
    }
    expect(maxRelativeDifference(probs, output)).toBeLessThan(1e-5);
  });

  it('folds the x.view(x.size(0), -1) chain with --input-shape', async () => {
    const out = join(tempDir(), 'view.onnx');
    const r = await runCli(['canonize', join(fixturesDir, 'view_net_op13.onnx'), '-o', out, '--input-shape', '2,3,7,7']);
    expect(r.code).toBe(0);
    const ops = readModel(out).graph.nodes.map((n) => n.opType);
    expect(ops).toEqual(['Conv', 'Relu', 'MaxPool', 'Reshape', 'Gemm', 'Relu', 'Gemm']);
    const { inputShape, input, output } = fixtureIo('view_net_op13');
    expect(maxRelativeDifference((await runModel(readModel(out), { input: { data: input, dims: inputShape } })).get('logits')!.data, output)).toBeLessThan(
      1e-5,
    );
  });

  it('rejects an --input-shape that does not fit the model input (usage error: exit 2, no output)', async () => {
    const dir = tempDir();
    const r = await runCli(['canonize', join(fixturesDir, 'view_net_op13.onnx'), '-o', join(dir, 'o.onnx'), '--input-shape', '2,4,7,7']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('xai-tools: --input-shape: [2, 4, 7, 7] does not fit the model input input [batch, 3, 7, 7] (see xai-tools canonize --help)\n');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a missing model in one line, exits 1 and writes nothing', async () => {
    const dir = tempDir();
    const r = await runCli(['canonize', join(dir, 'nope.onnx'), '-o', join(dir, 'out.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`xai-tools: ${join(dir, 'nope.onnx')}: no such file\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a file that is not ONNX in one line, exits 1 and writes nothing', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'definitely not a protobuf model\n');
    const r = await runCli(['canonize', bad, '-o', join(dir, 'out.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^xai-tools: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not an ONNX model`));
    expect(existsSync(join(dir, 'out.onnx'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['bad.onnx']);
  });

  it('reports an unwritable output in one line and exits 1', async () => {
    const dir = tempDir();
    const r = await runCli(['canonize', join(conformanceDir, 'mlp_bn.onnx'), '-o', join(dir, 'missing-dir', 'out.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xai-tools: .*out\.onnx: cannot write the model/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 without -o or with a malformed --input-shape, and documents every option in --help', async () => {
    expect((await runCli(['canonize', join(conformanceDir, 'mlp_bn.onnx')])).code).toBe(2);
    expect((await runCli(['canonize', join(conformanceDir, 'mlp_bn.onnx'), '-o', join(tempDir(), 'x.onnx'), '--input-shape', '1,a'])).code).toBe(2);
    const help = await runCli(['canonize', '--help']);
    expect(help.code).toBe(0);
    for (const option of ['--output', '--no-merge-batchnorm', '--keep-softmax', '--input-shape', '--quiet']) expect(help.stdout).toContain(option);
  });
});
