/**
 * bench/attribute: how fast `attribute` is as users run it, beside Zennit in the same run.
 *
 *   npm run bench attribute                     # cli, reference, forward (below)
 *   BENCH_PARTS=cli npx tsx bench/attribute.ts
 *
 * Parts (BENCH_PARTS, comma-separated; default cli,reference,forward):
 *  - cli:       the real CLI, `xai-tools attribute --composite epsilon-gamma-box` and `--composite none`
 *               (plain gradient), `--batch-size 8 --threads 1 --normalize imagenet`, on HDF5 files of
 *               8 and 24 random 224×224 uint8 images: the marginal time per image is
 *               (wall(24) − wall(8)) / 16, so process start-up, model reading and graph compilation
 *               drop out. Needs a build (`npm run build`).
 *  - reference: bench/zennit_attribute.py in the same run: Zennit 0.5.1 EpsilonGammaBox (when a
 *               checkout is named by ZENNIT_SRC, see bench/lib/cli.ts) and PyTorch's plain autograd
 *               gradient, 1 thread, batch 8, timed over 2 batches after a warm-up (also marginal).
 *  - forward:   onnxruntime's plain forward pass of the exported model, 1 thread, batch 8: the
 *               yardstick the LRP time is quoted as a multiple of.
 *  - engine:    (opt-in) the compiled attributor called in-process (no CLI), at BENCH_THREADS threads.
 *  - memory:    (opt-in) the real CLI attributing 10 000 images (BENCH_MEMORY_IMAGES) from an HDF5 file
 *               with a small CNN, reporting peak RSS and images/s end to end (decode, model, writer).
 *  - profile:   (opt-in) onnxruntime's profiler on one LRP batch per model: time per op type.
 *
 * Models come from bench/export_models.py (random weights; /usr/bin/python3 with torch 1.13), exported
 * into the git-ignored bench/models/ on first use; Zennit builds the same seeded networks. Other knobs:
 * BENCH_MODELS (vgg16,resnet50), BENCH_THREADS (engine part: 1,2), BENCH_BATCHES (timed batches of the
 * in-process figures, default 2), BENCH_BATCH (8), BENCH_LRP_COMPOSITE (the CLI's LRP row, default
 * epsilon-gamma-box; `BENCH_MODELS=vit_b_16 BENCH_LRP_COMPOSITE=attn-lrp BENCH_PARTS=cli,forward` for
 * the transformer figures of issue 11, where Zennit has no counterpart). The machines here have about one core of real
 * throughput and other work runs beside: compare only figures from the same run (ratios are printed).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import h5wasm from 'h5wasm/node';
import { readModel, encodeModel } from '../src/onnx/codec.js';
import type { Model } from '../src/onnx/ir.js';
import { canonize, lowerMarkers } from '../src/lrp/canonize/index.js';
import { buildComposite } from '../src/lrp/composites.js';
import { compileAttributor } from '../src/lrp/engine.js';
import { compileRelevanceGraph, INPUT, OUTPUT_RELEVANCE } from '../src/lrp/compiler.js';
import { NORMALIZE_PRESETS, zBoxBounds, parsePreprocess } from '../src/run/preprocess.js';
import { benchDir as here, distProblem, failure, loadAverage, python, runCli, runPython, type CliRun } from './lib/cli.js';

const modelsDir = join(here, 'models');
const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const parts = new Set(env('BENCH_PARTS', 'cli,reference,forward').split(','));
const modelNames = env('BENCH_MODELS', 'vgg16,resnet50').split(',');
const threadCounts = env('BENCH_THREADS', '1,2').split(',').map(Number);
const timedBatches = Number(env('BENCH_BATCHES', '2'));
const batch = Number(env('BENCH_BATCH', '8'));
const lrpComposite = env('BENCH_LRP_COMPOSITE', 'epsilon-gamma-box');

function ensureModels(names: string[]): boolean {
  const missing = names.filter((n) => !existsSync(join(modelsDir, `${n}.onnx`)));
  if (missing.length === 0) return true;
  if (!existsSync(python)) {
    console.log(`skipping: bench/models/${missing[0]}.onnx is missing and ${python} (with torch) is not available to export it`);
    return false;
  }
  console.log(`exporting ${missing.join(', ')} with bench/export_models.py …`);
  execFileSync(python, [join(here, 'export_models.py'), '--models', missing.join(',')], { stdio: 'inherit' });
  return true;
}

/** Random images in [0,1], normalised with the ImageNet statistics (what a real pipeline feeds). */
function imagenetBatch(n: number, size: number, seed: number): Float32Array {
  const { mean, std } = NORMALIZE_PRESETS.imagenet!;
  const plane = size * size;
  const out = new Float32Array(n * 3 * plane);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const c = Math.floor(i / plane) % 3;
    out[i] = ((state >>> 0) / 4294967296 - mean[c]!) / std[c]!;
  }
  return out;
}

