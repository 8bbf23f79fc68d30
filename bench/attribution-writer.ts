/**
 * Streams N attributions of 3×224×224 float32 (default 5 000, plus 1 000-class predictions: 3.0 GB)
 * through AttributionWriter into a temporary directory on the same disk as the checkout, and
 * compares with `dd` writing the same number of bytes there. Reports MB/s (1 MB = 10^6 bytes) and
 * the writer's peak RSS; deletes its files.
 *
 *   npx tsx bench/attribution-writer.ts [--samples 5000] [--batch 32] [--repeat 3] [--dir /work]
 *
 * The writer runs in a child `node` process on the compiled dist/ (what the CLI runs): under tsx,
 * merely loading h5wasm costs ~640 MB of RSS (tsx transforms its 10 MB wasm-embedding module), which
 * would say nothing about the writer. Writer and dd runs alternate so that the machine's load noise
 * (other work shares its one effective core) hits both, each after a `sync` so none pays for the
 * previous one's writeback; medians are reported.
 *
 * Targets (issue 2): peak RSS < 500 MB, throughput ≥ half of dd's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const samples = Number(option('samples', '5000'));
const batchSize = Number(option('batch', '32'));
const repeat = Number(option('repeat', '3'));
const baseDir = option('dir', dirname(repo));
const numClasses = 1000;
const rowValues = 3 * 224 * 224;
const totalBytes = samples * (rowValues * 4 + numClasses * 4 + 2 + 4);

/** Recompiles dist/ when src/io is newer (tsc still emits when other modules have type errors). */
function ensureBuilt(): string {
  const built = join(repo, 'dist', 'io', 'attribution.js');
  const newest = Math.max(...readdirSync(join(repo, 'src', 'io')).map((f) => statSync(join(repo, 'src', 'io', f)).mtimeMs));
  if (!existsSync(built) || statSync(built).mtimeMs < newest) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repo, stdio: 'ignore' });
  if (!existsSync(built)) throw new Error('dist/io/attribution.js missing; run npm run build');
  return built;
}

/** The measured child: one batch buffer refilled per batch, like an attributor producing batches. */
const childScript = (module: string, path: string): string => `
import { closeSync, fsyncSync, openSync, rmSync, statSync } from 'node:fs';
const { AttributionWriter } = await import(${JSON.stringify(module)});
const [samples, batch, rowValues, numClasses] = [${samples}, ${batchSize}, ${rowValues}, ${numClasses}];
const attribution = new Float32Array(batch * rowValues), prediction = new Float32Array(batch * numClasses);
const label = new Int32Array(batch), index = new Int32Array(batch);
const start = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const writer = await AttributionWriter.create(${JSON.stringify(path)}, { sampleShape: [3, 224, 224], numClasses, withIndex: true });
for (let done = 0; done < samples; done += batch) {
  const b = Math.min(batch, samples - done);
  attribution[0] = done;
  for (let i = 0; i < b; i++) { index[i] = done + i; label[i] = (done + i) % numClasses; }
  writer.append({
    attribution: attribution.subarray(0, b * rowValues),
    prediction: prediction.subarray(0, b * numClasses),
    label: label.subarray(0, b),
    index: index.subarray(0, b),
  });
}
writer.commit();
const written = process.hrtime.bigint();
const cpu = process.cpuUsage(cpu0);
const fd = openSync(${JSON.stringify(path)}, 'r+'); fsyncSync(fd); closeSync(fd);
const synced = process.hrtime.bigint();
const size = statSync(${JSON.stringify(path)}).size;
rmSync(${JSON.stringify(path)});
console.log(JSON.stringify({
  seconds: Number(written - start) / 1e9,
  syncSeconds: Number(synced - start) / 1e9,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  size,
  maxRss: process.resourceUsage().maxRSS * 1024,
}));
`;

