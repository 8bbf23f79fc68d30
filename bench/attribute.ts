/**
 * bench/attribute: how fast `attribute` is at dataset scale, and how much memory it needs.
 *
 *   npx tsx bench/attribute.ts                  # everything below
 *   BENCH_PARTS=speed npx tsx bench/attribute.ts
 *
 * Parts (BENCH_PARTS, comma-separated; default speed,torch,memory):
 *  - speed:  EpsilonGammaBox (canonized, z-box bounds = normalised black/white) and the plain gradient
 *            (`--composite none`) on torchvision VGG16 and ResNet50 at 224×224, batch 8, at 1 and 2
 *            onnxruntime threads: images/s of the compiled graph (compile time reported apart).
 *  - torch:  the same models in PyTorch 1.13 (bench/zennit_attribute.py): the plain autograd gradient
 *            always, Zennit 0.5.1 EpsilonGammaBox when a Zennit checkout is on PYTHONPATH.
 *  - memory: the real CLI attributing 10 000 images (BENCH_MEMORY_IMAGES) from an HDF5 file with a small
 *            CNN, reporting peak RSS and images/s end to end (decode, model, writer).
 *  - profile: (opt-in) onnxruntime's profiler on one LRP batch per model: time per op type.
 *
 * Models come from bench/export_models.py (random weights; /usr/bin/python3 with torch), exported into
 * the git-ignored bench/models/ on first use. Other knobs: BENCH_MODELS (vgg16,resnet50),
 * BENCH_THREADS (1,2), BENCH_BATCHES (timed batches per figure, default 2), BENCH_BATCH (8).
 * The machines here have about one core of real throughput and other work runs beside: repeat, and
 * compare figures measured in the same run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import h5wasm from 'h5wasm/node';
import { readModel, encodeModel } from '../src/onnx/codec.js';
import type { Model } from '../src/onnx/ir.js';
import { canonize, lowerMarkers } from '../src/lrp/canonize/index.js';
import { buildComposite } from '../src/lrp/composites.js';
import { compileAttributor } from '../src/lrp/engine.js';
import { compileRelevanceGraph, INPUT, OUTPUT_RELEVANCE } from '../src/lrp/compiler.js';
import { NORMALIZE_PRESETS, zBoxBounds, parsePreprocess } from '../src/run/preprocess.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');
const modelsDir = join(here, 'models');
const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const parts = new Set(env('BENCH_PARTS', 'speed,torch,memory').split(','));
const modelNames = env('BENCH_MODELS', 'vgg16,resnet50').split(',');
const threadCounts = env('BENCH_THREADS', '1,2').split(',').map(Number);
const timedBatches = Number(env('BENCH_BATCHES', '2'));
const batch = Number(env('BENCH_BATCH', '8'));
const python = '/usr/bin/python3';

/** Zennit 0.5.1 and PyTorch 1.13 on this machine kind, 1 thread, batch 8 (seconds per image; issue #4). */
const REFERENCE = {
  vgg16: { zennit: 4.2, torchGradient: 0.56 },
  resnet50: { zennit: 4.6, torchGradient: 0.6 },
} as Record<string, { zennit: number; torchGradient: number }>;

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

async function speed(): Promise<Figure[]> {
  console.log(`\n## speed: batch ${batch}, 224x224, ${timedBatches} timed batches after one warm-up`);
  const figures: Figure[] = [];
  for (const name of modelNames) {
    const model = canonize(readModel(join(modelsDir, `${name}.onnx`))).model;
    lowerMarkers(model);
    for (const threads of threadCounts) {
      for (const method of ['lrp', 'gradient'] as const) {
        const f = await timeMethod(name, model, method, threads);
        figures.push(f);
        console.log(`${name.padEnd(9)} ${(method === 'lrp' ? 'EpsilonGammaBox' : 'gradient').padEnd(16)} threads=${threads}: ${f.secondsPerImage.toFixed(3)} s/img  ${f.imagesPerSecond.toFixed(2)} img/s  (compile ${f.compileSeconds.toFixed(1)} s)`);
      }
    }
  }
  console.log('\nmodel     threads  LRP img/s  gradient img/s  LRP/gradient time  vs Zennit 4.2/4.6 s/img (target >= 3x)');
  for (const name of modelNames) {
    for (const threads of threadCounts) {
      const lrp = figures.find((f) => f.model === name && f.threads === threads && f.method === 'lrp')!;
      const grad = figures.find((f) => f.model === name && f.threads === threads && f.method === 'gradient')!;
      const ref = REFERENCE[name];
      const vsZennit = ref && threads === 1 ? `${(ref.zennit / lrp.secondsPerImage).toFixed(1)}x` : '-';
      console.log(`${name.padEnd(9)} ${String(threads).padEnd(8)} ${lrp.imagesPerSecond.toFixed(2).padEnd(10)} ${grad.imagesPerSecond.toFixed(2).padEnd(15)} ${(lrp.secondsPerImage / grad.secondsPerImage).toFixed(2).padEnd(18)} ${vsZennit}`);
    }
  }
  return figures;
}

