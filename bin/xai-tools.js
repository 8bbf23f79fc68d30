#!/usr/bin/env node
// `--version` is answered before anything heavy loads: the engines (onnxruntime, h5wasm, sharp, ink)
// take a second to import, which a version check in a script should not pay.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
} else {
  const { main } = await import('../dist/cli.js');
  process.exitCode = await main(process.argv);
}
