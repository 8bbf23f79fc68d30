/**
 * Options no other end-to-end test exercises: --debug, project init --dataset-name and
 * --label-word-net-id-regex, attribute --dataset-type image_directory --label-regex.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { attr, GraphBuilder, modelOf } from '../src/onnx/builder.js';
import { writeModel } from '../src/onnx/codec.js';
import { readAttribution } from './attribute-data.js';
import { repoRoot, runCli } from './helpers/cli.js';

const fixture = (name: string): string => join(repoRoot, 'fixtures', 'h5py', name);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-cli-options-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--debug', () => {
  it('adds the stack trace to an error; without it the error is one line', async () => {
    const args = ['heatmap', join(dir, 'missing.h5'), '-o', join(dir, 'out')];
    const plain = await runCli(args);
    expect(plain.code).toBe(1);
    expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1);
    const debug = await runCli(['--debug', ...args]);
    expect(debug.code).toBe(1);
    const lines = debug.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(plain.stderr.trimEnd());
    expect(lines.slice(1).some((l) => /^\s+at .*\.js:\d+:\d+\)?$/.test(l))).toBe(true);
  });
});

describe('project init', () => {
  it('--dataset-name is the name the project gives its dataset', async () => {
    const out = join(dir, 'named.yaml');
    const r = await runCli([
      'project',
      'init',
      '--name',
      'N',
      '--model',
      'none',
      '--dataset',
      fixture('dataset-array.h5'),
      '--dataset-name',
      'Handwritten digits',
      '--label-map',
      fixture('label-map.json'),
      '-o',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(parse(readFileSync(out, 'utf8')).project.dataset.name).toBe('Handwritten digits');
  });

  it('--label-word-net-id-regex takes the WordNet ID from the file name; check resolves every image with it', async () => {
    // Flat folder, the class in the file name: img-<n>-<word_net_id>.png.
    const images = join(dir, 'flat');
    mkdirSync(images);
    for (const [n, wnid] of [
      [1, '00000002'],
      [2, '00000000'],
      [3, '00000002'],
    ] as const)
      copyFileSync(fixture('images/label-0/img-01.png'), join(images, `img-${n}-${wnid}.png`));
    const regex = '^.*-([0-9]{8})\\.png$';
    const out = join(dir, 'wnid.yaml');
    const args = [
      'project',
      'init',
      '--name',
      'W',
      '--model',
      'none',
      '--dataset',
      images,
      '--label-map',
      fixture('label-map.json'),
      '--input-size',
      '8,8',
      '-o',
      out,
    ];
    const r = await runCli([...args, '--label-word-net-id-regex', regex]);
    expect(r.code, r.stderr).toBe(0);
    expect(parse(readFileSync(out, 'utf8')).project.dataset).toMatchObject({
      type: 'image_directory',
      label_word_net_id_regex: regex,
      label_index_regex: null,
    });
    const check = await runCli(['project', 'check', out]);
    expect(check.code, check.stderr).toBe(0);
    // The default regex (class = directory name) reads "flat" as the WordNet ID: refused.
    const refused = await runCli([...args.slice(0, -1), join(dir, 'default.yaml')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/WordNet ID 'flat' is not in the label map/);
  });
});

describe('attribute --dataset-type image_directory --label-regex', () => {
  it('labels each image by group 1 of the regex on its path', async () => {
    // A 3-class linear model on 3×8×8 images.
    const b = new GraphBuilder();
    const x = b.addInput('input', 'float32', ['batch', 3, 8, 8]);
    const [f] = b.addNode('Flatten', [x], {}, 1, { name: 'flatten' });
    const [y] = b.addNode(
      'Gemm',
      [
        f!,
        b.constant(
          Array.from({ length: 3 * 192 }, (_, k) => ((k % 7) - 3) / 10),
          [3, 192],
        ),
      ],
      { transB: attr.int(1) },
      1,
      { name: 'fc' },
    );
    b.addOutput(y!, 'float32');
    const model = join(dir, 'linear.onnx');
    await writeModel(model, modelOf(b.graph, 13));
    const out = join(dir, 'images.h5');
    const common = [
      'attribute',
      '--model',
      model,
      '--dataset',
      fixture('images'),
      '--composite',
      'none',
      '--input-size',
      '8,8',
      '--target',
      '0',
      '-q',
      '-o',
      out,
    ];
    const r = await runCli([...common, '--dataset-type', 'image_directory', '--label-regex', '^.*/label-([0-9]+)/.*$']);
    expect(r.code, r.stderr).toBe(0);
    const rows = await readAttribution(out);
    expect([...rows.label].sort()).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    // The labels come from the regex, not from the directory structure: reading the image number
    // instead labels the images of every directory 1, 2, 3.
    const byNumber = join(dir, 'by-number.h5');
    const n = await runCli([...common.slice(0, -1), byNumber, '--dataset-type', 'image_directory', '--label-regex', '^.*/img-0([0-9])\\.png$']);
    expect(n.code, n.stderr).toBe(0);
    expect([...(await readAttribution(byNumber)).label].sort()).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3]);
  });
});
