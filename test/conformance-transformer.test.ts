/**
 * Conformance: every case of ../shared/conformance/lrp-transformer (AttnLRP / CP-LRP reference
 * relevance, float64) reproduced through the real CLI for both exports (opset 13 decomposed, opset
 * 17 LayerNormalization), plus the spec's checks: the plain gradient equals input ⊙ true gradient,
 * both exports agree, and CP-LRP conserves relevance on copies with every bias, β, class token and
 * position embedding zeroed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attr, GraphBuilder, modelOf } from '../src/onnx/builder.js';
import { encodeModel, readModel } from '../src/onnx/codec.js';
import { runCli, sharedDir } from './helpers/cli.js';
import { readAttribution, relativeErrors } from './attribute-data.js';

const dir = join(sharedDir, 'conformance', 'lrp-transformer');
interface Case {
  case: string;
  composite: string | null;
  rules?: Array<{ match: string; rule: string; params?: Record<string, unknown> }>;
}
interface Entry {
  name: string;
  models: string[];
  data: string;
  input: 'image' | 'tokens';
  cases: Case[];
}
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { models: Entry[] };
const TOLERANCE = 1e-4;

interface Reference {
  input: Float32Array | BigInt64Array;
  shape: number[];
  target: BigInt64Array;
  logits: Float32Array;
  f64: Map<string, Float64Array>;
  f32: Map<string, Float32Array>;
}

async function readReference(file: string): Promise<Reference> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'r');
  try {
    const input = f.get('input') as h5wasm.Dataset;
    const cases = f.get('cases') as h5wasm.Group;
    const f64 = new Map<string, Float64Array>();
    const f32 = new Map<string, Float32Array>();
    for (const key of cases.keys()) {
      f64.set(key, (f.get(`cases/${key}/relevance_f64`) as h5wasm.Dataset).value as Float64Array);
      f32.set(key, (f.get(`cases/${key}/relevance`) as h5wasm.Dataset).value as Float32Array);
    }
    return {
      input: input.value as Float32Array | BigInt64Array,
      shape: input.shape!,
      target: (f.get('target') as h5wasm.Dataset).value as BigInt64Array,
      logits: (f.get('logits') as h5wasm.Dataset).value as Float32Array,
      f64,
      f32,
    };
  } finally {
    f.close();
  }
}

/** The dataset `attribute` reads: `data` (float32 images or int64 token ids) and `label` uint16. */
async function writeDataset(path: string, ref: Reference): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'w');
  try {
    f.create_dataset({ name: 'data', data: ref.input, shape: ref.shape, dtype: ref.input instanceof BigInt64Array ? '<q' : '<f4' });
    f.create_dataset({ name: 'label', data: Uint16Array.from(ref.target, Number), shape: [ref.target.length], dtype: '<H' });
  } finally {
    f.close();
  }
}

