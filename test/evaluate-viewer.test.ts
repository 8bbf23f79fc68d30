/**
 * Evaluation files in projects: `project init --evaluations` links them, `project check` validates
 * them, and `serve` answers each sample's AOPC (what the page colours points by and shows on hover).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvaluation } from '../src/io/evaluation.js';
import { rawGet, startServe } from './browser/server-process.js';
import { repoRoot, runCli } from './helpers/cli.js';

const fixture = join(repoRoot, 'fixtures', 'clever-hans');
let dir: string;
let evaluation: string;
let projectFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-evaluate-viewer-'));
  const attribution = join(dir, 'epsilon-plus.h5');
  const model = join(fixture, 'model.onnx');
  const dataset = join(fixture, 'dataset.h5');
  expect(
    (await runCli(['attribute', '--model', model, '--dataset', dataset, '--composite', 'epsilon-plus', '--indices', '10:40', '-q', '-o', attribution])).code,
  ).toBe(0);
  evaluation = join(dir, 'evaluation.h5');
  const r = await runCli(['evaluate', '--model', model, '--dataset', dataset, attribution, '--patch', '7', '--steps', '4', '-q', '-o', evaluation]);
  expect(r.code, r.stderr).toBe(0);
  projectFile = join(dir, 'project.yaml');
  const init = await runCli([
    'project',
    'init',
    '--name',
    'Hans eval',
    '--model',
    'cnn',
    '--dataset',
    dataset,
    '--label-map',
    join(fixture, 'label-map.json'),
    '--attributions',
    attribution,
    '--attribution-method',
    'LRP',
    '--attribution-strategy',
    'true_label',
    '--evaluations',
    evaluation,
    '-o',
    projectFile,
  ]);
  expect(init.code, init.stderr).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evaluations in projects and the viewer', () => {
  it('project init writes the evaluations key (relative path) and project check lists its methods', async () => {
    expect(readFileSync(projectFile, 'utf8')).toMatch(/evaluations:\n\s+- evaluation\.h5/);
    const check = await runCli(['project', 'check', projectFile]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/evaluations: 1\n\s+\S*evaluation\.h5: epsilon-plus, random/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(projectFile, 'utf8').replace('- evaluation.h5', '- epsilon-plus.h5'));
    const bad = await runCli(['project', 'check', broken]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/epsilon-plus\.h5: not an xai-tools evaluation file/);
  });

  it('serve answers every evaluated sample with its AOPC per method', async () => {
    const serve = await startServe([projectFile]);
    try {
      const r = await rawGet(serve.port, '/api/projects/hans-eval/evaluation');
      expect(r.status).toBe(200);
      const body = JSON.parse(r.text) as { methods: Array<{ name: string; order: string; mean: number; index: number[]; aopc: number[] }> };
      const file = await readEvaluation(evaluation);
      expect(body.methods.map((m) => [m.name, m.order])).toEqual([
        ['epsilon-plus', 'morf'],
        ['random', 'random'],
      ]);
      const m = body.methods[0]!;
      expect(m.index).toEqual(Array.from({ length: 30 }, (_, i) => 10 + i));
      expect(m.aopc).toHaveLength(30);
      m.aopc.forEach((v, i) => expect(v).toBeCloseTo(file.groups[0]!.aopc[i]!, 5));
      expect(m.mean).toBeCloseTo(m.aopc.reduce((a, b) => a + b, 0) / 30, 6);
      expect((await rawGet(serve.port, '/api/projects/nope/evaluation')).status).toBe(404);
    } finally {
      await serve.stop();
    }
  });
});
