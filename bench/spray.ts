/**
 * SpRAy benchmark, as users run it: `xai-tools spray A.h5 --clusters 2:10 --embeddings tsne` on an
 * attribution file of N synthetic 3×32×32 attributions (one category), whole-command wall time and
 * peak RSS, and in the same run CoRelAy's equivalent pipeline (bench/corelay_spray.py) on the same
 * file, printing both and the ratio.
 *
 *   npm run bench spray                    N = 2000
 *   npx tsx bench/spray.ts 2000 50000      any sizes (CoRelAy up to BENCH_CORELAY_MAX = 20000: its
 *                                          dense distance matrix is N² doubles)
 *   npx tsx bench/spray.ts --engine 2000   the engine in-process instead (no CLI, no HDF5), with the
 *                                          time of every processor type
 *   npx tsx bench/spray.ts --write A.h5 2000   only write the input file (to profile the CLI on it)
 *   npx tsx bench/spray.ts --shape 3x16x16 50000   smaller rows (256 features after the channel sum)
 *                                          for the large-N targets: N = 200 000 rows of 3×32×32
 *                                          would be 2.4 GB of input alone
 *
 * CoRelAy comes from a checkout named by CORELAY_SRC (see bench/lib/cli.ts); without it only the CLI
 * is timed. The CLI needs a build (`npm run build`). Everything runs on one thread: the CLI's
 * JavaScript plus usearch at threads = 1; CoRelAy with OMP/OpenBLAS/MKL at one thread.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AttributionWriter } from '../src/io/attribution.js';
import { tensor } from '../src/processors/data.js';
import { createContext } from '../src/processors/processor.js';
import { Random } from '../src/processors/random.js';
import { analyseCategory, DEFAULT_SPRAY, sprayPipeline } from '../src/processors/spray.js';
import { type CliRun, distProblem, failure, loadAverage, root, runCli, runPython } from './lib/cli.js';

/** Attribution shape [channels, height, width] of the synthetic rows: `--shape 3x16x16` (default 3×32×32). */
function sampleShape(): [number, number, number] {
  const at = process.argv.indexOf('--shape');
  if (at < 0) return [3, 32, 32];
  const dims = (process.argv[at + 1] ?? '').split('x').map(Number);
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1) || dims[1] !== dims[2])
    throw new Error('--shape wants CxHxW with H = W, e.g. 3x16x16');
  return dims as [number, number, number];
}

/**
 * N attributions of shape C×H×H from four "strategies": relevance on a Gaussian blob at one of
 * three object positions, or (the Clever Hans) on a small watermark patch in a corner; plus noise.
 * Positions and widths scale with H (the layout of the 32×32 original).
 */
function synthetic(n: number, seed = 7, [channels, hw] = sampleShape()): Float32Array {
  const random = new Random(seed);
  const scale = hw / 32;
  const out = new Float32Array(n * channels * hw * hw);
  const centres = [
    [10, 12],
    [20, 18],
    [14, 24],
    [2, 2],
  ];
  for (let i = 0; i < n; i++) {
    const strategy = i % 4;
    const [cy, cx] = centres[strategy]!;
    const sigma = scale * (strategy === 3 ? 1.5 : 4 + random.next());
    const jy = scale * (cy! + random.gaussian());
    const jx = scale * (cx! + random.gaussian());
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < hw; y++) {
        for (let x = 0; x < hw; x++) {
          const blob = Math.exp(-((y - jy) ** 2 + (x - jx) ** 2) / (2 * sigma * sigma));
          out[((i * channels + c) * hw + y) * hw + x] = blob * (0.8 + 0.4 * random.next()) + 0.05 * random.gaussian();
        }
      }
    }
  }
  return out;
}

