/**
 * The viewer page in a real browser (Debian's Chromium, headless, WebGL on SwiftShader) against a
 * real `xai-tools serve` process: selection by rectangle and lasso with modifiers, the strip,
 * display modes and colour maps, export/import, share URLs, tabs, hover preview, theme.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { writeFixtureProject } from './fixtures.js';
import { setUpViewerSession, writeVirelayProject } from './viewer-session.js';
import type { ViewState } from '../../src/viewer/web/state.js';
import { counter, counterAbove, idle, pagePoints, pickRadio, stripIndices, viewState, type PagePoint } from './page-helpers.js';

const session = setUpViewerSession('xai-browser-', async (dir) => [
  await writeFixtureProject(join(dir, 'alpha'), { name: 'Alpha', classes: 3, perClass: 60, size: 16 }),
  await writeFixtureProject(join(dir, 'beta'), { name: 'Beta', classes: 2, perClass: 12, size: 8, attributionEvery: 2 }),
  writeVirelayProject(dir),
]);
const openPage = (path = ''): Promise<Page> => session.openPage(path);

/** Drags along `path` (page coordinates) with the given modifier held; small first step so the lasso starts where the press was. */
async function drag(page: Page, path: Array<[number, number]>, modifier?: 'Shift' | 'Alt', selects = true): Promise<void> {
  const before = await counter(page, 'canvasSelections');
  if (modifier) await page.keyboard.down(modifier);
  await page.mouse.move(path[0][0], path[0][1]);
  await page.mouse.down();
  await page.mouse.move(path[0][0] + 1, path[0][1] + 1);
  for (const [x, y] of path.slice(1)) {
    await page.mouse.move(x, y, { steps: 4 });
    await page.waitForTimeout(15);
  }
  await page.mouse.up();
  if (modifier) await page.keyboard.up(modifier);
  // The plot reports selections asynchronously; wait for this drag's report before reading state.
  if (selects) await counterAbove(page, 'canvasSelections', before);
  await idle(page);
}

function bounds(points: PagePoint[], pad: number): [number, number, number, number] {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  return [Math.min(...xs) - pad, Math.min(...ys) - pad, Math.max(...xs) + pad, Math.max(...ys) + pad];
}

const inside = (p: PagePoint, [x0, y0, x1, y1]: [number, number, number, number]) => p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1;
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

async function tileImage(page: Page, nth = 0): Promise<Buffer> {
  const img = page.locator('#strip figure img').nth(nth);
  await img.evaluate((el: HTMLImageElement) =>
    el.complete && el.naturalWidth ? null : new Promise((done) => el.addEventListener('load', done, { once: true })),
  );
  return img.screenshot();
}

