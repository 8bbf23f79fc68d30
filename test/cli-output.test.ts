// Unix conventions through the real CLI: `project init -o -` writes the YAML (and only it) to stdout,
// `--json` prints one JSON document, logs stay on stderr, `--version` is answered without the engines.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openAttributionSet } from '../src/io/attribution.js';
import { decodeModel } from '../src/onnx/codec.js';
import { cliPath, repoRoot, runCli, sharedDir } from './helpers/cli.js';

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
    // A usage error: exit 2, one line pointing at --help.
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    expect(both.stderr).toBe('xai-tools: --json: cannot be combined with -o - (stdout already carries the output) (see xai-tools project init --help)\n');
  });
});

/** Like runCli, but stdout as bytes (runCli decodes it as text, which would mangle a PNG or an ONNX model). */
/** The CLI's temporary directory in these runs: its own, so other test files' runs cannot show up in it. */
const cliTmp = mkdtempSync(join(tmpdir(), 'xai-cli-output-tmp-'));

function runCliBytes(args: string[], cwd = repoRoot): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: cliTmp } });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(chunks), stderr }));
  });
}

const attributions = join(work, 'attributions.h5');
const model = join(sharedDir, 'conformance', 'lrp', 'cnn_bn.onnx');

describe('--json on attribute, spray, canonize, heatmap', () => {
  let attributeJson: Record<string, unknown>;
  beforeAll(async () => {
    const run = await runCli([
      'attribute',
      '--model',
      join(fixture, 'model.onnx'),
      '--dataset',
      join(fixture, 'dataset.h5'),
      '-o',
      attributions,
      '--indices',
      '0:120',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    attributeJson = JSON.parse(run.stdout);
    // The text report stays on stderr.
    expect(run.stderr).toContain(`wrote 120 rows to ${attributions}`);
  });

  it('attribute --json: rows, output and targets as the text report says; a finished --resume says so', async () => {
    expect(attributeJson).toMatchObject({
      rows: 120,
      computed: 120,
      samples: 120,
      numClasses: 6,
      skipped: [],
      output: attributions,
      alreadyComplete: false,
      target: 'label',
    });
    expect(attributeJson.composite).toBe('epsilon-plus-flat');
    const reader = await openAttributionSet([attributions]);
    expect(reader.count).toBe(attributeJson.rows);
    reader.close();
    const args = ['attribute', '--model', join(fixture, 'model.onnx'), '--dataset', join(fixture, 'dataset.h5'), '-o', attributions, '--indices', '0:120'];
    const again = await runCli([...args, '--resume', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      output: attributions,
      alreadyComplete: true,
      target: 'label',
      attributor: 'gradient',
      composite: 'epsilon-plus-flat',
      rules: null,
    });
  });

  it('spray --json: the ranking and per-category summary, in the order of the text table', async () => {
    const args = ['spray', attributions, '--label-map', join(fixture, 'label-map.json'), '--clusters', '2,3', '--algorithms', 'kmeans', '--embeddings', 'none'];
    const run = await runCli([...args, '-o', join(work, 'spray.h5'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('done in');
    const doc = JSON.parse(run.stdout);
    expect(doc.output).toBe(join(work, 'spray.h5'));
    expect(doc.categories).toHaveLength(6);
    expect(doc.categories.map((c: { rank: number }) => c.rank)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(doc.categories.reduce((n: number, c: { samples: number }) => n + c.samples, 0)).toBe(120);
    const suspicions = doc.categories.map((c: { suspicion: number }) => c.suspicion);
    expect(suspicions).toEqual([...suspicions].sort((a, b) => b - a));
    const labels = JSON.parse(readFileSync(join(fixture, 'label-map.json'), 'utf8'));
    for (const c of doc.categories) {
      expect(c.status).toBe('analysed');
      expect(typeof c.groups).toBe('number');
      expect(c.label.length).toBeGreaterThan(0);
      expect(JSON.stringify(labels)).toContain(c.label);
    }
    // The text table lists the same categories in the same order with the same figures.
    const table = await runCli([...args, '-o', join(work, 'spray-text.h5')]);
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/));
    expect(rows.map((r) => r[1])).toEqual(doc.categories.map((c: { category: string }) => c.category));
    expect(rows.map((r) => Number(r.at(-2)))).toEqual(doc.categories.map((c: { suspicion: number }) => Number(c.suspicion.toFixed(4))));
  });

  it('canonize --json lists what it changed; -o - writes the same canonical model to stdout, past the overwrite guard', async () => {
    const out = join(work, 'canonical.onnx');
    const run = await runCli(['canonize', model, '-o', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({ input: model, output: out, passes: { 'merge-batchnorm': 3 }, nodes: 12, nodesBefore: 15 });
    expect(doc.changes).toHaveLength(3);
    expect(decodeModel(readFileSync(out)).graph.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(false);
    // A file named '-' in the working directory is neither written nor refused as an existing output.
    writeFileSync(join(work, '-'), 'keep me');
    const piped = await runCliBytes(['canonize', model, '-o', '-'], work);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.equals(readFileSync(out))).toBe(true);
    expect(piped.stderr).toContain('wrote stdout (12 nodes, was 15)');
    expect(readFileSync(join(work, '-'), 'utf8')).toBe('keep me');
    const both = await runCli(['canonize', model, '-o', '-', '--json']);
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    expect(both.stderr).toMatch(/^xai-tools: --json: cannot be combined with -o - .*\n$/);
  });

  it('heatmap --json names the images and the manifest; -o - writes one PNG to stdout and refuses several', async () => {
    const dir = join(work, 'heatmaps');
    const run = await runCli(['heatmap', attributions, '-o', dir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({ output: dir, images: 120, manifest: join(dir, 'heatmaps.csv') });
    expect(doc.files).toHaveLength(120);
    expect(readdirSync(dir).filter((f) => f.endsWith('.png'))).toHaveLength(120);
    for (const f of doc.files) expect(existsSync(f.file)).toBe(true);

    const one = doc.files.find((f: { indices: number[] }) => f.indices[0] === 7);
    const piped = await runCliBytes(['heatmap', attributions, '-o', '-', '--indices', '7', '-q'], work);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.equals(readFileSync(one.file))).toBe(true);
    expect(readFileSync(join(work, '-'), 'utf8')).toBe('keep me');

    const sheet = await runCliBytes(['heatmap', attributions, '-o', '-', '--indices', '0:9', '--grid', 'auto', '-q']);
    expect(sheet.code, sheet.stderr).toBe(0);
    const meta = await sharp(sheet.stdout).metadata();
    expect(meta.format).toBe('png');
    // Nine samples, auto grid: floor(√9) = 3 columns of 28×28 tiles, one sheet.
    expect([meta.width, meta.height]).toEqual([3 * 28, 3 * 28]);

    const several = await runCliBytes(['heatmap', attributions, '-o', '-', '--indices', '0:9', '--grid', '2x2']);
    expect(several.code).toBe(2);
    expect(several.stdout.length).toBe(0);
    expect(several.stderr).toMatch(/^xai-tools: -o: - writes one file to stdout, but this run would write 3 images; .*\n$/);
    expect(readdirSync(cliTmp)).toEqual([]);
  });
});

describe('--version', () => {
  it('prints the package version', async () => {
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${(await import('../package.json', { with: { type: 'json' } })).default.version}\n`);
  });
});
