/**
 * The table of LRP rules (docs/lrp.md §3). Each rule says which nodes it applies to, validates its
 * parameters (zod; the names follow Zennit: epsilon, stabilizer, zero_params, gamma, alpha, beta,
 * low, high, beta_smooth) and builds its relevance subgraph from the node's (modified) weights.
 *
 * Graph knowledge shortens the subgraphs: when the node's input is known to be ≥ 0 (it comes from a
 * ReLU, a max-pool of one, …) every x⁻ branch is exactly zero and is not emitted; branches sharing an
 * operand run as one wider Conv/MatMul (see linear.ts).
 */
import { z } from 'zod';
import { UserError } from '../errors.js';
import { describeZodIssue } from '../util/zod-issue.js';
import type { Node } from '../onnx/ir.js';
import { attr } from '../onnx/builder.js';
import type { Emitter } from './emitter.js';
import type { LayerKind } from './kinds.js';
import { layerNormSpec, layerNormStats, layerNormTranspose } from './layernorm.js';
import { adjointMany, adjointSum, forward, forwardSum, negative, onesLike, plusScaled, positive, squared, type LinearLayer } from './linear.js';
import { emitStabilizedRatio, stabilizer, type Stabilizer } from './stabilizer.js';
import type { InputRelevance } from './vjp.js';

export interface RuleContext {
  em: Emitter;
  node: Node;
  /** The node read as a linear layer, when it is one. */
  layer: LinearLayer | null;
  /** The activation input that receives the relevance, and its index among the node's inputs. */
  x: string;
  xIndex: number;
  /** Relevance arriving at the node's (first) output, and that output as computed forward. */
  R: string;
  z: string;
  /** True when x is known to be ≥ 0 everywhere. */
  nonNegative: boolean;
  /** True when R is known to be zero wherever z ≤ 0 (src/lrp/support.ts). */
  relevanceOnPositiveZ: boolean;
  /** The node's exact VJP applied to an output-shaped tensor. */
  vjp: (s: string) => InputRelevance;
  /** Gates (kind `gate`): the index of the signal factor (the one not squashed). */
  signal?: number;
}

const stabilizerSchema = z.union([
  z.number().nonnegative(),
  z.strictObject({ epsilon: z.number().nonnegative(), clip: z.boolean().optional(), norm_scale: z.boolean().optional() }),
]);
const zeroParamsSchema = z.union([z.enum(['weight', 'bias']), z.array(z.enum(['weight', 'bias']))]);
const boundSchema = z.union([z.number(), z.array(z.number()).min(1)]);

type StabilizerParam = z.infer<typeof stabilizerSchema>;
type ZeroParams = z.infer<typeof zeroParamsSchema>;

function toStabilizer(value: StabilizerParam | undefined): Stabilizer {
  if (value === undefined) return stabilizer();
  if (typeof value === 'number') return stabilizer(value);
  return stabilizer(value.epsilon, { clip: value.clip, normScale: value.norm_scale });
}

/**
 * Which nodes a rule can be attached to: linear layers, any differentiable node, element-wise nodes,
 * LayerNorms, Softmax, products of two computed tensors, gates (products with one squashed factor).
 */
export type RuleTarget = 'linear' | 'any' | 'elementwise' | 'layernorm' | 'softmax' | 'product' | 'gate';

interface RuleDefinition {
  description: string;
  target: RuleTarget;
  schema: z.ZodType<Record<string, unknown>>;
  /** Extra checks on valid-looking parameters (e.g. α − β = 1). */
  validate?: (params: Record<string, unknown>) => string | null;
  build: (ctx: RuleContext, params: Record<string, unknown>) => InputRelevance;
  /**
   * True when the relevance of every input is that input times something (x ⊙ …), so it is zero
   * wherever the input is (src/lrp/support.ts).
   */
  proportional?: true;
  /**
   * The same rule in the gradient form (docs/lrp-transformers.md §3): `ctx.R` is the modified gradient
   * g at the output, the result the modified gradient at the inputs. Absent: the compiler derives it
   * from `build` (R = z ⊙ g in, g = R / x out).
   */
  gradient?: (ctx: RuleContext, params: Record<string, unknown>) => InputRelevance;
}

