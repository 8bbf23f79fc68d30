#!/usr/bin/env node
// `prepack` / `postpack` helper: the tarball carries onnxruntime-node inside it (bundleDependencies) with
// onnxruntime-node's `postinstall` hook set aside. That hook only fetches the optional CUDA provider from
// NuGet; on Linux x64 it runs by default and fails the whole install on a machine that reaches only the
// npm registry, and a dependency's install scripts cannot be switched off from the package that depends
// on it. The CPU runtime is already in onnxruntime-node's npm package. GPU users opt in by running the
// same script, which stays in the bundle (README, "Install").
//
// bundleDependencies is added to package.json only while packing: in a development checkout npm would
// treat the bundled package as part of the root project and run its hook despite `allowScripts`.
//
//   node scripts/pack-ort.mjs strip    (prepack: bundle onnxruntime-node without its install hooks)
//   node scripts/pack-ort.mjs restore  (postpack: put package.json and onnxruntime-node's hook back)
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const ortManifest = join(root, 'node_modules', 'onnxruntime-node', 'package.json');
const ownManifest = join(root, 'package.json');
const saved = (file) => `${file}.xai-tools-orig`;
const mode = process.argv[2];

/** Rewrites a JSON file, keeping the original beside it (once) for `restore`. */
function rewrite(file, change) {
  if (!existsSync(saved(file))) writeFileSync(saved(file), readFileSync(file));
  const json = JSON.parse(readFileSync(saved(file), 'utf8'));
  change(json);
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}

if (mode === 'strip') {
  if (!existsSync(ortManifest)) throw new Error('node_modules/onnxruntime-node is missing: run npm ci before packing');
  rewrite(ortManifest, (pkg) => {
    // Every other script stays (none runs at install time); only the install hooks go.
    for (const hook of ['preinstall', 'install', 'postinstall']) delete pkg.scripts?.[hook];
  });
  rewrite(ownManifest, (pkg) => {
    pkg.bundleDependencies = ['onnxruntime-node'];
  });
} else if (mode === 'restore') {
  for (const file of [ortManifest, ownManifest]) if (existsSync(saved(file))) renameSync(saved(file), file);
} else {
  throw new Error('usage: pack-ort.mjs strip|restore');
}
