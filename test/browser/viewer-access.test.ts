/**
 * The viewer for everyone (issue 14), in Debian's Chromium against a real `xai-tools serve`:
 * layouts from a phone to a desktop, keyboard-only use, axe-core on every state, the suspicion
 * overview, ViRelAy share links and export files, colour scales with their legend, pixels of the
 * served images against `xai-tools heatmap`, the error panel and a lost server.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { palette } from '../../src/render/cmap.js';
import { cliPath } from '../helpers/cli.js';
import { writeFixtureProject } from './fixtures.js';
import { setUpViewerSession, writeVirelayProject } from './viewer-session.js';
import { counter, counterAbove, idle, pagePoints, pickRadio, stripIndices, viewState } from './page-helpers.js';
import { rawGet, startServe } from './server-process.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

// Scored like spray's output: category 1 is the most suspicious, then 2, then 0.
const session = setUpViewerSession('xai-access-', async (dir) => [
  await writeFixtureProject(join(dir, 'scored'), { name: 'Scored', classes: 3, perClass: 40, size: 16, suspicion: [0.05, 0.4, 0.2] }),
  await writeFixtureProject(join(dir, 'subset'), { name: 'Subset', classes: 2, perClass: 12, size: 8, attributionEvery: 2 }),
  writeVirelayProject(dir),
]);
const { openPage } = session;

type Rect = { x: number; y: number; width: number; height: number };
const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;

/** Serious and critical axe-core violations of the page as it is now (WCAG 2.1 A and AA). */
async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the debugging protocol: the page's CSP (rightly) refuses injected script tags.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(AXE, 'utf8'));
  const results = (await page.evaluate(() =>
    (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<unknown> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    }),
  )) as { violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[]; failureSummary: string }> }> };
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary}`).join('; ')}`);
}

describe('layout', () => {
  for (const [width, height] of [
    [1920, 1080],
    [1280, 720],
    [800, 600],
    [390, 844],
  ]) {
    it(`at ${width}×${height}: no two panels overlap, nothing is clipped, the plot is usable`, async () => {
      const page = await openPage('?selection=40-60', { width, height });
      const panels = ['.header', '.toolbar', '.plot-tools', '#plot-wrap', '.side', '.strip-panel', '#status'];
      const boxes = await Promise.all(panels.map(async (sel) => [sel, (await page.locator(sel).boundingBox())!] as const));
      for (const [sel, box] of boxes) expect(box, sel).not.toBeNull();
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [a, ra] = boxes[i];
          const [b, rb] = boxes[j];
          // The plot's tool row and canvas live inside the plot panel, beside (or above) the side panel.
          expect(overlaps(ra, rb), `${a} ${JSON.stringify(ra)} overlaps ${b} ${JSON.stringify(rb)}`).toBe(false);
        }
      }
      // No horizontal page scroll, and no panel hides overflowing content.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      const clipped = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('.header, .toolbar, .plot-tools, .side, .strip-head, #status, .toolbar *, .plot-tools *, #status *')]
          .filter((el) => el.offsetParent !== null && !el.closest('.visually-hidden'))
          .flatMap((el) => {
            const r = el.getBoundingClientRect();
            const out = [];
            if (r.right > window.innerWidth + 0.5 || r.left < -0.5)
              out.push(`${el.id || el.className || el.tagName} outside the window (${r.left}–${r.right})`);
            const style = getComputedStyle(el);
            if (style.overflowX === 'hidden' && el.scrollWidth > el.clientWidth + 1) out.push(`${el.id || el.className} clips its content`);
            return out;
          }),
      );
      expect(clipped).toEqual([]);
      // The canvas fills its frame and is big enough to work with; every point is inside it.
      const plot = boxes.find(([sel]) => sel === '#plot-wrap')![1];
      expect(plot.width).toBeGreaterThanOrEqual(Math.min(300, width - 40));
      expect(plot.height).toBeGreaterThanOrEqual(240);
      const points = await pagePoints(page);
      expect(points.length).toBe(40);
      for (const p of points)
        expect(p.x >= plot.x && p.x <= plot.x + plot.width && p.y >= plot.y && p.y <= plot.y + plot.height, `point ${p.sample}`).toBe(true);
      await page.close();
    });
  }
});

