/**
 * bench/viewer: the viewer with a 100 000-point category.
 *
 *   npm run build && npx tsx bench/viewer.ts
 *
 * Measures, against a real `xai-tools serve` process (compiled dist/) on a random port:
 *  - first paint: time from choosing the 100k category in the page (headless Debian Chromium,
 *    WebGL on SwiftShader) until the canvas has drawn it (data fetched, plot drawn, next frame),
 *    with the page's own phase timings (window.__timings, src/viewer/web/timings.ts) under it;
 *  - frame time while panning: requestAnimationFrame intervals during a 3 s mouse drag (median, p95);
 *  - API latency: the embedding (binary points) and a heatmap image, cold and cached;
 *  - cached image throughput: autocannon, 50 connections, 10 s, one cached heatmap (requests/s, p99).
 * Targets: 100k points: first paint < 1.5 s, median frame < 20 ms, cached image p99 < 20 ms;
 * 1 000 000 points (BENCH_POINTS=1000000): first paint < 2 s, median frame < 33 ms.
 * Also saves screenshots of the page to docs/screenshots/.
 * Knobs: BENCH_POINTS (100000), BENCH_SECONDS (autocannon duration, 10).
 * The synthetic project is kept in the git-ignored bench/out/ and reused.
 */
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/browser/chromium.js';
import { writeFixtureProject } from '../test/browser/fixtures.js';
import { rawGet, startServe } from '../test/browser/server-process.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const POINTS = Number(process.env.BENCH_POINTS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LABEL = POINTS >= 1e6 ? `${POINTS / 1e6}M` : `${Math.round(POINTS / 1000)}k`;
const outDir = join(root, 'bench', 'out', `viewer-${POINTS}`);
const shotsDir = join(root, 'docs', 'screenshots');

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quantile = (values: number[], q: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (v: number) => `${v.toFixed(1)} ms`;

async function timed(port: number, path: string): Promise<number> {
  const t0 = performance.now();
  const res = await rawGet(port, path);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text.slice(0, 200)}`);
  return performance.now() - t0;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** requestAnimationFrame intervals while the mouse drags (pans) the canvas for 3 s. */
async function panFrames(page: Page): Promise<number[]> {
  const canvas = (await page.locator('#plot').boundingBox())!;
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__sampling = true;
    let last = performance.now();
    const tick = (now) => {
      window.__frames.push(now - last);
      last = now;
      if (window.__sampling) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  const cx = canvas.x + canvas.width / 2;
  const cy = canvas.y + canvas.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const t0 = Date.now();
  for (let k = 0; Date.now() - t0 < 3000; k++) await page.mouse.move(cx + Math.sin(k / 10) * 200, cy + Math.cos(k / 13) * 120);
  await page.mouse.up();
  return (await page.evaluate(`(() => {
    window.__sampling = false;
    return window.__frames.slice(1);
  })()`)) as number[];
}

async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.busy === '0', undefined, { timeout: 60_000 });
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'cli.js')) || !existsSync(join(root, 'dist', 'web', 'index.html'))) throw new Error('build first: npm run build');
  const projectFile = join(outDir, 'project.yaml');
  if (!existsSync(projectFile)) {
    const t0 = performance.now();
    rmSync(outDir, { recursive: true, force: true });
    // Tiny images at a million samples keep the dataset file small (the plot never reads them).
    await writeFixtureProject(outDir, {
      name: 'Bench 100k',
      classes: 10,
      perClass: POINTS / 10,
      size: POINTS > 200_000 ? 2 : 8,
      attributionEvery: 100,
      benchCategories: true,
    });
    console.log(`synthetic project (${POINTS} samples) written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const small = await writeFixtureProject(join(outDir, 'small'), { name: 'Small', classes: 3, perClass: 60, size: 16 });

  const serve = await startServe([projectFile, small]);
  const port = serve.port;
  const base = '/api/projects/bench-100k';
  const points = `${base}/analyses/spectral_analysis/categories/00000001/points?embedding=tsne&clustering=kmeans-10`;
  const results: Record<string, string> = {};
  try {
    // API: the embedding. Cold = first request (category read from HDF5), warm = median of 20.
    const embeddingCold = await timed(port, points);
    const embeddingWarm: number[] = [];
    for (let i = 0; i < 20; i++) embeddingWarm.push(await timed(port, points));
    results[`embedding ${LABEL}, cold`] = ms(embeddingCold);
    results[`embedding ${LABEL}, warm (median of 20)`] = ms(median(embeddingWarm));
    results['embedding payload'] = `${((await rawGet(port, points)).body.length / 1e6).toFixed(2)} MB`;

    // API: heatmap images. Cold = 20 different samples rendered for the first time; cached = 200 repeats.
    const cold: number[] = [];
    for (let i = 0; i < 20; i++) cold.push(await timed(port, `${base}/images/${i * 100}?mode=attribution&colormap=coldnhot`));
    const image = `${base}/images/500?mode=overlay&colormap=black-fire-red`;
    await timed(port, image);
    const cached: number[] = [];
    for (let i = 0; i < 200; i++) cached.push(await timed(port, image));
    results['heatmap image, cold (median of 20)'] = ms(median(cold));
    results['heatmap image, cached (median / p99 of 200)'] = `${ms(median(cached))} / ${ms(quantile(cached, 0.99))}`;

    // Cached images under load.
    const load = await autocannon({ url: `http://127.0.0.1:${port}${image}`, connections: 50, duration: SECONDS });
    results['cached image, 50 connections: requests/s (mean)'] = `${Math.round(load.requests.average)}`;
    results['cached image, 50 connections: latency p50 / p99'] = `${load.latency.p50} ms / ${load.latency.p99} ms`;
    results['cached image, non-2xx responses'] = `${load.non2xx}`;

    // The page: first paint after choosing the 100k category, then frame times while panning.
    const browser = await launchChromium({ width: 1400, height: 900 });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${serve.url}?project=bench-100k&category=00000000&mode=attribution`);
      await idle(page);
      // Page scripts are passed as strings: tsx's name-keeping helpers do not exist inside the page.
      const paint = (await page.evaluate(`(async () => {
        const select = document.getElementById('category');
        const t0 = performance.now();
        select.value = '00000001';
        select.dispatchEvent(new Event('change'));
        await new Promise((done) => {
          const check = () => (document.body.dataset.busy === '0' ? done() : requestAnimationFrame(check));
          requestAnimationFrame(check);
        });
        await new Promise((done) => requestAnimationFrame(done));
        return performance.now() - t0;
      })()`)) as number;
      const drawn = await page.evaluate(() => (window as unknown as { __viewer: { points(): unknown[] } }).__viewer.points().length);
      if (drawn !== POINTS) throw new Error(`expected ${POINTS} points on the canvas, found ${drawn}`);
      results[`first paint of the ${LABEL} category`] = ms(paint);
      // Where the first paint went: the page's own phase timings (src/viewer/web/timings.ts).
      const phases = (await page.evaluate('window.__timings ?? {}')) as Record<string, number>;
      for (const [phase, value] of Object.entries(phases)) results[`  phase: ${phase}`] = ms(value);

      const big = await panFrames(page);
      results[`pan ${LABEL}: frames in 3 s / median / mean / p95`] = `${big.length} / ${ms(median(big))} / ${ms(mean(big))} / ${ms(quantile(big, 0.95))}`;
      // The same drag over the 100-point category separates the cost of the points from the page's.
      await page.selectOption('#category', '00000000');
      await idle(page);
      const few = await panFrames(page);
      results['pan 100 points (reference): frames / median / mean / p95'] =
        `${few.length} / ${ms(median(few))} / ${ms(mean(few))} / ${ms(quantile(few, 0.95))}`;

      mkdirSync(shotsDir, { recursive: true });
      await page.goto(
        `${serve.url}?project=bench-100k&category=00000001&clustering=kmeans-10` +
          `&selection=${Array.from({ length: 30 }, (_, i) => i * 100).join(',')}&mode=attribution&colormap=coldnhot`,
      );
      await idle(page);
      await page.waitForTimeout(800);
      await page.screenshot({ path: join(shotsDir, 'viewer-100k.png') });
      await page.goto(`${serve.url}?project=small&category=00000001&clustering=kmeans-10&mode=overlay&colormap=black-fire-red&selection=60-89`);
      await idle(page);
      await page.waitForTimeout(800);
      await page.screenshot({ path: join(shotsDir, 'viewer-selection-overlay.png') });
      await page.goto(
        `${serve.url}?project=small&category=00000000&embedding=spectral&x=0&y=2&clustering=agglomerative-03` +
          `&mode=attribution&colormap=coldnhot&theme=dark&selection=0-11`,
      );
      await idle(page);
      await page.waitForTimeout(800);
      await page.screenshot({ path: join(shotsDir, 'viewer-dark.png') });
    } finally {
      await browser.close();
    }
  } finally {
    await serve.stop();
  }

  const chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim();
  const machine =
    `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} vCPU), Node ${process.version}, ` +
    `${chromium} (SwiftShader WebGL), load average ${loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}`;
  console.log(`\nbench/viewer — ${POINTS} points — ${new Date().toISOString().slice(0, 10)} — ${machine}`);
  for (const [name, value] of Object.entries(results)) console.log(`  ${name.padEnd(52)} ${value}`);
  writeFileSync(join(root, 'bench', 'out', 'viewer.json'), JSON.stringify({ date: new Date().toISOString(), machine, points: POINTS, results }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