const toF32 = (a: ArrayLike<number>): Float32Array => Float32Array.from(a);

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'xai-conformance-transformer-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function attribute(model: string, dataset: string, output: string, args: string[]): Promise<Awaited<ReturnType<typeof readAttribution>>> {
  const result = await runCli(['attribute', '--model', model, '--dataset', dataset, '-o', output, '--quiet', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return readAttribution(output);
}

for (const entry of manifest.models) {
  describe(entry.name, () => {
    let ref: Reference;
    let dataset: string;
    const results = new Map<string, Float32Array>();
    beforeAll(async () => {
      ref = await readReference(join(dir, entry.data));
      dataset = join(tmp, `${entry.name}-dataset.h5`);
      await writeDataset(dataset, ref);
    });

    for (const file of entry.models) {
      for (const c of entry.cases) {
        it(`${file} ${c.case}`, async () => {
          const args: string[] = ['--composite', c.composite ?? 'none'];
          if (c.rules) {
            const path = join(tmp, `${c.case}.yaml`);
            writeFileSync(path, stringify({ rules: c.rules }));
            args.push('--rules', path);
          }
          const ours = await attribute(join(dir, file), dataset, join(tmp, `${file}-${c.case}.h5`), args);
          expect(ours.shape).toEqual(ref.shape);
          expect(Array.from(ours.label)).toEqual(Array.from(ref.target, Number));
          // The logits are the model's (the export handling changed nothing).
          expect(relativeErrors(ours.prediction, ref.logits, ref.shape[0]!).every((e) => e < 1e-5)).toBe(true);
          // The gradient case is input ⊙ gradient; for images the CLI writes the plain gradient, for
          // token ids already embedding ⊙ gradient summed over the hidden axis.
          const attribution =
            c.case === 'gradient' && entry.input === 'image' ? ours.attribution.map((g, i) => g * (ref.input as Float32Array)[i]!) : ours.attribution;
          results.set(`${file} ${c.case}`, attribution);
          const f64 = toF32(ref.f64.get(c.case)!);
          const spread = relativeErrors(ref.f32.get(c.case)!, f64, ref.shape[0]!);
          relativeErrors(attribution, f64, ref.shape[0]!).forEach((e, i) => expect(e).toBeLessThanOrEqual(Math.max(TOLERANCE, 2 * spread[i]!)));
        });
      }
    }

    it('opset 13 (decomposed) and opset 17 (LayerNormalization) give the same relevance', () => {
      const [a, b] = entry.models;
      for (const c of entry.cases) {
        for (const e of relativeErrors(results.get(`${a} ${c.case}`)!, results.get(`${b} ${c.case}`)!, ref.shape[0]!)) expect(e).toBeLessThan(2e-5);
      }
    });

    for (const file of entry.models) {
      it(`${file}: cp-lrp conserves relevance with biases, β, class token and position embedding zeroed`, async () => {
        const model = readModel(join(dir, file));
        let zeroed = 0;
        for (const [name, t] of model.graph.initializers) {
          if (!/bias$|^pos$|pos_embedding|class_token/.test(name)) continue;
          model.graph.initializers.set(name, { ...t, data: new Float32Array(t.data.length) });
          zeroed++;
        }
        expect(zeroed).toBeGreaterThan(5);
        const path = join(tmp, `zeroed-${file}`);
        writeFileSync(path, encodeModel(model));
        const ours = await attribute(path, dataset, join(tmp, `zeroed-${file}.h5`), ['--composite', 'cp-lrp', '--epsilon', '1e-12']);
        const n = ref.shape[0]!;
        const size = ours.attribution.length / n;
        const classes = ours.prediction.length / n;
        for (let s = 0; s < n; s++) {
          const total = ours.attribution.subarray(s * size, (s + 1) * size).reduce((acc, v) => acc + v, 0);
          const logit = ours.prediction[s * classes + Number(ref.target[s])]!;
          expect(Math.abs(total - logit)).toBeLessThanOrEqual(1e-4 * Math.max(Math.abs(logit), 1e-3));
        }
      });
    }
  });
}

describe('token inputs', () => {
  it('a token model without an embedding Gather is a one-line error', async () => {
    const b = new GraphBuilder();
    const ids = b.addInput('ids', 'int64', [1, 4]);
    const [x] = b.addNode('Cast', [ids], { to: attr.int(1) });
    const [y] = b.addNode('MatMul', [x!, b.constant([1, 2, 3, 4, 5, 6, 7, 8], [4, 2])]);
    b.addOutput(y!, 'float32');
    const path = join(tmp, 'no-embedding.onnx');
    writeFileSync(path, encodeModel(modelOf(b.graph, 17)));
    const ref = await readReference(join(dir, 'text_tiny.h5'));
    const dataset = join(tmp, 'tokens-4.h5');
    await writeDataset(dataset, { ...ref, input: ref.input.slice(0, 16), shape: [4, 4] });
    const result = await runCli(['attribute', '--model', path, '--dataset', dataset, '-o', join(tmp, 'never.h5'), '--quiet', '--composite', 'attn-lrp']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no-embedding\.onnx: the model input ids holds int64 token ids, but no embedding Gather/);
  });
});
