/**
 * bench/canonize: cost of the ONNX front end on ImageNet-sized models — decoding (`readModel`),
 * static shape inference (`inferShapes`), canonization (`canonize`: fold, fuse, BN merge, …) and
 * encoding (`encodeModel`). These run once per `attribute`/`canonize` call, before any batch.
 *
 *   npx tsx bench/canonize.ts            # BENCH_MODELS=resnet50,vgg16 (default), BENCH_REPEATS=3
 *
 * Models come from bench/export_models.py (random weights, exported into the git-ignored
 * bench/models/ on first use). Reports the median of the repeats in milliseconds, and peak RSS.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeModel, readModel } from '../src/onnx/codec.js';
import { inferShapes } from '../src/onnx/shapes.js';
import { canonize, lowerMarkers } from '../src/lrp/canonize/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const models = (process.env.BENCH_MODELS ?? 'resnet50,vgg16').split(',').filter(Boolean);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);

const missing = models.filter((m) => !existsSync(join(here, 'models', `${m}.onnx`)));
if (missing.length > 0) {
  console.log(`exporting ${missing.join(', ')} with bench/export_models.py …`);
  execFileSync('/usr/bin/python3', [join(here, 'export_models.py'), '--models', missing.join(',')], { stdio: 'inherit' });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
};

console.log('model      size MB  decode ms  shapes ms  canonize ms  encode ms  nodes  changes');
for (const name of models) {
  const path = join(here, 'models', `${name}.onnx`);
  const t = { decode: [] as number[], shapes: [] as number[], canonize: [] as number[], encode: [] as number[] };
  let summary = '';
  for (let i = 0; i < repeats; i++) {
    const [model, decode] = time(() => readModel(path));
    const [, shapes] = time(() => inferShapes(model, [8, 3, 224, 224]));
    const [result, canon] = time(() => canonize(model));
    const [, encode] = time(() => encodeModel(lowerMarkers(result.model)));
    t.decode.push(decode);
    t.shapes.push(shapes);
    t.canonize.push(canon);
    t.encode.push(encode);
    summary = `${model.graph.nodes.length}→${result.model.graph.nodes.length}  ${result.changes.length}`;
  }
  const mb = (statSync(path).size / 1e6).toFixed(0);
  console.log(
    `${name.padEnd(10)} ${mb.padStart(7)}  ${median(t.decode).toFixed(0).padStart(9)}  ${median(t.shapes).toFixed(0).padStart(9)}` +
      `  ${median(t.canonize).toFixed(0).padStart(11)}  ${median(t.encode).toFixed(0).padStart(9)}  ${summary}`,
  );
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; ${repeats} repeats, median; node ${process.version}`);