function epsilonGammaBox() {
  const spec = parsePreprocess({ inputSize: '224', normalize: 'imagenet' });
  const { low, high } = zBoxBounds(spec, 3);
  return buildComposite('epsilon-gamma-box', { low, high });
}

interface Figure {
  model: string;
  method: string;
  threads: number;
  imagesPerSecond: number;
  secondsPerImage: number;
  compileSeconds: number;
}

async function timeMethod(name: string, model: Model, method: 'lrp' | 'gradient', threads: number): Promise<Figure> {
  const began = performance.now();
  const attributor = await compileAttributor(model, {
    batchSize: batch,
    sampleShape: [3, 224, 224],
    spec: method === 'lrp' ? epsilonGammaBox() : null,
    threads,
    source: name,
  });
  const compileSeconds = (performance.now() - began) / 1000;
  const target = Int32Array.from({ length: batch }, (_, i) => (i * 97) % attributor.numClasses);
  await attributor.run(imagenetBatch(batch, 224, 99), target); // warm-up: first-run allocations
  const start = performance.now();
  for (let b = 0; b < timedBatches; b++) await attributor.run(imagenetBatch(batch, 224, b + 1), target);
  const seconds = (performance.now() - start) / 1000;
  await attributor.close();
  const images = timedBatches * batch;
  return { model: name, method, threads, imagesPerSecond: images / seconds, secondsPerImage: seconds / images, compileSeconds };
}

/** The compiled attributor in-process (no CLI, no worker, no HDF5): what the engine alone costs. */
async function engine(): Promise<void> {
  console.log(`\n## engine: in-process attributor, batch ${batch}, 224x224, ${timedBatches} timed batches after one warm-up`);
  for (const name of modelNames) {
    const model = canonize(readModel(join(modelsDir, `${name}.onnx`))).model;
    lowerMarkers(model);
    for (const threads of threadCounts) {
      for (const method of ['lrp', 'gradient'] as const) {
        const f = await timeMethod(name, model, method, threads);
        console.log(
          `${name.padEnd(9)} ${(method === 'lrp' ? 'EpsilonGammaBox' : 'gradient').padEnd(16)} threads=${threads}:` +
            ` ${f.secondsPerImage.toFixed(3)} s/img  ${f.imagesPerSecond.toFixed(2)} img/s  (compile ${f.compileSeconds.toFixed(1)} s)  load ${loadAverage()}`,
        );
      }
    }
  }
}

/** Writes an HDF5 dataset of `n` random uint8 images 3×size×size, labels (97·i) mod `classes`. */
async function writeImages(path: string, n: number, size: number, classes: number): Promise<void> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'w');
  const rowSize = 3 * size * size;
  const rows = Math.max(1, Math.floor((64 << 20) / rowSize));
  const data = file.create_dataset({
    name: 'data',
    data: new Uint8Array(0),
    shape: [0, 3, size, size],
    maxshape: [null, 3, size, size],
    chunks: [Math.min(rows, 64), 3, size, size],
    dtype: '<B',
  });
  for (let start = 0; start < n; start += rows) {
    const end = Math.min(n, start + rows);
    const chunk = new Uint8Array((end - start) * rowSize);
    for (let i = 0; i < chunk.length; i++) chunk[i] = ((i + start * rowSize) * 2654435761) >>> 24;
    data.resize([end, 3, size, size]);
    data.write_slice([[start, end]], chunk);
  }
  file.create_dataset({ name: 'label', data: Uint16Array.from({ length: n }, (_, i) => (97 * i) % classes), shape: [n], dtype: '<H' });
  file.close();
}

