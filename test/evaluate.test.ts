/**
 * `xai-tools evaluate` end to end: curves and AOPC against a plain per-image, per-step
 * implementation written here, the known orderings on the Clever-Hans fixture, shards, resume,
 * plots and bad input.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attr, GraphBuilder, modelOf } from '../src/onnx/builder.js';
import { encodeModel, writeModel } from '../src/onnx/codec.js';
import { AttributionWriter } from '../src/io/attribution.js';
import { readEvaluation, type EvaluationGroup } from '../src/io/evaluation.js';
import { randomPatchScores } from '../src/eval/evaluator.js';
import { patchGrid, uniformField } from '../src/eval/graphs.js';
import { mulberry32 } from '../src/util/mulberry32.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { writeDataset } from './attribute-data.js';

const C = 3,
  H = 10,
  W = 9,
  CLASSES = 4,
  SAMPLES = 6;
const P = 4,
  STEPS = 4,
  PER_STEP = 2;
const SAMPLE = C * H * W;
let dir: string;
let modelPath: string;
let dataPath: string;
let attributionPath: string;
let data: Float32Array;
let relevance: Float32Array;
/** Rows of the attribution file: samples 4, 1, 5, 0 (not in order, so `index` matters). */
const ROWS = [4, 1, 5, 0];
const labels = [0, 1, 2, 3, 1, 2];

/** A small CNN: Conv(3→4, 3×3) · ReLU · Flatten · Gemm → 4 classes, random weights. */
function smallModel(): Uint8Array {
  const next = mulberry32(7);
  const rand = (n: number, scale: number): number[] => Array.from({ length: n }, () => (next() - 0.5) * scale);
  const b = new GraphBuilder();
  b.addInput('x', 'float32', ['N', C, H, W]);
  const [conv] = b.addNode('Conv', ['x', b.constant(rand(4 * C * 9, 1), [4, C, 3, 3]), b.constant(rand(4, 0.2), [4])], { pads: attr.ints([1, 1, 1, 1]) });
  const [relu] = b.addNode('Relu', [conv!]);
  const [flat] = b.addNode('Flatten', [relu!], { axis: attr.int(1) });
  b.addNode(
    'Gemm',
    [flat!, b.constant(rand(CLASSES * 4 * H * W, 0.3), [CLASSES, 4 * H * W]), b.constant(rand(CLASSES, 0.2), [CLASSES])],
    { transB: attr.int(1) },
    1,
    { outputs: ['y'] },
  );
  b.addOutput('y', 'float32', ['N', CLASSES]);
  return encodeModel(modelOf(b.graph, 13));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-evaluate-'));
  modelPath = join(dir, 'model.onnx');
  const { decodeModel } = await import('../src/onnx/codec.js');
  await writeModel(modelPath, decodeModel(smallModel()));
  const next = mulberry32(11);
  data = Float32Array.from({ length: SAMPLES * SAMPLE }, () => next());
  dataPath = join(dir, 'data.h5');
  await writeDataset(dataPath, data, [SAMPLES, C, H, W], labels);
  relevance = Float32Array.from({ length: ROWS.length * SAMPLE }, () => next() - 0.3);
  attributionPath = join(dir, 'method.h5');
  const writer = await AttributionWriter.create(attributionPath, { sampleShape: [C, H, W], numClasses: CLASSES, withIndex: true });
  writer.append({
    attribution: relevance,
    label: Int32Array.from(ROWS, (r) => labels[r]!),
    // Stored predictions pick class (row + 1) % 4 first, so --target prediction is told apart from label.
    prediction: Float32Array.from({ length: ROWS.length * CLASSES }, (_, i) => (i % CLASSES === (Math.floor(i / CLASSES) + 1) % CLASSES ? 5 : 0)),
    index: Int32Array.from(ROWS),
  });
  writer.commit();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---- the plain implementation: one image, one step, one model run at a time ----

function patchOrder(rel: Float32Array, order: 'morf' | 'lerf' | 'random', key: number, seed: number): number[] {
  const rows = Math.ceil(H / P),
    cols = Math.ceil(W / P);
  const scores: number[] = [];
  for (let pr = 0; pr < rows; pr++) {
    for (let pc = 0; pc < cols; pc++) {
      let s = 0;
      for (let c = 0; c < C; c++)
        for (let y = pr * P; y < Math.min(H, pr * P + P); y++) for (let x = pc * P; x < Math.min(W, pc * P + P); x++) s += rel[c * H * W + y * W + x]!;
      scores.push(s);
    }
  }
  if (order === 'random') {
    const noise = new Float32Array(scores.length);
    randomPatchScores(seed, key, scores.length, noise);
    scores.splice(0, scores.length, ...noise);
  }
  const sign = order === 'lerf' ? 1 : -1;
  return scores
    .map((s, i) => ({ s, i }))
    .sort((a, b) => sign * (a.s - b.s) || a.i - b.i)
    .map((e) => e.i);
}

function baselineImage(x: Float32Array, kind: 'zero' | 'mean' | 'blur' | 'uniform', seed = 0): Float32Array {
  const out = new Float32Array(SAMPLE);
  if (kind === 'uniform') {
    // lo + (hi − lo)·U over the sample's value range; U is the seeded field the docs define (drawn by the same generator).
    const field = uniformField(patchGrid([C, H, W], P), seed);
    const lo = x.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    const hi = x.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
    return Float32Array.from(field, (u) => lo + (hi - lo) * u);
  }
  for (let c = 0; c < C; c++) {
    const plane = x.subarray(c * H * W, (c + 1) * H * W);
    if (kind === 'mean') out.fill(plane.reduce((a, b) => a + b, 0) / (H * W), c * H * W, (c + 1) * H * W);
    if (kind === 'blur') {
      // 2-D Gaussian (σ = P/2, radius ⌈3σ⌉) with edge pixels repeated.
      const sigma = P / 2,
        r = Math.ceil(3 * sigma);
      let norm = 0;
      for (let d = -r; d <= r; d++) norm += Math.exp(-(d * d) / (2 * sigma * sigma));
      const at = (y: number, xx: number): number => plane[Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, xx))]!;
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          let s = 0;
          for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) s += Math.exp(-(dy * dy + dx * dx) / (2 * sigma * sigma)) * at(y + dy, xx + dx);
          out[c * H * W + y * W + xx] = s / (norm * norm);
        }
      }
    }
  }
  return out;
}

