/**
 * Issue 12 through the real CLI: no output is ever an input, one --overwrite policy, FIFOs are
 * written into, stale temporaries are cleaned, SIGINT/SIGTERM stop spray/heatmap/canonize within a
 * second keeping the previous output, usage errors are one line with exit 2, system errors in words.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttributionWriter } from '../src/io/attribution.js';
import { cliPath, repoRoot, runCli, sharedDir } from './helpers/cli.js';

const fixture = join(repoRoot, 'fixtures', 'clever-hans');
const model = join(fixture, 'model.onnx');
const dataset = join(fixture, 'dataset.h5');
const labelMap = join(fixture, 'label-map.json');
const sprayAttributions = join(sharedDir, 'conformance', 'spray', 'attribution.h5');

let dir: string;
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const temporariesIn = (d: string) => readdirSync(d).filter((n) => /\.tmp-\d+$/.test(n));
const oneLine = (stderr: string) => expect(stderr.trim().split('\n'), stderr).toHaveLength(1);

/** A dead pid: a process that has exited (its number is not reused within the test). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/** Many rows with two strategies, so spray and heatmap run for several seconds. */
async function bigAttributions(path: string, rows: number, shape: number[]): Promise<void> {
  const size = shape.reduce((a, b) => a * b, 1);
  const writer = await AttributionWriter.create(path, { sampleShape: shape, numClasses: 1, withIndex: false });
  let seed = 7;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let r = 0; r < rows; r++) {
    const attribution = new Float32Array(size);
    for (let p = 0; p < size; p++) attribution[p] = (p % 2 === r % 2 ? 1 : 0.1) + 0.5 * random();
    writer.append({ attribution, label: Int32Array.from([0]), prediction: Float32Array.from([1]) });
  }
  writer.commit();
}

/** 3000 Conv/BatchNorm/ReLU layers (test/models/deep_convbn.py): canonize runs for about 2 s. */
let deepModel: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xai-robust-'));
  deepModel = join(dir, 'deep.onnx');
  const made = spawnSync('/usr/bin/python3', [join(repoRoot, 'test', 'models', 'deep_convbn.py'), deepModel, '3000'], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
}, 60_000);

describe('no command writes over one of its inputs', () => {
  it.each([
    ['canonize onto its model', (d: string) => [['canonize', join(d, 'm.onnx'), '-o', join(d, 'm.onnx')], join(d, 'm.onnx')]],
    ['canonize through a symlink', (d: string) => [['canonize', join(d, 'm.onnx'), '-o', join(d, 'link.onnx')], join(d, 'm.onnx')]],
    ['spray onto its attributions', (d: string) => [['spray', join(d, 'a.h5'), '-o', join(d, 'a.h5')], join(d, 'a.h5')]],
    [
      'project init onto the dataset',
      (d: string) => [
        ['project', 'init', '--name', 'p', '--model', 'm', '--dataset', join(d, 'd.h5'), '--label-map', join(d, 'l.json'), '-o', join(d, 'd.h5')],
        join(d, 'd.h5'),
      ],
    ],
    [
      'project init onto the label map',
      (d: string) => [
        [
          'project',
          'init',
          '--name',
          'p',
          '--model',
          'm',
          '--dataset',
          join(d, 'd.h5'),
          '--label-map',
          join(d, 'l.json'),
          '-o',
          join(d, 'l.json'),
          '--overwrite',
        ],
        join(d, 'l.json'),
      ],
    ],
    [
      'attribute onto its dataset, even with --overwrite',
      (d: string) => [['attribute', '--model', join(d, 'm.onnx'), '--dataset', join(d, 'd.h5'), '-o', join(d, 'd.h5'), '--overwrite'], join(d, 'd.h5')],
    ],
    [
      'evaluate onto an attribution file',
      (d: string) => [
        ['evaluate', '--model', join(d, 'm.onnx'), '--dataset', join(d, 'd.h5'), join(d, 'a.h5'), '-o', join(d, 'a.h5'), '--overwrite'],
        join(d, 'a.h5'),
      ],
    ],
    [
      'heatmap --recolor onto its PNG by another name',
      (d: string) => [['heatmap', '--recolor', join(d, 'h.png'), '-o', join(d, 'h-link.png'), '--overwrite'], join(d, 'h.png')],
    ],
  ] as Array<[string, (d: string) => [string[], string]]>)('%s: one line, exit 1, input untouched', async (_name, make) => {
    const d = mkdtempSync(join(dir, 'same-'));
    copyFileSync(model, join(d, 'm.onnx'));
    symlinkSync(join(d, 'm.onnx'), join(d, 'link.onnx'));
    copyFileSync(sprayAttributions, join(d, 'a.h5'));
    copyFileSync(dataset, join(d, 'd.h5'));
    copyFileSync(labelMap, join(d, 'l.json'));
    // A palette PNG to recolour.
    const colorbar = await runCli(['heatmap', '--colorbar', join(d, 'h.png')]);
    expect(colorbar.code, colorbar.stderr).toBe(0);
    symlinkSync(join(d, 'h.png'), join(d, 'h-link.png'));
    const [args, input] = make(d);
    const before = sha(input);
    const r = await runCli(args);
    expect(r.code, r.stderr).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^xai-tools: .*: is also an input of this command/);
    expect(sha(input)).toBe(before);
    expect(temporariesIn(d)).toEqual([]);
  });
});

