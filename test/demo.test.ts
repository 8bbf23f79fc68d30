// End-to-end test of the Clever-Hans demo: the shipped fixture is what its README says, the demo
// script runs the real chain (canonize → attribute → spray → heatmap → project init) on it, and
// the chain finds the planted shortcut. Also checks that the Makefile agrees with the script and
// rebuilds only what a changed input invalidates.
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { openH5, type Dataset, type Group } from '../src/io/hdf5.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { DEMO_CHAIN_TIMEOUT_MS, demoChain } from './helpers/demo-chain.js';

const fixtureDir = join(repoRoot, 'fixtures', 'clever-hans');
const exampleDir = join(repoRoot, 'examples', 'clever-hans');

interface FixtureInfo {
  classes: string[];
  artifact_class: number;
  samples: number;
  stamped_indices: number[];
  torch_predictions: number[];
  torch_logits_first8: number[][];
  metrics: Record<string, unknown>;
}
const info = JSON.parse(readFileSync(join(fixtureDir, 'fixture.json'), 'utf8')) as FixtureInfo;
const artifactClass = info.artifact_class;
const artifactName = info.classes[artifactClass]!;
const categoryName = String(artifactClass).padStart(8, '0');

describe('clever-hans fixture', () => {
  it('has the dataset layout of docs/formats.md §3.1 with the stamped samples listed in fixture.json', async () => {
    const file = await openH5(join(fixtureDir, 'dataset.h5'), 'r');
    try {
      const data = file.get('data') as Dataset;
      expect(data.shape).toEqual([info.samples, 3, 28, 28]);
      expect(data.dtype).toBe('<B');
      const label = file.get('label') as Dataset;
      expect(label.dtype).toBe('<H');
      const labels = Array.from(label.value as Uint16Array);
      expect(new Set(labels)).toEqual(new Set(info.classes.map((_, i) => i)));
      const artifact = Array.from((file.get('artifact') as Dataset).value as Uint8Array);
      const stamped = artifact.flatMap((flag, i) => (flag ? [i] : []));
      expect(stamped).toEqual(info.stamped_indices);
      // Only the artifact class carries the tag, about half of it.
      expect(stamped.every((i) => labels[i] === artifactClass)).toBe(true);
      const classSize = labels.filter((l) => l === artifactClass).length;
      expect(stamped.length / classSize).toBeGreaterThan(0.4);
      expect(stamped.length / classSize).toBeLessThan(0.6);
    } finally {
      file.close();
    }
  });

  it('model.onnx gives the same predictions in onnxruntime-node as in torch', async () => {
    const file = await openH5(join(fixtureDir, 'dataset.h5'), 'r');
    const pixels = (file.get('data') as Dataset).value as Uint8Array;
    file.close();
    const session = await ort.InferenceSession.create(join(fixtureDir, 'model.onnx'), { intraOpNumThreads: 1, logSeverityLevel: 3 });
    const sampleSize = 3 * 28 * 28;
    const numClasses = info.classes.length;
    const batch = 400;
    let mismatches = 0;
    for (let start = 0; start < info.samples; start += batch) {
      const n = Math.min(batch, info.samples - start);
      const input = new Float32Array(n * sampleSize);
      for (let i = 0; i < input.length; i++) input[i] = pixels[start * sampleSize + i]! / 255;
      const out = await session.run({ input: new ort.Tensor('float32', input, [n, 3, 28, 28]) });
      const logits = out.logits!.data as Float32Array;
      for (let r = 0; r < n; r++) {
        const row = logits.subarray(r * numClasses, (r + 1) * numClasses);
        const predicted = row.indexOf(Math.max(...row));
        if (predicted !== info.torch_predictions[start + r]) mismatches++;
        if (start + r < info.torch_logits_first8.length) {
          info.torch_logits_first8[start + r]!.forEach((v, c) => expect(row[c]).toBeCloseTo(v, 3));
        }
      }
    }
    await session.release();
    expect(mismatches).toBe(0);
  });
});

