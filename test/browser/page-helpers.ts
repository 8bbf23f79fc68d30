/** What the browser tests ask of the viewer page (its test hooks on `window.__viewer`, its markup). */
import type { Page } from 'playwright-core';
import type { ViewState } from '../../src/viewer/web/state.js';

export interface PagePoint {
  sample: number;
  x: number;
  y: number;
}

interface Hooks {
  state(): ViewState;
  points(): PagePoint[];
  canvasSelections(): number;
  views(): number;
}

/** Waits until the page finished applying its state (data loaded, controls and strip drawn). */
export async function idle(page: Page, timeout = 30_000): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.busy === '0', undefined, { timeout });
}

export const viewState = (page: Page): Promise<ViewState> => page.evaluate(() => (window as unknown as { __viewer: Hooks }).__viewer.state());
export const pagePoints = (page: Page): Promise<PagePoint[]> => page.evaluate(() => (window as unknown as { __viewer: Hooks }).__viewer.points());
export const stripIndices = (page: Page): Promise<number[]> =>
  page.$$eval('#strip figure', (tiles) => tiles.map((t) => Number((t as HTMLElement).dataset.index)));

/** Reads one of the page's event counters (`canvasSelections`, `views`). */
export const counter = (page: Page, name: 'canvasSelections' | 'views'): Promise<number> =>
  page.evaluate((n) => (window as unknown as { __viewer: Hooks }).__viewer[n](), name);

/** Waits until a counter has passed `than` (an outcome, not a time). */
export async function counterAbove(page: Page, name: 'canvasSelections' | 'views', than: number): Promise<void> {
  await page.waitForFunction(([n, v]) => (window as unknown as { __viewer: Hooks }).__viewer[n as 'views']() > (v as number), [name, than] as const, {
    timeout: 10_000,
  });
}

/** Picks a choice of a radio group (display mode, canvas tool) by clicking its visible label. */
export async function pickRadio(page: Page, name: 'mode' | 'tool', value: string): Promise<void> {
  await page.click(`label:has(> input[name="${name}"][value="${value}"])`);
}
