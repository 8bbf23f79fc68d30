/**
 * The attribution engine: compile a model once for an input shape and a batch size, then run it
 * batch after batch. JavaScript only builds graphs and moves batches; every per-element operation
 * (forward pass, relevance pass, noise, path interpolation, accumulation, occlusion masks) runs
 * inside onnxruntime.
 *
 *   const attributor = await compileAttributor(model, { batchSize: 16, spec: buildComposite('epsilon-plus', {}) });
 *   const { relevance, logits } = await attributor.run(batch, labels);   // or run(batch, 'prediction')
 *   await attributor.close();
 *
 * Batches smaller than `batchSize` are zero-padded (samples never interact, so padding is exact).
 */
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import type { Model } from '../onnx/ir.js';
import { encodeModel } from '../onnx/codec.js';
import { createSession, type Device } from '../onnx/ort.js';
import { canonize, type CanonizeOptions } from './canonize/index.js';
import type { Assignment, RuleSpec } from './composites.js';
import { compileRelevanceGraph, INPUT, LOGITS, OUTPUT_RELEVANCE, RELEVANCE, type RelevanceGraph } from './compiler.js';
import { buildMethodGraph, forwardOnly, occlusionPlan, type MethodOptions, type MethodGraph } from './attributors.js';

export type Target = Int32Array | 'prediction';

export interface AttributorOptions {
  /** Samples per run (the graph is compiled for exactly this many; smaller batches are padded). */
  batchSize: number;
  /** Shape of one sample; default: the model's declared input shape without the batch axis. */
  sampleShape?: number[];
  /** Rules (composite and/or rule map); null = plain gradient. Ignored by occlusion. */
  spec: RuleSpec | null;
  method?: MethodOptions;
  /** onnxruntime intra-op threads (default 1: fastest and deterministic on these machines). */
  threads?: number;
  /** onnxruntime execution provider (default cpu). */
  device?: Device;
  /** Names the model in error messages. */
  source?: string;
  /** Canonize first (BN folding, dense fusion, …; default true), or the canonizer options. */
  canonize?: boolean | CanonizeOptions;
}

export interface CompiledAttributor {
  /** Shape of one sample (without the batch axis). */
  readonly inputShape: number[];
  readonly numClasses: number;
  readonly batchSize: number;
  /** Rule of every node on the relevance path (null = exact gradient). */
  readonly assignments: Assignment[];
  /** What canonization changed, one line each. */
  readonly canonizeChanges: string[];
  /** Attribution ([n, …inputShape]) and logits ([n, classes]) of n ≤ batchSize samples. */
  run(batch: Float32Array, target: Target): Promise<{ relevance: Float32Array; logits: Float32Array }>;
  close(): Promise<void>;
}

/** The model's declared sample shape (without batch), or undefined where a dim is symbolic. */
export function declaredSampleShape(model: Model): Array<number | null> | undefined {
  const input = model.graph.inputs[0];
  return input?.shape?.slice(1).map((d) => (typeof d === 'number' ? d : null));
}

function resolveSampleShape(model: Model, options: AttributorOptions): number[] {
  const declared = declaredSampleShape(model);
  const wanted = options.sampleShape;
  if (!wanted) {
    if (!declared || declared.some((d) => d === null))
      throw new UserError(options.source, 'the model input has symbolic dimensions besides the batch axis; give the sample shape');
    return declared as number[];
  }
  if (declared) {
    const fits = declared.length === wanted.length && declared.every((d, i) => d === null || d === wanted[i]);
    if (!fits) {
      throw new UserError(
        options.source,
        `the model expects samples of shape (${declared.map((d) => d ?? '?').join(', ')}), the data has (${wanted.join(', ')})`,
      );
    }
  }
  return wanted;
}

/** Encoded bytes are as big as the weights: nothing keeps them once onnxruntime has its own copy. */
function openSession(model: Model | Uint8Array, threads: number, device: Device | undefined): Promise<ort.InferenceSession> {
  return createSession(model, { threads, device });
}

function oneHot(target: Int32Array, rows: number, classes: number, source: string | undefined): Float32Array {
  const seed = new Float32Array(rows * classes);
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= classes)
      throw new UserError(source, `target class ${t} of sample ${i} is outside the model's ${classes} classes`);
    seed[i * classes + t] = 1;
  }
  return seed;
}

/** What `compileAttributor` keeps of the graphs it builds (no intermediate model survives `prepare`). */
interface PreparedGraphs {
  sampleShape: number[];
  inputType: RelevanceGraph['inputType'];
  numClasses: number;
  assignments: Assignment[];
  canonizeChanges: string[];
  /** The encoded method graph, to open the session on; cleared once the session exists. */
  methodBytes: Uint8Array | undefined;
  runMethod: MethodGraph['run'];
  /** Forward-only graph (shares weight buffers with the input model); cleared once its session is opened. */
  forward: Model | undefined;
}

/**
 * Canonizes, compiles and encodes the method graph. A separate synchronous step so that the canonical
 * model, the relevance graph (with its stacked/flipped weights) and the method graph are garbage as
 * soon as it returns, before onnxruntime builds its own copy of the weights.
 */
