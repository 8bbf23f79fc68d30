// End-to-end: the cluster chain of docs/cluster.md on the clever-hans fixture, through the real CLI:
// attribute --shard → spray --shard (explicit I/N and from SLURM_ARRAY_TASK_ID) → project init over the
// shard files (one analysis) → project check → serve, and every refusal of a bad shard set.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { rawGet, startServe } from './browser/server-process.js';
import { repoRoot, runCli } from './helpers/cli.js';

const fixture = join(repoRoot, 'fixtures', 'clever-hans');
const labelMap = join(fixture, 'label-map.json');
/** `project init` on the fixture, up to the attribution and analysis options each test adds. */
const PROJECT_INIT = ['project', 'init', '--name', 'hans', '--model', 'cnn', '--dataset', join(fixture, 'dataset.h5'), '--label-map', labelMap];
/** Small settings so six categories take seconds; every kind of output (embedding, clusterings) is still written. */
const SETTINGS = ['--label-map', labelMap, '--n-eigval', '6', '--clusters', '2:4', '--algorithms', 'kmeans,hdbscan', '--embeddings', 'tsne', '-q'];
/** No shard index from the test runner's own environment. */
const NO_INDEX = { SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '' };
const CATEGORIES = ['00000000', '00000001', '00000002', '00000003', '00000004', '00000005'];

let dir: string;
let attributions: string[];
let full: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-spray-shard-'));
  mkdirSync(join(dir, 'attr'));
  mkdirSync(join(dir, 'spray'));
  await h5wasm.ready;
  // The attribution shards come from `attribute --shard 2`, as on the cluster (index from Slurm's variable).
  for (const index of ['0', '1']) {
    const r = await runCli(
      [
        'attribute',
        '--model',
        join(fixture, 'model.onnx'),
        '--dataset',
        join(fixture, 'dataset.h5'),
        '--composite',
        'epsilon-gamma-box',
        '--low',
        '0',
        '--high',
        '1',
        '--target',
        'label',
        '--indices',
        '0:600',
        '--shard',
        '2',
        '--shard-block',
        '50',
        '-q',
        '-o',
        join(dir, 'attr', 'attribution-{shard}.h5'),
      ],
      { env: { ...NO_INDEX, SLURM_ARRAY_TASK_ID: index } },
    );
    expect(r.code, r.stderr).toBe(0);
  }
  attributions = [join(dir, 'attr', 'attribution-0.h5'), join(dir, 'attr', 'attribution-1.h5')];
  full = join(dir, 'full.h5');
  const r = await runCli(['spray', ...attributions, ...SETTINGS, '-o', full], { env: NO_INDEX });
  expect(r.code, r.stderr).toBe(0);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type H5 = InstanceType<typeof h5wasm.File>;
function withFile<T>(path: string, read: (f: H5) => T): T {
  const f = new h5wasm.File(path, 'r');
  try {
    return read(f);
  } finally {
    f.close();
  }
}
const rootAttr = (path: string, name: string) => withFile(path, (f) => f.attrs[name]?.value);
const keys = (path: string) => withFile(path, (f) => f.keys());
/** h5dump of one category group: equal text = bitwise equal data, same dtypes, shapes and attributes. */
const dumpGroup = (path: string, group: string) =>
  execFileSync('h5dump', ['-g', `/${group}`, path], { encoding: 'utf8', maxBuffer: 1 << 28 })
    .split('\n')
    .slice(1)
    .join('\n');

async function spray(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(['spray', ...attributions, ...SETTINGS, ...args], { env: { ...NO_INDEX, ...env } });
}

function expectOneLineError(result: { code: number | null; stderr: string }, code: number, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^xai-tools: /);
  expect(lines[0]).toMatch(pattern);
}