describe('one overwrite policy: an existing output needs --overwrite', () => {
  it('canonize, spray, project init and heatmap refuse an existing output and replace it with --overwrite', async () => {
    const d = mkdtempSync(join(dir, 'policy-'));
    const project = ['project', 'init', '--name', 'p', '--model', 'm', '--dataset', dataset, '--label-map', labelMap, '-o', join(d, 'p.yaml')];
    const cases: Array<[string[], string]> = [
      [['canonize', model, '-q', '-o', join(d, 'c.onnx')], join(d, 'c.onnx')],
      [['spray', sprayAttributions, '-q', '--embeddings', 'none', '--clusters', '2:3', '-o', join(d, 's.h5')], join(d, 's.h5')],
      [project, join(d, 'p.yaml')],
      [['heatmap', sprayAttributions, '--indices', '0:3', '-q', '-o', join(d, 'hm')], join(d, 'hm', 'heatmaps.csv')],
    ];
    for (const [args, file] of cases) {
      writeFileSync(join(d, 'marker'), '');
      const first = await runCli(args);
      expect(first.code, first.stderr).toBe(0);
      const before = sha(file);
      const again = await runCli(args);
      expect(again.code, `${args[0]}: ${again.stderr}`).toBe(1);
      oneLine(again.stderr);
      expect(again.stderr).toMatch(/--overwrite/);
      expect(sha(file)).toBe(before);
      const replaced = await runCli([...args, '--overwrite']);
      expect(replaced.code, replaced.stderr).toBe(0);
      expect(statSync(file).mtimeMs).toBeGreaterThanOrEqual(statSync(join(d, 'marker')).mtimeMs);
    }
  });
});

describe('outputs that are not regular files', () => {
  it('writes into a FIFO instead of renaming over it (canonize and spray)', async () => {
    const d = mkdtempSync(join(dir, 'fifo-'));
    for (const [args, magic] of [
      [['canonize', model, '-q'], null],
      [['spray', sprayAttributions, '-q', '--embeddings', 'none', '--clusters', '2:3'], Buffer.from([0x89, 0x48, 0x44, 0x46])],
    ] as Array<[string[], Buffer | null]>) {
      const fifo = join(d, `out-${args[0]}`);
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      // The reader: collects what arrives through the pipe.
      const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks: Buffer[] = [];
      reader.stdout.on('data', (c: Buffer) => chunks.push(c));
      const read = new Promise((resolve) => reader.on('close', resolve));
      const r = await runCli([...args, '-o', fifo]);
      await read;
      expect(r.code, r.stderr).toBe(0);
      expect(statSync(fifo).isFIFO()).toBe(true);
      const got = Buffer.concat(chunks);
      if (magic) expect(got.subarray(0, 4).equals(magic)).toBe(true);
      else {
        // The canonical model as a regular file, for comparison.
        const file = join(d, 'regular.onnx');
        expect((await runCli([...args, '-o', file])).code).toBe(0);
        expect(got.equals(readFileSync(file))).toBe(true);
      }
      expect(temporariesIn(d)).toEqual([]);
    }
  });
});