describe('accessibility', () => {
  it('has no serious or critical axe-core violations in light and dark theme, in every display mode, with the larger view open', async () => {
    const page = await openPage('?selection=40-45');
    const found: string[] = [];
    for (const theme of ['light', 'dark']) {
      for (const mode of ['input', 'attribution', 'overlay']) {
        await page.goto(`${session.serve.url}?selection=40-45&theme=${theme}&mode=${mode}`);
        await idle(page);
        expect(await page.getAttribute('html', 'data-theme')).toBe(theme);
        found.push(...(await axeViolations(page)).map((v) => `${theme}/${mode}: ${v}`));
      }
      await page.click('#strip figure button');
      await page.waitForSelector('#sample-view[open] img');
      found.push(...(await axeViolations(page)).map((v) => `${theme}/larger view: ${v}`));
      await page.keyboard.press('Escape');
    }
    // A project without scores, without analyses for some views: the ViRelAy one.
    await page.goto(`${session.serve.url}?project=virelay-example&theme=dark`);
    await idle(page);
    found.push(...(await axeViolations(page)).map((v) => `virelay: ${v}`));
    expect(found).toEqual([]);
    await page.close();
  });

  it('names every button and shows a visible focus ring', async () => {
    const page = await openPage();
    const unnamed = await page.$$eval('button', (buttons) =>
      buttons.filter((b) => (b as HTMLElement).offsetParent !== null && !(b.getAttribute('aria-label') || b.textContent?.trim())).map((b) => b.outerHTML),
    );
    expect(unnamed).toEqual([]);
    expect(await page.getAttribute('#theme', 'aria-label')).toMatch(/^Theme: follows the system/);
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).toBe('solid');
    await page.close();
  });
});

describe('keyboard only', () => {
  it('selects clusters from the list (Enter, Space, Shift adds, Alt removes), opens a tile, switches mode with arrow keys', async () => {
    const page = await openPage('?category=00000000&clustering=kmeans-02');
    // Tab until the cluster list has focus: it is in the Tab order.
    for (let i = 0; i < 60 && !(await page.evaluate(() => document.activeElement?.closest('#clusters') !== null)); i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.cluster)).toBe('0');
    await page.keyboard.press('Enter');
    await idle(page);
    expect((await viewState(page)).selection).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.cluster)).toBe('1');
    await page.keyboard.press('Shift+Enter');
    await idle(page);
    expect((await viewState(page)).selection).toHaveLength(40);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Alt+Enter');
    await idle(page);
    expect((await viewState(page)).selection).toEqual(Array.from({ length: 20 }, (_, i) => 20 + i));
    await page.keyboard.press(' ');
    await idle(page);
    expect((await viewState(page)).selection).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await page.getAttribute('#clusters li[data-cluster="0"]', 'aria-selected')).toBe('true');

    // The strip: Tab reaches the first tile, arrows move, Enter opens the larger view with all three images.
    for (let i = 0; i < 30 && !(await page.evaluate(() => document.activeElement?.closest('#strip') !== null)); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.closest('figure')?.dataset.index)).toBe('1');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#sample-view[open]');
    expect(await page.textContent('#sample-view-title')).toBe('Sample 1');
    expect(await page.$$eval('#sample-view-images figure', (f) => f.map((x) => (x as HTMLElement).dataset.mode))).toEqual(['input', 'attribution', 'overlay']);
    await page.waitForFunction(() => /\d/.test(document.querySelector('#sample-view-legend .legend-ends')?.textContent ?? ''));
    await page.keyboard.press('Escape');
    expect(await page.isVisible('#sample-view')).toBe(false);
    // Esc closed the dialog, not the selection.
    expect((await viewState(page)).selection).toHaveLength(20);

    // Display mode: a real radio group; arrow keys move the choice.
    await page.focus('#mode input:checked');
    await page.keyboard.press('ArrowRight');
    await idle(page);
    expect((await viewState(page)).mode).toBe('overlay');
    // Esc in a select does not clear the selection; elsewhere it does.
    await page.focus('#colormap');
    await page.keyboard.press('Escape');
    expect((await viewState(page)).selection).toHaveLength(20);
    await page.focus('#plot-wrap');
    await page.keyboard.press('Escape');
    await idle(page);
    expect((await viewState(page)).selection).toEqual([]);
    await page.close();
  });

  it('pans with the arrow keys and gets every point back with F and the fit button', async () => {
    const page = await openPage();
    const plot = (await page.locator('#plot-wrap').boundingBox())!;
    const inside = async () =>
      (await pagePoints(page)).filter((p) => p.x >= plot.x && p.x <= plot.x + plot.width && p.y >= plot.y && p.y <= plot.y + plot.height).length;
    const rounded = async () => (await pagePoints(page)).map((p) => [p.sample, Math.round(p.x), Math.round(p.y)]);
    const start = await pagePoints(page);
    const fitted = await rounded();
    expect(await inside()).toBe(start.length);
    await page.focus('#plot-wrap');
    for (let i = 0; i < 12; i++) {
      const before = await counter(page, 'views');
      await page.keyboard.press(i < 4 ? '+' : 'ArrowLeft');
      await counterAbove(page, 'views', before);
    }
    expect(await inside()).toBeLessThan(start.length);
    let before = await counter(page, 'views');
    await page.keyboard.press('f');
    await counterAbove(page, 'views', before);
    expect(await rounded()).toEqual(fitted);
    // The same with the mouse: drag away, then the button.
    await page.mouse.move(plot.x + 20, plot.y + 20);
    await page.mouse.down();
    await page.mouse.move(plot.x + plot.width - 5, plot.y + plot.height - 5, { steps: 6 });
    await page.mouse.up();
    expect(await inside()).toBeLessThan(start.length);
    before = await counter(page, 'views');
    await page.click('#fit-view');
    await counterAbove(page, 'views', before);
    expect(await rounded()).toEqual(fitted);
    await page.close();
  });
});

