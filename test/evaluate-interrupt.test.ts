/**
 * `xai-tools evaluate` under a real SIGINT/SIGTERM on a real run: it stops within about a second,
 * exits 130, keeps the finished rows in the partial file, and `--resume` ends with a file whose
 * curves and scores are bitwise those of an uninterrupted run. Also `--per-class`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvaluation, type EvaluationFile } from '../src/io/evaluation.js';
import { cliPath, repoRoot, runCli } from './helpers/cli.js';
import { journalRows } from './helpers/journal.js';

const fixture = join(repoRoot, 'fixtures', 'clever-hans');
const SAMPLES = 900;
let dir: string;
let attribution: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-evaluate-interrupt-'));
  attribution = join(dir, 'epsilon-plus.h5');
  const r = await runCli([
    'attribute',
    '--model',
    join(fixture, 'model.onnx'),
    '--dataset',
    join(fixture, 'dataset.h5'),
    '--composite',
    'epsilon-plus',
    '--indices',
    `0:${SAMPLES}`,
    '-q',
    '-o',
    attribution,
  ]);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Two groups (the file and the random order) × 900 samples × 50 steps: 90 000 forward passes in
// batches of 72 samples, so a run spans 25 journal entries.
const args = (output: string): string[] => [
  'evaluate',
  '--model',
  join(fixture, 'model.onnx'),
  '--dataset',
  join(fixture, 'dataset.h5'),
  attribution,
  '--patch',
  '4',
  '--steps',
  '49',
  '--batch-size',
  '64',
  '-q',
  '-o',
  output,
];

function expectSameRows(a: EvaluationFile, b: EvaluationFile): void {
  expect(a.groups.map((g) => g.name)).toEqual(b.groups.map((g) => g.name));
  a.groups.forEach((g, i) => {
    const h = b.groups[i]!;
    expect(g.rows).toBe(SAMPLES);
    for (const key of ['curve', 'aopc', 'auc', 'index', 'row', 'target', 'label'] as const) {
      expect(
        Buffer.from(g[key].buffer, g[key].byteOffset, g[key].byteLength).equals(Buffer.from(h[key].buffer, h[key].byteOffset, h[key].byteLength)),
        `${g.name}/${key}`,
      ).toBe(true);
    }
  });
}

describe('evaluate: interrupt and resume', () => {
  let whole: EvaluationFile;
  beforeAll(async () => {
    const output = join(dir, 'whole.h5');
    const r = await runCli(args(output));
    expect(r.code, r.stderr).toBe(0);
    whole = await readEvaluation(output);
  }, 120_000);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops within a second of ${signal}, exits 130, and --resume gives the uninterrupted run's rows bit for bit`, async () => {
      const output = join(dir, `stopped-${signal}.h5`);
      const journal = `${output}.partial.json`;
      const child = spawn(process.execPath, [cliPath, ...args(output)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      let exitedAt = 0;
      const code = new Promise<number | null>((resolve) =>
        child.on('exit', (c) => {
          exitedAt = performance.now();
          resolve(c);
        }),
      );
      // Signal once the first batch is on disk, in the middle of the run.
      expect(await journalRows(journal, 1, child)).toBeGreaterThanOrEqual(1);
      const sentAt = performance.now();
      child.kill(signal);
      expect(await code).toBe(130);
      // The engine checks the signal between onnxruntime runs (about a millisecond each here); the
      // bound is the brief's one second, plus room for a machine loaded by parallel test files.
      expect(exitedAt - sentAt).toBeLessThan(1500);
      expect(stderr).toBe(`xai-tools: interrupted by ${signal}; no partial output was left under the final name\n`);
      expect(existsSync(output)).toBe(false);
      expect(existsSync(`${output}.partial`)).toBe(true);
      const kept = JSON.parse(readFileSync(journal, 'utf8')).rows as number;
      expect(kept).toBeGreaterThanOrEqual(1);
      expect(kept).toBeLessThan(2 * SAMPLES);

      // Without --resume the partial run is not thrown away; with it the run continues where it stopped.
      const refused = await runCli(args(output));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/\.partial: .*--resume/);
      const resumed = await runCli([...args(output).filter((a) => a !== '-q'), '--resume']);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toMatch(new RegExp(`resuming .*: ${kept} rows done, ${2 * SAMPLES - kept} samples to go`));
      expect(existsSync(`${output}.partial`) || existsSync(journal)).toBe(false);
      expectSameRows(await readEvaluation(output), whole);
    }, 120_000);
  }

  it('--per-class adds one line per target class with its own mean AOPC; --json carries them', async () => {
    const output = join(dir, 'whole.h5');
    const table = await runCli(['evaluate', '--plot-only', output, '-o', join(dir, 'curves.svg'), '--per-class']);
    expect(table.code, table.stderr).toBe(0);
    // Run from the file's directory with a relative name: the document still gives the absolute path.
    const doc = await runCli(['evaluate', '--plot-only', 'whole.h5', '-o', 'curves.svg', '--per-class', '--json'], { cwd: dir });
    expect(doc.code, doc.stderr).toBe(0);
    expect(JSON.parse(doc.stdout).output).toBe(output);
    const methods = (JSON.parse(doc.stdout) as { methods: Array<{ name: string; perClass?: Record<string, { aopc: { mean: number; n: number } }> }> }).methods;
    const group = whole.groups[0]!;
    const classes = [...new Set(group.target)].sort((a, b) => a - b);
    expect(classes.length).toBeGreaterThan(1);
    const perClass = methods.find((m) => m.name === group.name)!.perClass!;
    expect(Object.keys(perClass).map(Number)).toEqual(classes);
    for (const c of classes) {
      const mine = Array.from(group.aopc).filter((_, r) => group.target[r] === c);
      const mean = mine.reduce((s, v) => s + v, 0) / mine.length;
      expect(perClass[String(c)]!.aopc.n).toBe(mine.length);
      expect(perClass[String(c)]!.aopc.mean).toBeCloseTo(mean, 4);
      // The table: an indented line per class under its method, with its count and mean AOPC.
      expect(table.stdout).toMatch(new RegExp(`\\n {8}${c} +${mine.length} +${mean.toFixed(4)} ± `));
    }
    // Without --per-class there are no class lines.
    const plain = await runCli(['evaluate', '--plot-only', output, '-o', join(dir, 'curves.svg')]);
    expect(plain.stdout.trim().split('\n')).toHaveLength(2 + whole.groups.length);
  });
});