describe('temporaries of dead runs', () => {
  it('are removed by the next run; those of a live process are kept', async () => {
    const d = mkdtempSync(join(dir, 'stale-'));
    const stale = join(d, `.c.onnx.tmp-${deadPid()}`);
    const live = join(d, `.c.onnx.tmp-${process.pid}`);
    writeFileSync(stale, 'left by a SIGKILL');
    writeFileSync(live, 'still being written');
    const r = await runCli(['canonize', model, '-q', '-o', join(d, 'c.onnx')]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});

/** Starts the CLI, waits until `ready()` holds, sends `signals` and resolves to the exit code and the ms from the first signal to exit. */
function interrupt(args: string[], ready: () => boolean, signals: NodeJS.Signals[]): Promise<{ code: number | null; ms: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    let sent = 0;
    const deadline = Date.now() + 120_000;
    const poll = setInterval(() => {
      if (Date.now() > deadline) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error('never became ready'));
      }
      if (!ready()) return;
      clearInterval(poll);
      sent = Date.now();
      for (const s of signals) child.kill(s);
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (!sent) reject(new Error(`exited before the signal: ${code} ${stderr}`));
      else resolve({ code, ms: Date.now() - sent, stderr });
    });
  });
}

describe('SIGINT and SIGTERM stop within a second, keep the previous output, leave no temporary', () => {
  let big: string;
  let images: string;
  beforeAll(async () => {
    big = join(dir, 'big.h5');
    await bigAttributions(big, 1500, [1, 16, 16]);
    images = join(dir, 'images.h5');
    await bigAttributions(images, 3000, [1, 48, 48]);
  }, 60_000);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`spray on ${signal} in the middle of its synchronous pipeline`, async () => {
      const d = mkdtempSync(join(dir, `spray-${signal}-`));
      const out = join(d, 'analysis.h5');
      writeFileSync(out, 'previous output');
      const r = await interrupt(['spray', big, '-q', '--overwrite', '-o', out], () => temporariesIn(d).length > 0, [signal]);
      expect(r.code, r.stderr).toBe(130);
      expect(r.ms).toBeLessThan(1000);
      expect(r.stderr).toContain(`interrupted by ${signal}`);
      expect(readFileSync(out, 'utf8')).toBe('previous output');
      expect(temporariesIn(d)).toEqual([]);
    }, 180_000);
  }

  it('heatmap on SIGINT while writing images; a second Ctrl-C is not needed but allowed', async () => {
    const d = mkdtempSync(join(dir, 'heatmap-'));
    const out = join(d, 'hm');
    mkdirSync(out);
    writeFileSync(join(out, 'heatmaps.csv'), 'previous manifest');
    const r = await interrupt(['heatmap', images, '-q', '--overwrite', '-o', out], () => readdirSync(out).length > 5, ['SIGINT', 'SIGINT']);
    expect(r.code, r.stderr).toBe(130);
    expect(r.ms).toBeLessThan(1000);
    expect(readFileSync(join(out, 'heatmaps.csv'), 'utf8')).toBe('previous manifest');
    expect(temporariesIn(out)).toEqual([]);
    // Every PNG under its final name is whole (each is renamed into place only when written).
    const pngs = readdirSync(out).filter((n) => n.endsWith('.png'));
    expect(pngs.length).toBeGreaterThan(0);
    const iend = Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
    for (const png of pngs) expect(readFileSync(join(out, png)).subarray(-8).equals(iend), png).toBe(true);
  }, 180_000);

  it('canonize on SIGINT in the middle of folding 3000 BatchNorms: exit 130, previous model intact, no temporary', async () => {
    const d = mkdtempSync(join(dir, 'canonize-'));
    const out = join(d, 'canonical.onnx');
    writeFileSync(out, 'previous model');
    const started = Date.now();
    const r = await interrupt(['canonize', deepModel, '-q', '--overwrite', '-o', out], () => Date.now() - started > 800, ['SIGINT']);
    expect(r.code, r.stderr).toBe(130);
    expect(r.ms).toBeLessThan(1000);
    expect(readFileSync(out, 'utf8')).toBe('previous model');
    expect(temporariesIn(d)).toEqual([]);
  }, 120_000);

  it('spray: when the supervising parent is SIGKILLed, its child stops within a second and removes its temporary', async () => {
    const d = mkdtempSync(join(dir, 'orphan-'));
    const out = join(d, 'analysis.h5');
    writeFileSync(out, 'previous output');
    const parent = spawn(process.execPath, [cliPath, 'spray', big, '-q', '--overwrite', '-o', out], { stdio: 'ignore' });
    const deadline = Date.now() + 120_000;
    while (temporariesIn(d).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // The temporary is named after the process writing it: the supervised child, not the parent.
    const childPid = Number(/\.tmp-(\d+)$/.exec(temporariesIn(d)[0]!)![1]);
    expect(childPid).not.toBe(parent.pid);
    parent.kill('SIGKILL');
    const killed = Date.now();
    // Gone, or a zombie waiting for a reaper (a container's pid 1 may never reap it): either way stopped.
    const running = () => existsSync(`/proc/${childPid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${childPid}/status`, 'utf8'));
    while (running() && Date.now() - killed < 5000) await new Promise((r) => setTimeout(r, 10));
    expect(running()).toBe(false);
    expect(Date.now() - killed).toBeLessThan(1000);
    expect(temporariesIn(d)).toEqual([]);
    expect(readFileSync(out, 'utf8')).toBe('previous output');
  }, 180_000);

  it('project init leaves the previous YAML whole when it fails half-way (atomic write)', async () => {
    const d = mkdtempSync(join(dir, 'yaml-'));
    const out = join(d, 'p.yaml');
    writeFileSync(out, 'name: previous\n');
    // The analysis file is not an analysis: the check fails after the YAML was built.
    const r = await runCli([
      'project',
      'init',
      '--name',
      'p',
      '--model',
      'm',
      '--dataset',
      dataset,
      '--label-map',
      labelMap,
      '--analysis',
      `a=${dataset}`,
      '--overwrite',
      '-o',
      out,
    ]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(readFileSync(out, 'utf8')).toBe('name: previous\n');
    expect(temporariesIn(d)).toEqual([]);
  });
});

