// End-to-end: `xai-tools project init` and `project check` on real files, including every refusal.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm, { type File as H5File } from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, runCli } from './helpers/cli.js';
import { readProject } from '../src/io/project.js';

const fixture = (name: string): string => join(repoRoot, 'fixtures', 'h5py', name);
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-project-'));
  await h5wasm.ready;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The arguments of a project init that succeeds with the h5py fixtures. */
function initArgs(output: string, overrides: Record<string, string | string[]> = {}): string[] {
  const options: Record<string, string | string[]> = {
    '--name': 'Fixture',
    '--model': 'none',
    '--dataset': fixture('dataset-array.h5'),
    '--label-map': fixture('label-map.json'),
    '--attributions': [fixture('attribution-shard-0.h5'), fixture('attribution-shard-1.h5')],
    '--attribution-method': 'LRP EpsilonPlusFlat',
    '--attribution-strategy': 'true_label',
    '--analysis': [`spectral_analysis=${fixture('analysis.h5')}`],
    ...overrides,
  };
  const args = ['project', 'init'];
  for (const [key, value] of Object.entries(options)) {
    if (Array.isArray(value)) {
      if (key === '--analysis') for (const v of value) args.push(key, v);
      else if (value.length) args.push(key, ...value);
    } else args.push(key, value);
  }
  return [...args, '-o', output];
}

/** Writes a small HDF5 file with h5wasm; `build` gets the open file. */
function h5(name: string, build: (f: H5File) => void): string {
  const path = join(dir, name);
  const f = new h5wasm.File(path, 'w');
  build(f);
  f.close();
  return path;
}

/** Asserts the CLI refused with one `xai-tools: <file>: <problem>` line, exit 1, and wrote nothing. */
async function expectRefusal(args: string[], output: string, file: string, problem: RegExp): Promise<void> {
  const before = readdirSync(dir).sort();
  const result = await runCli(args);
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]!.startsWith(`xai-tools: ${file}: `), lines[0]).toBe(true);
  expect(lines[0]).toMatch(problem);
  expect(existsSync(output)).toBe(false);
  expect(readdirSync(dir).sort()).toEqual(before); // no temporary left either
}

describe('project init', () => {
  it('writes a project with paths relative to the output file, which check accepts', async () => {
    const out = join(dir, 'ok.yaml');
    const result = await runCli(
      initArgs(out, { '--analysis': [`spectral_analysis=${fixture('analysis.h5')}`, `spectral_analysis=${fixture('analysis.h5')}`] }),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/dataset: hdf5, 6 samples of 3×8×8/);
    expect(result.stdout).toMatch(/attribution files: 2 \(6 rows\)/);
    expect(result.stdout).toMatch(/spectral_analysis: .*6 categories.*2 clusterings, 2 embeddings \(spectral, tsne\)/);
    const yaml = parse(readFileSync(out, 'utf8')).project;
    for (const p of [yaml.label_map, yaml.dataset.path, ...yaml.attributions.sources]) expect(p.startsWith('/'), p).toBe(false);
    expect(yaml.label_map).toMatch(/fixtures\/h5py\/label-map\.json$/);
    expect(yaml.dataset).toMatchObject({
      name: 'dataset-array',
      type: 'hdf5',
      input_width: 8,
      input_height: 8,
      up_sampling_method: 'none',
      down_sampling_method: 'none',
    });
    expect(yaml.attributions).toMatchObject({ attribution_method: 'LRP EpsilonPlusFlat', attribution_strategy: 'true_label' });
    expect(yaml.attributions.sources).toHaveLength(2);
    expect(yaml.analyses).toHaveLength(1);
    expect(yaml.analyses[0].sources).toHaveLength(2); // same NAME twice → one method, two sources
    expect(readProject(out).dataset.path).toBe(fixture('dataset-array.h5'));
    const check = await runCli(['project', 'check', out]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/OK$/m);
  });

  it('makes an image_directory block for a folder (ViRelAy label regex or the class-directory default)', async () => {
    const out = join(dir, 'images.yaml');
    const result = await runCli(
      initArgs(out, {
        '--dataset': fixture('images'),
        '--attributions': [],
        '--analysis': [],
        '--input-size': '8,8',
        '--label-index-regex': '^.*/label-([0-9]+)/.*$',
        '--up-sampling': 'fill_zeros',
        '--down-sampling': 'center_crop',
      }),
    );
    expect(result.code, result.stderr).toBe(0);
    const yaml = parse(readFileSync(out, 'utf8')).project;
    expect(yaml.dataset).toEqual({
      name: 'images',
      type: 'image_directory',
      path: expect.stringMatching(/images$/),
      label_index_regex: '^.*/label-([0-9]+)/.*$',
      label_word_net_id_regex: null,
      input_width: 8,
      input_height: 8,
      up_sampling_method: 'fill_zeros',
      down_sampling_method: 'center_crop',
    });
    expect(yaml.attributions).toBeUndefined();
    // Default regex: the class directory name is a word_net_id; "label-0" is not one in this label map.
    await expectRefusal(
      initArgs(join(dir, 'images2.yaml'), { '--dataset': fixture('images'), '--attributions': [], '--analysis': [], '--input-size': '8,8' }),
      join(dir, 'images2.yaml'),
      join(fixture('images'), 'label-0', 'img-01.png'),
      /WordNet ID 'label-0' is not in the label map/,
    );
  });
});

