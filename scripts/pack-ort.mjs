#!/usr/bin/env node
// `prepack` / `postpack` helper: xai-tools ships onnxruntime-node inside its tarball (bundleDependencies)
// with onnxruntime-node's `postinstall` hook set aside. That hook only fetches the optional CUDA provider
// from NuGet; on Linux x64 it runs by default and fails the whole install on a machine that reaches only
// the npm registry, and a dependency's install scripts cannot be switched off from the dependent package.
// The CPU runtime it needs is already in the npm package. GPU users opt in with `xai-tools setup-cuda`,
// which runs the same script (kept in the bundle) on request.
//
//   node scripts/pack-ort.mjs strip    (prepack: remove the hook, remember it)
//   node scripts/pack-ort.mjs restore  (postpack: put the hook back in the developer's node_modules)
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const manifest = join(import.meta.dirname, '..', 'node_modules', 'onnxruntime-node', 'package.json');
const saved = `${manifest}.xai-tools-orig`;
const mode = process.argv[2];

if (mode === 'strip') {
  if (!existsSync(manifest)) throw new Error('node_modules/onnxruntime-node is missing: run npm ci before packing');
  if (!existsSync(saved)) writeFileSync(saved, readFileSync(manifest));
  const pkg = JSON.parse(readFileSync(saved, 'utf8'));
  // Keep every other script (none runs at install time); only the install hooks go.
  for (const hook of ['preinstall', 'install', 'postinstall']) delete pkg.scripts?.[hook];
  writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
} else if (mode === 'restore') {
  if (existsSync(saved)) renameSync(saved, manifest);
} else {
  throw new Error('usage: pack-ort.mjs strip|restore');
}