/** A rule as written in the table: its parameters typed by its schema (defaults filled in by zod). */
interface TypedRule<S extends z.ZodType<Record<string, unknown>>> {
  description: string;
  target: RuleTarget;
  schema: S;
  validate?: (params: z.output<S>) => string | null;
  build: (ctx: RuleContext, params: z.output<S>) => InputRelevance;
  proportional?: true;
  gradient?: (ctx: RuleContext, params: z.output<S>) => InputRelevance;
}

/**
 * Declares a rule: the schema is the one place its parameters, their types and their defaults are
 * stated, and build/validate/gradient see them typed. The table stores the erased form; makeRule
 * only ever passes a rule the output of its own schema.
 */
export function defineRule<S extends z.ZodType<Record<string, unknown>>>(rule: TypedRule<S>): RuleDefinition {
  return rule as unknown as RuleDefinition;
}

const zeroParamList = (zeroParams: ZeroParams | undefined): string[] => (typeof zeroParams === 'string' ? [zeroParams] : (zeroParams ?? []));

/** Weight and bias after `zero_params`. */
function effective(layer: LinearLayer, zeroParams: ZeroParams | undefined): { W: Float32Array; b: Float32Array | null; modified: boolean } {
  const zeroed = new Set(zeroParamList(zeroParams));
  const W = zeroed.has('weight') ? new Float32Array(layer.weight.length) : layer.weight;
  const b = zeroed.has('bias') ? null : layer.bias;
  return { W, b, modified: zeroed.size > 0 };
}
/** b + c per output channel (c alone where the layer has no bias). */
function withAddend(b: Float32Array | null, channels: number, c: number): Float32Array {
  const out = b ? Float32Array.from(b) : new Float32Array(channels);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + c;
  return out;
}
const part = (b: Float32Array | null, f: (w: Float32Array) => Float32Array): Float32Array | null => (b ? f(b) : null);

function onlyX(ctx: RuleContext, value: string): InputRelevance {
  return ctx.node.inputs.map((_, i) => (i === ctx.xIndex ? value : null));
}
function linearLayer(ctx: RuleContext): LinearLayer {
  if (!ctx.layer) throw new Error(`rule needs a linear layer: ${ctx.node.name}`);
  return ctx.layer;
}

/** x⁺ and x⁻ (x⁻ null when x ≥ 0 is known). */
function splitSigns(ctx: RuleContext): { xp: string; xn: string | null } {
  if (ctx.nonNegative) return { xp: ctx.x, xn: null };
  return { xp: ctx.em.relu(ctx.x), xn: ctx.em.negativePart(ctx.x) };
}

/**
 * za = L(Wa, x⁺) + L(Wb, x⁻) + ba and zb = L(Wb, x⁺) + L(Wa, x⁻) + bb — the two "cross" denominators
 * of AlphaBeta and Gamma, each input's two variants computed by one wide op.
 */
function crossForward(
  ctx: RuleContext,
  xp: string,
  xn: string | null,
  Wa: Float32Array,
  Wb: Float32Array,
  ba: Float32Array | null,
  bb: Float32Array | null,
): [string, string] {
  const layer = linearLayer(ctx);
  const [pa, pb] = forward(ctx.em, layer, xp, [
    { weight: Wa, bias: ba },
    { weight: Wb, bias: bb },
  ]) as [string, string];
  if (!xn) return [pa, pb];
  const [na, nb] = forward(ctx.em, layer, xn, [
    { weight: Wb, bias: null },
    { weight: Wa, bias: null },
  ]) as [string, string];
  return [ctx.em.add(pa, na), ctx.em.add(pb, nb)];
}

/** x⁺ ⊙ Σ adj(Wa_k, s_k) + x⁻ ⊙ Σ adj(Wb_k, s_k): the reducer of the sign-split rules. */
function crossAdjoint(ctx: RuleContext, xp: string, xn: string | null, pairs: Array<{ s: string; Wa: Float32Array; Wb: Float32Array }>): string {
  const { em } = ctx;
  const layer = linearLayer(ctx);
  const positivePart = em.mul(
    xp,
    adjointSum(
      em,
      layer,
      pairs.map((p) => ({ s: p.s, weight: p.Wa })),
    ),
  );
  if (!xn) return positivePart;
  return em.add(
    positivePart,
    em.mul(
      xn,
      adjointSum(
        em,
        layer,
        pairs.map((p) => ({ s: p.s, weight: p.Wb })),
      ),
    ),
  );
}

