/**
 * The Clever-Hans demo in a real browser: the demo chain's project (shared with test/demo.test.ts
 * through test/helpers/demo-chain.ts) served by the real `xai-tools serve`, opened in Debian's
 * Chromium. Picking class "three" and clicking the cluster SpRAy made of the stamped samples must
 * fill the strip with stamped samples only, in input and in overlay mode.
 *
 * With XAI_SCREENSHOTS=1 (scripts/screenshot-demo.mjs) it also saves that state, in both modes, to
 * docs/screenshots/demo-input.png and demo-overlay.png.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openH5, type Dataset, type Group } from '../../src/io/hdf5.js';
import { repoRoot } from '../helpers/cli.js';
import { DEMO_CHAIN_TIMEOUT_MS, demoChain } from '../helpers/demo-chain.js';
import { chromiumAvailable, CHROMIUM, launchChromium } from './chromium.js';
import { startServe, type ServeProcess } from './server-process.js';

interface FixtureInfo {
  classes: string[];
  artifact_class: number;
  stamped_indices: number[];
}
const info = JSON.parse(readFileSync(join(repoRoot, 'fixtures', 'clever-hans', 'fixture.json'), 'utf8')) as FixtureInfo;
const stamped = new Set(info.stamped_indices);
const categoryName = String(info.artifact_class).padStart(8, '0');
const screenshots = process.env.XAI_SCREENSHOTS === '1';
const shotsDir = join(repoRoot, 'docs', 'screenshots');

interface ViewState {
  category: string;
  clustering: string;
  mode: string;
  selection: number[];
  page: number;
}

/** A cluster of the artifact class that holds only stamped samples. */
interface StampedCluster {
  clustering: string;
  cluster: number;
  members: number[];
}

/**
 * Reads the analysis file and returns the cluster made only of stamped samples that holds the most
 * of them (ties: k-means first, as in issue 8's finding, then the clustering with the fewest
 * clusters, then by name), or undefined.
 */
async function findStampedCluster(analysisPath: string): Promise<StampedCluster | undefined> {
  const file = await openH5(analysisPath, 'r');
  try {
    const category = file.get(categoryName) as Group;
    const index = Array.from((category.get('index') as Dataset).value as ArrayLike<number>, Number);
    const candidates: Array<StampedCluster & { clusters: number }> = [];
    for (const clustering of (category.get('cluster') as Group).keys().sort()) {
      const labels = Array.from((category.get(`cluster/${clustering}`) as Dataset).value as ArrayLike<number>, Number);
      const ids = [...new Set(labels)];
      for (const cluster of ids.filter((id) => id >= 0)) {
        const members = index.filter((_, row) => labels[row] === cluster).sort((a, b) => a - b);
        if (members.every((s) => stamped.has(s))) candidates.push({ clustering, cluster, members, clusters: ids.length });
      }
    }
    const kmeansFirst = (c: StampedCluster) => (c.clustering.startsWith('kmeans') ? 0 : 1);
    candidates.sort((a, b) => b.members.length - a.members.length || kmeansFirst(a) - kmeansFirst(b) || a.clusters - b.clusters);
    return candidates[0];
  } finally {
    file.close();
  }
}