async function referenceCurves(options: {
  order: 'morf' | 'lerf' | 'random';
  baseline: 'zero' | 'mean' | 'blur' | 'uniform';
  target: 'label' | 'prediction';
  seed?: number;
}): Promise<number[][]> {
  const session = await ort.InferenceSession.create(modelPath);
  const curves: number[][] = [];
  const cols = Math.ceil(W / P);
  for (const [row, sample] of ROWS.entries()) {
    const x = data.slice(sample * SAMPLE, (sample + 1) * SAMPLE);
    const order = patchOrder(relevance.subarray(row * SAMPLE, (row + 1) * SAMPLE), options.order, sample, options.seed ?? 0);
    const base = baselineImage(x, options.baseline, options.seed ?? 0);
    const target = options.target === 'label' ? labels[sample]! : (row + 1) % CLASSES;
    const curve: number[] = [];
    for (let k = 0; k <= STEPS; k++) {
      const image = x.slice();
      for (const patch of order.slice(0, k * PER_STEP)) {
        const pr = Math.floor(patch / cols),
          pc = patch % cols;
        for (let c = 0; c < C; c++)
          for (let y = pr * P; y < Math.min(H, pr * P + P); y++)
            for (let xx = pc * P; xx < Math.min(W, pc * P + P); xx++) {
              image[c * H * W + y * W + xx] = base[c * H * W + y * W + xx]!;
            }
      }
      const out = await session.run({ x: new ort.Tensor('float32', image, [1, C, H, W]) });
      curve.push((out.y!.data as Float32Array)[target]!);
    }
    curves.push(curve);
  }
  await session.release();
  return curves;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected[i]!)));
}

function checkGroup(group: EvaluationGroup, curves: number[][]): void {
  expect(group.rows).toBe(ROWS.length);
  expect(Array.from(group.index)).toEqual(ROWS);
  expect(Array.from(group.row)).toEqual([0, 1, 2, 3]);
  expectClose(group.curve, curves.flat());
  const aopc = curves.map((c) => c.reduce((s, v) => s + (c[0]! - v), 0) / c.length);
  const auc = curves.map((c) => c.slice(1).reduce((s, v, k) => s + (c[k]! + v) / 2, 0) / (STEPS * c[0]!));
  expectClose(group.aopc, aopc);
  expectClose(group.auc, auc);
}

const evaluate = (args: string[]) => runCli(['evaluate', ...args]);
const common = (): string[] => [
  '--model',
  modelPath,
  '--dataset',
  dataPath,
  '--patch',
  String(P),
  '--steps',
  String(STEPS),
  '--per-step',
  String(PER_STEP),
  '-q',
];