describe('usage errors: one line, exit 2, with the hint', () => {
  const usage = /^xai-tools: (--[\w-]+|<[\w.]+>|[\w-]+): .+ \(see xai-tools [\w ]+--help\)$/;
  it.each([
    ['attribute', '--batch-size', '0'],
    ['attribute', '--threads', '0'],
    ['attribute', '--gamma', '-5'],
    ['attribute', '--low', '1', '--high', '0'],
    ['attribute', '--frobnicate'],
    ['spray', '--clusters', '2:9999999999'],
    ['spray', '--clusters', '2:100000'],
    ['spray', '--n-eigval', 'x'],
    ['spray', '--seed', '-1'],
    ['heatmap', '--grid', '100000x100000'],
    ['heatmap', '--format', 'gif'],
    ['heatmap', '--quality', '0'],
    ['heatmap', '--level', '0'],
    ['evaluate', '--patch', '0'],
    ['evaluate', '--sanity-threshold', '3'],
    ['canonize', '--input-shape', '1,a'],
    ['project', 'init', '--input-size', 'big'],
    ['serve', '--port', '70000'],
  ])('%s %s %s', async (...argv) => {
    const d = mkdtempSync(join(dir, 'usage-'));
    const command = argv[0] === 'project' ? argv.slice(0, 2) : argv.slice(0, 1);
    const rest = argv.slice(command.length);
    // Everything else valid, so the one bad option is what fails.
    const base: Record<string, string[]> = {
      attribute: ['--model', model, '--dataset', dataset, '--indices', '0:2', '-o', join(d, 'o.h5')],
      spray: [sprayAttributions, '-o', join(d, 'o.h5')],
      heatmap: [sprayAttributions, '-o', join(d, 'hm')],
      evaluate: ['--model', model, '--dataset', dataset, sprayAttributions, '-o', join(d, 'o.h5')],
      canonize: [model, '-o', join(d, 'o.onnx')],
      'project init': ['--name', 'p', '--model', 'm', '--dataset', dataset, '--label-map', labelMap, '-o', join(d, 'p.yaml')],
      serve: [join(d, 'p.yaml')],
    };
    const r = await runCli([...command, ...base[command.join(' ')]!, ...rest]);
    expect(r.code, r.stderr).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr.trim()).toMatch(usage);
    expect(r.stderr).toContain(`see xai-tools ${command.join(' ')} --help`);
    expect(readdirSync(d)).toEqual([]);
  });

  it('a missing required option and a missing argument are one line too', async () => {
    for (const args of [['attribute'], ['canonize'], ['project', 'check'], ['spray', '-o', join(dir, 'x.h5')]]) {
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr.trim()).toMatch(usage);
    }
  });
});

