#!/usr/bin/env node
// Regenerates docs/screenshots/demo-input.png and demo-overlay.png: runs the Clever-Hans demo's
// browser test (test/browser/demo.test.ts), which runs the demo chain, serves its project, opens
// class "three" in headless Chromium, selects the cluster of stamped samples and, with
// XAI_SCREENSHOTS=1, saves the page in input and in overlay mode.
//
//   node scripts/screenshot-demo.mjs
import { spawnSync } from 'node:child_process';

const run = spawnSync('npx', ['vitest', 'run', 'test/browser/demo.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, XAI_SCREENSHOTS: '1' },
});
if (run.status === 0) console.log('\nSaved docs/screenshots/demo-input.png and docs/screenshots/demo-overlay.png');
process.exit(run.status ?? 1);