let serve: ServeProcess;
let browser: { context: BrowserContext; close(): Promise<void> };
let target: StampedCluster | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does this`);
  const chain = await demoChain();
  target = await findStampedCluster(join(chain.out, 'analysis.h5'));
  serve = await startServe([join(chain.out, 'project.yaml')]);
  browser = await launchChromium({ width: 1400, height: 860 });
}, DEMO_CHAIN_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

afterEach(() => {
  expect(pageErrors).toEqual([]);
});

async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.busy === '0', undefined, { timeout: 60_000 });
}

const viewState = (page: Page): Promise<ViewState> => page.evaluate(() => (window as unknown as { __viewer: { state(): ViewState } }).__viewer.state());
const stripIndices = (page: Page): Promise<number[]> => page.$$eval('#strip figure', (tiles) => tiles.map((t) => Number((t as HTMLElement).dataset.index)));

/** Waits until every strip image that lies within the viewport has loaded (lazy images elsewhere never do). */
async function visibleImagesLoaded(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll<HTMLImageElement>('#strip figure img')]
        .filter((img) => img.getBoundingClientRect().left < window.innerWidth)
        .every((img) => img.complete && img.naturalWidth > 0),
    undefined,
    { timeout: 60_000 },
  );
}

/** Pages through the whole strip from its first page, returning each page's sample indices; ends back on page 1. */
async function walkStrip(page: Page): Promise<number[][]> {
  while (!(await page.isDisabled('#page-prev'))) {
    await page.click('#page-prev');
    await idle(page);
  }
  const pages = [await stripIndices(page)];
  while (!(await page.isDisabled('#page-next'))) {
    await page.click('#page-next');
    await idle(page);
    pages.push(await stripIndices(page));
  }
  while (!(await page.isDisabled('#page-prev'))) {
    await page.click('#page-prev');
    await idle(page);
  }
  return pages;
}

async function firstTile(page: Page): Promise<Buffer> {
  await visibleImagesLoaded(page);
  return page.locator('#strip figure img').first().screenshot();
}

/** Saves the whole page as a small palette PNG (the README embeds it). */
async function saveScreenshot(page: Page, name: string): Promise<void> {
  await visibleImagesLoaded(page);
  await page.mouse.move(0, 0); // no hover card in the picture
  const png = await page.screenshot();
  mkdirSync(shotsDir, { recursive: true });
  writeFileSync(join(shotsDir, name), await sharp(png).png({ palette: true, quality: 90, colours: 128, effort: 10, compressionLevel: 9 }).toBuffer());
}

describe('Clever-Hans demo in the viewer', () => {
  it('SpRAy made a cluster of the artifact class out of stamped samples only, holding most of them', () => {
    expect(target, `no clustering of category ${categoryName} has a cluster made only of stamped samples`).toBeDefined();
    expect(target!.members.length).toBeGreaterThanOrEqual(stamped.size / 2);
  });

  it('picking "three" and clicking that cluster fills the strip with stamped samples only, in input and overlay mode', async () => {
    const { clustering, cluster, members } = target!;
    const page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(serve.url);
    await idle(page);

    await page.selectOption('#category', categoryName);
    await idle(page);
    expect(await page.$eval('#category', (s: HTMLSelectElement) => s.selectedOptions[0].textContent)).toContain(`${info.classes[info.artifact_class]} (${categoryName})`);
    await page.selectOption('#clustering', clustering);
    await idle(page);
    const item = page.locator(`#clusters li[data-cluster="${cluster}"]`);
    expect(Number((await item.locator('.count').textContent())!.replace(/,/g, ''))).toBe(members.length);
    await item.click();
    await idle(page);
    expect(await viewState(page)).toMatchObject({ category: categoryName, clustering, selection: members, page: 0 });
    expect(await page.textContent('#selection-count')).toBe(`(${members.length} samples)`);

    const inputs: Buffer[] = [];
    for (const mode of ['input', 'overlay']) {
      await page.click(`#mode button[data-mode="${mode}"]`);
      await idle(page);
      expect((await viewState(page)).mode).toBe(mode);
      const pages = await walkStrip(page);
      for (const indices of pages) {
        expect(indices.length).toBeGreaterThan(0);
        expect(indices.filter((s) => !stamped.has(s)), `unstamped samples in the strip (${mode} mode)`).toEqual([]);
      }
      // Every page together is exactly the cluster, in order.
      expect(pages.flat()).toEqual(members);
      const sources = await page.$$eval('#strip figure img', (imgs) => imgs.map((img) => (img as HTMLImageElement).getAttribute('src') ?? ''));
      expect(sources.every((src) => src.includes(`mode=${mode}`))).toBe(true);
      inputs.push(await firstTile(page));
      if (screenshots) await saveScreenshot(page, `demo-${mode}.png`);
    }
    // The images changed with the mode (the overlay paints the heatmap over the digit).
    expect(inputs[1]!.equals(inputs[0]!)).toBe(false);
    await page.close();
  });
});
