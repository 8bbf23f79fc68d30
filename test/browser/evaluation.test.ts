/**
 * The viewer's evaluation hooks in a real browser: a project built by the real chain (attribute →
 * spray → evaluate → project init --evaluations) on the Clever-Hans fixture, served by the real
 * `xai-tools serve`, opened in Debian's Chromium. "Colour by" offers each evaluated method; picking
 * one colours the drawn points by their AOPC (lowest → the ramp's first colour, highest → its last,
 * checked in the rendered pixels), and the hover card shows the sample's AOPC of every method.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/cli.js';
import { chromiumAvailable, CHROMIUM, launchChromium } from './chromium.js';
import { idle, pagePoints, type PagePoint } from './page-helpers.js';
import { rawGet, startServe, type ServeProcess } from './server-process.js';

const fixture = join(repoRoot, 'fixtures', 'clever-hans');
const FIRST = '#440154';
const LAST = '#fde725';
let dir: string;
let serve: ServeProcess;
let browser: { context: BrowserContext; close(): Promise<void> };
let aopc: Map<number, number>;
let randomAopc: Map<number, number>;
const pageErrors: string[] = [];

async function cli(args: string[]): Promise<void> {
  const r = await runCli(args);
  expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
}

beforeAll(async () => {
  if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does this`);
  dir = mkdtempSync(join(tmpdir(), 'xai-browser-evaluation-'));
  const model = join(fixture, 'model.onnx');
  const dataset = join(fixture, 'dataset.h5');
  const labelMap = join(fixture, 'label-map.json');
  const at = (name: string) => join(dir, name);
  await cli(['attribute', '--model', model, '--dataset', dataset, '--composite', 'epsilon-plus', '--indices', '0:240', '-q', '-o', at('epsilon-plus.h5')]);
  await cli([
    'spray',
    at('epsilon-plus.h5'),
    '--label-map',
    labelMap,
    '--n-eigval',
    '4',
    '--clusters',
    '2:3',
    '--algorithms',
    'kmeans',
    '--embeddings',
    'tsne',
    '-q',
    '-o',
    at('analysis.h5'),
  ]);
  await cli(['evaluate', '--model', model, '--dataset', dataset, at('epsilon-plus.h5'), '--patch', '7', '--steps', '4', '-q', '-o', at('evaluation.h5')]);
  await cli([
    'project',
    'init',
    '--name',
    'Hans eval',
    '--model',
    'cnn',
    '--dataset',
    dataset,
    '--label-map',
    labelMap,
    '--attributions',
    at('epsilon-plus.h5'),
    '--attribution-method',
    'LRP',
    '--attribution-strategy',
    'true_label',
    '--analysis',
    `spectral=${at('analysis.h5')}`,
    '--evaluations',
    at('evaluation.h5'),
    '-o',
    at('project.yaml'),
  ]);
  serve = await startServe([at('project.yaml')]);
  const api = JSON.parse((await rawGet(serve.port, '/api/projects/hans-eval/evaluation')).text) as {
    methods: Array<{ name: string; index: number[]; aopc: number[] }>;
  };
  const byName = (name: string) => api.methods.find((m) => m.name === name)!;
  aopc = new Map(byName('epsilon-plus').index.map((s, i) => [s, byName('epsilon-plus').aopc[i]!]));
  randomAopc = new Map(byName('random').index.map((s, i) => [s, byName('random').aopc[i]!]));
  browser = await launchChromium({ width: 1200, height: 800 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  expect(pageErrors).toEqual([]);
});

async function openPage(): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(serve.url);
  await idle(page, 60_000);
  return page;
}

const rgb = (hex: string): [number, number, number] => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
const distance = (a: readonly number[], b: readonly number[]): number => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

/** The rendered colour at a point's centre (a screenshot of the page, so what the user sees). */
async function pixelAt(page: Page, p: PagePoint): Promise<[number, number, number]> {
  const shot = await page.screenshot({ clip: { x: Math.round(p.x) - 1, y: Math.round(p.y) - 1, width: 3, height: 3 } });
  const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (info.width * 1 + 1) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

/** The drawn point nearest to no other (so its centre pixel is its own), among `points`. */
function loneliest(points: PagePoint[], among: PagePoint[]): PagePoint {
  const gap = (p: PagePoint) => Math.min(...points.filter((q) => q !== p).map((q) => Math.hypot(p.x - q.x, p.y - q.y)));
  return among.reduce((best, p) => (gap(p) > gap(best) ? p : best));
}

describe('viewer: evaluation hooks', () => {
  it("colours points by a method's AOPC and shows each sample's AOPC on hover", async () => {
    const page = await openPage();
    // The menu is shown because the project links an evaluation file, with one entry per method.
    expect(await page.isVisible('#color-by')).toBe(true);
    const options = await page.$$eval('#color-by option', (o) => (o as HTMLOptionElement[]).map((x) => [x.value, x.textContent]));
    expect(options).toEqual([
      ['', 'clusters'],
      ['epsilon-plus', 'AOPC: epsilon-plus'],
      ['random', 'AOPC: random'],
    ]);

    const points = await pagePoints(page);
    expect(points.length).toBeGreaterThan(10);
    for (const p of points) expect(aopc.has(p.sample)).toBe(true);
    // The lowest and highest AOPC among the drawn points get the ramp's two ends.
    const sorted = [...points].sort((a, b) => aopc.get(a.sample)! - aopc.get(b.sample)!);
    const low = loneliest(points, sorted.slice(0, 1));
    const high = loneliest(points, sorted.slice(-1));
    const byCluster = [await pixelAt(page, low), await pixelAt(page, high)];

    await page.selectOption('#color-by', 'epsilon-plus');
    await idle(page, 60_000);
    const colours = (await page.evaluate(() =>
      (window as unknown as { __viewer: { plot(): { get(k: string): unknown } } }).__viewer.plot().get('pointColor'),
    )) as unknown[];
    expect(colours.length).toBe(10); // nine ramp colours and grey for samples without an evaluation
    const lowPixel = await pixelAt(page, low);
    const highPixel = await pixelAt(page, high);
    expect(distance(lowPixel, rgb(FIRST)), `lowest AOPC drawn as ${lowPixel}`).toBeLessThan(60);
    expect(distance(highPixel, rgb(LAST)), `highest AOPC drawn as ${highPixel}`).toBeLessThan(60);
    // Colouring by clusters draws them otherwise (at least one of the two changed colour).
    expect(Math.max(distance(byCluster[0]!, lowPixel), distance(byCluster[1]!, highPixel))).toBeGreaterThan(60);

    // Hover: the card lists the AOPC of both methods for this sample.
    const target = loneliest(points, points);
    await page.mouse.move(target.x + 40, target.y + 40);
    await page.mouse.move(target.x, target.y, { steps: 5 });
    // The card may first show a point the pointer crossed on its way; wait for the target's card.
    await page
      .waitForFunction((i) => document.querySelector('#hover-card:not([hidden])')?.getAttribute('data-index') === i, String(target.sample), { timeout: 5000 })
      .catch(() => undefined);
    expect(await page.getAttribute('#hover-card', 'data-index')).toBe(String(target.sample));
    const text = await page.textContent('#hover-card .hover-text');
    expect(text).toContain(`AOPC epsilon-plus ${aopc.get(target.sample)!.toFixed(2)} · random ${randomAopc.get(target.sample)!.toFixed(2)}`);

    // Back to clusters: the pixels return to the cluster colours.
    await page.selectOption('#color-by', '');
    await idle(page, 60_000);
    expect(distance(await pixelAt(page, low), byCluster[0]!)).toBeLessThan(30);
    await page.close();
  }, 120_000);
});
