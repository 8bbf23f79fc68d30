/**
 * Attributors (docs/lrp.md §7) as graph transformations around the compiled relevance graph, so that
 * noise, path interpolation, occlusion masks and the running sums all run inside onnxruntime:
 *
 * - gradient: the relevance graph itself (with a composite this *is* LRP).
 * - smoothgrad: input = x + noise_scale·(max x − min x)·N(0, 1) per sample; n runs, the last one
 *   noise-free; accumulated += relevance / n. The logits are the noise-free ones.
 * - integrated-gradients: input = x₀ + α(x − x₀), α = k/n for k = 1..n (right Riemann sum);
 *   accumulated += (x − x₀) ⊙ relevance / n. The logits come from α = 1.
 * - occlusion: K windows at a time: the model runs on K·B copies of the batch, each keeping only
 *   one (cyclically rolled) window; accumulated += mask ⊙ score, score = Σ seed ⊙ logits
 *   (`logit`) or Σ seed (`seed`, Zennit's result for a constant one-hot seed: every window scores 1).
 */
import type * as ort from 'onnxruntime-node';
import * as ortRuntime from 'onnxruntime-node';
import { UserError } from '../errors.js';
import { attr, GraphBuilder } from '../onnx/builder.js';
import { cloneModel, defaultOpset, removeDeadCode } from '../onnx/graph.js';
import type { Model } from '../onnx/ir.js';
import { INPUT, LOGITS, OUTPUT_RELEVANCE, RELEVANCE, type RelevanceGraph } from './compiler.js';

export type MethodOptions =
  | { kind: 'gradient' }
  | { kind: 'smoothgrad'; noiseLevel: number; samples: number; seed?: number }
  | { kind: 'integrated-gradients'; steps: number; baseline: number }
  | { kind: 'occlusion'; window: number | number[]; stride: number | number[]; score?: 'logit' | 'seed'; chunk?: number };

export interface MethodGraph {
  /** The graph the session runs. */
  model: Model;
  /** Forward-only graph (input → logits) for predictions. */
  forward: Model;
  /** `cleanLogits` runs the forward graph on x (for methods whose own runs do not see the clean input). */
  run(
    session: ort.InferenceSession,
    x: ort.Tensor,
    seed: ort.Tensor,
    cleanLogits: () => Promise<Float32Array>,
  ): Promise<{ relevance: Float32Array; logits: Float32Array }>;
}

const ACCUMULATOR = 'accumulator';
const ACCUMULATED = 'accumulated';
const SAMPLE = 'sample';

/** The compiled graph reduced to input → logits. */
export function forwardOnly(model: Model): Model {
  const m = cloneModel(model);
  m.graph.outputs = m.graph.outputs.filter((o) => o.name === LOGITS);
  m.graph.inputs = m.graph.inputs.filter((i) => i.name === INPUT);
  removeDeadCode(m.graph);
  return m;
}

/** Makes the graph input `input` an inner value computed by `prefix`, which reads the new inputs. */
function withPrefix(
  model: Model,
  newInputs: Array<{ name: string; shape: number[] }>,
  prefix: (b: GraphBuilder) => void,
  suffix: (b: GraphBuilder) => void,
): Model {
  const m = cloneModel(model);
  const g = m.graph;
  // The builder reserves every existing name before the body is set aside.
  const b = new GraphBuilder(g);
  const body = g.nodes;
  g.nodes = [];
  g.inputs = g.inputs.filter((i) => i.name !== INPUT);
  for (const input of newInputs) b.addInput(input.name, 'float32', input.shape);
  prefix(b);
  g.nodes.push(...body);
  suffix(b);
  return m;
}

/**
 * The suffix SmoothGrad and Integrated Gradients share: add `contribution / n` to the running sum and
 * expose the sum (and the logits) as the graph outputs.
 */