describe('spray --shard', () => {
  const shardFile = (i: number) => join(dir, 'spray', `spray-${i}.h5`);
  beforeAll(async () => {
    const first = await spray(['--shard', '0/2', '-o', join(dir, 'spray', 'spray-{shard}.h5')]);
    expect(first.code, first.stderr).toBe(0);
    // The second task takes its index from Slurm's variable, as an array job does.
    const second = await spray(['--shard', '2', '-o', join(dir, 'spray', 'spray-{shard}.h5')], { SLURM_ARRAY_TASK_ID: '1' });
    expect(second.code, second.stderr).toBe(0);
  }, 300_000);

  it('splits the sorted categories into N contiguous runs, so the shard files in order list them as the unsharded file does', () => {
    expect(keys(full)).toEqual(CATEGORIES);
    expect(keys(shardFile(0))).toEqual(['00000000', '00000001', '00000002']);
    expect(keys(shardFile(1))).toEqual(['00000003', '00000004', '00000005']);
  });

  it('writes every category bitwise as the unsharded run does (index, embeddings, clusterings, attributes)', () => {
    for (const [position, category] of CATEGORIES.entries()) {
      const dump = dumpGroup(shardFile(position < 3 ? 0 : 1), category);
      expect(dump).toContain('DATASET "spectral"');
      expect(dump).toContain('DATASET "kmeans-02"');
      expect(dump).toBe(dumpGroup(full, category));
    }
  });

  it('records the shard and one fingerprint for the whole run (the unsharded file has the same, and no shard)', () => {
    expect(rootAttr(shardFile(0), 'spray_shard')).toBe('0/2');
    expect(rootAttr(shardFile(1), 'spray_shard')).toBe('1/2');
    expect(rootAttr(full, 'spray_shard')).toBeUndefined();
    const fingerprint = rootAttr(full, 'spray_fingerprint');
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(rootAttr(shardFile(0), 'spray_fingerprint')).toBe(fingerprint);
    expect(rootAttr(shardFile(1), 'spray_fingerprint')).toBe(fingerprint);
  });

  it('JOB_COMPLETION_INDEX gives the index too ({shards} in -o, inputs as a pattern: no shell in a Job; the same data as from' +
    ' SLURM_ARRAY_TASK_ID)', async () => {
    const fromKubernetes = join(dir, 'k8s-{shard}-of-{shards}.h5');
    const r = await runCli(['spray', join(dir, 'attr', 'attribution-*.h5'), ...SETTINGS, '--shard', '2', '--json', '-o', fromKubernetes], {
      env: { ...NO_INDEX, JOB_COMPLETION_INDEX: '1' },
    });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { output: string; categories: Array<{ category: string }> };
    expect(report.output).toBe(join(dir, 'k8s-1-of-2.h5'));
    expect(report.categories.map((c) => c.category).sort()).toEqual(['00000003', '00000004', '00000005']);
    for (const category of keys(shardFile(1))) expect(dumpGroup(report.output, category)).toBe(dumpGroup(shardFile(1), category));
  }, 120_000);

  it('project init takes the shard files as one analysis (a pattern), project check passes, serve lists every category', async () => {
    const project = join(dir, 'project.yaml');
    const init = await runCli([
      ...PROJECT_INIT,
      '--attributions',
      ...attributions,
      '--attribution-method',
      'LRP EpsilonGammaBox',
      '--attribution-strategy',
      'true_label',
      '--analysis',
      `spectral_analysis=${join(dir, 'spray', 'spray-*.h5')}`,
      '-o',
      project,
    ]);
    expect(init.code, init.stderr).toBe(0);
    const yaml = parse(readFileSync(project, 'utf8')) as { project: { analyses: Array<{ analysis_method: string; sources: string[] }> } };
    expect(yaml.project.analyses).toEqual([{ analysis_method: 'spectral_analysis', sources: ['spray/spray-0.h5', 'spray/spray-1.h5'] }]);

    const check = await runCli(['project', 'check', '--json', project]);
    expect(check.code, check.stderr).toBe(0);
    const summary = JSON.parse(check.stdout) as { ok: boolean; analyses: Array<{ method: string; categories: number; files: string[] }> };
    expect(summary.ok).toBe(true);
    expect(summary.analyses).toHaveLength(1);
    expect(summary.analyses[0]!.categories).toBe(6);

    const serve = await startServe([project]);
    try {
      const listed = JSON.parse((await rawGet(serve.port, '/api/projects')).text) as Array<{ id: string }>;
      const details = JSON.parse((await rawGet(serve.port, `/api/projects/${listed[0]!.id}`)).text) as {
        analyses: Array<{ name: string; categories: Array<{ name: string; count: number }> }>;
      };
      expect(details.analyses.map((a) => a.name)).toEqual(['spectral_analysis']);
      expect(details.analyses[0]!.categories.map((c) => c.name)).toEqual(CATEGORIES);
      // Each category answers with its own shard's data.
      for (const category of CATEGORIES) {
        const res = await rawGet(serve.port, `/api/projects/${listed[0]!.id}/analyses/spectral_analysis/categories/${category}`);
        expect(res.status).toBe(200);
        const count = withFile(full, (f) => (f.get(`${category}/index`) as InstanceType<typeof h5wasm.Dataset>).shape![0]);
        expect((JSON.parse(res.text) as { count: number }).count).toBe(count);
      }
    } finally {
      await serve.stop();
    }
  }, 120_000);
});