describe('viewer page', () => {
  it('opens the first project with the reference defaults and a URL that reflects them', async () => {
    const page = await openPage();
    const state = await viewState(page);
    expect(state).toMatchObject({
      project: 'alpha',
      analysis: 'spectral_analysis',
      category: '00000000',
      clustering: 'kmeans-10',
      embedding: 'tsne',
      x: 0,
      y: 1,
      colormap: 'black-fire-red',
      mode: 'attribution',
    });
    expect(new URL(page.url()).searchParams.get('clustering')).toBe('kmeans-10');
    expect(await page.$$eval('#tabs .tab', (tabs) => tabs.map((t) => t.textContent))).toEqual(['Alpha', 'Beta', 'ViRelAy Example']);
    expect(await page.textContent('#status')).toContain('Synthetic CNN');
    expect(await page.$$eval('#clusters li', (items) => items.length)).toBe(10);
    expect(await page.$$eval('#eigenvalues rect', (bars) => bars.length)).toBe(4);
    expect((await pagePoints(page)).length).toBe(60);
    // The category label shows the label-map name and the key.
    expect(await page.$eval('#category', (s: HTMLSelectElement) => s.selectedOptions[0].textContent)).toContain('Apple (00000000)');
    await page.close();
  });

  it('picks a category, then selects by rectangle, adds by lasso and removes by lasso', async () => {
    const page = await openPage();
    await page.selectOption('#category', '00000001');
    await idle(page);
    expect((await viewState(page)).category).toBe('00000001');
    expect(new URL(page.url()).searchParams.get('category')).toBe('00000001');
    const points = await pagePoints(page);
    expect(points.every((p) => p.sample >= 60 && p.sample < 120)).toBe(true);

    // Rectangle around the left group (the first half of the category's samples).
    await pickRadio(page, 'tool', 'rectangle');
    const midX = (Math.min(...points.map((p) => p.x)) + Math.max(...points.map((p) => p.x))) / 2;
    const left = points.filter((p) => p.x < midX);
    const box = bounds(left, 6);
    await drag(page, [
      [box[0], box[1]],
      [box[2], box[3]],
    ]);
    const expectedLeft = sorted(points.filter((p) => inside(p, box)).map((p) => p.sample));
    expect(expectedLeft).toEqual(sorted(left.map((p) => p.sample)));
    expect((await viewState(page)).selection).toEqual(expectedLeft);
    expect(await stripIndices(page)).toEqual(expectedLeft.slice(0, 24));
    expect(await page.textContent('#selection-count')).toContain(`${expectedLeft.length} samples`);
    expect(await page.textContent('#page-label')).toBe('page 1 of 2');

    // Shift-lasso around one right-hand point adds it.
    await pickRadio(page, 'tool', 'lasso');
    // The right-hand point farthest from its neighbours, so a small square around it catches only it.
    const now = await pagePoints(page);
    expect(now).toEqual(points); // filling the strip did not move the canvas
    const right = points.filter((p) => p.x >= midX);
    const isolation = (p: PagePoint) => Math.min(...points.filter((q) => q !== p).map((q) => Math.hypot(q.x - p.x, q.y - p.y)));
    const target = right.reduce((best, p) => (isolation(p) > isolation(best) ? p : best));
    expect(isolation(target)).toBeGreaterThan(10);
    const r = Math.min(7, isolation(target) / 2);
    const square: Array<[number, number]> = [
      [target.x - r, target.y - r],
      [target.x + r, target.y - r],
      [target.x + r, target.y + r],
      [target.x - r, target.y + r],
      [target.x - r, target.y - r],
    ];
    const lassoed = [target.sample];
    await drag(page, square, 'Shift');
    const afterAdd = (await viewState(page)).selection;
    expect(afterAdd).toEqual(sorted([...new Set([...expectedLeft, ...lassoed])]));

    // Alt-lasso around the same region removes them again.
    await drag(page, square, 'Alt');
    expect((await viewState(page)).selection).toEqual(expectedLeft);

    // A plain rectangle replaces the selection; paging shows the rest.
    await page.click('#page-next');
    await idle(page);
    expect(await stripIndices(page)).toEqual(expectedLeft.slice(24, 48));
    expect((await viewState(page)).page).toBe(1);
    await page.close();
  });

  it('selects a cluster from the list, with Shift adding another', async () => {
    const page = await openPage('?clustering=kmeans-02');
    await page.click('#clusters li[data-cluster="1"]');
    await idle(page);
    const points = (await viewState(page)).selection;
    expect(points).toEqual(Array.from({ length: 30 }, (_, i) => 30 + i));
    await page.click('#clusters li[data-cluster="0"]', { modifiers: ['Shift'] });
    await idle(page);
    expect((await viewState(page)).selection).toHaveLength(60);
    await page.click('#clear-selection');
    await idle(page);
    expect((await viewState(page)).selection).toEqual([]);
    await page.close();
  });

  it('switches display mode and colour map, and the images change', async () => {
    const page = await openPage('?selection=0-3');
    expect(await stripIndices(page)).toEqual([0, 1, 2, 3]);
    const heatmap = await tileImage(page);
    await pickRadio(page, 'mode', 'input');
    await idle(page);
    expect(await page.getAttribute('#strip figure img', 'src')).toContain('mode=input');
    const input = await tileImage(page);
    expect(input.equals(heatmap)).toBe(false);
    await pickRadio(page, 'mode', 'overlay');
    await idle(page);
    const overlay = await tileImage(page);
    expect(overlay.equals(input)).toBe(false);
    expect(overlay.equals(heatmap)).toBe(false);
    await pickRadio(page, 'mode', 'attribution');
    await idle(page);
    const previewBefore = await page.getAttribute('#colormap-preview', 'src');
    await page.selectOption('#colormap', 'coldnhot');
    await idle(page);
    expect((await viewState(page)).colormap).toBe('coldnhot');
    expect(await page.getAttribute('#colormap-preview', 'src')).not.toBe(previewBefore);
    const recoloured = await tileImage(page);
    expect(recoloured.equals(heatmap)).toBe(false);
    // Sampling: small images are pixelated on auto, smooth when asked.
    expect(await page.getAttribute('#strip figure img', 'class')).toContain('pixelated');
    await page.selectOption('#sampling', 'smooth');
    await idle(page);
    expect(await page.getAttribute('#strip figure img', 'class')).toContain('smooth');
    await page.close();
  });

  it('exports the state and imports it back, display mode included', async () => {
    const page = await openPage(
      '?category=00000002&clustering=agglomerative-03&embedding=spectral&x=2&y=3&colormap=jet&mode=overlay&sampling=pixelated&selection=121-125,130',
    );
    const original = await viewState(page);
    expect(original).toMatchObject({ category: '00000002', embedding: 'spectral', x: 2, y: 3, mode: 'overlay', selection: [121, 122, 123, 124, 125, 130] });
    expect(await page.isVisible('#axes')).toBe(true);
    const pad = (n: number) => String(n).padStart(2, '0');
    const day = (d: Date) => `xai-state-${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T`;
    const before = new Date();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    // The local date when the button was pressed: the day before or after (an export across midnight).
    expect([day(before), day(new Date())]).toContain(download.suggestedFilename().slice(0, day(before).length));
    const file = join(session.dir, 'exported.json');
    await download.saveAs(file);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as { state: ViewState };
    expect(exported.state).toEqual(original);

    // Change everything, then import.
    await page.click('#tabs .tab[data-project="beta"]');
    await idle(page);
    await pickRadio(page, 'mode', 'input');
    await idle(page);
    expect((await viewState(page)).project).toBe('beta');
    await page.setInputFiles('#import-file', file);
    await idle(page);
    expect(await viewState(page)).toEqual(original);
    expect(await stripIndices(page)).toEqual([121, 122, 123, 124, 125, 130]);
    expect(await page.isChecked('#mode input[value="overlay"]')).toBe(true);
    await page.close();
  });

  it('gives a share URL that restores the state in a new page', async () => {
    const page = await openPage();
    await page.selectOption('#clustering', 'kmeans-02');
    await idle(page);
    await page.click('#clusters li[data-cluster="0"]');
    await idle(page);
    await pickRadio(page, 'mode', 'overlay');
    await idle(page);
    await page.selectOption('#colormap', 'seismic');
    await idle(page);
    await page.click('#share');
    const url = await page.inputValue('#share-url');
    expect(url).toBe(page.url());
    const state = await viewState(page);
    const other = await session.browser.context.newPage();
    await other.goto(url);
    await idle(other);
    expect(await viewState(other)).toEqual(state);
    expect(await stripIndices(other)).toEqual(state.selection.slice(0, 24));
    await page.close();
    await other.close();
  });

  it('switches projects with the tabs, including a ViRelAy-made project', async () => {
    const page = await openPage('?selection=1,2');
    await page.click('#tabs .tab[data-project="beta"]');
    await idle(page);
    let state = await viewState(page);
    expect(state).toMatchObject({ project: 'beta', category: '00000000', selection: [] });
    expect(await page.textContent('#status')).toContain('Beta data');
    expect(await page.getAttribute('#tabs .tab[data-project="beta"]', 'aria-selected')).toBe('true');
    await page.click('#tabs .tab[data-project="virelay-example"]');
    await idle(page);
    state = await viewState(page);
    // ViRelAy's preselection: tsne embedding; no clustering named "10…", so the first one.
    expect(state).toMatchObject({
      project: 'virelay-example',
      analysis: 'spectral_analysis',
      category: 'n01440764',
      embedding: 'tsne',
      clustering: 'kmeans-02',
    });
    expect((await pagePoints(page)).map((p) => p.sample)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await page.$eval('#category', (s: HTMLSelectElement) => s.selectedOptions[0].textContent)).toContain('tench (n01440764)');
    await page.close();
  });

  it('shows a hover preview, also for the point of sample 0', async () => {
    const page = await openPage();
    const zero = (await pagePoints(page)).find((p) => p.sample === 0);
    expect(zero).toBeDefined();
    await page.mouse.move(zero!.x + 40, zero!.y + 40);
    await page.mouse.move(zero!.x, zero!.y, { steps: 5 });
    await page.waitForSelector('#hover-card:not([hidden])', { timeout: 5000 });
    expect(await page.getAttribute('#hover-card', 'data-index')).toBe('0');
    expect(await page.textContent('#hover-card .hover-text')).toContain('label: Apple (0)');
    await page.close();
  });

  it('pans and zooms the canvas', async () => {
    const page = await openPage();
    const before = (await pagePoints(page))[0];
    const canvas = (await page.locator('#plot').boundingBox())!;
    await drag(
      page,
      [
        [canvas.x + 50, canvas.y + 50],
        [canvas.x + 150, canvas.y + 90],
      ],
      undefined,
      false,
    );
    const panned = (await pagePoints(page)).find((p) => p.sample === before.sample)!;
    // The points follow the drag (within 10 %: a busy machine coalesces the last pointer moves).
    expect(Math.abs(panned.x - before.x - 100)).toBeLessThan(10);
    expect(Math.abs(panned.y - before.y - 40)).toBeLessThan(6);
    await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
    const viewsBefore = await counter(page, 'views');
    await page.mouse.wheel(0, -400);
    // Wait for the plot's own report that the camera moved, not for a fixed time.
    await counterAbove(page, 'views', viewsBefore);
    const zoomed = (await pagePoints(page)).find((p) => p.sample === before.sample)!;
    expect(Math.hypot(zoomed.x - panned.x, zoomed.y - panned.y)).toBeGreaterThan(5);
    expect((await viewState(page)).selection).toEqual([]);
    await page.close();
  });

  it('switches theme and keeps it in the URL', async () => {
    const page = await openPage();
    await page.click('#theme');
    await idle(page);
    expect((await viewState(page)).theme).toBe('light');
    await page.click('#theme');
    await idle(page);
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(new URL(page.url()).searchParams.get('theme')).toBe('dark');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(23, 25, 30)');
    await page.close();
  });
});