function addToAccumulator(b: GraphBuilder, contribution: string, n: number, shape: number[]): void {
  const [part] = b.addNode('Mul', [contribution, b.constant([1 / n], [])]);
  b.addNode('Add', [ACCUMULATOR, part!], {}, 1, { outputs: [ACCUMULATED] });
  b.graph.outputs = [
    { name: LOGITS, dataType: 'float32' },
    { name: ACCUMULATED, dataType: 'float32', shape },
  ];
}

function reduce(b: GraphBuilder, opset: number, op: string, x: string, axes: number[]): string {
  if (opset >= 18) return b.addNode(op, [x, b.constantInt64(axes)], { keepdims: attr.int(1) })[0]!;
  return b.addNode(op, [x], { axes: attr.ints(axes), keepdims: attr.int(1) })[0]!;
}

/** Runs `iterations` times, threading the accumulator through the session; returns the sum and the logits of the last run. */
async function accumulate(
  session: ort.InferenceSession,
  shape: number[],
  iterations: number,
  feeds: (k: number, acc: ort.Tensor) => Record<string, ort.Tensor>,
): Promise<{ relevance: Float32Array; logits: Float32Array }> {
  let acc: ort.Tensor = new ortRuntime.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  let logits: Float32Array | undefined;
  for (let k = 0; k < iterations; k++) {
    const out = await session.run(feeds(k, acc));
    acc = out[ACCUMULATED] as ort.Tensor;
    if (k === iterations - 1 && out[LOGITS]) logits = out[LOGITS].data as Float32Array;
  }
  return { relevance: acc.data as Float32Array, logits: logits ?? new Float32Array(0) };
}

export interface OcclusionPlan {
  window: number[];
  stride: number[];
  /** Offsets of every window, per sample axis. */
  offsets: number[][];
  /** Windows evaluated per run. */
  chunk: number;
}

/** Zennit's window/stride resolution over the sample axes (docs/lrp.md §7, occlusion). */
export function occlusionPlan(method: MethodOptions, sampleShape: number[]): OcclusionPlan {
  if (method.kind !== 'occlusion') return { window: [], stride: [], offsets: [], chunk: 1 };
  const resolve = (value: number | number[], fallback: number[], what: string): number[] => {
    if (typeof value === 'number') return sampleShape.map((d) => Math.min(value, d));
    if (value.length > sampleShape.length) throw new UserError(`--${what}`, `has ${value.length} entries, but samples have only ${sampleShape.length} axes`);
    const lead = sampleShape.length - value.length;
    return sampleShape.map((_, i) => (i < lead ? fallback[i]! : value[i - lead]!));
  };
  const window = resolve(method.window, sampleShape, 'window');
  const stride = resolve(method.stride, window, 'stride');
  for (const [name, list] of [
    ['window', window],
    ['stride', stride],
  ] as const) {
    if (list.some((v) => !Number.isInteger(v) || v < 1)) throw new UserError(`--${name}`, 'must be positive integers');
  }
  const perAxis = sampleShape.map((d, i) => Array.from({ length: Math.ceil(d / stride[i]!) }, (_, k) => k * stride[i]!));
  const offsets: number[][] = [[]];
  for (const axis of perAxis) {
    const next: number[][] = [];
    for (const prefix of offsets) for (const o of axis) next.push([...prefix, o]);
    offsets.splice(0, offsets.length, ...next);
  }
  const chunk = Math.max(1, Math.min(method.chunk ?? 16, offsets.length));
  return { window, stride, offsets, chunk };
}