async function torchFigures(): Promise<void> {
  console.log('\n## torch: PyTorch 1.13 autograd gradient (and Zennit 0.5.1 if importable), same models/batch/threads');
  if (!existsSync(python)) {
    console.log(`skipping: ${python} is not available`);
    return;
  }
  await new Promise<void>((resolve) => {
    const child = spawn(python, [join(here, 'zennit_attribute.py'), '--models', modelNames.join(','), '--threads', threadCounts.join(','), '--batch', String(batch), '--batches', String(timedBatches)], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('close', () => resolve());
  });
}

/** Writes an HDF5 dataset of `n` random uint8 images 3×64×64 with labels 0..9, in chunks. */
async function writeImageDataset(path: string, n: number): Promise<void> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'w');
  const rows = 1000;
  const data = file.create_dataset({ name: 'data', data: new Uint8Array(0), shape: [0, 3, 64, 64], maxshape: [null, 3, 64, 64], chunks: [64, 3, 64, 64], dtype: '<B' });
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
  const dir = mkdtempSync(join(tmpdir(), 'xai-bench-'));
  try {
    const dataset = join(dir, 'data.h5');
    await writeImageDataset(dataset, n);
    const out = join(dir, 'attribution.h5');
    // Run the CLI in a child that reports its own peak RSS (getrusage) when main() returns.
    // (A file, not `node -e`: worker threads inherit execArgv, and `--input-type` breaks them.)
    const script = join(dir, 'cli-with-rss.mjs');
    writeFileSync(script, `import { main } from '${join(root, 'dist', 'cli.js')}';\nconst code = await main(process.argv);\nprocess.stdout.write('MAXRSS_KB ' + process.resourceUsage().maxRSS + '\\n');\nprocess.exitCode = code;\n`);
    const args = ['attribute', '--model', join(modelsDir, 'small_cnn.onnx'), '--dataset', dataset, '-o', out, '--composite', 'epsilon-gamma-box', '--normalize', 'imagenet', '--batch-size', '32', '--threads', '1', '--quiet'];
    const began = performance.now();
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    const seconds = (performance.now() - began) / 1000;
    if (result.code !== 0) {
      console.log(`failed (exit ${result.code}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      return;
    }
    const kb = Number(/MAXRSS_KB (\d+)/.exec(result.stdout)?.[1]);
    console.log(`${n} images in ${seconds.toFixed(1)} s (${(n / seconds).toFixed(1)} img/s end to end, process start and compile included); peak RSS ${(kb / 1024).toFixed(0)} MB (target < 2048 MB)`);
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
    const feeds = { [INPUT]: new ort.Tensor('float32', imagenetBatch(batch, 224, 1), [batch, 3, 224, 224]), [OUTPUT_RELEVANCE]: new ort.Tensor('float32', seed, [batch, 1000]) };
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
    for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${op.padEnd(22)} ${(us / 1e6).toFixed(2)} s  ${((100 * us) / total).toFixed(1)} %`);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`bench/attribute on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} vCPU), ${new Date().toISOString()}, onnxruntime-node ${ort.env.versions.common}`);
  const needed = [...(parts.has('speed') || parts.has('profile') ? modelNames : []), ...(parts.has('memory') ? ['small_cnn'] : [])];
  if (!ensureModels(needed)) return;
  if (parts.has('speed')) await speed();
  if (parts.has('torch')) await torchFigures();
  if (parts.has('profile')) await profile();
  if (parts.has('memory')) {
    if (!existsSync(join(root, 'dist', 'cli.js'))) console.log('skipping memory: build first (npm run build)');
    else await memory();
  }
}

await main();
