/**
 * `attribute` at dataset scale, end to end through the real CLI: image folders against the HDF5 path,
 * resume after SIGKILL, shards, undecodable images, and the output-safety rules.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { openAttributionReader, openAttributionSet } from '../src/io/attribution.js';
import { cliPath, runCli, sharedDir } from './helpers/cli.js';
import { journalRows } from './helpers/journal.js';

const model = join(sharedDir, 'conformance', 'lrp', 'cnn_bn.onnx'); // 3×32×32 → 10 classes
const SIZE = 32;
const CLASSES = ['cat', 'dog', 'fox'];
const PER_CLASS = 12;

/** A deterministic picture: gradients and a class-dependent disc, so attributions differ per image. */
function picture(seed: number): Buffer {
  const data = Buffer.alloc(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const o = (y * SIZE + x) * 3;
      const inDisc = (x - 8 - (seed % 16)) ** 2 + (y - 16) ** 2 < 40;
      data[o] = (x * 8 + seed * 13) % 256;
      data[o + 1] = inDisc ? 255 : (y * 8 + seed * 7) % 256;
      data[o + 2] = ((x + y) * 4 + seed * 29) % 256;
    }
  }
  return data;
}

interface ImageSet {
  root: string;
  /** Every image in ViRelAy/ImageFolder order (sorted full paths) with its class index. */
  files: Array<{ path: string; label: number }>;
}

/** root/<class>/img-NN.{png,jpg,webp}: a third of each format. */
async function makeImageFolder(dir: string): Promise<ImageSet> {
  const root = join(dir, 'images');
  const files: ImageSet['files'] = [];
  for (const [label, name] of CLASSES.entries()) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const seed = label * PER_CLASS + i;
      const format = (['png', 'jpg', 'webp'] as const)[i % 3]!;
      const path = join(root, name, `img-${String(i).padStart(2, '0')}.${format}`);
      const image = sharp(picture(seed), { raw: { width: SIZE, height: SIZE, channels: 3 } });
      await (format === 'png' ? image.png() : format === 'jpg' ? image.jpeg({ quality: 90 }) : image.webp({ quality: 90 })).toFile(path);
      files.push({ path, label });
    }
  }
  files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return { root, files };
}

/** The same images decoded (by sharp, as the image reader does) into an HDF5 dataset, uint8 (N,3,H,W). */
async function makeHdf5(set: ImageSet, path: string): Promise<void> {
  await h5wasm.ready;
  const n = set.files.length;
  const data = new Uint8Array(n * 3 * SIZE * SIZE);
  const plane = SIZE * SIZE;
  for (const [i, { path: file }] of set.files.entries()) {
    const rgb = await sharp(file).removeAlpha().raw().toBuffer();
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) data[i * 3 * plane + c * plane + p] = rgb[p * 3 + c]!;
  }
  const h5 = new h5wasm.File(path, 'w');
  h5.create_dataset({ name: 'data', data, shape: [n, 3, SIZE, SIZE], dtype: '<B' });
  h5.create_dataset({ name: 'label', data: Uint16Array.from(set.files.map((f) => f.label)), shape: [n], dtype: '<H' });
  h5.close();
}

async function rowsOf(path: string) {
  const reader = await openAttributionReader(path);
  try {
    return { count: reader.count, hasIndex: reader.hasIndex, ...reader.read(0, reader.count) };
  } finally {
    reader.close();
  }
}

/** Largest |a − b| relative to the largest |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

const common = (batch = 4) => [
  '--model',
  model,
  '--composite',
  'epsilon-gamma-box',
  '--normalize',
  'imagenet',
  '--threads',
  '1',
  '--batch-size',
  String(batch),
];
/** Batch size 1 and integrated gradients: a run long enough to interrupt in the middle. */
const slowMethod = [...common(1), '--attributor', 'integrated-gradients', '--steps', '24'];

let dir: string;
let images: ImageSet;
let hdf5: string;
/** The uninterrupted image-folder run every other result is compared with. */
let reference: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-scale-'));
  images = await makeImageFolder(dir);
  hdf5 = join(dir, 'images.h5');
  await makeHdf5(images, hdf5);
  reference = join(dir, 'reference.h5');
  const r = await runCli(['attribute', ...common(), '--dataset', images.root, '-o', reference]);
  expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
  expect(r.code).toBe(0);
});

