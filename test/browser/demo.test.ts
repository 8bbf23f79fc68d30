/**
 * The Clever-Hans demo in a real browser: the demo chain's project (shared with test/demo.test.ts
 * through test/helpers/demo-chain.ts) served by the real `xai-tools serve`, opened in Debian's
 * Chromium. What the README promises is checked as it says it: the page opens on class "three"
 * (first in the suspicion overview) with `kmeans-02`, and the cluster of 300 holds exactly the 300
 * tagged samples, in input and overlay mode; the overlay of a tagged three is the heatmap blended
 * over the input and brightest in the tag's corner.
 *
 * With XAI_SCREENSHOTS=1 (scripts/screenshot-demo.mjs) it also saves that state, in both modes, to
 * docs/screenshots/demo-input.png and demo-overlay.png.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { DEMO_CHAIN_TIMEOUT_MS, demoChain } from '../helpers/demo-chain.js';
import { chromiumAvailable, CHROMIUM, launchChromium } from './chromium.js';
import { idle as pageIdle, pickRadio, stripIndices, viewState } from './page-helpers.js';
import { rawGet, startServe, type ServeProcess } from './server-process.js';

interface FixtureInfo {
  classes: string[];
  artifact_class: number;
  artifact: { top: number; left: number };
  stamped_indices: number[];
}
const info = JSON.parse(readFileSync(join(repoRoot, 'fixtures', 'clever-hans', 'fixture.json'), 'utf8')) as FixtureInfo;
const stamped = [...info.stamped_indices].sort((a, b) => a - b);
const stampedSet = new Set(stamped);
const categoryName = String(info.artifact_class).padStart(8, '0');
const screenshots = process.env.XAI_SCREENSHOTS === '1';
const shotsDir = join(repoRoot, 'docs', 'screenshots');

let serve: ServeProcess;
let browser: { context: BrowserContext; close(): Promise<void> };
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does this`);
  const chain = await demoChain();
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

const idle = (page: Page) => pageIdle(page, 60_000);

/** Decoded RGB pixels of a served image. */
async function served(path: string): Promise<{ data: Buffer; width: number; height: number }> {
  const response = await rawGet(serve.port, `/${path}`);
  expect(response.status).toBe(200);
  const { data, info: meta } = await sharp(response.body).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: meta.width, height: meta.height };
}

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
  it('opens on "three", ranked first, with kmeans-02, whose cluster of 300 is exactly the tagged samples, in input and overlay mode', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(serve.url);
    await idle(page);

    // No picking needed: the suspicion overview ranks "three" first and the page opens on it.
    expect(await viewState(page)).toMatchObject({ category: categoryName, clustering: 'kmeans-02' });
    expect(await page.getAttribute('#overview-list li:first-child button', 'data-category')).toBe(categoryName);
    expect(await page.$eval('#category', (s: HTMLSelectElement) => s.selectedOptions[0].textContent)).toContain(
      `${info.classes[info.artifact_class]} (${categoryName})`,
    );
    // Click each cluster of the list: one of them must be exactly the tagged samples, the others hold none.
    const ids = await page.$$eval('#clusters li', (items) => items.map((li) => Number((li as HTMLElement).dataset.cluster)));
    let tagged: number | undefined;
    for (const id of ids) {
      await page.click(`#clusters li[data-cluster="${id}"]`);
      await idle(page);
      const { selection } = await viewState(page);
      if (JSON.stringify(selection) === JSON.stringify(stamped)) tagged = id;
      else
        expect(
          selection.filter((s) => stampedSet.has(s)),
          `cluster ${id} mixes tagged and untagged samples`,
        ).toEqual([]);
    }
    expect(tagged, 'no cluster of kmeans-02 is exactly the tagged samples').toBeDefined();
    await page.click(`#clusters li[data-cluster="${tagged}"]`);
    await idle(page);
    expect(await viewState(page)).toMatchObject({ selection: stamped, page: 0 });
    expect(await page.textContent('#selection-count')).toBe(`(${stamped.length} samples)`);

    const inputs: Buffer[] = [];
    for (const mode of ['input', 'overlay']) {
      await pickRadio(page, 'mode', mode);
      await idle(page);
      expect((await viewState(page)).mode).toBe(mode);
      // Every page together is exactly the tagged samples, in order.
      expect((await walkStrip(page)).flat()).toEqual(stamped);
      const sources = await page.$$eval('#strip figure img', (imgs) => imgs.map((img) => (img as HTMLImageElement).getAttribute('src') ?? ''));
      expect(sources.every((src) => src.includes(`mode=${mode}`))).toBe(true);
      inputs.push(await firstTile(page));
      if (screenshots) await saveScreenshot(page, `demo-${mode}.png`);
    }
    // The images changed with the mode (the overlay paints the heatmap over the digit).
    expect(inputs[1]!.equals(inputs[0]!)).toBe(false);
    await page.close();
  });

  it("overlays the heatmap of a tagged three on its grey input, brightest in the tag's corner", async () => {
    const sample = stamped[0];
    const base = `api/projects/clever-hans-mnist/images/${sample}`;
    const [overlay, heatmap, input] = await Promise.all([
      served(`${base}?mode=overlay&colormap=black-fire-red`),
      served(`${base}?mode=attribution&colormap=black-fire-red`),
      served(`${base}?mode=input`),
    ]);
    expect([overlay.width, overlay.height]).toEqual([input.width, input.height]);
    const { width, height } = overlay;
    const scale = width / 28; // the fixture's digits are 28×28
    const inTag = (x: number, y: number) => x >= info.artifact.left * scale && y >= info.artifact.top * scale;
    let tagSum = 0;
    let tagCount = 0;
    let restSum = 0;
    let restCount = 0;
    const outside: string[] = [];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        const h = (Math.floor((y * heatmap.height) / height) * heatmap.width + Math.floor((x * heatmap.width) / width)) * 3;
        const grey = Math.round(0.299 * input.data[o] + 0.587 * input.data[o + 1] + 0.114 * input.data[o + 2]);
        // Each channel lies between the grey input and the heatmap colour (a blend of the two).
        for (let c = 0; c < 3; c++) {
          const v = overlay.data[o + c];
          if (v < Math.min(grey, heatmap.data[h + c]) - 2 || v > Math.max(grey, heatmap.data[h + c]) + 2)
            outside.push(`(${x},${y})[${c}]=${v} not between ${grey} and ${heatmap.data[h + c]}`);
        }
        const luminance = overlay.data[o] + overlay.data[o + 1] + overlay.data[o + 2];
        if (inTag(x, y)) {
          tagSum += luminance;
          tagCount++;
        } else {
          restSum += luminance;
          restCount++;
        }
      }
    }
    expect(outside.slice(0, 5)).toEqual([]);
    expect(tagSum / tagCount).toBeGreaterThan(1.5 * (restSum / restCount));
  });
});