describe('system errors are named in words, never an internal error', () => {
  it.each([
    ['project init into a missing directory', () => ['-o', join(dir, 'missing', 'p.yaml')], /missing\/p\.yaml: no such file or directory$/],
    ['project init onto a directory', () => ['-o', dir], /: is a directory$/],
  ])('%s', async (_name, extra, message) => {
    const r = await runCli(['project', 'init', '--name', 'p', '--model', 'm', '--dataset', dataset, '--label-map', labelMap, ...extra()]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error|tmp-\d/);
  });

  it('a symlink loop and a directory given as a PNG', async () => {
    const d = mkdtempSync(join(dir, 'loop-'));
    symlinkSync(join(d, 'b'), join(d, 'a'));
    symlinkSync(join(d, 'a'), join(d, 'b'));
    const loop = await runCli(['canonize', join(d, 'a'), '-o', join(d, 'o.onnx')]);
    expect(loop.code).toBe(1);
    expect(loop.stderr).toMatch(/too many levels of symbolic links/);
    const recolor = await runCli(['heatmap', '--recolor', d]);
    expect(recolor.code).toBe(1);
    expect(recolor.stderr.trim()).toBe(`xai-tools: ${d}: is a directory, not a heatmap PNG`);
  });

  // /dev/full accepts the open and fails every write with ENOSPC: a full disk without filling one.
  const projectInit = ['project', 'init', '--name', 'p', '--model', 'm', '--dataset', dataset, '--label-map', labelMap];
  it.each([
    ['canonize', () => ['canonize', model, '-q', '-o', '/dev/full']],
    ['attribute', () => ['attribute', '--model', model, '--dataset', dataset, '--indices', '0:8', '-q', '--overwrite', '-o', '/dev/full']],
    ['spray', () => ['spray', sprayAttributions, '-q', '--overwrite', '-o', '/dev/full']],
    ['project init', () => [...projectInit, '-o', '/dev/full']],
  ])('a full disk: %s -o /dev/full says "no space left on device" and names the output', async (_name, args) => {
    const r = await runCli(args());
    expect(r.code, r.stderr).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr.trim()).toMatch(/^xai-tools: \/dev\/full: (cannot write the model \()?no space left on device\)?$/);
    // The temporary of a device output is made in the temporary directory (users cannot write /dev).
    for (const d of ['/dev', tmpdir()]) expect(readdirSync(d).filter((n) => /^\.full\.tmp-/.test(n))).toEqual([]);
  });

  it.each([
    ['canonize -o -', () => ['canonize', model, '-q', '-o', '-'], 'xai-tools: <stdout>: cannot write the model (no space left on device)'],
    ['heatmap -o -', () => ['heatmap', sprayAttributions, '--indices', '0:1', '-q', '-o', '-'], 'xai-tools: <stdout>: no space left on device'],
    ['project init -o -', () => [...projectInit, '-o', '-'], 'xai-tools: <stdout>: no space left on device'],
    ['canonize --json', () => ['canonize', model, '-q', '--json', '--overwrite', '-o', join(dir, 'json.onnx')], 'xai-tools: <stdout>: no space left on device'],
  ])('a full disk behind stdout: %s fails with one line, never a stack trace', (_name, args, message) => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [cliPath, ...args()], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr.trim()).toBe(message);
    } finally {
      closeSync(full);
    }
  });

  it('a reader that goes away (| head): exit 141 as after SIGPIPE, quietly, no temporary left', async () => {
    const d = mkdtempSync(join(dir, 'epipe-'));
    const out = join(d, 'model.onnx');
    const child = spawn(process.execPath, [cliPath, 'canonize', deepModel, '--json', '-q', '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    // The JSON report lists 6000 changes (over a pipe's 64 KB): close after its first bytes.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(141);
    expect(stderr).toBe('');
    expect(temporariesIn(d)).toEqual([]);
  }, 120_000);

  it('--threads above the cores is lowered with a warning', async () => {
    const r = await runCli(['attribute', '--model', model, '--dataset', dataset, '--indices', '0:2', '--threads', '1000', '-q', '-o', join(dir, 'threads.h5')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--threads: 1000 is more than the \d+ available cores; using \d+/);
  });
});