describe('project check', () => {
  it('accepts projects written by ViRelAy tooling and prints a summary', async () => {
    const result = await runCli(['project', 'check', fixture('project.yaml')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('dataset: hdf5, 6 samples of 3×8×8');
    expect(result.stdout).toContain('classes: 3');
    expect(result.stdout).toMatch(/analyses: 1/);
    const images = await runCli(['project', 'check', fixture('project-images.yaml')]);
    expect(images.code, images.stderr).toBe(0);
    expect(images.stdout).toContain('dataset: image_directory, 9 samples of 3×8×8');
  });

  it('refuses invalid YAML', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'project:\n  name: [unclosed\n');
    const result = await runCli(['project', 'check', file]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(new RegExp(`^xai-tools: ${file}: invalid YAML`));
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    rmSync(file);
  });

  it('refuses YAML missing a required key', async () => {
    const file = join(dir, 'missing-key.yaml');
    writeFileSync(file, readFileSync(fixture('project.yaml'), 'utf8').replace('    path: dataset-array.h5\n', ''));
    const result = await runCli(['project', 'check', file]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`xai-tools: ${file}: missing required key 'project.dataset.path'`);
    rmSync(file);
  });
});

describe('project init refuses bad input with one line, exit 1 and no output file', () => {
  const out = (): string => join(dir, 'refused.yaml');

  it('missing file', async () => {
    const missing = join(dir, 'nope.h5');
    await expectRefusal(initArgs(out(), { '--attributions': [missing] }), out(), missing, /no such file/);
  });

  it('not HDF5', async () => {
    const text = join(dir, 'text.h5');
    writeFileSync(text, 'just some text, not HDF5');
    await expectRefusal(initArgs(out(), { '--attributions': [text] }), out(), text, /not an HDF5 file/);
    rmSync(text);
  });

  it('truncated HDF5', async () => {
    const cut = join(dir, 'cut.h5');
    copyFileSync(fixture('attribution.h5'), cut);
    truncateSync(cut, Math.floor(statSync(cut).size / 2));
    await expectRefusal(initArgs(out(), { '--attributions': [cut] }), out(), cut, /truncated HDF5 file/);
    rmSync(cut);
  });

  it('corrupt HDF5 (valid superblock, damaged object header)', async () => {
    const bad = join(dir, 'corrupt.h5');
    copyFileSync(fixture('attribution.h5'), bad);
    const bytes = readFileSync(bad);
    bytes.fill(0xab, 800, 1100);
    writeFileSync(bad, bytes);
    await expectRefusal(initArgs(out(), { '--attributions': [bad] }), out(), bad, /corrupt HDF5 file/);
    rmSync(bad);
  });

  it('wrong key', async () => {
    // A dataset file passed as attributions: no 'attribution' key.
    await expectRefusal(
      initArgs(out(), { '--attributions': [fixture('dataset-array.h5')] }),
      out(),
      fixture('dataset-array.h5'),
      /missing dataset 'attribution'/,
    );
  });

  it('wrong shape', async () => {
    const path = h5('bad-shape.h5', (f) => {
      f.create_dataset({ name: 'attribution', data: new Float32Array(6 * 3 * 4), shape: [6, 3, 2, 2] });
      f.create_dataset({ name: 'label', data: new Uint16Array(6) });
      f.create_dataset({ name: 'prediction', data: new Float32Array(5 * 3), shape: [5, 3] });
    });
    await expectRefusal(initArgs(out(), { '--attributions': [path] }), out(), path, /'prediction' has shape \(5, 3\); expected \(6, K\)/);
    rmSync(path);
  });

  it('wrong dtype', async () => {
    const path = h5('bad-dtype.h5', (f) => {
      f.create_dataset({ name: 'attribution', data: new Float32Array(6 * 3 * 4), shape: [6, 3, 2, 2] });
      f.create_dataset({ name: 'label', data: new Float32Array(6) });
      f.create_dataset({ name: 'prediction', data: new Float32Array(6 * 3), shape: [6, 3] });
    });
    await expectRefusal(initArgs(out(), { '--attributions': [path] }), out(), path, /float scalar labels/);
    rmSync(path);
  });

  it('label map with duplicate indices', async () => {
    const map = join(dir, 'dup.json');
    writeFileSync(
      map,
      JSON.stringify([
        { index: 0, word_net_id: '00000000', name: 'a' },
        { index: 0, word_net_id: '00000001', name: 'b' },
      ]),
    );
    await expectRefusal(initArgs(out(), { '--label-map': map }), out(), map, /duplicate index 0/);
    rmSync(map);
  });

  it('sample counts of dataset and attributions disagree', async () => {
    await expectRefusal(
      initArgs(out(), { '--dataset': fixture('dataset-hwc-multilabel.h5'), '--attributions': [fixture('attribution.h5')], '--analysis': [] }),
      out(),
      fixture('attribution.h5'),
      /has 6 attributions but the dataset has 4 samples/,
    );
  });

  it('an analysis category with no entry in the label map', async () => {
    const map = join(dir, 'other-ids.json');
    writeFileSync(map, JSON.stringify([0, 1, 2].map((i) => ({ index: i, word_net_id: `n${i}`, name: `c${i}` }))));
    await expectRefusal(initArgs(out(), { '--label-map': map }), out(), fixture('analysis.h5'), /category '00000000' has no entry in the label map/);
    rmSync(map);
  });

  it('an analysis index past the dataset', async () => {
    await expectRefusal(
      initArgs(out(), { '--dataset': fixture('dataset-hwc-multilabel.h5'), '--attributions': [] }),
      out(),
      fixture('analysis.h5'),
      /indexes sample 4, past the end of the dataset \(4 samples\)/,
    );
  });

  it('an analysis method name ViRelAy cannot serve', async () => {
    const result = await runCli(initArgs(out(), { '--analysis': [`spectral-analysis=${fixture('analysis.h5')}`] }));
    // An error about an option's value is a usage error: exit 2 and the --help hint.
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('(see xai-tools project init --help)');
    expect(result.stderr.trim()).toMatch(/^xai-tools: --analysis: analysis method 'spectral-analysis' contains '-'/);
    expect(existsSync(out())).toBe(false);
  });

  it('usage errors exit 2', async () => {
    const result = await runCli(['project', 'init', '--name', 'x']);
    expect(result.code).toBe(2);
    const bad = await runCli(initArgs(out(), { '--analysis': ['no-equals-sign'] }));
    expect(bad.code).toBe(2);
  });
});