function prepare(original: Model, options: AttributorOptions): PreparedGraphs {
  const { batchSize, source } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError('--batch-size', `must be a positive integer, got ${batchSize}`);
  const sampleShape = resolveSampleShape(original, options);
  let model = original;
  let canonizeChanges: string[] = [];
  if (options.canonize !== false) {
    const result = canonize(original, options.canonize === true || options.canonize === undefined ? {} : options.canonize);
    model = result.model;
    canonizeChanges = result.changes;
  }
  const method: MethodOptions = options.method ?? { kind: 'gradient' };

  // Occlusion needs no relevance pass: it runs the forward model on many occluded copies at once,
  // plus the plain forward pass at the batch size for the returned logits.
  const occluding = method.kind === 'occlusion';
  const compiled = compileRelevanceGraph(model, { inputShape: [batchSize, ...sampleShape], spec: occluding ? null : options.spec, source });
  if (compiled.logitsShape.length !== 2 || compiled.logitsShape[0] !== batchSize) {
    throw new UserError(source, `the model output must be [batch, classes]; for ${batchSize} samples it is (${compiled.logitsShape.join(', ')})`);
  }
  const numClasses = compiled.logitsShape[1]!;
  if (compiled.inputType !== 'float32' && method.kind !== 'gradient') {
    throw new UserError(
      source,
      `the ${method.kind} attributor needs a float input; token ids are attributed with the gradient attributor (plain or with a composite)`,
    );
  }
  const forward = forwardOnly(compiled.model);
  const body = occluding
    ? compileRelevanceGraph(model, { inputShape: [batchSize * occlusionPlan(method, sampleShape).chunk, ...sampleShape], spec: null, source })
    : compiled;
  const methodGraph: MethodGraph = buildMethodGraph(body, method, { batchSize, sampleShape, numClasses, forward });
  return {
    sampleShape,
    numClasses,
    inputType: compiled.inputType,
    assignments: compiled.assignments,
    canonizeChanges,
    methodBytes: encodeModel(methodGraph.model),
    runMethod: methodGraph.run,
    forward: methodGraph.forward,
  };
}

export async function compileAttributor(original: Model, options: AttributorOptions): Promise<CompiledAttributor> {
  const { batchSize, source } = options;
  const threads = options.threads ?? 1;
  const prepared = prepare(original, options);
  const { sampleShape, numClasses, assignments, canonizeChanges, runMethod } = prepared;
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
  const session = await openSession(prepared.methodBytes!, threads, options.device);
  prepared.methodBytes = undefined; // onnxruntime has its own copy now
  let forwardSession: Promise<ort.InferenceSession> | undefined;

  const pad = (data: Float32Array, rowSize: number): Float32Array => {
    if (data.length === batchSize * rowSize) return data;
    const out = new Float32Array(batchSize * rowSize);
    out.set(data);
    return out;
  };
  const dims = [batchSize, ...sampleShape];
  // Token ids arrive as float32 (exact up to 2^24) and go in as the model's integer type.
  const inputTensor = (x: Float32Array): ort.Tensor => {
    if (prepared.inputType === 'int64')
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(x, (v) => BigInt(Math.round(v))),
        dims,
      );
    if (prepared.inputType === 'int32') return new ort.Tensor('int32', Int32Array.from(x, Math.round), dims);
    return new ort.Tensor('float32', x, dims);
  };

  const forwardLogits = async (x: Float32Array): Promise<Float32Array> => {
    if (!forwardSession) {
      // Opened on first use (only predictions and some methods need it); then the IR is dropped.
      forwardSession = openSession(prepared.forward!, threads, options.device);
      prepared.forward = undefined;
    }
    const out = await (await forwardSession).run({ [INPUT]: inputTensor(x) });
    return out[LOGITS]!.data as Float32Array;
  };

  /** Predicted classes from a forward-only pass (for methods whose graph takes a seed). */
  const predict = async (x: Float32Array): Promise<Int32Array> => {
    const logits = await forwardLogits(x);
    return Int32Array.from({ length: batchSize }, (_, i) => {
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (logits[i * numClasses + c]! > logits[i * numClasses + best]!) best = c;
      return best;
    });
  };

  return {
    inputShape: sampleShape,
    numClasses,
    batchSize,
    assignments,
    canonizeChanges,
    async run(batch, target) {
      const n = batch.length / sampleSize;
      if (!Number.isInteger(n) || n < 1 || n > batchSize) throw new Error(`batch of ${batch.length} values is not 1..${batchSize} samples of ${sampleSize}`);
      if (target !== 'prediction' && target.length !== n) throw new Error(`${target.length} targets for ${n} samples`);
      const x = pad(batch, sampleSize);
      const classes = target === 'prediction' ? await predict(x) : target;
      const seed = new ort.Tensor('float32', oneHot(classes.subarray(0, n), batchSize, numClasses, source), [batchSize, numClasses]);
      const result = await runMethod(session, inputTensor(x), seed, () => forwardLogits(x));
      return { relevance: result.relevance.subarray(0, n * sampleSize), logits: result.logits.subarray(0, n * numClasses) };
    },
    async close() {
      await session.release();
      if (forwardSession) await (await forwardSession).release();
    },
  };
}

export { INPUT, LOGITS, OUTPUT_RELEVANCE, RELEVANCE };