export function buildMethodGraph(
  compiled: RelevanceGraph,
  method: MethodOptions,
  info: { batchSize: number; sampleShape: number[]; numClasses: number; forward?: Model },
): MethodGraph {
  const { batchSize: B, sampleShape } = info;
  const full = [B, ...sampleShape];
  const opset = defaultOpset(compiled.model);
  const sampleAxes = sampleShape.map((_, i) => i + 1);
  const forward = info.forward ?? forwardOnly(compiled.model);

  switch (method.kind) {
    case 'gradient':
      return {
        model: compiled.model,
        forward,
        async run(session, x, seed) {
          const out = await session.run({ [INPUT]: x, [OUTPUT_RELEVANCE]: seed });
          return { relevance: out[RELEVANCE]!.data as Float32Array, logits: out[LOGITS]!.data as Float32Array };
        },
      };
    case 'smoothgrad': {
      const n = method.samples;
      if (!Number.isInteger(n) || n < 1) throw new UserError('--samples', `must be a positive integer, got ${n}`);
      const model = withPrefix(
        compiled.model,
        [
          { name: SAMPLE, shape: full },
          { name: 'noise_scale', shape: [1] },
          { name: ACCUMULATOR, shape: full },
        ],
        (b) => {
          const hi = reduce(b, opset, 'ReduceMax', SAMPLE, sampleAxes);
          const lo = reduce(b, opset, 'ReduceMin', SAMPLE, sampleAxes);
          const [range] = b.addNode('Sub', [hi, lo]);
          const [sigma] = b.addNode('Mul', [range!, 'noise_scale']);
          const [noise] = b.addNode('RandomNormalLike', [SAMPLE], { dtype: attr.int(1), seed: attr.float(method.seed ?? 0) });
          const [scaled] = b.addNode('Mul', [noise!, sigma!]);
          b.addNode('Add', [SAMPLE, scaled!], {}, 1, { outputs: [INPUT] });
        },
        (b) => addToAccumulator(b, RELEVANCE, n, full),
      );
      return {
        model,
        forward,
        run: (session, x, seed) =>
          accumulate(session, full, n, (k, acc) => ({
            [SAMPLE]: x,
            [OUTPUT_RELEVANCE]: seed,
            [ACCUMULATOR]: acc,
            // Zennit: every sample noisy except the last one.
            noise_scale: new ortRuntime.Tensor('float32', Float32Array.of(k < n - 1 ? method.noiseLevel : 0), [1]),
          })),
      };
    }
    case 'integrated-gradients': {
      const n = method.steps;
      if (!Number.isInteger(n) || n < 1) throw new UserError('--steps', `must be a positive integer, got ${n}`);
      const model = withPrefix(
        compiled.model,
        [
          { name: SAMPLE, shape: full },
          { name: 'alpha', shape: [1] },
          { name: ACCUMULATOR, shape: full },
        ],
        (b) => {
          const x0 = b.constant([method.baseline], [], 'baseline');
          const [diff] = b.addNode('Sub', [SAMPLE, x0], {}, 1, { outputs: ['ig_difference'] });
          const [step] = b.addNode('Mul', [diff!, 'alpha']);
          b.addNode('Add', [x0, step!], {}, 1, { outputs: [INPUT] });
        },
        (b) => {
          const [weighted] = b.addNode('Mul', [RELEVANCE, 'ig_difference']);
          addToAccumulator(b, weighted!, n, full);
        },
      );
      return {
        model,
        forward,
        run: (session, x, seed) =>
          accumulate(session, full, n, (k, acc) => ({
            [SAMPLE]: x,
            [OUTPUT_RELEVANCE]: seed,
            [ACCUMULATOR]: acc,
            alpha: new ortRuntime.Tensor('float32', Float32Array.of((k + 1) / n), [1]),
          })),
      };
    }
    case 'occlusion':
      return occlusionGraph(compiled, method, info, forward);
  }
}