describe('non-finite attributions and mismatched overlays', () => {
  let file: string;
  beforeAll(async () => {
    // 40 rows of one class, two strategies; rows 5 (NaN) and 17 (+Inf, twice) are broken.
    file = join(dir, 'nonfinite.h5');
    const writer = await AttributionWriter.create(file, { sampleShape: [1, 4, 4], numClasses: 1, withIndex: false });
    for (let r = 0; r < 40; r++) {
      const attribution = Float32Array.from({ length: 16 }, (_, p) => (p % 2 === r % 2 ? 1 : 0.1) + ((r * 16 + p) % 7) / 70);
      if (r === 5) attribution[3] = Number.NaN;
      if (r === 17) attribution.fill(Number.POSITIVE_INFINITY, 0, 2);
      writer.append({ attribution, label: Int32Array.from([0]), prediction: Float32Array.from([1]) });
    }
    writer.commit();
  });
  const spray = (extra: string[], out: string) => runCli(['spray', file, '-q', '--embeddings', 'none', '--clusters', '2:3', '-o', out, ...extra]);

  it('spray refuses them by default with the file, the first row and the count', async () => {
    const out = join(dir, 'nonfinite-analysis.h5');
    const r = await spray([], out);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr.trim()).toBe(
      `xai-tools: ${file}: 3 non-finite values (NaN or ±Inf) in 2 rows, the first at row 5 (sample 5); use --nan-policy skip or zero`,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('spray --nan-policy skip leaves those samples out; zero keeps all 40', async () => {
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const indexOf = (path: string) => {
      const f = new h5.File(path, 'r');
      try {
        return Array.from((f.get('00000000/index') as InstanceType<typeof h5.Dataset>).value as ArrayLike<number>, Number);
      } finally {
        f.close();
      }
    };
    const skipped = join(dir, 'nonfinite-skip.h5');
    const r = await spray(['--nan-policy', 'skip'], skipped);
    expect(r.code, r.stderr).toBe(0);
    expect(indexOf(skipped)).toEqual([...Array(40).keys()].filter((i) => i !== 5 && i !== 17));
    const zeroed = join(dir, 'nonfinite-zero.h5');
    const z = await spray(['--nan-policy', 'zero'], zeroed);
    expect(z.code, z.stderr).toBe(0);
    expect(indexOf(zeroed)).toEqual([...Array(40).keys()]);
  });

  it('heatmap: refused by default; skip draws the others; zero draws all', async () => {
    const refused = await runCli(['heatmap', file, '-q', '-o', join(dir, 'nf-hm')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/non-finite values .* the first at row 5 \(sample 5\)/);
    const skip = await runCli(['heatmap', file, '-q', '--nan-policy', 'skip', '-o', join(dir, 'nf-skip')]);
    expect(skip.code, skip.stderr).toBe(0);
    const listed = readFileSync(join(dir, 'nf-skip', 'heatmaps.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1);
    expect(listed).toHaveLength(38);
    expect(existsSync(join(dir, 'nf-skip', '05.png'))).toBe(false);
    const zero = await runCli(['heatmap', file, '-q', '--nan-policy', 'zero', '-o', join(dir, 'nf-zero')]);
    expect(zero.code, zero.stderr).toBe(0);
    expect(readdirSync(join(dir, 'nf-zero')).filter((n) => n.endsWith('.png'))).toHaveLength(40);
  });

  it('heatmap --overlay with images smaller than the attributions is an error', async () => {
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const small = join(dir, 'small-images.h5');
    const f = new h5.File(small, 'w');
    f.create_dataset({ name: 'data', data: new Float32Array(40 * 2 * 2).fill(0.5), shape: [40, 1, 2, 2], dtype: '<f4' });
    f.create_dataset({ name: 'label', data: new Uint16Array(40), shape: [40], dtype: '<H' });
    f.close();
    const r = await runCli(['heatmap', file, '-q', '--nan-policy', 'zero', '--overlay', '--dataset', small, '-o', join(dir, 'ov')]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/small-images\.h5: sample 0 is 2×2, smaller than its 4×4 attribution/);
  });
});