describe('attribute on image folders', () => {
  it('gives the same rows as the same images stored in HDF5', async () => {
    const fromHdf5 = join(dir, 'hdf5.h5');
    const r = await runCli(['attribute', ...common(), '--dataset', hdf5, '-o', fromHdf5, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const a = await rowsOf(reference);
    const b = await rowsOf(fromHdf5);
    expect(a.count).toBe(images.files.length);
    expect(a.hasIndex).toBe(false); // the whole dataset in order: rows are samples 0..N-1
    expect([...a.label]).toEqual(images.files.map((f) => f.label));
    expect([...b.label]).toEqual([...a.label]);
    expect(relativeError(a.attribution, b.attribution)).toBeLessThan(1e-6);
    expect(relativeError(a.prediction, b.prediction)).toBeLessThan(1e-6);
    // Relevance is not trivially zero, and differs between images.
    const sample = SIZE * SIZE * 3;
    expect(a.attribution.some((v) => v !== 0)).toBe(true);
    expect(relativeError(a.attribution.subarray(0, sample), a.attribution.subarray(sample, 2 * sample))).toBeGreaterThan(1e-3);
  });

  it('prints plain progress lines on a non-TTY stderr', async () => {
    const out = join(dir, 'progress.h5');
    const r = await runCli(['attribute', ...common(), '--dataset', images.root, '-o', out, '--indices', '0:8']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/attribute: 8\/8 images \(100\.0%\), [0-9.]+ images\/s/);
  });

  it('attributes a subset with an index dataset', async () => {
    const out = join(dir, 'subset.h5');
    const r = await runCli(['attribute', ...common(), '--dataset', images.root, '-o', out, '--indices', '3:9', '--labels', '0', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const rows = await rowsOf(out);
    const expected = [3, 4, 5, 6, 7, 8].filter((i) => images.files[i]!.label === 0);
    expect([...rows.index]).toEqual(expected);
    const full = await rowsOf(reference);
    const sample = 3 * SIZE * SIZE;
    expect(relativeError(rows.attribution, full.attribution.subarray(expected[0]! * sample, (expected.at(-1)! + 1) * sample))).toBeLessThan(1e-6);
  });
});

describe('resume', () => {
  it('continues after a SIGKILL and ends with the rows of an uninterrupted run', async () => {
    const out = join(dir, 'killed.h5');
    const journal = `${out}.partial.json`;
    const slow = [...slowMethod, '--dataset', images.root, '-o', out, '--quiet'];
    const child = spawn(process.execPath, [cliPath, 'attribute', ...slow], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const rowsAtKill = await journalRows(journal, 3, child);
    child.kill('SIGKILL');
    await exited;
    expect(rowsAtKill).toBeGreaterThanOrEqual(3);
    expect(rowsAtKill).toBeLessThan(images.files.length);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(true);

    // Without --resume the partial run is not silently thrown away.
    const refused = await runCli(['attribute', ...slow]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/killed\.h5\.partial: .*--resume/);

    const resumed = await runCli(['attribute', ...slow, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(existsSync(`${out}.partial`) || existsSync(journal)).toBe(false);

    const whole = join(dir, 'whole.h5');
    const r = await runCli(['attribute', ...slow.map((a) => (a === out ? whole : a))]);
    expect(r.code, r.stderr).toBe(0);
    const a = await rowsOf(out);
    const b = await rowsOf(whole);
    expect(a.count).toBe(images.files.length);
    expect(Buffer.from(a.attribution.buffer).equals(Buffer.from(b.attribution.buffer))).toBe(true);
    expect(Buffer.from(a.prediction.buffer).equals(Buffer.from(b.prediction.buffer))).toBe(true);
    expect([...a.label]).toEqual([...b.label]);

    // --resume on a finished run leaves it alone.
    const finished = statSync(out).mtimeMs;
    const again = await runCli(['attribute', ...slow.filter((a) => a !== '--quiet'), '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`${out}: already complete`);
    expect(statSync(out).mtimeMs).toBe(finished);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops cleanly on ${signal}, keeping the finished rows for --resume`, async () => {
      const out = join(dir, `terminated-${signal}.h5`);
      const args = ['attribute', ...slowMethod, '--dataset', images.root, '-o', out, '--quiet'];
      const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      const journal = `${out}.partial.json`;
      // Signal once rows are on disk (an event in the run, not a guess at how long it takes).
      expect(await journalRows(journal, 1, child)).toBeGreaterThanOrEqual(1);
      child.kill(signal);
      expect(await code).toBe(130);
      expect(stderr).toMatch(new RegExp(`interrupted by ${signal}`));
      expect(existsSync(out)).toBe(false);
      const rows = JSON.parse(readFileSync(journal, 'utf8')).rows as number;
      expect(rows).toBeGreaterThanOrEqual(1);
      const resumed = await runCli([...args, '--resume']);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect((await rowsOf(out)).count).toBe(images.files.length);
      expect(rows).toBeLessThan(images.files.length);
    });
  }
});

describe('shards', () => {
  it('two shards together equal one full run, and spray and project init take them together', async () => {
    const pattern = join(dir, 'shard-{shard}-of-{shards}.h5');
    for (const index of [0, 1]) {
      // The second shard takes its index from the environment, as in a Slurm array job.
      const shardArgs = index === 0 ? ['--shard', '0/2'] : ['--shard', '2'];
      const r = await runCli(['attribute', ...common(), '--dataset', images.root, '-o', pattern, '--shard-block', '8', ...shardArgs, '--quiet'], {
        env: index === 1 ? { SLURM_ARRAY_TASK_ID: '1' } : {},
      });
      expect(r.code, r.stderr).toBe(0);
    }
    const files = [join(dir, 'shard-0-of-2.h5'), join(dir, 'shard-1-of-2.h5')];
    const first = await rowsOf(files[0]!);
    expect([...first.index]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23, 32, 33, 34, 35]);
    const set = await openAttributionSet(files);
    const full = await rowsOf(reference);
    const sample = 3 * SIZE * SIZE;
    expect(set.count).toBe(full.count);
    const rows = set.read(0, set.count);
    const order = [...rows.index];
    expect([...order].sort((a, b) => a - b)).toEqual(images.files.map((_, i) => i));
    for (const [r, index] of order.entries()) {
      const mine = rows.attribution.subarray(r * sample, (r + 1) * sample);
      const theirs = full.attribution.subarray(index * sample, (index + 1) * sample);
      expect(relativeError(mine, theirs)).toBeLessThan(1e-6);
      expect(rows.label[r]).toBe(full.label[index]);
    }
    set.close();

    // The next steps take the shard files together.
    const labelMap = join(dir, 'labels.json');
    writeFileSync(labelMap, JSON.stringify(CLASSES.map((name, index) => ({ index, word_net_id: name, name }))));
    const analysis = join(dir, 'analysis.h5');
    const spray = await runCli(['spray', ...files, '-o', analysis, '--label-map', labelMap, '--n-eigval', '4']);
    expect(spray.code, spray.stderr).toBe(0);
    const project = await runCli([
      'project',
      'init',
      '--name',
      'shards',
      '--model',
      'cnn_bn',
      '--dataset',
      images.root,
      '--label-map',
      labelMap,
      '--input-size',
      '32,32',
      '--attributions',
      ...files,
      '--attribution-method',
      'LRP EpsilonGammaBox',
      '--attribution-strategy',
      'true_label',
      '--analysis',
      `spectral=${analysis}`,
      '-o',
      join(dir, 'project.yaml'),
    ]);
    expect(project.code, project.stderr).toBe(0);
    const yaml = readFileSync(join(dir, 'project.yaml'), 'utf8');
    expect(yaml).toContain('shard-0-of-2.h5');
    expect(yaml).toContain('shard-1-of-2.h5');
  });
});

describe('bad input', () => {
  let corrupt: string;
  let badRoot: string;

  beforeAll(async () => {
    badRoot = join(dir, 'with-bad');
    mkdirSync(join(badRoot, 'cat'), { recursive: true });
    for (let i = 0; i < 6; i++) {
      await sharp(picture(i), { raw: { width: SIZE, height: SIZE, channels: 3 } })
        .png()
        .toFile(join(badRoot, 'cat', `img-${i}.png`));
    }
    const jpeg = await sharp(picture(9), { raw: { width: SIZE, height: SIZE, channels: 3 } })
      .jpeg()
      .toBuffer();
    corrupt = join(badRoot, 'cat', 'img-3b.jpg');
    writeFileSync(corrupt, jpeg.subarray(0, 200)); // a JPEG cut off after its headers
  });

  it('stops at a corrupt JPEG with its path in the error, leaving no output', async () => {
    const out = join(dir, 'bad.h5');
    const r = await runCli(['attribute', ...common(), '--dataset', badRoot, '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`xai-tools: ${corrupt}: `);
    expect(existsSync(out)).toBe(false);
  });

  it('skips it with --skip-bad, reporting the path, and writes no row for it', async () => {
    const out = join(dir, 'skipped.h5');
    const r = await runCli(['attribute', ...common(), '--dataset', badRoot, '-o', out, '--skip-bad']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(corrupt);
    const rows = await rowsOf(out);
    expect(rows.count).toBe(6);
    expect(rows.hasIndex).toBe(true);
    expect([...rows.index]).toEqual([0, 1, 2, 3, 5, 6]); // sample 4 is img-3b.jpg
  });

  it('refuses an existing output unless --overwrite', async () => {
    const r = await runCli(['attribute', ...common(), '--dataset', images.root, '-o', reference, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already exists; use --overwrite');
    const before = readFileSync(reference);
    const again = await runCli(['attribute', ...common(), '--dataset', images.root, '-o', reference, '--quiet', '--overwrite']);
    expect(again.code, again.stderr).toBe(0);
    expect((await rowsOf(reference)).count).toBe(images.files.length);
    expect(before.length).toBeGreaterThan(0);
  });

  it.each([
    [['--device', 'cuda'], /--device: this onnxruntime-node has no CUDA execution provider/],
    [['--shard', '3'], /--shard: no shard index given/],
    [['--indices', '0:999'], /--indices: range 0:999 goes beyond the dataset's 36 samples/],
    [['--mean', '0.5,0.5'], /--mean and --std must be given together/],
    [['--resize', 'shorter', '--crop', 'none'], /needs --crop center/],
    [['--threads', '0'], /--threads: must be a positive integer \(got '0'\)/],
  ])('rejects %j with one line', async (extra, message) => {
    const out = join(dir, 'rejected.h5');
    const r = await runCli(['attribute', ...common().filter((a) => a !== 'imagenet' && a !== '--normalize'), '--dataset', images.root, '-o', out, ...extra], {
      env: { SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '' },
    });
    // Errors about an option are usage errors: exit 2 and the --help hint.
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('(see xai-tools attribute --help)');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
