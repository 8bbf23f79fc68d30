// The package as a user gets it: `npm pack`, then `npm install -g`, `npm install` in another project and
// `npx --package`, each from the tarball with no ONNXRUNTIME_NODE_* variable set and only the npm registry
// to reach (the packages come from the local npm cache where they are there). Then the installed CLI
// attributes real samples, the library is imported and a script is type-checked against the shipped .d.ts.
// About 2 minutes on the 2-core development machine (pack ~20 s, each install ~20 s).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openH5, type Dataset } from '../src/io/hdf5.js';
import { repoRoot } from './helpers/cli.js';

const fixture = join(repoRoot, 'fixtures', 'clever-hans');
const work = mkdtempSync(join(tmpdir(), 'xai-install-'));
// What a user's shell has: none of the switches onnxruntime-node's install script reads (CI sets one).
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/onnxruntime_node/i.test(k))) as NodeJS.ProcessEnv;
const npm = (args: string[], cwd = work): string => execFileSync('npm', [...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let tarball = '';
let packed: Array<{ path: string }> = [];
let bundled: string[] = [];

beforeAll(() => {
  // dist/ is built by the test setup; pack without prepack's rebuild so that other test files keep
  // running the same dist/, but with prepack's other step (setting aside onnxruntime-node's hook).
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'pack-ort.mjs'), 'strip']);
  try {
    const out = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], repoRoot))[0];
    tarball = join(work, out.filename);
    packed = out.files;
    bundled = out.bundled;
  } finally {
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'pack-ort.mjs'), 'restore']);
  }
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships what runs and nothing else', () => {
    const paths = packed.map((f) => f.path);
    const own = paths.filter((p) => !p.startsWith('node_modules/'));
    expect(own).toContain('LICENSE');
    expect(own).toContain('dist/index.d.ts');
    expect(own).toContain('dist/web/index.html');
    expect(own.filter((p) => p.endsWith('.map') || /testing\.(js|d\.ts)$/.test(p) || p.includes('.test.'))).toEqual([]);
    expect(own.filter((p) => p.startsWith('src/') || p.startsWith('test/'))).toEqual([]);
    expect(bundled).toContain('onnxruntime-node');
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(manifest.scripts.prepack).toMatch(/npm run build/);
    // The developer's node_modules got its hook back.
    expect(JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).scripts.postinstall).toBeDefined();
  });
});

describe('installed from the tarball', () => {
  it('npm install -g: the CLI runs and attributes real samples', async () => {
    const prefix = join(work, 'global');
    npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball]);
    const bin = join(prefix, 'bin', 'xai-tools');
    const ort = join(prefix, 'lib', 'node_modules', 'xai-tools', 'node_modules', 'onnxruntime-node', 'package.json');
    expect(JSON.parse(readFileSync(ort, 'utf8')).scripts?.postinstall).toBeUndefined();
    const help = spawnSync(bin, ['--help'], { env, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('attribute');
    const output = join(work, 'attribution.h5');
    const run = spawnSync(
      bin,
      ['attribute', '--model', join(fixture, 'model.onnx'), '--dataset', join(fixture, 'dataset.h5'), '--indices', '0:8', '--threads', '1', '-o', output],
      { env, encoding: 'utf8' },
    );
    expect(run.stderr).toContain('wrote 8 rows');
    expect(run.status).toBe(0);
    const file = await openH5(output, 'r');
    try {
      expect((file.get('attribution') as Dataset).shape).toEqual([8, 3, 28, 28]);
    } finally {
      file.close();
    }
  }, 240_000);

  it('npx --package <tarball> xai-tools runs', () => {
    const cache = npm(['config', 'get', 'cache']).trim();
    const before = new Set(existsSync(join(cache, '_npx')) ? readdirSync(join(cache, '_npx')) : []);
    try {
      const run = spawnSync('npx', ['--yes', '--prefer-offline', '--package', tarball, 'xai-tools', '--version'], { cwd: work, env, encoding: 'utf8' });
      expect(run.stderr).not.toMatch(/ERR!/);
      expect(run.stdout.trim()).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
    } finally {
      // npx keeps what it installed under the npm cache, keyed by the (temporary) tarball path: drop it.
      for (const entry of existsSync(join(cache, '_npx')) ? readdirSync(join(cache, '_npx')) : []) {
        if (!before.has(entry)) rmSync(join(cache, '_npx', entry), { recursive: true, force: true });
      }
    }
  }, 240_000);

  it('npm install in another project: import works and a script type-checks against the shipped .d.ts', () => {
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', type: 'module', private: true }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
    const script = `
import { attributeBatches, createAttributor, openDataset, readLabelMap, renderHeatmapPng, serveProjects, type AttributedBatch } from 'xai-tools';
const dir = ${JSON.stringify(fixture)};
const labels = readLabelMap(dir + '/label-map.json');
const dataset = await openDataset({ type: 'hdf5', path: dir + '/dataset.h5' });
const attributor = await createAttributor(dir + '/model.onnx', { batchSize: 4, composite: 'epsilon-plus-flat' });
const seen: number[] = [];
let last: AttributedBatch | undefined;
for await (const batch of attributeBatches(attributor, dataset, {
  indices: [0, 1, 2, 3, 4, 5],
  onProgress: (done) => seen.push(done),
  signal: AbortSignal.timeout(60_000),
})) last = batch;
const png: Uint8Array = renderHeatmapPng(last!.relevance.subarray(0, 3 * 28 * 28), [3, 28, 28]);
await attributor.close();
dataset.close();
console.log(JSON.stringify({
  classes: labels.entries.length,
  seen,
  rows: last!.indices.length,
  png: Buffer.from(png.subarray(1, 4)).toString(),
  serve: typeof serveProjects,
}));
`;
    writeFileSync(join(project, 'script.ts'), script);
    writeFileSync(
      join(project, 'script.mjs'),
      script
        .replace(', type AttributedBatch', '')
        .replace(': number[]', '')
        .replace(': AttributedBatch | undefined', '')
        .replace(': Uint8Array', '')
        .replace(/!\./g, '.'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(repoRoot, 'node_modules', '@types')],
        },
        files: ['script.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    const run = spawnSync(process.execPath, ['script.mjs'], { cwd: project, env, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ classes: 6, seen: [4, 6], rows: 2, png: 'PNG', serve: 'function' });
  }, 240_000);
});