/** Rin_i = x_i ⊙ VJP_i(R / stab(z)) for every computed input: Norm, and Epsilon on non-linear nodes. */
function proportional(ctx: RuleContext, stab: Stabilizer): InputRelevance {
  const s = emitStabilizedRatio(ctx.em, ctx.R, ctx.z, stab);
  return ctx.vjp(s).map((g, i) => (g ? ctx.em.mul(ctx.node.inputs[i]!, g) : null));
}

/** A bound (low/high of ZBox) as a constant broadcastable to x: scalar or one value per channel. */
function boundTensor(em: Emitter, value: number | number[], x: string, name: string): string {
  const shape = em.shape(x);
  if (typeof value === 'number' || value.length === 1) {
    const v = typeof value === 'number' ? value : value[0]!;
    return em.constant(new Float32Array(shape.slice(1).reduce((a, b) => a * b, 1)).fill(v), [1, ...shape.slice(1)]);
  }
  const channels = shape[1];
  if (value.length !== channels) {
    throw new UserError(undefined, `z-box ${name} has ${value.length} values, but the layer input has ${channels} channels`);
  }
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const data = new Float32Array(channels * inner);
  for (let c = 0; c < channels; c++) data.fill(value[c]!, c * inner, (c + 1) * inner);
  return em.constant(data, [1, ...shape.slice(1)]);
}

const common = { stabilizer: stabilizerSchema.optional(), zero_params: zeroParamsSchema.optional() };

