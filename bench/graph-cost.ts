/**
 * bench/graph-cost: what the compiled LRP graph costs in arithmetic, counted on the graph (no timing):
 * multiply-accumulates of its convolutions and dense layers, and elements written by every other op,
 * as multiples of the model's own forward pass (issue 16 item 4's yardstick, in operations rather than
 * seconds, so it holds on any machine and under any load).
 *
 *   npx tsx bench/graph-cost.ts [model.onnx …]     # default: bench/models/{vgg16,resnet50}.onnx
 *   BENCH_COMPOSITES=epsilon-gamma-box,none npx tsx bench/graph-cost.ts
 *
 * `none` is the plain gradient. Composites that need input bounds get [−3, 3].
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { canonize } from '../src/lrp/canonize/index.js';
import { compileRelevanceGraph } from '../src/lrp/compiler.js';
import { buildComposite, type CompositeParams } from '../src/lrp/composites.js';
import type { CompositeName } from '../src/lrp/composite-names.js';
import { readModel } from '../src/onnx/codec.js';
import type { Model } from '../src/onnx/ir.js';
import { inferShapes } from '../src/onnx/shapes.js';

const LINEAR = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

interface Cost {
  macs: number;
  elementwise: number;
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** MACs of the linear ops (per output element: the weight's fan-in) and elements written by the rest. */
function graphCost(model: Model, inputShape: number[]): Cost {
  const shapes = inferShapes(model, inputShape);
  const dims = (name: string): number[] => shapes.get(name) ?? model.graph.initializers.get(name)?.dims ?? [];
  let macs = 0;
  let elementwise = 0;
  for (const node of model.graph.nodes) {
    const out = product(dims(node.outputs[0]!));
    if (!LINEAR.has(node.opType)) {
      elementwise += out;
      continue;
    }
    const w = dims(node.inputs[1]!);
    if (node.opType === 'Conv') macs += out * product(w.slice(1));
    else if (node.opType === 'ConvTranspose') macs += product(dims(node.inputs[0]!)) * product(w.slice(1));
    else macs += product(dims(node.inputs[0]!)) * w.at(-1)!;
  }
  return { macs, elementwise };
}

const root = join(import.meta.dirname, '..');
const files = process.argv.slice(2);
const models = files.length > 0 ? files : ['vgg16', 'resnet50'].map((m) => join(root, 'bench', 'models', `${m}.onnx`));
const composites = (process.env.BENCH_COMPOSITES ?? 'epsilon-gamma-box,epsilon-plus,none').split(',');
const bounds: CompositeParams = { low: -3, high: 3 };

console.log('| model | graph | GMAC | × forward MACs | elementwise M elements | × forward elements |');
console.log('|---|---|---|---|---|---|');
for (const file of models) {
  if (!existsSync(file)) {
    console.log(`(${file} missing: npx tsx bench/attribute.ts exports it)`);
    continue;
  }
  const model = canonize(await readModel(file), {}).model;
  const input = model.graph.inputs[0]!;
  const inputShape = [1, ...(input.shape ?? []).slice(1).map((d) => (typeof d === 'number' ? d : 224))];
  const forward = graphCost(model, inputShape);
  const row = (name: string, c: Cost): void =>
    console.log(
      `| ${file.split('/').pop()} | ${name} | ${(c.macs / 1e9).toFixed(3)} | ${(c.macs / forward.macs).toFixed(2)} | ` +
        `${(c.elementwise / 1e6).toFixed(1)} | ${(c.elementwise / forward.elementwise).toFixed(1)} |`,
    );
  row('forward', forward);
  for (const name of composites) {
    const spec = name === 'none' ? null : buildComposite(name as CompositeName, bounds);
    const compiled = compileRelevanceGraph(model, { inputShape, spec, source: file });
    row(name === 'none' ? 'gradient' : name, graphCost(compiled.model, inputShape));
  }
}