describe('npm run demo (without serve)', () => {
  let out: string;
  let stdout = '';

  // The chain's outputs are shared with test/browser/demo.test.ts: whichever file comes first runs it.
  beforeAll(async () => {
    ({ out, stdout } = await demoChain());
  }, DEMO_CHAIN_TIMEOUT_MS);

  it('prints every step as a copyable xai-tools command and writes every output', () => {
    for (const cmd of ['canonize', 'attribute', 'spray', 'heatmap', 'project init']) expect(stdout).toContain(`$ xai-tools ${cmd}`);
    for (const f of ['model.canonical.onnx', 'attribution.h5', 'analysis.h5', 'heatmaps/heatmaps.csv', 'project.yaml']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
  });

  it('writes a project that passes project check', async () => {
    const check = await runCli(['project', 'check', join(out, 'project.yaml')]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
  });

  it('renders a heatmap grid of every sample of the artifact class', () => {
    const csv = readFileSync(join(out, 'heatmaps', 'heatmaps.csv'), 'utf8')
      .trim()
      .split('\n');
    const classSize = info.torch_predictions.length / info.classes.length;
    expect(csv.length - 1).toBe(classSize); // header + one row per sample
    const png = readFileSync(join(out, 'heatmaps', csv[1]!.split(',')[0]!));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('finds the artifact: a k-means cluster (k ≤ 6) of the artifact class is ≥ 90 % stamped and holds ≥ 50 % of the stamped', async () => {
    const stamped = new Set(info.stamped_indices);
    const file = await openH5(join(out, 'analysis.h5'), 'r');
    const found: string[] = [];
    try {
      const category = file.get(categoryName) as Group;
      const index = Array.from((category.get('index') as Dataset).value as ArrayLike<number>, Number);
      const total = index.filter((s) => stamped.has(s)).length;
      expect(total).toBe(stamped.size);
      for (let k = 2; k <= 6; k++) {
        const name = `kmeans-${String(k).padStart(2, '0')}`;
        const labels = Array.from((category.get(`cluster/${name}`) as Dataset).value as ArrayLike<number>, Number);
        expect(labels.length).toBe(index.length);
        for (const cluster of new Set(labels)) {
          const members = index.filter((_, row) => labels[row] === cluster);
          const hits = members.filter((s) => stamped.has(s)).length;
          if (hits / members.length >= 0.9 && hits / total >= 0.5)
            found.push(`${name} cluster ${cluster}: ${hits}/${members.length} stamped, ${((100 * hits) / total).toFixed(0)} % of the stamped`);
        }
      }
    } finally {
      file.close();
    }
    expect(found, 'no k-means clustering with k ≤ 6 isolates the stamped samples').not.toEqual([]);
  });

  it('ranks the artifact class among the three most suspicious in the table spray prints', () => {
    // spray's table ends at the first blank line (evaluate's ranked table follows later).
    const table = stdout.slice(stdout.lastIndexOf('rank  category')).split('\n\n')[0]!;
    const ranked = table
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => /^\d+$/.test(cols[0] ?? ''))
      .map((cols) => cols[2]);
    expect(ranked).toHaveLength(info.classes.length);
    expect(ranked.slice(0, 3)).toContain(artifactName);
  });

  it('Makefile: the demo outputs are up to date; a newer model re-runs canonize and everything after; a newer label map only spray and project init', () => {
    const make = (args: string[]) => spawnSync('make', ['-C', exampleDir, `OUT=${out}`, ...args], { encoding: 'utf8' });
    // demo.sh wrote the same files in dependency order, so make has nothing to do.
    expect(make(['-q']).status).toBe(0);

    const inputs = mkdtempSync(join(tmpdir(), 'xai-demo-inputs-'));
    try {
      const newer = (name: string): string => {
        const copy = join(inputs, name);
        copyFileSync(join(fixtureDir, name), copy);
        const later = new Date(statSync(join(out, 'project.yaml')).mtimeMs + 10_000);
        utimesSync(copy, later, later);
        return copy;
      };
      const steps = (dryRun: string): string[] =>
        ['canonize', 'attribute', 'spray', 'heatmap', 'evaluate', 'project init'].filter((cmd) => dryRun.includes(`xai-tools.js ${cmd}`));

      const model = make(['-n', `MODEL=${newer('model.onnx')}`]);
      expect(model.status).toBe(0);
      expect(steps(model.stdout)).toEqual(['canonize', 'attribute', 'spray', 'heatmap', 'evaluate', 'project init']);
      // attribution.h5 and the two step-4b attributions; each recipe replaces its output.
      const attributes = model.stdout.split('xai-tools.js ').filter((command) => command.startsWith('attribute '));
      expect(attributes).toHaveLength(3);
      expect(attributes.filter((command) => !command.includes('--overwrite'))).toEqual([]);

      const labelMap = make(['-n', `LABELMAP=${newer('label-map.json')}`]);
      expect(labelMap.status).toBe(0);
      expect(steps(labelMap.stdout)).toEqual(['spray', 'project init']);
    } finally {
      rmSync(inputs, { recursive: true, force: true });
    }
  });

  it(
    'Makefile, run for real on a copy of the outputs: a newer label map rebuilds analysis.h5 and project.yaml only, a newer model' +
      ' every output, then nothing is left to do',
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'xai-make-'));
      try {
        const copy = join(work, 'out');
        cpSync(out, copy, { recursive: true, preserveTimestamps: true });
        mkdirSync(join(work, 'inputs'));
        // A fresh copy is newer than every (copied, timestamp-preserving) output.
        const newer = (name: string): string => {
          const file = join(work, 'inputs', name);
          copyFileSync(join(fixtureDir, name), file);
          return file;
        };
        const outputs = [
          'model.canonical.onnx',
          'attribution.h5',
          'gradient.h5',
          'epsilon-plus.h5',
          'analysis.h5',
          'heatmaps/heatmaps.csv',
          'evaluation.h5',
          'project.yaml',
        ];
        const mtimes = () => new Map(outputs.map((o) => [o, statSync(join(copy, o)).mtimeMs]));
        const make = (vars: string[], extra: string[] = []) =>
          promisify(execFile)('make', ['-C', exampleDir, `OUT=${copy}`, ...vars, ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
        const rebuilt = (before: Map<string, number>) => {
          const after = mtimes();
          return outputs.filter((o) => after.get(o)! > before.get(o)!);
        };

        const labelMap = `LABELMAP=${newer('label-map.json')}`;
        let before = mtimes();
        await make([labelMap]);
        expect(rebuilt(before)).toEqual(['analysis.h5', 'project.yaml']);

        const model = `MODEL=${newer('model.onnx')}`;
        before = mtimes();
        await make([labelMap, model]);
        expect(rebuilt(before)).toEqual(outputs);

        // Up to date now: `make -q` exits 0 (it exits 1 when something would be rebuilt).
        await expect(make([labelMap, model], ['-q'])).resolves.toBeDefined();
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    DEMO_CHAIN_TIMEOUT_MS,
  );
});
