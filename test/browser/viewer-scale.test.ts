/**
 * The viewer with a category above PERFORMANCE_MODE_POINTS (200 000) in a real browser: performance
 * mode is on there and off again for a small category, a drag moves a snapshot of the drawn image
 * (no render while the pointer moves) and the camera by exactly the drag at the release, and the
 * spatial index the page builds (src/viewer/web/spatial-index.ts) serves regl-scatterplot's clicks.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { writeFixtureProject } from './fixtures.js';
import { idle, viewState } from './page-helpers.js';
import { setUpViewerSession } from './viewer-session.js';

const BIG = 200_100;
const session = setUpViewerSession('xai-scale-', async (dir) => [
  await writeFixtureProject(join(dir, 'big'), { name: 'Big', classes: 2, perClass: BIG / 2, size: 2, attributionEvery: 1000, benchCategories: true }),
]);

/** regl-scatterplot's own reading of a property of the plot instance. */
const plotGet = (page: Page, key: string) => page.evaluate(`window.__viewer.plot().get(${JSON.stringify(key)})`);
/** Canvas-relative screen positions of some points, by position in the drawn arrays. */
const screenOf = (page: Page, positions: number[]) =>
  page.evaluate(`${JSON.stringify(positions)}.map((i) => window.__viewer.plot().getScreenPosition(i))`) as Promise<Array<[number, number]>>;

describe('viewer scale', () => {
  it('pans a large category as a moving snapshot and renders once at the release', async () => {
    const page = await session.openPage('?project=big&category=00000001');
    expect(await plotGet(page, 'performanceMode')).toBe(true);
    expect(await page.evaluate('window.__viewer.plot().get("points").length')).toBe(BIG);
    const probe = [0, 1, 150_000];
    const before = await screenOf(page, probe);
    await page.evaluate(`(() => {
      window.__renders = 0;
      window.__viewer.plot().subscribe('draw', () => window.__renders++);
    })()`);
    const box = (await page.locator('#plot').boundingBox())!;
    const [x0, y0] = [box.x + box.width / 2, box.y + box.height / 2];
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (let k = 1; k <= 12; k++) await page.mouse.move(x0 + 10 * k, y0 + 5 * k);
    // Mid-drag: the canvas image follows the pointer and nothing was rendered.
    expect(await page.locator('#plot').evaluate((c: HTMLElement) => c.style.transform)).toBe('translate(120px, 60px)');
    await page.waitForTimeout(300);
    expect(await page.evaluate('window.__renders')).toBe(0);
    await page.mouse.up();
    await page.waitForFunction('window.__renders > 0', undefined, { timeout: 30_000 });
    expect(await page.locator('#plot').evaluate((c: HTMLElement) => c.style.transform)).toBe('');
    const after = await screenOf(page, probe);
    for (let i = 0; i < probe.length; i++) {
      expect(after[i][0] - before[i][0]).toBeCloseTo(120, 1);
      expect(after[i][1] - before[i][1]).toBeCloseTo(60, 1);
    }
    // A drag is no click: nothing got selected.
    expect((await viewState(page)).selection).toEqual([]);
    await page.close();
  });

  it('selects the clicked point through the page-built spatial index, and leaves performance mode for a small category', async () => {
    const page = await session.openPage('?project=big&category=00000001');
    const box = (await page.locator('#plot').boundingBox())!;
    const [[px, py]] = await screenOf(page, [777]);
    await page.mouse.click(box.x + px, box.y + py);
    await page.waitForFunction('window.__viewer.state().selection.length === 1', undefined, { timeout: 30_000 });
    await idle(page);
    // The chosen point lies under the pointer (dense plot: maybe a neighbour, never a far point).
    const [sample] = (await viewState(page)).selection;
    const position = (await page.evaluate(`window.__viewer.plot().get('selectedPoints')`)) as number[];
    expect(position).toHaveLength(1);
    const [[sx, sy]] = await screenOf(page, position);
    expect(Math.hypot(sx - px, sy - py)).toBeLessThan(4);
    expect(sample).toBe(position[0]);

    await page.selectOption('#category', '00000000');
    await idle(page);
    expect(await plotGet(page, 'performanceMode')).toBe(false);
    expect(await page.evaluate('window.__viewer.plot().get("points").length')).toBe(100);
    await page.close();
  });
});