describe('evaluate: region perturbation against a per-image, per-step implementation', () => {
  it('MoRF with the zero baseline, and the random order with its seed (batches cut across samples and steps)', async () => {
    const output = join(dir, 'morf.h5');
    // 7 images per run: runs mix samples and steps and the last one is padded.
    const r = await evaluate([...common(), attributionPath, '--batch-size', '7', '--seed', '3', '-o', output]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const file = await readEvaluation(output);
    expect(file.groups.map((g) => g.name)).toEqual(['method', 'random']);
    checkGroup(file.groups[0]!, await referenceCurves({ order: 'morf', baseline: 'zero', target: 'label' }));
    checkGroup(file.groups[1]!, await referenceCurves({ order: 'random', baseline: 'zero', target: 'label', seed: 3 }));
    expect(Array.from(file.groups[0]!.target)).toEqual(ROWS.map((s) => labels[s]));
    // The table ranks both groups and names them.
    expect(r.stdout).toMatch(/1\s+(method|random)\s/);
    expect(r.stdout).toContain('AOPC ± SE');
  });

  for (const [order, baseline] of [
    ['lerf', 'mean'],
    ['morf', 'blur'],
    ['morf', 'uniform'],
  ] as const) {
    it(`${order.toUpperCase()} with the ${baseline} baseline and --target prediction`, async () => {
      const output = join(dir, `${order}-${baseline}.h5`);
      const seed = baseline === 'uniform' ? 5 : 0;
      const r = await evaluate([
        ...common(),
        `m=${attributionPath}`,
        '--order',
        order,
        '--baseline',
        baseline,
        '--seed',
        String(seed),
        '--target',
        'prediction',
        '--no-random-baseline',
        '--batch-size',
        '4',
        '-o',
        output,
      ]);
      expect(r.code).toBe(0);
      const file = await readEvaluation(output);
      expect(file.groups.map((g) => g.name)).toEqual(['m']);
      checkGroup(file.groups[0]!, await referenceCurves({ order, baseline, target: 'prediction', seed }));
      expect(Array.from(file.groups[0]!.target)).toEqual([1, 2, 3, 0]);
    });
  }

  it('shards split the rows; --resume on a finished run changes nothing; --json gives the table as data', async () => {
    const whole = await readEvaluation(join(dir, 'morf.h5'));
    const parts = [];
    for (const shard of ['0/2', '1/2']) {
      const r = await evaluate([...common(), attributionPath, '--seed', '3', '--shard', shard, '--shard-block', '1', '-o', join(dir, 'shard-{shard}.h5')]);
      expect(r.code).toBe(0);
      parts.push(await readEvaluation(join(dir, `shard-${shard[0]}.h5`)));
    }
    expect(Array.from(parts[0]!.groups[0]!.row)).toEqual([0, 2]);
    expect(Array.from(parts[1]!.groups[0]!.row)).toEqual([1, 3]);
    for (const g of [0, 1]) {
      const merged = [0, 1, 2, 3].map((row) => {
        const part = parts[row % 2]!.groups[g]!;
        return part.aopc[Array.from(part.row).indexOf(row)]!;
      });
      expectClose(merged, whole.groups[g]!.aopc);
    }
    const again = await evaluate([...common(), attributionPath, '--seed', '3', '--resume', '--json', '-o', join(dir, 'morf.h5')]);
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout) as { methods: Array<{ name: string; rank: number; aopc: { mean: number; n: number } }> };
    const method = doc.methods.find((m) => m.name === 'method')!;
    expect(method.aopc.n).toBe(4);
    expect(method.aopc.mean).toBeCloseTo(Array.from(whole.groups[0]!.aopc).reduce((a, b) => a + b, 0) / 4, 5);
  });

  it('--randomize cascade stores ρ and SSIM per depth for the checked rows, prints and plots them', async () => {
    const output = join(dir, 'cascade.h5');
    const plot = join(dir, 'cascade.svg');
    const r = await evaluate([
      ...common(),
      `gradient=${attributionPath}`,
      '--no-random-baseline',
      '--randomize',
      'cascade',
      '--sanity-samples',
      '3',
      '--sanity-plot',
      plot,
      '-o',
      output,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const cascade = (await readEvaluation(output)).cascade!;
    expect(cascade.layers).toHaveLength(2); // Gemm, then Conv
    expect(Array.from(cascade.index)).toEqual([4, 1, 5]);
    expect(cascade.methods.map((m) => m.name)).toEqual(['gradient']);
    expect(cascade.methods[0]!.spearman).toHaveLength(3 * 2);
    expect(r.stdout).toMatch(/cascading randomisation \(3 samples/);
    expect(r.stdout).toMatch(/\n2\s+\S*Conv/);
    expect(readFileSync(plot, 'utf8')).toContain('gradient Spearman');
    const unnamed = await evaluate([...common(), attributionPath, '--randomize', 'cascade', '-o', join(dir, 'cascade-bad.h5')]);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toMatch(/^xai-tools: method: --randomize cascade attributes again with the method a file's name gives/);
  });

  it('refuses bad input with one line and exit 1, leaving no output', async () => {
    const output = join(dir, 'bad.h5');
    const wrongLabels = join(dir, 'wrong-labels.h5');
    await writeDataset(wrongLabels, data, [SAMPLES, C, H, W], [3, 3, 3, 3, 3, 3]);
    const cases: Array<[string[], RegExp]> = [
      [
        [...common(), attributionPath, '-o', output, '--dataset', wrongLabels],
        /method\.h5: row 0 holds sample 4 with label 1, but that sample of .* has label 3/,
      ],
      [[...common(), join(dir, 'missing.h5'), '-o', output], /missing\.h5: no such file/],
      [[...common(), attributionPath, '-o', output, '--patch', '20'], /--patch: 20 is larger than the 10×9 image/],
      [[...common(), attributionPath, '-o', join(dir, 'morf.h5')], /morf\.h5: already exists/],
    ];
    for (const [args, message] of cases) {
      const r = await evaluate(args);
      // An error about an option (--patch) is a usage error: exit 2 with the --help hint.
      expect(r.code, r.stderr).toBe(/^--/.test(message.source) ? 2 : 1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(output)).toBe(false);
    const usage = await evaluate(['--model', modelPath, attributionPath]);
    expect(usage.code).toBe(2);
  });
});

describe('evaluate on the Clever-Hans fixture', () => {
  const fixture = join(repoRoot, 'fixtures', 'clever-hans');
  const attributions: Record<string, string> = {};
  beforeAll(async () => {
    for (const [name, args] of [
      ['epsilon-gamma-box', ['--composite', 'epsilon-gamma-box', '--low', '0', '--high', '1']],
      ['gradient', ['--composite', 'none']],
    ] as const) {
      attributions[name] = join(dir, `${name}.h5`);
      const r = await runCli([
        'attribute',
        '--model',
        join(fixture, 'model.onnx'),
        '--dataset',
        join(fixture, 'dataset.h5'),
        ...args,
        '--indices',
        '0:120',
        '-q',
        '-o',
        attributions[name]!,
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('MoRF AOPC of epsilon-gamma-box beats the random order, and its MoRF curve falls faster than LeRF; plots', async () => {
    const run = async (order: string, extra: string[]) => {
      const output = join(dir, `hans-${order}.h5`);
      const r = await evaluate([
        '--model',
        join(fixture, 'model.onnx'),
        '--dataset',
        join(fixture, 'dataset.h5'),
        attributions['epsilon-gamma-box']!,
        attributions.gradient!,
        '--patch',
        '4',
        '--steps',
        '20',
        '--per-step',
        '2',
        '--order',
        order,
        '-q',
        '-o',
        output,
        ...extra,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return { file: await readEvaluation(output), stdout: r.stdout };
    };
    const svg = join(dir, 'hans.svg');
    const morf = await run('morf', ['--plot', svg]);
    const lerf = await run('lerf', ['--no-random-baseline']);
    const mean = (g: EvaluationGroup | undefined): number => Array.from(g!.aopc).reduce((a, b) => a + b, 0) / g!.rows;
    const byName = (f: typeof morf.file, name: string) => f.groups.find((g) => g.name === name);
    expect(mean(byName(morf.file, 'epsilon-gamma-box'))).toBeGreaterThan(mean(byName(morf.file, 'random')) + 1);
    expect(mean(byName(morf.file, 'epsilon-gamma-box'))).toBeGreaterThan(mean(byName(lerf.file, 'epsilon-gamma-box')) + 1);
    // Mean MoRF curve below the LeRF one at every intermediate step.
    const meanAt = (g: EvaluationGroup, k: number): number => {
      let s = 0;
      for (let r = 0; r < g.rows; r++) s += g.curve[r * (g.steps + 1) + k]!;
      return s / g.rows;
    };
    for (let k = 1; k < 20; k++) expect(meanAt(byName(morf.file, 'epsilon-gamma-box')!, k)).toBeLessThan(meanAt(byName(lerf.file, 'epsilon-gamma-box')!, k));
    // The table is ranked: epsilon-gamma-box before random.
    expect(morf.stdout.indexOf('epsilon-gamma-box')).toBeLessThan(morf.stdout.indexOf('random'));
    const text = readFileSync(svg, 'utf8');
    expect(text).toContain('<svg');
    expect(text.match(/<polyline/g)).toHaveLength(3);
    expect(text).toMatch(/epsilon-gamma-box \(morf\) AOPC \d+\.\d{3} ± \d+\.\d{3}/);
    expect(text).toContain('stroke-dasharray'); // the random baseline

    const png = join(dir, 'hans.png');
    const only = await evaluate(['--plot-only', join(dir, 'hans-morf.h5'), '-o', png]);
    expect(only.code, only.stderr).toBe(0);
    expect(only.stdout).toContain('epsilon-gamma-box');
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(800);
  });
});