export const RULES: Record<string, RuleDefinition> = {
  epsilon: defineRule({
    proportional: true,
    description: 'Epsilon: Rin = x ⊙ adj(W, R / stab_ε(Wx + b))',
    target: 'any',
    schema: z.strictObject({ epsilon: stabilizerSchema.optional(), zero_params: zeroParamsSchema.optional() }),
    build: (ctx, p) => {
      const stab = toStabilizer(p.epsilon);
      if (!ctx.layer) return proportional(ctx, stab);
      const { W, b, modified } = effective(ctx.layer, p.zero_params);
      const z = modified ? forward(ctx.em, ctx.layer, ctx.x, [{ weight: W, bias: b }])[0]! : ctx.z;
      const s = emitStabilizedRatio(ctx.em, ctx.R, z, stab);
      return onlyX(ctx, ctx.em.mul(ctx.x, adjointSum(ctx.em, ctx.layer, [{ s, weight: W }])));
    },
    gradient: (ctx, p) => {
      const stab = toStabilizer(p.epsilon);
      const Rz = ctx.em.mul(ctx.z, ctx.R);
      if (!ctx.layer) return ctx.vjp(emitStabilizedRatio(ctx.em, Rz, ctx.z, stab));
      const { W, b, modified } = effective(ctx.layer, p.zero_params);
      const z = modified ? forward(ctx.em, ctx.layer, ctx.x, [{ weight: W, bias: b }])[0]! : ctx.z;
      return onlyX(ctx, adjointSum(ctx.em, ctx.layer, [{ s: emitStabilizedRatio(ctx.em, Rz, z, stab), weight: W }]));
    },
  }),
  'z-plus': defineRule({
    proportional: true,
    description: 'ZPlus (= AlphaBeta(1, 0)): positive contributions only',
    target: 'linear',
    schema: z.strictObject(common),
    build: (ctx, p) => {
      const layer = linearLayer(ctx);
      const { W, b } = effective(layer, p.zero_params);
      const stab = toStabilizer(p.stabilizer);
      const Wp = positive(W);
      const Wn = negative(W);
      const { xp, xn } = splitSigns(ctx);
      const terms = [{ u: xp, weight: Wp }, ...(xn ? [{ u: xn, weight: Wn }] : [])];
      const z = forwardSum(ctx.em, layer, terms, part(b, positive));
      const s = emitStabilizedRatio(ctx.em, ctx.R, z, stab);
      return onlyX(ctx, crossAdjoint(ctx, xp, xn, [{ s, Wa: Wp, Wb: Wn }]));
    },
  }),
  'alpha-beta': defineRule({
    proportional: true,
    description: 'AlphaBeta: α·(positive contributions) − β·(negative contributions), α − β = 1',
    target: 'linear',
    schema: z.strictObject({ alpha: z.number().default(2), beta: z.number().default(1), ...common }),
    validate: (p) => {
      const { alpha, beta } = p;
      if (alpha < 0 || beta < 0) return 'alpha and beta must be non-negative';
      if (alpha - beta !== 1) return `alpha - beta must be 1 (got alpha=${alpha}, beta=${beta})`;
      return null;
    },
    build: (ctx, p) => {
      const layer = linearLayer(ctx);
      const { alpha, beta } = p;
      const { W, b } = effective(layer, p.zero_params);
      const stab = toStabilizer(p.stabilizer);
      const Wp = positive(W);
      const Wn = negative(W);
      const { xp, xn } = splitSigns(ctx);
      const { em } = ctx;
      // With β = 0 the β branch contributes exactly 0·finite (the stabilised denominator is never 0).
      if (beta === 0 && stab.epsilon > 0) {
        const terms = [{ u: xp, weight: Wp }, ...(xn ? [{ u: xn, weight: Wn }] : [])];
        const za = forwardSum(em, layer, terms, part(b, positive));
        const sa = em.scale(emitStabilizedRatio(em, ctx.R, za, stab), alpha);
        return onlyX(ctx, crossAdjoint(ctx, xp, xn, [{ s: sa, Wa: Wp, Wb: Wn }]));
      }
      const [za, zb] = crossForward(ctx, xp, xn, Wp, Wn, part(b, positive), part(b, negative));
      const sa = em.scale(emitStabilizedRatio(em, ctx.R, za, stab), alpha);
      const sb = em.scale(emitStabilizedRatio(em, ctx.R, zb, stab), -beta);
      return onlyX(
        ctx,
        crossAdjoint(ctx, xp, xn, [
          { s: sa, Wa: Wp, Wb: Wn },
          { s: sb, Wa: Wn, Wb: Wp },
        ]),
      );
    },
  }),
  gamma: defineRule({
    proportional: true,
    description: 'Gamma: favour positive contributions by γ (generalised, sign-aware)',
    target: 'linear',
    schema: z.strictObject({ gamma: z.number().default(0.25), ...common }),
    build: (ctx, p) => {
      const layer = linearLayer(ctx);
      const { gamma } = p;
      const { W, b, modified } = effective(layer, p.zero_params);
      const stab = toStabilizer(p.stabilizer);
      const Wu = plusScaled(W, positive(W), gamma);
      const Wd = plusScaled(W, negative(W), gamma);
      const bu = b ? plusScaled(b, positive(b), gamma) : null;
      const bd = b ? plusScaled(b, negative(b), gamma) : null;
      const { em } = ctx;
      const { xp, xn } = splitSigns(ctx);
      const zero = em.scalar(0);
      const plain = !stab.clip && !stab.normScale && !zeroParamList(p.zero_params).includes('bias');
      if (!xn && plain && !modified) {
        // x ≥ 0 (the usual case: the layer reads a ReLU's output): where z > 0, zp ≥ z > 0 and where
        // z < 0, zn ≤ z < 0, so the stabiliser's sign is known and ε goes into zp's bias: zp + ε comes
        // out of the convolution, and zn − ε = (2 + γ)·z − (zp + ε). Two full-size ops fewer per layer
        // than adding and subtracting ε; the sums differ from Zennit's (zp) + ε by float rounding only.
        const zpe = forwardSum(em, layer, [{ u: xp, weight: Wu }], withAddend(bu, layer.outChannels, stab.epsilon));
        const sp = em.where(em.greater(ctx.z, zero), em.div(ctx.R, zpe), zero);
        // Nothing arrives where z < 0 (a ReLU follows, src/lrp/support.ts): the Wd half is exactly zero.
        if (ctx.relevanceOnPositiveZ) return onlyX(ctx, crossAdjoint(ctx, xp, xn, [{ s: sp, Wa: Wu, Wb: Wd }]));
        const zne = em.sub(em.scale(ctx.z, 2 + gamma), zpe);
        const sn = em.where(em.less(ctx.z, zero), em.div(ctx.R, zne), zero);
        return onlyX(
          ctx,
          crossAdjoint(ctx, xp, xn, [
            { s: sp, Wa: Wu, Wb: Wd },
            { s: sn, Wa: Wd, Wb: Wu },
          ]),
        );
      }
      let zp: string;
      let zn: string;
      if (!modified) {
        // zp + zn = (Wu + Wd)·(x⁺ + x⁻) + bu + bd = (2 + γ)·z, since W⁺ + W⁻ = W (and so for b): zn
        // needs no convolution of its own (one conv-width less per layer: 5 → 4 with the adjoints).
        // Both are float32 sums of the same products; the identity adds a few ulps of |zp|, the
        // order of a direct convolution's own accumulation error. Not with zero_params: then z
        // (the model's output) is not the output of the zeroed W, b.
        zp = forwardSum(em, layer, [{ u: xp, weight: Wu }, ...(xn ? [{ u: xn, weight: Wd }] : [])], bu);
        zn = em.sub(em.scale(ctx.z, 2 + gamma), zp);
      } else {
        [zp, zn] = crossForward(ctx, xp, xn, Wu, Wd, bu, bd);
      }
      // Masks come from the real output z (with the real bias): z = 0 passes nothing.
      let sp: string;
      let sn: string;
      if (!xn && plain) {
        // x ≥ 0 with zeroed weights (z is not zp's own output then): as above, the stabiliser's sign is known.
        sp = em.where(em.greater(ctx.z, zero), em.div(ctx.R, em.add(zp, em.scalar(stab.epsilon))), zero);
        sn = em.where(em.less(ctx.z, zero), em.div(ctx.R, em.sub(zn, em.scalar(stab.epsilon))), zero);
      } else {
        sp = emitStabilizedRatio(em, em.where(em.greater(ctx.z, zero), ctx.R, zero), zp, stab);
        sn = emitStabilizedRatio(em, em.where(em.less(ctx.z, zero), ctx.R, zero), zn, stab);
      }
      return onlyX(
        ctx,
        crossAdjoint(ctx, xp, xn, [
          { s: sp, Wa: Wu, Wb: Wd },
          { s: sn, Wa: Wd, Wb: Wu },
        ]),
      );
    },
  }),
  'z-box': defineRule({
    description: 'ZBox: bounded input domain [low, high] (for the first layer)',
    target: 'linear',
    schema: z.strictObject({ low: boundSchema, high: boundSchema, ...common }),
    build: (ctx, p) => {
      const layer = linearLayer(ctx);
      const { em } = ctx;
      const { W, b, modified } = effective(layer, p.zero_params);
      const stab = toStabilizer(p.stabilizer);
      const low = boundTensor(em, p.low, ctx.x, 'low');
      const high = boundTensor(em, p.high, ctx.x, 'high');
      const Wp = positive(W);
      const Wn = negative(W);
      const zx = modified ? forward(em, layer, ctx.x, [{ weight: W, bias: b }])[0]! : ctx.z;
      const [zl] = forward(em, layer, low, [{ weight: Wp, bias: part(b, positive) }]);
      const [zh] = forward(em, layer, high, [{ weight: Wn, bias: part(b, negative) }]);
      const z = em.sub(em.sub(zx, zl!), zh!);
      const s = emitStabilizedRatio(em, ctx.R, z, stab);
      const [a, ap, an] = adjointMany(em, layer, s, [W, Wp, Wn]) as [string, string, string];
      return onlyX(ctx, em.sub(em.sub(em.mul(ctx.x, a), em.mul(low, ap)), em.mul(high, an)));
    },
  }),
  'w-square': defineRule({
    description: 'WSquare: input replaced by ones, parameters squared (bias too unless zeroed)',
    target: 'linear',
    schema: z.strictObject(common),
    build: (ctx, p) => {
      const layer = linearLayer(ctx);
      const { em } = ctx;
      const { W, b } = effective(layer, p.zero_params);
      const stab = toStabilizer(p.stabilizer);
      const W2 = squared(W);
      const ones = boundTensor(em, 1, ctx.x, 'ones');
      const [z] = forward(em, layer, ones, [{ weight: W2, bias: part(b, squared) }]);
      const s = emitStabilizedRatio(em, ctx.R, z!, stab);
      return onlyX(ctx, adjointSum(em, layer, [{ s, weight: W2 }]));
    },
  }),
  flat: defineRule({
    description: 'Flat: input and weights replaced by ones, no bias (uniform over the receptive field)',
    target: 'linear',
    schema: z.strictObject(common),
    build: (ctx, p) => {
      const layer = linearLayer(ctx);
      const { em } = ctx;
      const stab = toStabilizer(p.stabilizer);
      const W1 = onesLike(layer.weight);
      const ones = boundTensor(em, 1, ctx.x, 'ones');
      const [z] = forward(em, layer, ones, [{ weight: W1, bias: null }]);
      const s = emitStabilizedRatio(em, ctx.R, z!, stab);
      return onlyX(ctx, adjointSum(em, layer, [{ s, weight: W1 }]));
    },
  }),
  norm: defineRule({
    proportional: true,
    description: 'Norm: Rin = x ⊙ J(x)ᵀ (R / stab(f(x))) — proportional split (sums, average pooling)',
    target: 'any',
    schema: z.strictObject({ stabilizer: stabilizerSchema.optional() }),
    build: (ctx, p) => proportional(ctx, toStabilizer(p.stabilizer)),
  }),
  pass: defineRule({
    description: 'Pass: relevance passes through unchanged',
    target: 'elementwise',
    schema: z.strictObject({}),
    build: (ctx) => onlyX(ctx, ctx.R),
    // The identity rule in the gradient form: g_x = g_y ⊙ f(x) / (x + 1e-10).
    gradient: (ctx) => onlyX(ctx, ctx.em.mul(ctx.R, ctx.em.div(ctx.z, ctx.em.add(ctx.x, ctx.em.scalar(1e-10))))),
  }),
  layernorm: defineRule({
    description: 'LayerNorm identity rule: epsilon rule on the affine map with σ frozen (the centring is kept)',
    target: 'layernorm',
    schema: z.strictObject({ epsilon: stabilizerSchema.optional() }),
    build: (ctx, p) => {
      const { em } = ctx;
      const spec = layerNormSpec(ctx.node, em.shape(ctx.x).length);
      const s = emitStabilizedRatio(em, ctx.R, ctx.z, toStabilizer(p.epsilon));
      return onlyX(ctx, em.mul(ctx.x, layerNormTranspose(em, s, spec, layerNormStats(em, ctx.x, spec), false)));
    },
    gradient: (ctx) => {
      const spec = layerNormSpec(ctx.node, ctx.em.shape(ctx.x).length);
      return onlyX(ctx, layerNormTranspose(ctx.em, ctx.R, spec, layerNormStats(ctx.em, ctx.x, spec), false));
    },
  }),
  softmax: defineRule({
    description: 'Softmax inside the graph: R_x = x ⊙ (R − s ⊙ ΣR) along its axis (its true gradient in the gradient form)',
    target: 'softmax',
    schema: z.strictObject({}),
    build: (ctx) => {
      const { em, node } = ctx;
      const shape = em.shape(ctx.z);
      const a = node.attributes.axis?.type === 'int' ? node.attributes.axis.value : -1;
      const axis = a < 0 ? a + shape.length : a;
      const total = em.op(
        'ReduceSum',
        [ctx.R, em.int64([axis])],
        { keepdims: attr.int(1) },
        shape.map((d, i) => (i === axis ? 1 : d)),
      );
      return onlyX(ctx, em.mul(ctx.x, em.sub(ctx.R, em.mul(ctx.z, total))));
    },
    gradient: (ctx) => ctx.vjp(ctx.R),
  }),
  uniform: defineRule({
    description: 'Uniform: each factor of a product of two computed tensors gets half of the relevance',
    target: 'product',
    schema: z.strictObject({ epsilon: stabilizerSchema.optional() }),
    build: (ctx, p) => {
      const { em } = ctx;
      const s = emitStabilizedRatio(em, ctx.R, ctx.z, toStabilizer(p.epsilon));
      return ctx.vjp(s).map((g, i) => (g ? em.scale(em.mul(ctx.node.inputs[i]!, g), 0.5) : null));
    },
    gradient: (ctx) => ctx.vjp(ctx.R).map((g) => (g ? ctx.em.scale(g, 0.5) : null)),
  }),
  signal: defineRule({
    description: 'Signal: a gate (the squashed factor of a product) is a constant; all relevance goes to the signal factor',
    target: 'gate',
    schema: z.strictObject({ epsilon: stabilizerSchema.optional() }),
    build: (ctx, p) => {
      const { em } = ctx;
      const s = emitStabilizedRatio(em, ctx.R, ctx.z, toStabilizer(p.epsilon));
      return ctx.vjp(s).map((g, i) => (g && i === ctx.signal ? em.mul(ctx.node.inputs[i]!, g) : null));
    },
    gradient: (ctx) => ctx.vjp(ctx.R).map((g, i) => (i === ctx.signal ? g : null)),
  }),
  'guided-backprop': defineRule({
    description: 'Guided backprop (ReLU): R ⊙ 1[x > 0] ⊙ 1[R > 0]',
    target: 'elementwise',
    schema: z.strictObject({}),
    build: (ctx) => {
      const { em } = ctx;
      const zero = em.scalar(0);
      return onlyX(ctx, em.where(em.and(em.greater(ctx.x, zero), em.greater(ctx.R, zero)), ctx.R, zero));
    },
  }),
  deconvnet: defineRule({
    description: 'DeconvNet (ReLU): max(R, 0)',
    target: 'elementwise',
    schema: z.strictObject({}),
    build: (ctx) => onlyX(ctx, ctx.em.relu(ctx.R)),
  }),
  'beta-smooth': defineRule({
    description: 'Beta-smooth (ReLU): sigmoid(β·x) ⊙ R, the softplus-β derivative',
    target: 'elementwise',
    schema: z.strictObject({ beta_smooth: z.number().default(10) }),
    build: (ctx, p) => {
      const beta = p.beta_smooth;
      return onlyX(ctx, ctx.em.mul(ctx.em.sigmoid(ctx.em.scale(ctx.x, beta)), ctx.R));
    },
  }),
};

