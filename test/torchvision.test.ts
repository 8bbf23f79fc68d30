/**
 * torchvision architectures through the real CLI, random weights, small configurations and inputs:
 * the ONNX files are exported in the setup by test/models/make_torchvision.py (needs /usr/bin/python3
 * with torch, torchvision and onnx; .ci/run installs them), calibrated so the logits are O(1).
 *
 * For every CNN the epsilon-plus relevance (biases zeroed, ε = 0) must equal an independent float64
 * reference (test/models/lrp_reference.py: the rules written as PyTorch autograd functions, the
 * re-routing — split, shuffle, concat, pooling — left to PyTorch's autograd). ΣR = 1 is asserted
 * where the rules conserve; where they do not (CONSERVATION_GAPS) the reference agreement shows the
 * loss is the rule's, not the compiler's; on zeroed copies of the gated and depthwise ones (ZEROED_CNNS)
 * cp-lrp must conserve. ConvNeXt, ViT, Swin and MaxViT (small configurations) run
 * epsilon-plus and attn-lrp, and cp-lrp must conserve on copies with every bias, β, class token,
 * position embedding (and, for MaxViT's MBConv, BatchNorm running mean) zeroed. MaxViT's attention
 * is exported as Einsum (8 nodes), rewritten to MatMul when the model is read (src/onnx/einsum.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribution } from './attribute-data.js';
import { repoRoot, runCli } from './helpers/cli.js';

interface Spec {
  /** The second composite to run (finite, non-zero), with its options. */
  other: string[];
  /** Allowed Σ|ours − reference| / Σ|reference| of the epsilon-plus relevance (default 1e-3). */
  referenceTolerance?: number;
}

const BOX = ['--composite', 'epsilon-gamma-box', '--low', '0', '--high', '1'];
const CNNS: Record<string, Spec> = {
  squeezenet1_1: { other: BOX },
  resnet18: { other: BOX },
  mobilenet_v2: { other: BOX },
  alexnet: { other: BOX },
  vgg11_bn: { other: BOX },
  densenet: { other: BOX },
  googlenet: { other: BOX },
  inception_v3: { other: BOX },
  resnext: { other: BOX },
  wide_resnet: { other: BOX },
  efficientnet_b0: { other: BOX },
  efficientnet_v2_s: { other: BOX },
  // Sample 0's residual sums nearly cancel (|R| reaches ~900 inside while ΣR ≈ 2), so float32
  // rounding is amplified ~10³ against the float64 reference; sample 1 agrees to 1e-5.
  regnet_x_400mf: { other: BOX, referenceTolerance: 1e-2 },
  mnasnet0_5: { other: BOX },
  mobilenet_v3_small: { other: BOX },
  shufflenet_v2_x0_5: { other: BOX },
};

/**
 * Where epsilon-plus with biases zeroed does not conserve, and why (measured ΣR of the two samples;
 * the reference gives the same). z-plus drops the relevance of a unit whose positive contributions
 * are all zero: with the bias excluded from the rule, a unit switched on by its (folded BatchNorm)
 * bias alone, or a unit below zero whose relevance comes from the next layer's x⁻W⁻ term.
 * Depthwise 3×3 convolutions on the 1×1 and 2×2 maps of a 32-pixel input see one to four inputs,
 * so this happens at a large share of their units.
 */
const CONSERVATION_GAPS: Record<string, string> = {
  mobilenet_v2: 'ΣR 0.07 / 0.15: depthwise convolutions on 1×1–2×2 maps, units on by their BatchNorm bias',
  mnasnet0_5: 'ΣR 0.06 / 0.14: as mobilenet_v2',
  efficientnet_b0: 'ΣR 0.42 / 0.57: as mobilenet_v2 (3×3 and 5×5 depthwise on 1×1 maps lose about a third each)',
  mobilenet_v3_small: 'ΣR 0.61 / 0.74: as mobilenet_v2 (hard-swish)',
  efficientnet_v2_s: 'ΣR 0.997 / 0.995: as efficientnet_b0 (its MBConv block has a stride-2 depthwise 3×3 on an 8×8 map)',
  shufflenet_v2_x0_5: 'ΣR 0.05 / 0.02: depthwise convolution → BatchNorm → 1×1 convolution with no ReLU between, on maps down to 1×1',
  regnet_x_400mf: 'ΣR 1.87 / 0.97: grouped 3×3 convolutions (16 inputs per group) on 1×1 maps; negative relevance dropped',
  densenet: 'ΣR 0.9998 / 1.002: the 3×3 convolutions of the last dense block run on a 1×1 map (only the centre tap sees data)',
};

/** Small configurations of torchvision's ConvNeXt, ViT, Swin and MaxViT constructors (make_torchvision.py). */
const TRANSFORMERS = ['convnext', 'vit', 'swin', 'maxvit'];
const MODELS = [...Object.keys(CNNS), ...TRANSFORMERS];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-torchvision-'));
  try {
    execFileSync('/usr/bin/python3', [join(repoRoot, 'test', 'models', 'make_torchvision.py'), dir, ...MODELS], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(
      `exporting the torchvision models needs /usr/bin/python3 with torch, torchvision and onnx (apt: python3-torch python3-torchvision` +
        ` python3-onnx): ${String((error as { stderr?: Buffer }).stderr ?? error).slice(-400)}`,
    );
  }
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readReference(path: string): Promise<Float32Array> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'r');
  try {
    return (f.get('relevance') as h5wasm.Dataset).value as Float32Array;
  } finally {
    f.close();
  }
}

