/**
 * SpRAy benchmark: one category of synthetic 3×32×32 attributions through the `spectral` variant
 * (kNN affinity, 32 eigenpairs), k-means, agglomerative (Ward) and DBSCAN for k = 2…10, and t-SNE —
 * the configuration the issue timed for CoRelAy on this machine kind (6.4 s at N = 1000, 12.1 s at
 * N = 2000). Each size runs in its own child process so its peak RSS is its own.
 *
 *   npx tsx bench/spray.ts                 N = 1000 and 2000
 *   npx tsx bench/spray.ts 50000           any sizes
 *
 * Reported per size: wall time, CPU time of the process (user + system: on a shared machine this is
 * closer to what one free core would take), peak RSS, and the time of each processor type.
 * Everything runs on one thread (JavaScript plus usearch called with threads = 1).
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { tensor } from '../src/processors/data.js';
import { createContext } from '../src/processors/processor.js';
import { Random } from '../src/processors/random.js';
import { analyseCategory, DEFAULT_SPRAY, sprayPipeline } from '../src/processors/spray.js';

const CORELAY_SECONDS: Record<number, number> = { 1000: 6.4, 2000: 12.1 };

/**
 * N attributions of shape 3×32×32 from four "strategies": relevance on a Gaussian blob at one of
 * three object positions, or (the Clever Hans) on a small watermark patch in a corner; plus noise.
 */
function synthetic(n: number, seed = 7): Float32Array {
  const random = new Random(seed);
  const hw = 32;
  const out = new Float32Array(n * 3 * hw * hw);
  const centres = [[10, 12], [20, 18], [14, 24], [2, 2]];
  for (let i = 0; i < n; i++) {
    const strategy = i % 4;
    const [cy, cx] = centres[strategy]!;
    const sigma = strategy === 3 ? 1.5 : 4 + random.next();
    const jy = cy! + random.gaussian();
    const jx = cx! + random.gaussian();
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < hw; y++) {
        for (let x = 0; x < hw; x++) {
          const blob = Math.exp(-((y - jy) ** 2 + (x - jx) ** 2) / (2 * sigma * sigma));
          out[((i * 3 + c) * hw + y) * hw + x] = blob * (0.8 + 0.4 * random.next()) + 0.05 * random.gaussian();
        }
      }
    }
  }
  return out;
}

function runOne(n: number): void {
  const data = tensor('float32', [n, 3, 32, 32], synthetic(n));
  const ks = Array.from({ length: 9 }, (_, i) => i + 2);
  const pipeline = sprayPipeline({ ...DEFAULT_SPRAY, clusters: ks, algorithms: ['kmeans', 'agglomerative', 'dbscan'], embeddings: ['tsne'] });
  const times = new Map<string, number>();
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const context = createContext({
    step: (processor) => {
      const now = performance.now();
      const cpuStep = process.cpuUsage(lastCpu);
      lastCpu = process.cpuUsage();
      times.set(processor.name, (times.get(processor.name) ?? 0) + (now - last) / 1000);
      if (process.env.SPRAY_BENCH_VERBOSE) process.stderr.write(`  ${processor.label}: ${((now - last) / 1000).toFixed(2)} s wall, ${((cpuStep.user + cpuStep.system) / 1e6).toFixed(2)} s CPU, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB\n`);
      last = now;
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = analyseCategory(pipeline, 'bench', Int32Array.from({ length: n }, (_, i) => i), data, context);
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

const child = process.argv.indexOf('--child');
if (child >= 0) {
  runOne(Number(process.argv[child + 1]));
} else {
  const sizes = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
  const list = sizes.length ? sizes : [1000, 2000];
  console.log(`spray benchmark, ${new Date().toISOString()}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} vCPUs), Node ${process.version}, one thread`);
  console.log('   N    wall s   CPU s   peak RSS   CoRelAy   speed-up (CPU)   per step (wall s)');
  for (const n of list) {
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1] ?? fileURLToPath(import.meta.url), '--child', String(n)], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) {
      console.error(r.stderr);
      process.exitCode = 1;
      continue;
    }
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { n: number; wall_s: number; cpu_s: number; peak_rss_mib: number; steps_s: Record<string, number> };
    const ref = CORELAY_SECONDS[n];
    const speedup = ref ? `${(ref / result.cpu_s).toFixed(1)}× (wall ${(ref / result.wall_s).toFixed(1)}×)` : '–';
    const steps = Object.entries(result.steps_s).filter(([, v]) => v >= 0.05).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`${String(n).padStart(6)}  ${result.wall_s.toFixed(2).padStart(7)}  ${result.cpu_s.toFixed(2).padStart(6)}  ${String(result.peak_rss_mib).padStart(5)} MiB  ${ref ? `${ref.toFixed(1)} s` : '   –  '}   ${speedup}   ${steps}`);
  }
}
