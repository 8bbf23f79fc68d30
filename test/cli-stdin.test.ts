/**
 * `-` as an input means stdin where the input is one stream: canonize's model, project check's YAML,
 * spray's label map and pipeline configuration, attribute's rule map. Each is compared with the same
 * command given the file's path. HDF5 inputs (random access) and files a project links by path are
 * refused with one line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribution } from './attribute-data.js';
import { repoRoot, runCli } from './helpers/cli.js';

let dir: string;
const model = join(repoRoot, 'fixtures', 'clever-hans', 'model.onnx');
const projectDir = join(repoRoot, 'fixtures', 'h5py');
const projectFile = join(projectDir, 'project-images.yaml');
const dataset = join(repoRoot, 'fixtures', 'clever-hans', 'dataset.h5');
const labelMap = join(repoRoot, 'fixtures', 'clever-hans', 'label-map.json');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-stdin-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('canonize -', () => {
  it('reads the model from stdin and writes the same bytes as from the file', async () => {
    const fromFile = await runCli(['canonize', model, '-o', join(dir, 'file.onnx')]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fromStdin = await runCli(['canonize', '-', '-o', join(dir, 'stdin.onnx'), '--json'], { input: readFileSync(model) });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(readFileSync(join(dir, 'stdin.onnx')).equals(readFileSync(join(dir, 'file.onnx')))).toBe(true);
    const report = JSON.parse(fromStdin.stdout);
    expect(report.input).toBeNull();
    expect(report.changes.length).toBeGreaterThan(0);
  });

  it('stdin to stdout: a filter in a pipe', async () => {
    const r = await runCli(['canonize', '-', '-o', '-'], { input: readFileSync(model) });
    expect(r.code, r.stderr).toBe(0);
    const fromFile = await runCli(['canonize', model, '-o', '-']);
    expect(r.stdout.length).toBeGreaterThan(1000);
    expect(r.stdout).toBe(fromFile.stdout);
  });

  it('bytes that are no ONNX model: one line naming <stdin>, exit 1, nothing written', async () => {
    const out = join(dir, 'bad.onnx');
    const r = await runCli(['canonize', '-', '-o', out], { input: Buffer.from('not a model at all') });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^xai-tools: <stdin>: /);
    expect(() => readFileSync(out)).toThrow();
  });
});

describe('project check -', () => {
  it('checks YAML from stdin with paths from the working directory, as the file form does', async () => {
    const fromFile = await runCli(['project', 'check', projectFile, '--json']);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fromStdin = await runCli(['project', 'check', '-', '--json'], { cwd: projectDir, input: readFileSync(projectFile) });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toEqual(JSON.parse(fromFile.stdout));
  });

  it('from another working directory the relative paths do not resolve: an error naming <stdin>', async () => {
    const r = await runCli(['project', 'check', '-'], { cwd: dir, input: readFileSync(projectFile) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xai-tools: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('invalid YAML on stdin names <stdin>', async () => {
    const r = await runCli(['project', 'check', '-'], { input: 'project: [unclosed' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xai-tools: <stdin>: invalid YAML/);
  });
});

describe('text inputs from stdin: rule map, label map, pipeline configuration', () => {
  const rules = 'rules:\n  - match: convolution\n    rule: z-plus\n  - match: dense\n    rule: epsilon\n    params: {epsilon: 0.5}\n';
  let attributions: string;
  beforeAll(async () => {
    writeFileSync(join(dir, 'rules.yaml'), rules);
    attributions = join(dir, 'rules-file.h5');
    const r = await runCli([
      'attribute',
      '--model',
      model,
      '--dataset',
      dataset,
      '--indices',
      '0:96',
      '--rules',
      join(dir, 'rules.yaml'),
      '-q',
      '-o',
      attributions,
    ]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('attribute --rules -: the same attributions as --rules FILE', async () => {
    const out = join(dir, 'rules-stdin.h5');
    const r = await runCli(['attribute', '--model', model, '--dataset', dataset, '--indices', '0:96', '--rules', '-', '-q', '-o', out], { input: rules });
    expect(r.code, r.stderr).toBe(0);
    const [a, b] = await Promise.all([readAttribution(attributions), readAttribution(out)]);
    expect(Buffer.from(b.attribution.buffer).equals(Buffer.from(a.attribution.buffer))).toBe(true);
    // And the rule map was applied: the default composite gives other values.
    const plain = join(dir, 'no-rules.h5');
    expect((await runCli(['attribute', '--model', model, '--dataset', dataset, '--indices', '0:96', '-q', '-o', plain])).code).toBe(0);
    expect(Buffer.from((await readAttribution(plain)).attribution.buffer).equals(Buffer.from(a.attribution.buffer))).toBe(false);
  }, 120_000);

  it('spray --label-map - and --config -: the same ranking as from the files', async () => {
    const config = 'tasks:\n  embedding: {EigenDecomposition: {n_eigval: 8}}\n';
    writeFileSync(join(dir, 'spray.yaml'), config);
    const args = (lm: string, cfg: string, out: string) => [
      'spray',
      attributions,
      '--label-map',
      lm,
      '--config',
      cfg,
      '--clusters',
      '2:3',
      '--json',
      '-q',
      '-o',
      join(dir, out),
    ];
    const fromFiles = await runCli(args(labelMap, join(dir, 'spray.yaml'), 'files.h5'));
    expect(fromFiles.code, fromFiles.stderr).toBe(0);
    const labelFromStdin = await runCli(args('-', join(dir, 'spray.yaml'), 'lm-stdin.h5'), { input: readFileSync(labelMap) });
    expect(labelFromStdin.code, labelFromStdin.stderr).toBe(0);
    const configFromStdin = await runCli(args(labelMap, '-', 'cfg-stdin.h5'), { input: config });
    expect(configFromStdin.code, configFromStdin.stderr).toBe(0);
    const ranked = (stdout: string) => JSON.parse(stdout).categories;
    expect(ranked(fromFiles.stdout).map((r: { label: string }) => r.label)).toContain('three');
    expect(ranked(labelFromStdin.stdout)).toEqual(ranked(fromFiles.stdout));
    expect(ranked(configFromStdin.stdout)).toEqual(ranked(fromFiles.stdout));
  }, 180_000);

  it('two inputs from one stdin, an HDF5 file from stdin, a project-linked file from stdin: one line each', async () => {
    const both = await runCli(['spray', attributions, '--label-map', '-', '--config', '-', '-q', '-o', join(dir, 'both.h5')], {
      input: readFileSync(labelMap),
    });
    expect(both.code).toBe(1);
    expect(both.stderr.trim()).toBe('xai-tools: <stdin>: is already read as a label map; only one input can come from stdin');
    const h5 = await runCli(['spray', '-', '-q', '-o', join(dir, 'h5.h5')], { input: readFileSync(attributions) });
    expect(h5.code).toBe(1);
    expect(h5.stderr.trim()).toBe('xai-tools: <stdin>: an HDF5 file cannot be read from stdin (HDF5 needs random access); save it to a file and name that');
    const linked = await runCli(['project', 'init', '--name', 'p', '--model', 'm', '--dataset', dataset, '--label-map', '-', '-o', join(dir, 'p.yaml')], {
      input: readFileSync(labelMap),
    });
    expect(linked.code).toBe(2);
    expect(linked.stderr.trim()).toMatch(/^xai-tools: --label-map: '-' \(stdin\) cannot be linked from a project/);
  });
});