async function attributeFile(model: string, name: string, tag: string, args: string[]): Promise<{ attribution: Float32Array; prediction: Float32Array }> {
  const output = join(dir, `${name}.${tag}.h5`);
  const result = await runCli(['attribute', '--model', join(dir, model), '--dataset', join(dir, `${name}.h5`), '-o', output, '--quiet', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const read = await readAttribution(output);
  expect(read.attribution.every(Number.isFinite)).toBe(true);
  return read;
}
const attribute = async (name: string, tag: string, args: string[]): Promise<Float32Array> =>
  (await attributeFile(`${name}.onnx`, name, tag, args)).attribution;

const rows = (a: Float32Array): Float32Array[] => [0, 1].map((s) => a.subarray((s * a.length) / 2, ((s + 1) * a.length) / 2));
const sum = (a: Float32Array): number => a.reduce((t, v) => t + v, 0);
const absSum = (a: Float32Array): number => a.reduce((t, v) => t + Math.abs(v), 0);

describe('torchvision CNNs (random weights): epsilon-plus against the float64 reference', () => {
  for (const name of Object.keys(CNNS)) {
    it(`${name}: epsilon-plus equals the reference${CONSERVATION_GAPS[name] ? '' : ' and conserves relevance'}; ${CNNS[name]!.other[1]}` +
      ` is finite and non-zero`, async () => {
      const ours = await attribute(name, 'epsilon-plus', ['--composite', 'epsilon-plus', '--zero-params', 'bias', '--epsilon', '0']);
      const reference = await readReference(join(dir, `${name}.ref.h5`));
      expect(ours.length).toBe(reference.length);
      const tolerance = CNNS[name]!.referenceTolerance ?? 1e-3;
      const [o0, o1] = rows(ours);
      const [r0, r1] = rows(reference);
      for (const [o, r] of [
        [o0!, r0!],
        [o1!, r1!],
      ] as const) {
        expect(absSum(r)).toBeGreaterThan(1e-3);
        const error = o.reduce((t, v, i) => t + Math.abs(v - r[i]!), 0);
        expect(error / absSum(r)).toBeLessThanOrEqual(tolerance);
        if (!CONSERVATION_GAPS[name]) expect(Math.abs(sum(o) - 1)).toBeLessThanOrEqual(1e-3);
      }
      const other = await attribute(name, 'other', CNNS[name]!.other);
      for (const row of rows(other)) expect(absSum(row)).toBeGreaterThan(1e-6);
    }, 120_000);
  }
});

/** Gated and depthwise CNNs (make_torchvision.py's ZEROED_CNNS): cp-lrp conserves where epsilon-plus cannot. */
const ZEROED_CNNS = ['mobilenet_v2', 'mobilenet_v3_small', 'mnasnet0_5', 'efficientnet_b0', 'efficientnet_v2_s'];

/** cp-lrp on NAME.zeroed.onnx: the gradient form seeds the one-hot target, so ΣR is the target logit (spec: to 1e-4 relative). */
async function expectCpLrpConserves(name: string): Promise<void> {
  const zeroed = await attributeFile(`${name}.zeroed.onnx`, name, 'cp-lrp-zeroed', ['--composite', 'cp-lrp', '--epsilon', '1e-12']);
  const classes = zeroed.prediction.length / 2;
  rows(zeroed.attribution).forEach((row, s) => {
    const logit = zeroed.prediction[s * classes]!;
    expect(Math.abs(logit)).toBeGreaterThan(1e-2);
    expect(Math.abs(sum(row) - logit)).toBeLessThanOrEqual(1e-4 * Math.abs(logit));
  });
}

describe('torchvision gated and depthwise CNNs with every bias and BatchNorm mean zeroed', () => {
  for (const name of ZEROED_CNNS) {
    it(`${name}: cp-lrp conserves relevance (ΣR = target logit), although epsilon-plus does not`, () => expectCpLrpConserves(name), 120_000);
  }

  it('mobilenet_v2: cp-lrp with --epsilon 0 divides 0 by 0 at dead units: one line, exit 1, no file, never NaN rows', async () => {
    const output = join(dir, 'mobilenet_v2.epsilon0.h5');
    const args = ['attribute', '--model', join(dir, 'mobilenet_v2.zeroed.onnx'), '--dataset', join(dir, 'mobilenet_v2.h5'), '-o', output, '--quiet'];
    const r = await runCli([...args, '--composite', 'cp-lrp', '--epsilon', '0']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        String.raw`^xai-tools: .*mobilenet_v2\.zeroed\.onnx: the relevance of \d of the batch's 2 samples is not finite ` +
          String.raw`\(\d+ NaN or ±Inf values, the first at sample 0\): a rule divided by zero; ` +
          String.raw`give --epsilon \(or --stabilizer\) a positive value$`,
      ),
    );
    expect(existsSync(output)).toBe(false);
  }, 120_000);
});

describe('torchvision ConvNeXt, ViT, Swin, MaxViT (small configurations, random weights)', () => {
  for (const name of TRANSFORMERS) {
    it(`${name}: epsilon-plus and attn-lrp finite and non-zero; cp-lrp conserves relevance with biases, β, class token and position` +
      ` embeddings zeroed`, async () => {
      for (const [tag, args] of [
        ['epsilon-plus', ['--composite', 'epsilon-plus']],
        ['attn-lrp', ['--composite', 'attn-lrp']],
      ] as const) {
        const attribution = await attribute(name, tag, [...args]);
        for (const row of rows(attribution)) expect(absSum(row)).toBeGreaterThan(1e-6);
      }
      await expectCpLrpConserves(name);
    }, 120_000);
  }
});