function runOne(n: number): void {
  const data = tensor('float32', [n, ...sampleShape()], synthetic(n));
  const ks = Array.from({ length: 9 }, (_, i) => i + 2);
  // What `xai-tools spray --clusters 2:10 --embeddings tsne` runs (every clustering, HDBSCAN included).
  const pipeline = sprayPipeline({ ...DEFAULT_SPRAY, clusters: ks, embeddings: ['tsne'] });
  const times = new Map<string, number>();
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const context = createContext({
    step: (processor) => {
      const now = performance.now();
      const cpuStep = process.cpuUsage(lastCpu);
      lastCpu = process.cpuUsage();
      times.set(processor.name, (times.get(processor.name) ?? 0) + (now - last) / 1000);
      if (process.env.SPRAY_BENCH_VERBOSE)
        process.stderr.write(
          `  ${processor.label}: ${((now - last) / 1000).toFixed(2)} s wall, ${((cpuStep.user + cpuStep.system) / 1e6).toFixed(2)} s CPU,` +
            ` RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB\n`,
        );
      last = now;
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = analyseCategory(
    pipeline,
    'bench',
    Int32Array.from({ length: n }, (_, i) => i),
    data,
    context,
  );
  const wall = (performance.now() - t0) / 1000;
  const cpuUsage = process.cpuUsage(cpu0);
  const cpu = (cpuUsage.user + cpuUsage.system) / 1e6;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  const line = {
    n,
    wall_s: +wall.toFixed(2),
    cpu_s: +cpu.toFixed(2),
    peak_rss_mib: Math.round(rssMiB),
    clusterings: result.clusterings.length,
    suspicion: result.attrs?.suspicion,
    steps_s: Object.fromEntries([...times].map(([k, v]) => [k, +v.toFixed(2)])),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** An attribution file of `n` synthetic rows, all of label 0 (one category). */
async function writeAttributions(path: string, n: number): Promise<void> {
  const shape = sampleShape();
  const writer = await AttributionWriter.create(path, { sampleShape: shape, numClasses: 2, withIndex: false });
  try {
    // Written in blocks with their own seeds so N = 200 000 never holds the whole set in memory.
    const rows = 4096;
    for (let start = 0; start < n; start += rows) {
      const end = Math.min(n, start + rows);
      const data = synthetic(end - start, 7 + start, shape);
      writer.append({ attribution: data, label: new Int32Array(end - start), prediction: new Float32Array((end - start) * 2) });
    }
    writer.commit();
  } catch (error) {
    writer.abort();
    throw error;
  }
}

const TIME = '/usr/bin/time';

/**
 * `node bin/xai-tools.js ...args` under /usr/bin/time: `spray` runs its work in a supervised child
 * process, whose CPU time and peak RSS the in-process figures of runCli (cli-with-rss.mjs) miss;
 * time(1) reports the whole process tree as waited for. Without /usr/bin/time, runCli's figures.
 */
function timeCli(args: string[]): Promise<CliRun> {
  if (!existsSync(TIME)) return runCli(args);
  const began = performance.now();
  return new Promise((resolve) => {
    const child = spawn(TIME, ['-f', '\nBENCH_TIME %U %S %M', process.execPath, join(root, 'bin', 'xai-tools.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const m = /\nBENCH_TIME ([\d.]+) ([\d.]+) (\d+)\n?$/.exec(stderr);
      resolve({
        code,
        seconds: (performance.now() - began) / 1000,
        cpuSeconds: m ? Number(m[1]) + Number(m[2]) : Number.NaN,
        peakRssMiB: m ? Number(m[3]) / 1024 : Number.NaN,
        stdout,
        stderr: m ? stderr.slice(0, m.index) : stderr,
      });
    });
  });
}

/** The CLI, then CoRelAy, on the same file: per size, back to back. */
async function sideBySide(sizes: number[]): Promise<void> {
  const problem = distProblem();
  if (problem) {
    console.log(`cannot time the CLI: ${problem}`);
    process.exitCode = 1;
    return;
  }
  const corelayMax = Number(process.env.BENCH_CORELAY_MAX ?? 20000);
  const rows: string[] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'xai-bench-spray-'));
    try {
      const input = join(dir, 'A.h5');
      await writeAttributions(input, n);
      const cli = await timeCli(['spray', input, '-o', join(dir, 'analysis.h5'), '--clusters', '2:10', '--embeddings', 'tsne', '--quiet']);
      const cliLoad = loadAverage();
      if (cli.code !== 0) {
        console.log(`N=${n}: xai-tools spray failed, ${failure(cli)}`);
        process.exitCode = 1;
        continue;
      }
      console.log(
        `N=${n}: xai-tools spray ${cli.seconds.toFixed(2)} s wall, ${cli.cpuSeconds.toFixed(2)} s CPU, peak RSS` +
          ` ${cli.peakRssMiB.toFixed(0)} MiB  load ${cliLoad}`,
      );
      let corelay: { wall: number; cpu: number } | undefined;
      let corelayLoad = '';
      if (n > corelayMax)
        console.log(`N=${n}: CoRelAy not run (N > BENCH_CORELAY_MAX = ${corelayMax}; its distance matrix alone is ${((n * n * 8) / 2 ** 30).toFixed(1)} GiB)`);
      else {
        const began = performance.now();
        const r = await runPython('corelay_spray.py', [input, '--clusters', '2:10', '--output', join(dir, 'corelay.h5'), '--json']);
        const wall = (performance.now() - began) / 1000;
        corelayLoad = loadAverage();
        if (r.code === 3) console.log(`N=${n}: CoRelAy skipped: ${r.stderr.trim().split('\n').pop()}`);
        else if (r.code !== 0 || !r.results[0])
          console.log(`N=${n}: corelay_spray.py failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        else {
          corelay = { wall, cpu: r.results[0].cpu_s as number };
          const pipelineSeconds = r.results[0].pipeline_s as number;
          console.log(
            `N=${n}: CoRelAy ${wall.toFixed(2)} s wall, ${corelay.cpu.toFixed(2)} s CPU (pipelines ${pipelineSeconds.toFixed(2)} s, imports` +
              ` ${(r.results[0].import_s as number).toFixed(2)} s; numpy ${r.results[0].numpy})  load ${corelayLoad}`,
          );
        }
      }
      const both = (a: number, b: number): string => `${a.toFixed(2)} (${b.toFixed(2)})`;
      rows.push(
        `| ${n} | ${both(cli.seconds, cli.cpuSeconds)} | ${cli.peakRssMiB.toFixed(0)} MiB |` +
          ` ${corelay === undefined ? '–' : both(corelay.wall, corelay.cpu)} |` +
          ` ${corelay === undefined ? '–' : `${(corelay.wall / cli.seconds).toFixed(2)}× (${(corelay.cpu / cli.cpuSeconds).toFixed(2)}×)`} |` +
          ` ${cliLoad}${corelayLoad ? ` / ${corelayLoad}` : ''} |`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('\nWhole-command seconds, wall (CPU in brackets); speed-up of wall times (of CPU times in brackets).');
  console.log('| N | xai-tools spray s | peak RSS | CoRelAy s | speed-up (target ≥ 2×) | load (CLI / CoRelAy) |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

const child = process.argv.indexOf('--child');
if (child >= 0) {
  runOne(Number(process.argv[child + 1]));
} else if (process.argv.includes('--write')) {
  const at = process.argv.indexOf('--write');
  await writeAttributions(process.argv[at + 1]!, Number(process.argv[at + 2] ?? 2000));
} else {
  const engineOnly = process.argv.includes('--engine');
  const sizes = process.argv
    .slice(2)
    .filter((a) => /^\d+$/.test(a))
    .map(Number);
  console.log(
    `spray benchmark, ${new Date().toISOString()}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} vCPUs), Node` +
      ` ${process.version}, one thread, load ${loadAverage()}`,
  );
  if (!engineOnly) await sideBySide(sizes.length ? sizes : [2000]);
  else {
    const list = sizes.length ? sizes : [2000];
    const shapeAt = process.argv.indexOf('--shape');
    const shapeArgs = shapeAt >= 0 ? process.argv.slice(shapeAt, shapeAt + 2) : [];
    console.log('   N    wall s   CPU s   peak RSS   per step (wall s)');
    for (const n of list) {
      const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1] ?? fileURLToPath(import.meta.url), '--child', String(n), ...shapeArgs], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (r.status !== 0) {
        process.exitCode = 1;
        continue;
      }
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        n: number;
        wall_s: number;
        cpu_s: number;
        peak_rss_mib: number;
        steps_s: Record<string, number>;
      };
      const steps = Object.entries(result.steps_s)
        .filter(([, v]) => v >= 0.05)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(
        `${String(n).padStart(6)}  ${result.wall_s.toFixed(2).padStart(7)}  ${result.cpu_s.toFixed(2).padStart(6)}` +
          `  ${String(result.peak_rss_mib).padStart(5)} MiB   ${steps}`,
      );
    }
  }
}