function runWriter(module: string, dir: string): { seconds: number; syncSeconds: number; cpuSeconds: number; size: number; maxRss: number } {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', childScript(module, join(dir, 'attribution.h5'))], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

/** dd of the same byte count from /dev/zero, without or with fdatasync: wall seconds and CPU seconds (bash `times`). */
function dd(dir: string, sync: boolean): { seconds: number; cpuSeconds: number } {
  const path = join(dir, 'dd.bin');
  const args = ['if=/dev/zero', `of=${path}`, 'bs=1M', `count=${Math.ceil(totalBytes / 2 ** 20)}`, ...(sync ? ['conv=fdatasync'] : [])];
  const start = process.hrtime.bigint();
  const out = execFileSync('bash', ['-c', `dd ${args.join(' ')} 2>/dev/null; times`], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rmSync(path);
  // `times` prints the shell's, then its children's user and system time as XmY.YYYs.
  const children = out
    .trim()
    .split('\n')
    .pop()!
    .split(/\s+/)
    .map((t) => {
      const m = /(\d+)m([\d.]+)s/.exec(t);
      return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
    });
  return { seconds, cpuSeconds: children.reduce((a, b) => a + b, 0) };
}

/** Flushes dirty pages before each timed step, so no step pays for the previous one's writeback. */
const settle = (): void => {
  execFileSync('sync');
};

const mbps = (seconds: number): number => totalBytes / 1e6 / seconds;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => x.toFixed(0);

const module = ensureBuilt();
const dir = mkdtempSync(join(baseDir, '.xai-bench-attribution-'));
try {
  console.log(
    `attribution writer: ${samples} × 3×224×224 float32 + ${numClasses}-class predictions, batch ${batchSize},` +
      ` ${(totalBytes / 1e9).toFixed(2)} GB per run into ${dir}`,
  );
  console.log(
    `machine: ${cpus().length} vCPU (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node` +
      ` ${process.version}, ${new Date().toISOString()}`,
  );
  const rows: Array<{ writer: number; writerSync: number; dd: number; ddSync: number; rss: number }> = [];
  for (let r = 0; r < repeat; r++) {
    settle();
    const w = runWriter(module, dir);
    if (w.size < samples * rowValues * 4) throw new Error(`file is only ${w.size} bytes`);
    settle();
    const ddPlain = dd(dir, false);
    settle();
    const ddSync = dd(dir, true);
    const row = { writer: mbps(w.seconds), writerSync: mbps(w.syncSeconds), dd: mbps(ddPlain.seconds), ddSync: mbps(ddSync.seconds), rss: w.maxRss };
    rows.push(row);
    const perGb = (cpu: number): string => (cpu / (totalBytes / 1e9)).toFixed(2);
    console.log(
      `run ${r + 1}: writer ${fmt(row.writer)} MB/s, writer+fsync ${fmt(row.writerSync)} MB/s | dd ${fmt(row.dd)} MB/s, dd` +
        ` conv=fdatasync ${fmt(row.ddSync)} MB/s | ` +
        `CPU s/GB: writer ${perGb(w.cpuSeconds)}, dd ${perGb(ddPlain.cpuSeconds)} | peak RSS ${fmt(row.rss / 1e6)} MB`,
    );
  }
  const m = {
    writer: median(rows.map((r) => r.writer)),
    writerSync: median(rows.map((r) => r.writerSync)),
    dd: median(rows.map((r) => r.dd)),
    ddSync: median(rows.map((r) => r.ddSync)),
  };
  const rss = Math.max(...rows.map((r) => r.rss));
  console.log(
    `median: writer ${fmt(m.writer)} MB/s vs dd ${fmt(m.dd)} MB/s (ratio ${(m.writer / m.dd).toFixed(2)}); with fsync` +
      ` ${fmt(m.writerSync)} vs dd conv=fdatasync ${fmt(m.ddSync)} MB/s (ratio ${(m.writerSync / m.ddSync).toFixed(2)})`,
  );
  console.log(
    `peak RSS of the writer process: ${fmt(rss / 1e6)} MB (target < 500 MB) — ${rss < 500e6 ? 'OK' : 'OVER'};` +
      ` throughput target (≥ 0.5 of dd): ${m.writer / m.dd >= 0.5 ? 'OK' : 'MISSED'}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