export const RULE_NAMES = Object.keys(RULES);

/** A rule with validated parameters, ready to attach to nodes. */
export interface RuleInstance {
  name: string;
  params: Record<string, unknown>;
}

/** Validates a rule name and its parameters; UserError (naming `source`) when invalid. */
export function makeRule(name: string, params: Record<string, unknown> = {}, source?: string): RuleInstance {
  const def = RULES[name];
  if (!def) throw new UserError(source, `unknown rule "${name}" (known: ${RULE_NAMES.join(', ')})`);
  const parsed = def.schema.safeParse(params);
  if (!parsed.success) {
    throw new UserError(source, `rule ${name}: ${describeZodIssue(parsed.error)}`);
  }
  const problem = def.validate?.(parsed.data);
  if (problem) throw new UserError(source, `rule ${name}: ${problem}`);
  return { name, params: parsed.data };
}

export function ruleDefinition(rule: RuleInstance): RuleDefinition {
  return RULES[rule.name]!;
}

/** Why `rule` cannot be attached to this node (null when it can). */
export function ruleMismatch(
  rule: RuleInstance,
  node: Node,
  kind: LayerKind,
  layer: LinearLayer | string | null,
  sameShape: boolean,
  hasVjp: boolean,
): string | null {
  const def = RULES[rule.name]!;
  if (def.target === 'layernorm' && kind !== 'layernorm') return `rule ${rule.name} needs a LayerNorm`;
  if (def.target === 'softmax' && node.opType !== 'Softmax') return `rule ${rule.name} needs a Softmax`;
  if (def.target === 'product' && kind !== 'bilinear' && kind !== 'gate') return `rule ${rule.name} needs a product of two computed tensors (MatMul or Mul)`;
  if (def.target === 'gate' && kind !== 'gate')
    return `rule ${rule.name} needs a gate (a product with exactly one factor from a Sigmoid, HardSigmoid, Tanh, Softmax or bounded Clip)`;
  if (def.target === 'linear' && (layer === null || typeof layer === 'string')) {
    return (
      `rule ${rule.name} needs a linear layer (Conv, ConvTranspose, Gemm or MatMul with a constant ` + `weight)${typeof layer === 'string' ? `: ${layer}` : ''}`
    );
  }
  if (def.target === 'elementwise' && !sameShape) return `rule ${rule.name} needs an element-wise node (output shaped like its input)`;
  if (def.target === 'any' && !layer && !hasVjp) return `rule ${rule.name} cannot be applied to op ${node.opType}`;
  return null;
}
