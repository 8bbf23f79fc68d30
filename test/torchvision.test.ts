/**
 * torchvision architectures through the real CLI, random weights, smallest practical input: the
 * ONNX files are exported in the setup by test/models/make_torchvision.py (needs /usr/bin/python3
 * with torch, torchvision and onnx; .ci/run installs them). Only two architectures so far (see the
 * notes of issue 11: several others run but lose almost all relevance with random weights, which
 * is not yet understood, so they are not claimed here).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribution } from './attribute-data.js';
import { repoRoot, runCli } from './helpers/cli.js';

const MODELS = ['squeezenet1_1', 'resnet18'];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-torchvision-'));
  try {
    execFileSync('/usr/bin/python3', [join(repoRoot, 'test', 'models', 'make_torchvision.py'), dir, ...MODELS], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(`exporting the torchvision models needs /usr/bin/python3 with torch, torchvision and onnx (apt: python3-torch python3-torchvision python3-onnx): ${String((error as { stderr?: Buffer }).stderr ?? error).slice(-400)}`);
  }
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('torchvision classifiers (random weights) attributed with epsilon-plus', () => {
  for (const name of MODELS) {
    it(`${name}: finite, non-zero relevance`, async () => {
      const output = join(dir, `${name}.attr.h5`);
      const result = await runCli(['attribute', '--model', join(dir, `${name}.onnx`), '--dataset', join(dir, `${name}.h5`), '-o', output, '--quiet', '--composite', 'epsilon-plus']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const a = await readAttribution(output);
      expect(a.attribution.every(Number.isFinite)).toBe(true);
      const size = a.attribution.length / 2;
      for (let s = 0; s < 2; s++) {
        const row = a.attribution.subarray(s * size, (s + 1) * size);
        expect(row.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeGreaterThan(1e-6);
        // squeezenet has no bias-absorbing linear bottleneck: measured ΣR = 0.9997 with biases.
        if (name === 'squeezenet1_1') expect(Math.abs(row.reduce((t, v) => t + v, 0) - 1)).toBeLessThanOrEqual(1e-2);
      }
    }, 120_000);
  }
});
