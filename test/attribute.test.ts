/**
 * `xai-tools attribute` end to end on real files: outputs, targets, attributors, and bad input
 * (each a one-line error, exit 1, no output file left behind).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attr, GraphBuilder, modelOf } from '../src/onnx/builder.js';
import { writeModel } from '../src/onnx/codec.js';
import { runCli } from './helpers/cli.js';
import { conformanceDir, readAttribution, readReference, relativeErrors, writeDataset, type Reference } from './attribute-data.js';

let dir: string;
let cnn: Reference;
let cnnData: string;
let mlpData: string;
const cnnModel = join(conformanceDir, 'cnn_bn.onnx');
const mlpModel = join(conformanceDir, 'mlp_bn.onnx');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-attribute-'));
  cnn = await readReference(join(conformanceDir, 'cnn_bn.h5'));
  cnnData = join(dir, 'cnn.h5');
  await writeDataset(cnnData, cnn.input, cnn.shape, cnn.target);
  const mlp = await readReference(join(conformanceDir, 'mlp_bn.h5'));
  mlpData = join(dir, 'mlp.h5');
  await writeDataset(mlpData, mlp.input, mlp.shape, mlp.target);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const attribute = (args: string[]) => runCli(['attribute', ...args]);

describe('attribute', () => {
  it('documents every option with its default', async () => {
    const r = await attribute(['--help']);
    expect(r.code).toBe(0);
    for (const option of [
      '--composite',
      '--rules',
      '--attributor',
      '--low',
      '--high',
      '--epsilon',
      '--gamma',
      '--alpha',
      '--beta',
      '--stabilizer',
      '--beta-smooth',
      '--steps',
      '--baseline',
      '--noise-level',
      '--samples',
      '--window',
      '--stride',
      '--target',
      '--batch-size',
      '--no-canonize',
      '--quiet',
    ]) {
      expect(r.stdout).toContain(option);
    }
    expect(r.stdout.match(/default/g)!.length).toBeGreaterThanOrEqual(20);
  });

  it('writes attribution, label and prediction (= logits) rows in batches', async () => {
    const output = join(dir, 'default.h5');
    const r = await attribute(['--model', cnnModel, '--dataset', cnnData, '-o', output, '--batch-size', '3']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`wrote 4 rows to ${output}`);
    const out = await readAttribution(output);
    expect(out.shape).toEqual([4, 3, 32, 32]);
    expect(Array.from(out.label)).toEqual(Array.from(cnn.target));
    const logits = (await import('h5wasm/node')).default;
    await logits.ready;
    const f = new logits.File(join(conformanceDir, 'cnn_bn.h5'), 'r');
    const reference = (f.get('logits') as import('h5wasm').Dataset).value as Float32Array;
    f.close();
    for (const e of relativeErrors(out.prediction, reference, 4)) expect(e).toBeLessThan(1e-5);
    // Default composite epsilon-plus-flat on the reference case.
    for (const e of relativeErrors(out.attribution, cnn.relevance.get('epsilon_plus_flat')!, 4)) expect(e).toBeLessThan(1e-4);
  });

  it('--target prediction and --target <class> pick the seed class', async () => {
    const byClass = join(dir, 'class2.h5');
    expect((await attribute(['--model', mlpModel, '--dataset', mlpData, '-o', byClass, '--composite', 'none', '--target', '2', '-q'])).code).toBe(0);
    const byPrediction = join(dir, 'prediction.h5');
    expect((await attribute(['--model', mlpModel, '--dataset', mlpData, '-o', byPrediction, '--composite', 'none', '--target', 'prediction', '-q'])).code).toBe(
      0,
    );
    const a = await readAttribution(byClass);
    const p = await readAttribution(byPrediction);
    expect(a.shape).toEqual([4, 20]);
    // The gradient of logit c w.r.t. a linear-ish model differs per class; prediction = arg-max rows.
    const classes = p.prediction.length / 4;
    for (let i = 0; i < 4; i++) {
      const row = Array.from(p.prediction.subarray(i * classes, (i + 1) * classes));
      const best = row.indexOf(Math.max(...row));
      const single = join(dir, `pred-${i}.h5`);
      expect((await attribute(['--model', mlpModel, '--dataset', mlpData, '-o', single, '--composite', 'none', '--target', String(best), '-q'])).code).toBe(0);
      const s = await readAttribution(single);
      expect(Array.from(p.attribution.subarray(i * 20, (i + 1) * 20))).toEqual(Array.from(s.attribution.subarray(i * 20, (i + 1) * 20)));
    }
  });

  it('runs SmoothGrad with a composite and occlusion with logit scores', async () => {
    const sg = join(dir, 'sg.h5');
    expect(
      (
        await attribute([
          '--model',
          cnnModel,
          '--dataset',
          cnnData,
          '-o',
          sg,
          '--attributor',
          'smoothgrad',
          '--samples',
          '3',
          '--composite',
          'epsilon-plus',
          '-q',
        ])
      ).code,
    ).toBe(0);
    const out = await readAttribution(sg);
    expect(out.attribution.every(Number.isFinite)).toBe(true);
    const occ = join(dir, 'occ.h5');
    expect(
      (await attribute(['--model', cnnModel, '--dataset', cnnData, '-o', occ, '--attributor', 'occlusion', '--window', '16', '--stride', '16', '-q'])).code,
    ).toBe(0);
    const o = await readAttribution(occ);
    // 4 windows of 16×16 over all channels: each pixel carries its window's target logit.
    expect(new Set(Array.from(o.attribution.subarray(0, 3 * 32 * 32)).map((v) => v.toFixed(6))).size).toBe(4);
  });

  it('--no-canonize keeps batch norms (Pass), which changes the LRP result', async () => {
    const plain = join(dir, 'nocanon.h5');
    expect((await attribute(['--model', mlpModel, '--dataset', mlpData, '-o', plain, '--composite', 'epsilon-plus', '--no-canonize', '-q'])).code).toBe(0);
    const reference = await readReference(join(conformanceDir, 'mlp_bn.h5'));
    const errors = relativeErrors((await readAttribution(plain)).attribution, reference.relevance.get('epsilon_plus')!, 4);
    expect(Math.max(...errors)).toBeGreaterThan(1e-3);
  });

  describe('bad input: one line, exit 1, no output file', () => {
    // An error about an option (--composite, --target, --low/--high) is a usage error: exit 2.
    const expectFailure = async (args: string[], message: RegExp, outputName: string, code = 1) => {
      const output = join(dir, outputName);
      const r = await attribute([...args, '-o', output]);
      expect(r.code).toBe(code);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^xai-tools: /);
      expect(r.stderr).toMatch(message);
      expect(existsSync(output)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.includes(outputName) && f.includes('.tmp-'))).toEqual([]);
    };

    it('a model that is not ONNX', async () => {
      const fake = join(dir, 'fake.onnx');
      writeFileSync(fake, 'this is not a model');
      await expectFailure(['--model', fake, '--dataset', cnnData], /fake\.onnx: not an ONNX model/, 'e1.h5');
    });

    it('ops the compiler cannot handle, all listed in one line with their counts (hand-built graph with Sin, Cos)', async () => {
      const b = new GraphBuilder();
      const x = b.addInput('input', 'float32', ['batch', 3, 32, 32]);
      const [c] = b.addNode('Conv', [x, b.constant(new Array(3 * 3 * 9).fill(0.1), [3, 3, 3, 3])], { pads: attr.ints([1, 1, 1, 1]) }, 1, { name: 'conv' });
      const [s1] = b.addNode('Sin', [c!], {}, 1, { name: 'sin1' });
      const [c1] = b.addNode('Cos', [s1!], {}, 1, { name: 'cos' });
      const [n] = b.addNode('Sin', [c1!], {}, 1, { name: 'sin2' });
      const [f] = b.addNode('Flatten', [n!], {}, 1, { name: 'flatten' });
      const [y] = b.addNode('Gemm', [f!, b.constant(new Array(10 * 3072).fill(0.01), [10, 3072])], { transB: attr.int(1) }, 1, { name: 'fc' });
      b.addOutput(y!, 'float32');
      const path = join(dir, 'trig.onnx');
      await writeModel(path, modelOf(b.graph, 13));
      await expectFailure(
        ['--model', path, '--dataset', cnnData],
        /trig\.onnx: unsupported ops Sin ×2 \(node "sin1", …; no op record in src\/lrp\/ops\.ts\), Cos ×1 \(node "cos"; /,
        'e2.h5',
      );
    });

    it('a dataset whose samples do not fit the model input', async () => {
      await expectFailure(['--model', mlpModel, '--dataset', cnnData], /expects samples of shape \(20\), the data has \(3, 32, 32\)/, 'e3.h5');
    });

    it('an unknown composite', async () => {
      await expectFailure(['--model', cnnModel, '--dataset', cnnData, '--composite', 'epsilon-minus'], /unknown composite "epsilon-minus"/, 'e4.h5', 2);
    });

    it('an unknown rule in a rule map', async () => {
      const rules = join(dir, 'unknown-rule.yaml');
      writeFileSync(rules, 'rules:\n  - match: convolution\n    rule: z-minus\n');
      await expectFailure(['--model', cnnModel, '--dataset', cnnData, '--rules', rules], /unknown-rule\.yaml: rules\[0\]: unknown rule "z-minus"/, 'e5.h5');
    });

    it('malformed rule maps', async () => {
      const cases: Array<[string, RegExp]> = [
        ['rules: [\n  - match: x', /not valid YAML/],
        ['rules:\n  - match: convolution\n', /malformed rule map: rules\.0\.rule/],
        ['rules:\n  - match: convolutions\n    rule: epsilon\n', /unknown layer kind/],
        ['rules:\n  - match: dense\n    rule: epsilon\n    params: {epsilon: "big"}\n', /rule epsilon: epsilon/],
        ['rules:\n  - match: convolution\n    rule: alpha-beta\n    params: {alpha: 2, beta: 2}\n', /alpha - beta must be 1/],
        ['layers: []\n', /malformed rule map/],
      ];
      for (const [i, [text, message]] of cases.entries()) {
        const rules = join(dir, `malformed-${i}.yaml`);
        writeFileSync(rules, text);
        await expectFailure(['--model', cnnModel, '--dataset', cnnData, '--rules', rules], message, `e6-${i}.h5`);
      }
    });

    it('a rule that does not fit its node', async () => {
      const rules = join(dir, 'misfit.yaml');
      writeFileSync(rules, 'rules:\n  - match: maxpool\n    rule: z-plus\n');
      await expectFailure(['--model', cnnModel, '--dataset', cnnData, '--rules', rules], /MaxPool.*rule z-plus needs a linear layer/, 'e7.h5');
    });

    it('epsilon-gamma-box without bounds, and a class outside the model', async () => {
      await expectFailure(['--model', cnnModel, '--dataset', cnnData, '--composite', 'epsilon-gamma-box'], /needs --low and --high/, 'e8.h5', 2);
      await expectFailure(['--model', cnnModel, '--dataset', cnnData, '--target', '10'], /class 10 is outside the model's 10 classes/, 'e9.h5', 2);
    });
  });

  it('a malformed option value is a usage error (exit 2)', async () => {
    const r = await attribute(['--model', cnnModel, '--dataset', cnnData, '-o', join(dir, 'u.h5'), '--batch-size', 'zero']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("xai-tools: --batch-size: must be an integer from 1 to 65536 (got 'zero') (see xai-tools attribute --help)");
  });
});
