// Unix conventions through the real CLI: `project init -o -` writes the YAML (and only it) to stdout,
// `--json` prints one JSON document, logs stay on stderr, `--version` is answered without the engines.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, runCli } from './helpers/cli.js';

const fixture = join(repoRoot, 'fixtures', 'clever-hans');
const work = mkdtempSync(join(tmpdir(), 'xai-cli-output-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const init = ['project', 'init', '--name', 'hans', '--model', 'cnn', '--dataset', join(fixture, 'dataset.h5'), '--label-map', join(fixture, 'label-map.json')];

describe('project init / check', () => {
  it('-o - writes the project YAML to stdout with paths relative to the current directory; the summary goes to stderr', async () => {
    const run = await runCli([...init, '-o', '-'], { cwd: work });
    expect(run.code).toBe(0);
    const project = parse(run.stdout).project;
    expect(project.name).toBe('hans');
    expect(join(work, project.dataset.path)).toBe(join(fixture, 'dataset.h5'));
    expect(run.stderr).toContain('dataset: hdf5, 3600 samples');
    // What went to stdout is a project `check` accepts.
    writeFileSync(join(work, 'project.yaml'), run.stdout);
    const check = await runCli(['project', 'check', '--json', 'project.yaml'], { cwd: work });
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ name: 'hans', samples: 3600, classes: 6, ok: true, attributions: [] });
  });

  it('--json prints one document; combined with -o - it is a one-line error', async () => {
    const run = await runCli([...init, '--json', '-o', join(work, 'p.yaml')]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name: 'hans', output: join(work, 'p.yaml'), sampleShape: [3, 28, 28] });
    const both = await runCli([...init, '--json', '-o', '-']);
    // A usage error: exit 2 and the hint, as for every option problem.
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    expect(both.stderr).toBe('xai-tools: --json: cannot be combined with -o - (stdout already carries the output) (see xai-tools project init --help)\n');
  });
});

describe('--version', () => {
  it('prints the package version', async () => {
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${(await import('../package.json', { with: { type: 'json' } })).default.version}\n`);
  });
});