interface Marginal {
  secondsPerImage: number;
  cpuSecondsPerImage: number;
  small: CliRun;
  large: CliRun;
}

const SMALL = 8;
const LARGE = 24;

/** `xai-tools attribute` on the 8- and 24-image files, back to back: (wall(24) − wall(8)) / 16. */
async function cliMarginal(name: string, composite: string, dir: string): Promise<Marginal | string> {
  const run = (images: number): Promise<CliRun> =>
    runCli([
      'attribute',
      '--model',
      join(modelsDir, `${name}.onnx`),
      '--dataset',
      join(dir, `images-${images}.h5`),
      '-o',
      join(dir, `out-${images}.h5`),
      '--composite',
      composite,
      '--normalize',
      'imagenet',
      '--batch-size',
      String(batch),
      '--threads',
      '1',
      '--overwrite',
      '--quiet',
    ]);
  const small = await run(SMALL);
  if (small.code !== 0) return failure(small);
  const large = await run(LARGE);
  if (large.code !== 0) return failure(large);
  return {
    secondsPerImage: (large.seconds - small.seconds) / (LARGE - SMALL),
    cpuSecondsPerImage: (large.cpuSeconds - small.cpuSeconds) / (LARGE - SMALL),
    small,
    large,
  };
}

/** onnxruntime's plain forward pass of the exported model: seconds per image, 1 thread, batch 8. */
async function forwardSeconds(name: string): Promise<Time> {
  const session = await ort.InferenceSession.create(join(modelsDir, `${name}.onnx`), { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  const feed = (seed: number) => ({ [session.inputNames[0]!]: new ort.Tensor('float32', imagenetBatch(batch, 224, seed), [batch, 3, 224, 224]) });
  await session.run(feed(99));
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let b = 0; b < timedBatches; b++) await session.run(feed(b + 1));
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  await session.release();
  return { wall: seconds / (timedBatches * batch), cpu: (used.user + used.system) / 1e6 / (timedBatches * batch) };
}

/** Seconds per image: wall, and CPU (user + system) — the steadier one on a shared machine. */
interface Time {
  wall: number;
  cpu: number;
}

interface Row {
  model: string;
  lrp?: Time;
  gradient?: Time;
  zennit?: Time;
  torchGradient?: Time;
  forward?: Time;
  load: string[];
}

const fmt = (s: Time | undefined): string => (s === undefined ? '–' : `${s.wall.toFixed(3)} (${s.cpu.toFixed(3)})`);
const ratio = (a: Time | undefined, b: Time | undefined): string =>
  a === undefined || b === undefined ? '–' : `${(a.wall / b.wall).toFixed(2)}× (${(a.cpu / b.cpu).toFixed(2)}×)`;

/** The CLI, then Zennit and the torch gradient, then the forward pass: per model, back to back. */
async function sideBySide(): Promise<void> {
  const problem = parts.has('cli') ? distProblem() : undefined;
  if (problem) console.log(`skipping cli: ${problem}`);
  const dir = mkdtempSync(join(tmpdir(), 'xai-bench-attribute-'));
  const rows: Row[] = [];
  try {
    await writeImages(join(dir, `images-${SMALL}.h5`), SMALL, 224, 1000);
    await writeImages(join(dir, `images-${LARGE}.h5`), LARGE, 224, 1000);
    console.log(
      `\n## side by side: 1 thread, batch ${batch}, 224x224; CLI = marginal wall time per image (${LARGE}-image run − ${SMALL}-image run) / ${LARGE - SMALL}`,
    );
    for (const name of modelNames) {
      const row: Row = { model: name, load: [] };
      rows.push(row);
      if (parts.has('cli') && !problem) {
        for (const [key, composite] of [
          ['lrp', lrpComposite],
          ['gradient', 'none'],
        ] as const) {
          const m = await cliMarginal(name, composite, dir);
          row.load.push(loadAverage());
          if (typeof m === 'string') {
            console.log(`${name} CLI --composite ${composite}: failed, ${m}`);
            continue;
          }
          row[key] = { wall: m.secondsPerImage, cpu: m.cpuSecondsPerImage };
          console.log(
            `${name.padEnd(9)} CLI --composite ${composite.padEnd(17)} ${m.secondsPerImage.toFixed(3)} s/img marginal, CPU` +
              ` ${m.cpuSecondsPerImage.toFixed(3)} s/img  (${SMALL} images ${m.small.seconds.toFixed(1)} s, ${LARGE} images` +
              ` ${m.large.seconds.toFixed(1)} s wall; peak RSS ${m.large.peakRssMiB.toFixed(0)} MiB)  load ${loadAverage()}`,
          );
        }
      }
      if (parts.has('reference')) {
        if (!existsSync(python)) console.log(`skipping reference: ${python} is not available`);
        else {
          const r = await runPython('zennit_attribute.py', [
            '--models',
            name,
            '--threads',
            '1',
            '--batch',
            String(batch),
            '--batches',
            String(timedBatches),
            '--json',
          ]);
          row.load.push(loadAverage());
          for (const line of r.stderr.split('\n').filter((l) => l.includes('skipping'))) console.log(line);
          if (r.code !== 0) console.log(`zennit_attribute.py failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
          for (const result of r.results) {
            const t = { wall: result.s_per_image as number, cpu: result.cpu_s_per_image as number };
            if (result.method === 'zennit') row.zennit = t;
            if (result.method === 'gradient') row.torchGradient = t;
            console.log(
              `${name.padEnd(9)} ${result.method === 'zennit' ? 'Zennit EpsilonGammaBox' : 'torch gradient'}` +
                `${' '.repeat(result.method === 'zennit' ? 8 : 16)}` +
                ` ${t.wall.toFixed(3)} s/img, CPU ${t.cpu.toFixed(3)} s/img  (torch ${result.torch})  load ${loadAverage()}`,
            );
          }
        }
      }
      if (parts.has('forward')) {
        row.forward = await forwardSeconds(name);
        row.load.push(loadAverage());
        console.log(
          `${name.padEnd(9)} onnxruntime forward pass          ${row.forward.wall.toFixed(3)} s/img, CPU ${row.forward.cpu.toFixed(3)} s/img` +
            `  load ${loadAverage()}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nSeconds per image, wall (CPU in brackets); ratios of wall times (of CPU times in brackets).');
  console.log(
    `| model | CLI ${lrpComposite} s/img | Zennit s/img | speed-up vs Zennit (target ≥ 3×) | CLI gradient s/img | LRP ÷ gradient` +
      ` (target ≤ 2.5) | torch gradient s/img | ORT forward s/img | LRP ÷ forward (target ≈ ≤ 3.5) |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${fmt(r.lrp)} | ${fmt(r.zennit)} | ${ratio(r.zennit, r.lrp)} | ${fmt(r.gradient)} | ${ratio(r.lrp, r.gradient)} |` +
        ` ${fmt(r.torchGradient)} | ${fmt(r.forward)} | ${ratio(r.lrp, r.forward)} |`,
    );
  }
  console.log(`load averages during the run: ${rows.flatMap((r) => r.load).join('; ')}`);
}

/** Writes an HDF5 dataset of `n` random uint8 images 3×64×64 with labels 0..9, in chunks. */
async function _writeImageDataset(path: string, n: number): Promise<void> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'w');
  const rows = 1000;
  const data = file.create_dataset({
    name: 'data',
    data: new Uint8Array(0),
    shape: [0, 3, 64, 64],
    maxshape: [null, 3, 64, 64],
    chunks: [64, 3, 64, 64],
    dtype: '<B',
  });
  for (let start = 0; start < n; start += rows) {
    const end = Math.min(n, start + rows);
    const chunk = new Uint8Array((end - start) * 3 * 64 * 64);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761 + start) >>> 24;
    data.resize([end, 3, 64, 64]);
    data.write_slice([[start, end]], chunk);
  }
  file.create_dataset({ name: 'label', data: Uint16Array.from({ length: n }, (_, i) => i % 10), shape: [n], dtype: '<H' });
  file.close();
}

async function memory(): Promise<void> {
  const n = Number(env('BENCH_MEMORY_IMAGES', '10000'));
  console.log(`\n## memory: CLI, ${n} images 3x64x64 (HDF5) -> small_cnn, EpsilonGammaBox, batch 32, 1 thread`);
  const problem = distProblem();
  if (problem) {
    console.log(`skipping memory: ${problem}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'xai-bench-'));
  try {
    const dataset = join(dir, 'data.h5');
    await writeImages(dataset, n, 64, 10);
    const result = await runCli([
      'attribute',
      '--model',
      join(modelsDir, 'small_cnn.onnx'),
      '--dataset',
      dataset,
      '-o',
      join(dir, 'attribution.h5'),
      '--composite',
      'epsilon-gamma-box',
      '--normalize',
      'imagenet',
      '--batch-size',
      '32',
      '--threads',
      '1',
      '--quiet',
    ]);
    if (result.code !== 0) {
      console.log(`failed, ${failure(result)}`);
      return;
    }
    console.log(
      `${n} images in ${result.seconds.toFixed(1)} s (${(n / result.seconds).toFixed(1)} img/s end to end, process start and compile` +
        ` included); peak RSS ${result.peakRssMiB.toFixed(0)} MiB (target < 2048 MB)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** onnxruntime's profiler on one LRP batch: where the time goes, by op type. */
async function profile(): Promise<void> {
  console.log('\n## profile: one EpsilonGammaBox batch per model, 1 thread, time per op type');
  for (const name of modelNames) {
    const model = canonize(readModel(join(modelsDir, `${name}.onnx`))).model;
    lowerMarkers(model);
    const graph = compileRelevanceGraph(model, { inputShape: [batch, 3, 224, 224], spec: epsilonGammaBox(), source: name });
    const dir = mkdtempSync(join(tmpdir(), 'xai-profile-'));
    const session = await ort.InferenceSession.create(encodeModel(graph.model), {
      intraOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'profile'),
      logSeverityLevel: 3,
    });
    const seed = new Float32Array(batch * 1000);
    for (let i = 0; i < batch; i++) seed[i * 1000 + i] = 1;
    const feeds = {
      [INPUT]: new ort.Tensor('float32', imagenetBatch(batch, 224, 1), [batch, 3, 224, 224]),
      [OUTPUT_RELEVANCE]: new ort.Tensor('float32', seed, [batch, 1000]),
    };
    await session.run(feeds); // warm-up
    await session.run(feeds);
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) continue;
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string } }>;
    const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
    const last = runs[runs.length - 1]!;
    const byOp = new Map<string, number>();
    // Only the second run's node events: the profile holds both.
    const nodeEvents = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    const perRun = nodeEvents.slice(nodeEvents.length / 2);
    for (const e of perRun) byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur);
    const total = [...byOp.values()].reduce((a, b) => a + b, 0);
    console.log(`${name}: run ${(last.dur / 1e6).toFixed(2)} s, kernels ${(total / 1e6).toFixed(2)} s`);
    for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 8))
      console.log(`  ${op.padEnd(22)} ${(us / 1e6).toFixed(2)} s  ${((100 * us) / total).toFixed(1)} %`);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `bench/attribute on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} vCPU), ${new Date().toISOString()}, Node` +
      ` ${process.version}, onnxruntime-node ${ort.env.versions.common}, load ${loadAverage()}`,
  );
  const perModel = ['cli', 'reference', 'forward', 'engine', 'profile'].some((p) => parts.has(p));
  const needed = [...(perModel ? modelNames : []), ...(parts.has('memory') ? ['small_cnn'] : [])];
  if (!ensureModels(needed)) return;
  if (['cli', 'reference', 'forward'].some((p) => parts.has(p))) await sideBySide();
  if (parts.has('engine')) await engine();
  if (parts.has('profile')) await profile();
  if (parts.has('memory')) await memory();
}

await main();
