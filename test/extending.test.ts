/**
 * The recipes of docs/extending.md, followed step by step: a new op's relevance (§2), a new
 * processor (§3) and a new colour map (§4), each checked against a computation made here
 * independently. If a recipe stops working (a table is no longer consulted, a registry is bypassed),
 * the matching test fails.
 */
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { attr } from '../src/onnx/builder.js';
import { elementwise } from '../src/lrp/vjp.js';
import { OP_RECORDS } from '../src/lrp/ops.js';
import { expectClose, modelAround, relevanceOf } from '../src/lrp/testing.js';
import { applyPipelineConfig } from '../src/processors/config.js';
import { type Data, expectTensor, tensor } from '../src/processors/data.js';
import { Pipeline } from '../src/processors/pipeline.js';
import { createContext, defineProcessor } from '../src/processors/processor.js';
import { param } from '../src/processors/param.js';
import { registerProcessorType } from '../src/processors/registry.js';
import { getColorMap, listColorMaps, palette, registerColorMap } from '../src/render/cmap.js';
import { renderHeatmapPng } from '../src/render/index.js';

describe('docs/extending.md §2: a new op’s relevance', () => {
  // y = W·sin(x): Sin has a shape function (element-wise) but no op record, so the compiler refuses it.
  const W = [
    [0.5, -1, 2],
    [1.5, 0.25, -0.75],
  ];
  const model = () =>
    modelAround([1, 3], (b, x) => {
      const s = b.addNode('Sin', [x])[0]!;
      return b.addNode('Gemm', [s, b.constant(W.flat(), [2, 3], 'W')], { transB: attr.int(1) })[0]!;
    });
  const x = [0.3, -1.2, 2.0];

  afterAll(() => {
    delete OP_RECORDS.Sin;
  });

  it('without a record the error names the missing record', async () => {
    await expect(relevanceOf(model(), x, [1, 3], [0, 1], null)).rejects.toThrow(/Sin.*no op record in src\/lrp\/ops\.ts/);
  });

  it('with the record, the gradient of logit 1 is W[1] ⊙ cos(x)', async () => {
    OP_RECORDS.Sin = { kind: 'elementwise', vjp: elementwise((em, input) => em.op('Cos', [input], {}, em.shape(input))) };
    const { relevance } = await relevanceOf(model(), x, [1, 3], [0, 1], null);
    expectClose(
      relevance,
      x.map((v, i) => W[1]![i]! * Math.cos(v)),
      1e-5,
    );
  });
});

describe('docs/extending.md §3: a new processor', () => {
  // Clamps every entry to [-limit, limit].
  const ClampType = defineProcessor<{ limit: number }>({
    name: 'ToyClamp',
    description: 'clamp every entry to [-limit, limit]',
    params: { limit: param.number({ default: 1, description: 'bound' }) },
    compute(input, { limit }) {
      const t = expectTensor(input, 'ToyClamp'); // a ProcessorError (the user's mistake) on anything else
      return tensor(
        'float64',
        [...t.shape],
        Float64Array.from(t.data, (v) => Math.max(-limit, Math.min(limit, v))),
      );
    },
  });
  const pipeline = () => new Pipeline('T', [{ name: 'preprocessing', description: '' }]);
  const yaml = 'tasks:\n  preprocessing: [{ToyClamp: {limit: 0.5}}, Absolute]\n';

  it('is unknown to --config until registered', () => {
    expect(() => applyPipelineConfig(pipeline(), yaml, 'p.yaml')).toThrow(/^tasks\.preprocessing\[0\]: unknown processor 'ToyClamp'/);
  });

  it('once registered, a YAML pipeline names it and runs it with its parameter', () => {
    registerProcessorType(ClampType);
    expect(() => registerProcessorType(ClampType)).toThrow(/both named 'ToyClamp'/);
    const p = applyPipelineConfig(pipeline(), yaml, 'p.yaml');
    const input = tensor('float64', [1, 4], Float64Array.from([-2, -0.25, 0.3, 7]));
    const out = p.task('preprocessing').run(input, createContext()) as Extract<Data, { kind: 'tensor' }>;
    expect(Array.from(out.data)).toEqual([0.5, 0.25, 0.3, 0.5]);
  });
});

describe('docs/extending.md §4: a new colour map', () => {
  it('a registered CMSL map is listed, looked up by name and used by the heatmap renderer', () => {
    registerColorMap('toy-gbr', '0f0,80:00f,f00', 'green to blue to red');
    expect(listColorMaps()).toContain('toy-gbr');
    const map = getColorMap('toy-gbr');
    expect(map).toMatchObject({ name: 'toy-gbr', signed: true, description: 'green to blue to red' });
    // Independently: palette entry i sits at p = i/255; linear green→blue on [0, 128/255], blue→red after.
    const pal = palette('toy-gbr');
    for (const i of [0, 64, 128, 200, 255]) {
      const q = i;
      const [a, b, t] = q <= 128 ? [[0, 255, 0], [0, 0, 255], q / 128] : [[0, 0, 255], [255, 0, 0], (q - 128) / 127];
      const expected = a.map((v, c) => Math.trunc(v * (1 - t) + b[c]! * t + 1e-9));
      expect(Array.from(pal.subarray(i * 3, i * 3 + 3)), `entry ${i}`).toEqual(expected);
    }
    // A 1×2 attribution [-1, 1] (symmetric): indices 0 and 255 → green and red in the PNG's palette.
    const png = decode(renderHeatmapPng(Float32Array.from([-1, 1]), [1, 2], { cmap: 'toy-gbr' }));
    expect(Array.from(png.data as Uint8Array)).toEqual([0, 255]);
    expect(png.palette?.[0]?.slice(0, 3)).toEqual([0, 255, 0]);
    expect(png.palette?.[255]?.slice(0, 3)).toEqual([255, 0, 0]);
  });

  it('a function-defined map registers too; taken names are refused', () => {
    registerColorMap('toy-ramp', { name: 'toy-ramp', origin: 'cmsl', description: 'red ramp', signed: false, color: (p) => [255 * p, 0, 0] });
    expect(Array.from(palette('toy-ramp').subarray(255 * 3))).toEqual([255, 0, 0]);
    expect(Array.from(palette('toy-ramp').subarray(0, 3))).toEqual([0, 0, 0]);
    expect(() => registerColorMap('bwr', '000,fff')).toThrow(/already registered/);
  });
});
