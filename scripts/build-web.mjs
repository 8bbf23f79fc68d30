#!/usr/bin/env node
// Bundles the viewer's page (src/viewer/web) into dist/web: index.html, app.js, app.css (served
// under /assets/). The server reads these files into memory at start; `npm run build` and the
// test setup call this. Built beside the target and renamed into place, so a server starting
// meanwhile never sees a half-written page.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'viewer', 'web');
const target = join(root, 'dist', 'web');
const out = `${target}.tmp-${process.pid}`;

async function bundle() {
  await build({
    entryPoints: { app: join(source, 'main.ts') },
    bundle: true,
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: false,
    // Licence notices of the bundled packages (regl-scatterplot, regl, …) ship beside the bundle.
    legalComments: 'linked',
    outdir: out,
    logLevel: 'warning',
  });
  await build({ entryPoints: { app: join(source, 'style.css') }, bundle: true, minify: true, outdir: out, logLevel: 'warning' });
  copyFileSync(join(source, 'index.html'), join(out, 'index.html'));
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
try {
  await bundle();
  rmSync(target, { recursive: true, force: true });
  renameSync(out, target);
} catch (error) {
  rmSync(out, { recursive: true, force: true });
  throw error;
}