describe('refusals', () => {
  const init = (analysisArgs: string[]) =>
    runCli([...PROJECT_INIT, ...analysisArgs.flatMap((a) => ['--analysis', `spectral_analysis=${a}`]), '-o', join(dir, 'refused.yaml')]);
  const shard0 = () => join(dir, 'spray', 'spray-0.h5');
  const shard1 = () => join(dir, 'spray', 'spray-1.h5');

  it('overlapping files: an unsharded file beside shards, one file twice, one shard from two tasks', async () => {
    expectOneLineError(await init([shard0(), shard1(), full]), 1, new RegExp(`^xai-tools: ${full}: category '00000000' is also in ${shard0()};`));
    expectOneLineError(await init([shard0(), shard0(), shard1()]), 1, new RegExp(`^xai-tools: ${shard0()}: is listed twice in analysis 'spectral_analysis'`));
    const copy = join(dir, 'k8s-1-of-2.h5');
    expectOneLineError(await init([shard0(), shard1(), copy]), 1, new RegExp(`^xai-tools: ${copy}: is shard 1/2 again \\(so is ${shard1()}\\)$`));
    expect(existsSync(join(dir, 'refused.yaml'))).toBe(false);
  });

  it('shards of different runs: other parameters, other attribution files', async () => {
    const otherSeed = join(dir, 'seed-1.h5');
    const r = await spray(['--shard', '1/2', '--seed', '1', '-o', otherSeed]);
    expect(r.code, r.stderr).toBe(0);
    expectOneLineError(
      await init([shard0(), otherSeed]),
      1,
      new RegExp(`^xai-tools: ${otherSeed}: was computed from other attribution files or spray parameters than ${shard0()}`),
    );

    const oneFile = join(dir, 'one-attribution-file.h5');
    const s = await runCli(['spray', attributions[1]!, ...SETTINGS, '--shard', '1/2', '-o', oneFile], { env: NO_INDEX });
    expect(s.code, s.stderr).toBe(0);
    expectOneLineError(await init([shard0(), oneFile]), 1, /one-attribution-file\.h5: was computed from other attribution files/);

    const three = join(dir, 'three-{shard}.h5');
    expect((await spray(['--shard', '2/3', '-o', three])).code).toBe(0);
    expectOneLineError(await init([shard0(), join(dir, 'three-2.h5')]), 1, /three-2\.h5: is shard 2\/3, but .*spray-0\.h5 is one of 2 shards/);
  }, 180_000);

  it('an incomplete set of shards', async () => {
    expectOneLineError(await init([shard0()]), 1, new RegExp(`^xai-tools: ${shard0()}: is shard 0/2, but analysis 'spectral_analysis' lacks shard 1 of 2$`));
    // project check refuses it as well (a hand-written project).
    const r = await init([shard0(), shard1()]);
    expect(r.code, r.stderr).toBe(0);
    const broken = join(dir, 'broken.yaml');
    const text = readFileSync(join(dir, 'refused.yaml'), 'utf8').replace(/\n\s+- spray\/spray-1\.h5/, '');
    expect(text).not.toContain('spray-1.h5');
    writeFileSync(broken, text);
    expectOneLineError(await runCli(['project', 'check', broken]), 1, /spray-0\.h5: is shard 0\/2, but analysis 'spectral_analysis' lacks shard 1 of 2/);
    // serve leaves that analysis out and says why (the rest of the project is served).
    const serve = await startServe([broken]);
    try {
      const listed = JSON.parse((await rawGet(serve.port, '/api/projects')).text) as Array<{ analyses: string[] }>;
      expect(listed[0]!.analyses).toEqual([]);
      expect(serve.stderr()).toMatch(
        /spray-0\.h5: is shard 0\/2, but analysis 'spectral_analysis' lacks shard 1 of 2 \(analysis 'spectral_analysis' not served\)/,
      );
    } finally {
      await serve.stop();
    }
    rmSync(join(dir, 'refused.yaml'));
  });

  it('bad shard strings, no index, an empty shard, {shard} without --shard, an existing shard output', async () => {
    const out = join(dir, 'bad-{shard}.h5');
    expectOneLineError(await spray(['--shard', '2/2', '-o', out]), 2, /--shard: shard index 2 is not below the shard count 2/);
    expectOneLineError(await spray(['--shard', 'a/b', '-o', out]), 2, /--shard: expected I\/N/);
    expectOneLineError(await spray(['--shard', '0/0', '-o', out]), 2, /--shard: the number of shards must be at least 1/);
    expectOneLineError(
      await spray(['--shard', '4', '-o', out]),
      2,
      /--shard: no shard index given \(I\/N\) and none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX is set/,
    );
    expectOneLineError(await spray(['--shard', '4', '-o', out], { SLURM_ARRAY_TASK_ID: 'x' }), 2, /--shard: SLURM_ARRAY_TASK_ID='x' is not a shard index/);
    expectOneLineError(await spray(['--shard', '6/7', '-o', out]), 2, /--shard: shard 6\/7 gets no category: there are only 6 \(use at most 6 shards\)/);
    expectOneLineError(await spray(['-o', out]), 2, /-o: .*uses \{shard\} but no --shard was given/);
    expectOneLineError(
      await spray(['--cache', join(dir, 'cache-{shard}.h5'), '-o', join(dir, 'plain.h5')]),
      2,
      /--cache: .*uses \{shard\} but no --shard was given/,
    );
    expect(existsSync(join(dir, 'plain.h5'))).toBe(false);
    expect(existsSync(join(dir, 'bad-6.h5'))).toBe(false);
    expectOneLineError(
      await spray(['--shard', '0/2', '-o', join(dir, 'spray', 'spray-{shard}.h5')]),
      1,
      new RegExp(`^xai-tools: ${shard0()}: already exists; use --overwrite`),
    );
    expectOneLineError(await init([join(dir, 'spray', 'nothing-*.h5')]), 1, /nothing-\*\.h5: no file matches this pattern/);
    // An output among the files a pattern expands to is refused, --overwrite or not.
    const input = attributions[1]!;
    const asOutput = await runCli(['spray', join(dir, 'attr', 'attribution-*.h5'), ...SETTINGS, '--overwrite', '-o', input], { env: NO_INDEX });
    expectOneLineError(asOutput, 1, new RegExp(`^xai-tools: ${input}: is also an input of this command`));
    expect(readFileSync(input).subarray(0, 8).toString('latin1')).toBe('\x89HDF\r\n\x1a\n');
  }, 120_000);
});