describe('suspicion overview', () => {
  it('ranks the scored categories, opens on the most suspicious one with its best-separating clustering, and opens others on click', async () => {
    const page = await openPage();
    expect(await viewState(page)).toMatchObject({ project: 'scored', category: '00000001', clustering: 'kmeans-02' });
    expect(await page.isVisible('#overview')).toBe(true);
    const rows = await page.$$eval('#overview-list button', (b) =>
      b.map((x) => [(x as HTMLElement).dataset.category, x.querySelector('.score')!.textContent, x.querySelector('.groups')!.textContent]),
    );
    expect(rows).toEqual([
      ['00000001', '0.400', '2 groups'],
      ['00000002', '0.200', '2 groups'],
      ['00000000', '0.050', '2 groups'],
    ]);
    // Bars are relative to the top score.
    const widths = await page.$$eval('#overview-list .bar', (bars) => bars.map((b) => (b as HTMLElement).getBoundingClientRect().width));
    expect(widths[1] / widths[0]).toBeCloseTo(0.5, 1);
    // The category select lists them in the same order, with their scores.
    expect(await page.$$eval('#category option', (o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual(['00000001', '00000002', '00000000']);
    await page.selectOption('#clustering', 'kmeans-10');
    await idle(page);
    await page.click('#overview-list button[data-category="00000002"]');
    await idle(page);
    expect(await viewState(page)).toMatchObject({ category: '00000002', clustering: 'kmeans-02' });
    expect(await page.getAttribute('#overview-list button[data-category="00000002"]', 'aria-current')).toBe('true');
    // Projects without scores (ViRelAy's tools) hide the panel and keep the reference's defaults.
    await page.click('#tabs .tab[data-project="subset"]');
    await idle(page);
    expect(await page.isVisible('#overview')).toBe(false);
    expect(await viewState(page)).toMatchObject({ category: '00000000', clustering: 'kmeans-10' });
    await page.close();
  });
});

describe('ViRelAy compatibility', () => {
  it('opens a ViRelAy share link on the same view', async () => {
    const query =
      'firstEmbeddingDimension=2&secondEmbeddingDimension=1&colorMap=seismic' +
      '&analysisMethod=spectral_analysis&analysisCategory=00000002&clustering=agglomerative-03' +
      '&embedding=spectral&imageMode=overlay&embeddingVectors=81,85,90';
    const redirect = await rawGet(session.serve.port, `/projects/0?${query}`);
    expect(redirect.status).toBe(302);
    const page = await openPage(`projects/0?${query}`);
    expect(await viewState(page)).toMatchObject({
      project: 'scored',
      analysis: 'spectral_analysis',
      category: '00000002',
      clustering: 'agglomerative-03',
      embedding: 'spectral',
      x: 2,
      y: 1,
      colormap: 'virelay-seismic',
      mode: 'overlay',
      selection: [81, 85, 90],
    });
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await stripIndices(page)).toEqual([81, 85, 90]);
    expect((await rawGet(session.serve.port, '/projects/9')).json()).toMatchObject({ errorMessage: expect.stringContaining('no project 9') });
    await page.close();
  });

  it('imports a ViRelAy export file', async () => {
    const file = join(session.dir, 'virelay-export.json');
    writeFileSync(
      file,
      JSON.stringify({
        projectId: 2,
        projectName: 'ViRelAy Example',
        modelName: 'VGG16',
        datasetName: 'ImageNet',
        selectedAnalysisMethod: 'spectral_analysis',
        selectedAnalysisCategory: 'n02102040',
        selectedCategoryHumanReadableName: 'English springer',
        selectedEmbeddingName: 'tsne',
        selectedClustering: 'kmeans-02',
        numberOfClusters: 2,
        selectedColorMap: 'jet',
        selectedImageMode: 'input',
        selectedEmbeddingVectorsIndices: [9, 10],
        selectedEmbeddingVectorsClusters: [0, 0],
        allEmbeddingVectorsIndices: [8, 9, 10, 11, 12, 13, 14, 15],
        allEmbeddingVectorsClusters: [0, 0, 0, 0, 1, 1, 1, 1],
      }),
    );
    const page = await openPage();
    await page.setInputFiles('#import-file', file);
    await idle(page);
    expect(await viewState(page)).toMatchObject({
      project: 'virelay-example',
      category: 'n02102040',
      embedding: 'tsne',
      clustering: 'kmeans-02',
      colormap: 'jet',
      mode: 'input',
      selection: [9, 10],
    });
    expect(await page.isVisible('#error-panel')).toBe(false);
    await page.close();
  });
});

/** Decoded RGB pixels of a PNG. */
async function rgb(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe('colour scales and pixels', () => {
  it('draws a sequential map on |R| (zero is its first colour), states it in the legend, and takes min–max on request', async () => {
    const page = await openPage('?selection=43&colormap=hot');
    expect(await page.getAttribute('#legend', 'data-scale')).toBe('absolute');
    expect(await page.textContent('#legend')).toContain('|relevance|');
    const src = (await page.getAttribute('#strip figure img', 'src'))!;
    const hot = palette('hot');
    // Sample 43: the square is in corner 3 (bottom right); pixel (0, 0) has relevance exactly 0.
    const auto = await rgb((await rawGet(session.serve.port, `/${src}`)).body);
    expect([...auto.data.subarray(0, 3)]).toEqual([hot[0], hot[1], hot[2]]);
    const symmetric = await rgb((await rawGet(session.serve.port, `/${src}&scale=symmetric`)).body);
    expect([...symmetric.data.subarray(0, 3)]).toEqual([hot[127 * 3], hot[127 * 3 + 1], hot[127 * 3 + 2]]);
    // A diverging map keeps zero in the middle.
    await page.selectOption('#colormap', 'coldnhot');
    await idle(page);
    expect(await page.getAttribute('#legend', 'data-scale')).toBe('symmetric');
    expect(await page.$$eval('#legend .legend-ends span', (s) => s.map((x) => x.textContent))).toEqual(['−max |R|', '0', '+max |R|']);
    await page.selectOption('#scale', 'minmax');
    await idle(page);
    expect((await viewState(page)).scale).toBe('minmax');
    expect(await page.getAttribute('#strip figure img', 'src')).toContain('scale=minmax');
    await page.close();
  });

  it('serves for sample i the heatmap `xai-tools heatmap` renders for row i, also from an attribution file that covers a subset via `index`', async () => {
    const out = join(session.dir, 'heatmaps');
    const attribution = join(session.dir, 'subset', 'attribution.h5');
    execFileSync(process.execPath, [cliPath, 'heatmap', attribution, '--cmap', 'black-fire-red', '--symmetric', '--indices', '4,6', '-o', out], {
      stdio: 'pipe',
    });
    // heatmaps.csv names the file written for each sample index (file,cell,index,label,predicted).
    const rows = readFileSync(join(out, 'heatmaps.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const fileOf = (i: number) => join(out, rows.find((r) => Number(r[2]) === i)![0]);
    const expected6 = await rgb(readFileSync(fileOf(6)));
    const expected4 = await rgb(readFileSync(fileOf(4)));
    const page = await openPage('?project=subset&selection=6&colormap=black-fire-red');
    const src = (await page.getAttribute('#strip figure img', 'src'))!;
    const served = await rgb((await rawGet(session.serve.port, `/${src}`)).body);
    expect(served.width).toBe(8);
    expect(served.data.equals(expected6.data)).toBe(true);
    // Row 3 of the file is sample 6; a viewer reading row 6 (or row 2, sample 4) would differ.
    expect(served.data.equals(expected4.data)).toBe(false);
    // Odd samples have no attribution in this file: the strip shows their input.
    expect((await rawGet(session.serve.port, `/api/projects/subset/images/7?mode=attribution`)).status).toBe(404);
    await page.close();
  });
});

describe('errors and a lost server', () => {
  it('shows a failed load in the error panel outside the plot, keeps the controls on the plotted view, and retries', async () => {
    const page = await openPage('?category=00000000&clustering=kmeans-10');
    await page.route('**/points?**', (route) =>
      route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ errorMessage: 'the analysis file went away' }) }),
    );
    await page.selectOption('#clustering', 'kmeans-02');
    await idle(page);
    expect(await page.isVisible('#error-panel')).toBe(true);
    expect(await page.textContent('#error-text')).toContain('the analysis file went away');
    expect(await page.isVisible('#plot-message')).toBe(false);
    expect(await page.inputValue('#clustering')).toBe('kmeans-10');
    expect((await viewState(page)).clustering).toBe('kmeans-10');
    await page.unroute('**/points?**');
    await page.click('#error-retry');
    await idle(page);
    expect(await page.isVisible('#error-panel')).toBe(false);
    expect((await viewState(page)).clustering).toBe('kmeans-02');
    await page.close();
  });

  it('notices a stopped server, keeps showing the last view, and recovers when it is back', async () => {
    const own = await startServe(session.projects);
    const port = own.port;
    const page = await openPage('?category=00000000&selection=1-3', undefined, own.url);
    await own.stop();
    await page.selectOption('#category', '00000002');
    await page.waitForSelector('#connection-banner:not([hidden])', { timeout: 15_000 });
    await idle(page);
    // The select went back to what the plot shows.
    expect(await page.inputValue('#category')).toBe('00000000');
    expect((await viewState(page)).category).toBe('00000000');
    const again = await startServe(session.projects, { port });
    try {
      await page.waitForSelector('#connection-banner', { state: 'hidden', timeout: 15_000 });
      await idle(page);
      // Recovery applies what was asked for last.
      expect((await viewState(page)).category).toBe('00000002');
    } finally {
      await page.close();
      await again.stop();
    }
  });
});

describe('rectangle tool', () => {
  it('spans the rectangle from the press, even when the first pointer move lands far from it', async () => {
    const page = await openPage('?category=00000000');
    await pickRadio(page, 'tool', 'rectangle');
    const points = await pagePoints(page);
    const xs = points.map((p) => p.x).sort((a, b) => a - b);
    const ys = points.map((p) => p.y).sort((a, b) => a - b);
    // The right edge in a gap of at least 4 px between points, so no point sits on the edge.
    const m = xs.findIndex((x, i) => i >= xs.length / 3 && xs[i + 1] - x >= 4);
    const [x0, y0, x1, y1] = [xs[0] - 4, ys[0] - 4, (xs[m] + xs[m + 1]) / 2, ys[ys.length - 1] + 4];
    const expected = points
      .filter((p) => p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1)
      .map((p) => p.sample)
      .sort((a, b) => a - b);
    // Points near the press corner, which a rectangle starting at the first move would miss.
    const nearPress = points.filter((p) => p.x < (x0 + x1) / 2).length;
    expect(nearPress).toBeGreaterThan(0);
    const before = await counter(page, 'canvasSelections');
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2);
    await page.mouse.move(x1, y1, { steps: 3 });
    await page.mouse.up();
    await counterAbove(page, 'canvasSelections', before);
    await idle(page);
    expect((await viewState(page)).selection).toEqual(expected);
    await page.close();
  });
});

describe('radio groups', () => {
  it('switch the canvas tool and the display mode; input mode has no colour legend', async () => {
    const page = await openPage();
    await pickRadio(page, 'tool', 'lasso');
    expect(await page.isChecked('#tool input[value="lasso"]')).toBe(true);
    await pickRadio(page, 'mode', 'input');
    await idle(page);
    expect((await viewState(page)).mode).toBe('input');
    expect(await page.isVisible('#legend')).toBe(false);
    await page.close();
  });
});
