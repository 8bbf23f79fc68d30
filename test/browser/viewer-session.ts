/**
 * One browser-test file's world: a temporary directory of fixture projects, a real `xai-tools serve`
 * on them, headless Chromium, and the pages' uncaught errors (each test ends by checking there were
 * none). `setUpViewerSession` registers the vitest hooks that build and tear it down.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { chromiumAvailable, CHROMIUM, launchChromium } from './chromium.js';
import { idle } from './page-helpers.js';
import { startServe, type ServeProcess } from './server-process.js';

export interface ViewerSession {
  dir: string;
  serve: ServeProcess;
  /** The project files served, in command-line order. */
  projects: string[];
  browser: { context: BrowserContext; close(): Promise<void> };
  pageErrors: string[];
  /** A new page at `base + path` (the server's root by default), once it has settled. */
  openPage(path?: string, size?: { width: number; height: number }, base?: string): Promise<Page>;
}

/** Writes the ViRelAy-made example project (by test/browser/make_virelay_project.py) into `dir/virelay`. */
export function writeVirelayProject(dir: string): string {
  execFileSync('/usr/bin/python3', [join(repoRoot, 'test', 'browser', 'make_virelay_project.py'), join(dir, 'virelay')], { stdio: 'pipe' });
  return join(dir, 'virelay', 'project.yaml');
}

/** Registers beforeAll/afterAll/afterEach; the returned object is filled in by beforeAll. */
export function setUpViewerSession(prefix: string, makeProjects: (dir: string) => Promise<string[]>): ViewerSession {
  const session = { pageErrors: [] as string[] } as ViewerSession;
  session.openPage = async (path = '', size, base = session.serve.url) => {
    const page = await session.browser.context.newPage();
    if (size) await page.setViewportSize(size);
    page.on('pageerror', (error) => session.pageErrors.push(error.message));
    await page.goto(base + path);
    await idle(page);
    return page;
  };
  beforeAll(async () => {
    if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does this`);
    session.dir = mkdtempSync(join(tmpdir(), prefix));
    session.projects = await makeProjects(session.dir);
    session.serve = await startServe(session.projects);
    session.browser = await launchChromium();
  });
  afterAll(async () => {
    await session.browser?.close();
    await session.serve?.stop();
    if (session.dir) rmSync(session.dir, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(session.pageErrors).toEqual([]);
  });
  return session;
}
