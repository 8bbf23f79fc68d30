/**
 * `-` as an input means stdin where the input is one stream: canonize's model and project check's
 * YAML. Each is compared with the same command given the file's path.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';

let dir: string;
const model = join(repoRoot, 'fixtures', 'clever-hans', 'model.onnx');
const projectDir = join(repoRoot, 'fixtures', 'h5py');
const projectFile = join(projectDir, 'project-images.yaml');

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