function occlusionGraph(
  compiled: RelevanceGraph,
  method: Extract<MethodOptions, { kind: 'occlusion' }>,
  info: { batchSize: number; sampleShape: number[]; numClasses: number },
  forward: Model,
): MethodGraph {
  const { batchSize: B, sampleShape, numClasses: C } = info;
  const plan = occlusionPlan(method, sampleShape);
  const K = plan.chunk;
  const rank = sampleShape.length;
  const full = [B, ...sampleShape];
  const maskInputs = sampleShape.map((size, d) => ({ name: `window_mask_${d}`, shape: [K, size] }));
  const body = forwardOnly(compiled.model);
  const model = withPrefix(
    body,
    [{ name: SAMPLE, shape: full }, ...maskInputs, { name: OUTPUT_RELEVANCE, shape: [B, C] }, { name: ACCUMULATOR, shape: full }],
    (b) => {
      // mask[k] = ⊗_d axisMask_d[k]: [K, …sample] from K·Σ size_d numbers.
      let mask = '';
      maskInputs.forEach((m, d) => {
        const dims = [K, ...sampleShape.map((s, i) => (i === d ? s : 1))];
        const [shaped] = b.addNode('Reshape', [m.name, b.constantInt64(dims)]);
        mask = mask ? b.addNode('Mul', [mask, shaped!])[0]! : shaped!;
      });
      b.addNode('Identity', [mask], {}, 1, { outputs: ['occlusion_mask'] });
      const [maskK1] = b.addNode('Reshape', ['occlusion_mask', b.constantInt64([K, 1, ...sampleShape])], {}, 1, { outputs: ['occlusion_mask_k1'] });
      const [x1] = b.addNode('Reshape', [SAMPLE, b.constantInt64([1, B, ...sampleShape])]);
      const [kept] = b.addNode('Mul', [x1!, maskK1!]);
      b.addNode('Reshape', [kept!, b.constantInt64([K * B, ...sampleShape])], {}, 1, { outputs: [INPUT] });
    },
    (b) => {
      const [logits] = b.addNode('Reshape', [LOGITS, b.constantInt64([K, B, C])]);
      const [values] = method.score === 'seed' ? [b.addNode('Mul', [logits!, b.constant([0], [])])[0]!] : [logits!];
      // 'seed': Σ seed ⊙ 1 — expressed as Σ seed ⊙ (0·logits + 1) so the graph keeps its shape.
      const [scored] = method.score === 'seed' ? b.addNode('Add', [values!, b.constant([1], [])]) : [values];
      const [weighted] = b.addNode('Mul', [scored!, OUTPUT_RELEVANCE]);
      const score = b.addNode('ReduceSum', [weighted!, b.constantInt64([2])], { keepdims: attr.int(0) })[0]!;
      const [scoreShaped] = b.addNode('Reshape', [score, b.constantInt64([K, B, ...new Array(rank).fill(1)])]);
      const [contribution] = b.addNode('Mul', [scoreShaped!, 'occlusion_mask_k1']);
      const [total] = b.addNode('ReduceSum', [contribution!, b.constantInt64([0])], { keepdims: attr.int(0) });
      b.addNode('Add', [ACCUMULATOR, total!], {}, 1, { outputs: [ACCUMULATED] });
      b.graph.outputs = [{ name: ACCUMULATED, dataType: 'float32', shape: full }];
    },
  );

  /** One cyclically rolled window mask per axis for windows start..start+K (zero masks pad the last chunk). */
  const axisMasks = (start: number): Record<string, ort.Tensor> => {
    const feeds: Record<string, ort.Tensor> = {};
    sampleShape.forEach((size, d) => {
      const data = new Float32Array(K * size);
      for (let k = 0; k < K && start + k < plan.offsets.length; k++) {
        const offset = plan.offsets[start + k]![d]!;
        for (let j = 0; j < plan.window[d]!; j++) data[k * size + ((offset + j) % size)] = 1;
      }
      feeds[`window_mask_${d}`] = new ortRuntime.Tensor('float32', data, [K, size]);
    });
    return feeds;
  };

  return {
    model,
    forward,
    async run(session, x, seed, cleanLogits) {
      const runs = Math.ceil(plan.offsets.length / K);
      const { relevance } = await accumulate(session, full, runs, (k, acc) => ({
        [SAMPLE]: x,
        [OUTPUT_RELEVANCE]: seed,
        [ACCUMULATOR]: acc,
        ...axisMasks(k * K),
      }));
      // The returned output is the model on the unoccluded input.
      return { relevance, logits: await cleanLogits() };
    },
  };
}
