/**
 * `xai-tools evaluate` against onnxruntime alone, side by side in the same run: the same number of
 * perturbed forward passes (samples × (K+1)) at the same batch size and thread count. The ratio says
 * what building the perturbed images, ranking patches, reading attributions and writing curves add
 * on top of the model's own inference.
 *
 *   npm run bench evaluate                 # or: npx tsx bench/evaluate.ts [--repeat 3] [--skip-resnet]
 *
 * Models: the Clever-Hans CNN (fixtures/clever-hans, 3×28×28) and torchvision ResNet-50 at 224² with
 * random weights, exported here by bench/export_models.py with Debian's /usr/bin/python3 (into
 * bench/models/, which git ignores; skipped with a note when torch is missing).
 * Reported per model: the evaluation loop as the CLI reports it ("wrote … in X s"), the whole CLI
 * process (start-up, model load, file I/O included), onnxruntime alone, and images·steps/s.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import h5wasm from 'h5wasm/node';
import { AttributionWriter } from '../src/io/attribution.js';
import { mulberry32 } from '../src/util/mulberry32.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const REPEAT = arg('--repeat', 3);
const THREADS = 1;
const root = process.cwd();
const cli = join(root, 'bin', 'xai-tools.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-evaluate-'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function xai(args: string[]): { wall: number; loop: number; stderr: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`xai-tools ${args.join(' ')} failed: ${r.stderr}`);
  const loop = Number(/ in ([0-9.]+) s/.exec(r.stderr)?.[1] ?? NaN);
  return { wall, loop, stderr: r.stderr };
}

/** onnxruntime alone: `runs` runs of the plain model on [batch, ...shape] inputs. */
async function ortAlone(modelPath: string, shape: number[], batch: number, runs: number): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: THREADS, interOpNumThreads: 1, logSeverityLevel: 3 });
  const next = mulberry32(1);
  const x = new ort.Tensor('float32', Float32Array.from({ length: batch * shape.reduce((a, b) => a * b, 1) }, next), [batch, ...shape]);
  const name = session.inputNames[0]!;
  await session.run({ [name]: x }); // warm-up, as the evaluator's first run is part of its loop
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await session.run({ [name]: x });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await session.release();
  return seconds;
}

async function writeRandomData(path: string, attribution: string, n: number, shape: number[], classes: number): Promise<void> {
  await h5wasm.ready;
  const size = shape.reduce((a, b) => a * b, 1);
  const next = mulberry32(7);
  const data = Float32Array.from({ length: n * size }, next);
  const labels = Uint16Array.from({ length: n }, (_, i) => (i * 37) % classes);
  const f = new h5wasm.File(path, 'w');
  f.create_dataset({ name: 'data', data, shape: [n, ...shape], dtype: '<f4' });
  f.create_dataset({ name: 'label', data: labels, shape: [n], dtype: '<H' });
  f.close();
  // Speed does not depend on the relevance values: smooth random maps stand in for attributions.
  const writer = await AttributionWriter.create(attribution, { sampleShape: shape, numClasses: classes, withIndex: false });
  writer.append({
    attribution: Float32Array.from({ length: n * size }, (_, i) => Math.sin(i / 97) + next()),
    label: Int32Array.from(labels),
    prediction: new Float32Array(n * classes),
  });
  writer.commit();
}

interface Case {
  name: string;
  model: string;
  dataset: string;
  attributions: string[];
  shape: number[];
  samples: number;
  args: string[];
  steps: number;
  batch: number;
}

async function measure(c: Case): Promise<void> {
  const passes = c.samples * (c.steps + 1);
  const runs = Math.ceil(passes / c.batch);
  const loops: number[] = [];
  const walls: number[] = [];
  const alone: number[] = [];
  for (let rep = 0; rep < REPEAT; rep++) {
    // Alternating the two keeps a change in machine load from favouring one side.
    alone.push(await ortAlone(c.model, c.shape, c.batch, runs));
    const r = xai([
      'evaluate',
      '--model',
      c.model,
      '--dataset',
      c.dataset,
      ...c.attributions,
      '--no-random-baseline',
      '--batch-size',
      String(c.batch),
      '--steps',
      String(c.steps),
      '--threads',
      String(THREADS),
      '--overwrite',
      '-o',
      join(dir, `${c.name}.eval.h5`),
      ...c.args,
    ]);
    loops.push(r.loop);
    walls.push(r.wall);
  }
  const loop = median(loops),
    wall = median(walls),
    ortSeconds = median(alone);
  const load = loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
  console.log(
    `${c.name}: ${c.samples} samples × ${c.steps + 1} steps = ${passes} forward passes, batch ${c.batch}, ${THREADS} thread, median of` +
      ` ${REPEAT} (load ${load})`,
  );
  console.log(
    `  onnxruntime alone        ${ortSeconds.toFixed(2).padStart(8)} s   ${(passes / ortSeconds).toFixed(1).padStart(9)}` +
      ` images·steps/s  (${runs} runs of ${c.batch})`,
  );
  console.log(
    `  evaluate (loop)          ${loop.toFixed(2).padStart(8)} s   ${(passes / loop).toFixed(1).padStart(9)} images·steps/s  ratio` +
      ` ${(loop / ortSeconds).toFixed(2)}× (target ≤ 1.2×)`,
  );
  console.log(
    `  evaluate (whole process) ${wall.toFixed(2).padStart(8)} s   ${(passes / wall).toFixed(1).padStart(9)} images·steps/s  ratio` +
      ` ${(wall / ortSeconds).toFixed(2)}×`,
  );
}

async function main(): Promise<void> {
  console.log(
    `bench/evaluate: ${new Date().toISOString()}, load ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  if (!existsSync(join(root, 'dist', 'cli.js'))) throw new Error('dist/ is missing: run npm run build first');
  const hans = join(root, 'fixtures', 'clever-hans');
  const attribution = join(dir, 'epsilon-plus.h5');
  const samples = 512;
  xai([
    'attribute',
    '--model',
    join(hans, 'model.onnx'),
    '--dataset',
    join(hans, 'dataset.h5'),
    '--composite',
    'epsilon-plus',
    '--indices',
    `0:${samples}`,
    '-q',
    '-o',
    attribution,
  ]);
  await measure({
    name: 'clever-hans-cnn',
    model: join(hans, 'model.onnx'),
    dataset: join(hans, 'dataset.h5'),
    attributions: [attribution],
    shape: [3, 28, 28],
    samples,
    steps: 49,
    batch: 64,
    args: ['--patch', '4', '--indices', `0:${samples}`],
  });

  if (process.argv.includes('--skip-resnet')) return;
  const models = join(root, 'bench', 'models');
  const resnet = join(models, 'resnet50.onnx');
  if (!existsSync(resnet)) {
    mkdirSync(models, { recursive: true });
    const r = spawnSync('/usr/bin/python3', ['bench/export_models.py', '--out', models, '--models', 'resnet50'], { stdio: 'inherit' });
    if (r.status !== 0 || !existsSync(resnet)) {
      console.log("resnet50: skipped (exporting needs Debian's python3-torch and python3-torchvision)");
      return;
    }
  }
  const n = 8;
  const data = join(dir, 'imagenet-like.h5');
  const rel = join(dir, 'resnet-relevance.h5');
  await writeRandomData(data, rel, n, [3, 224, 224], 1000);
  await measure({
    name: 'resnet50-224',
    model: resnet,
    dataset: data,
    attributions: [rel],
    shape: [3, 224, 224],
    samples: n,
    steps: 15,
    batch: 16,
    args: ['--patch', '16', '--per-step', '13'],
  });
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
