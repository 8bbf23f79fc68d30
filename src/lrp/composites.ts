/**
 * Composites: which rule each node gets. A composite is data — an ordered `first` list (tried until
 * one node matched it, Zennit's SpecialFirstLayerMapComposite) and an ordered `layers` list (first
 * match wins; no match → the exact gradient). Built-ins follow Zennit's defaults (docs/lrp.md §5).
 */
import type { Node } from '../onnx/ir.js';
import { UserError } from '../errors.js';
import { matchesKind, type LayerKind } from './kinds.js';
import { makeRule, type RuleInstance } from './rules.js';
import { DEFAULT_EPSILON } from './stabilizer.js';
import { COMPOSITE_NAMES, type CompositeName } from './composite-names.js';

export { COMPOSITE_NAMES };

/** `kind` (a layer kind or `linear`), `op:<OpType>`, or `name:/<regex>/` on node or weight names. */
export interface Matcher {
  kind?: string;
  op?: string;
  name?: RegExp;
}

export interface RuleEntry {
  match: Matcher;
  rule: RuleInstance;
}

export interface RuleSpec {
  first: RuleEntry[];
  layers: RuleEntry[];
  /**
   * `relevance` (default): relevance R flows backwards, seeded with the one-hot target (Zennit).
   * `gradient`: a modified gradient g flows backwards, seeded with the one-hot target, and the
   * attribution is x ⊙ g (AttnLRP / LXT's form; nodes without a rule keep their true gradient).
   */
  form?: 'relevance' | 'gradient';
}

export interface CompositeParams {
  epsilon?: number;
  stabilizer?: number;
  gamma?: number;
  low?: number | number[];
  high?: number | number[];
  alpha?: number;
  beta?: number;
  betaSmooth?: number;
  zeroParams?: Array<'weight' | 'bias'>;
}

const kind = (k: string): Matcher => ({ kind: k });

interface CompositeDefinition {
  description: string;
  build: (p: CompositeParams) => RuleSpec;
}

/** Zennit's base list for the LRP composites: activations and batch norms pass, sums and avg-pools Norm. */
function lrpBase(p: CompositeParams): RuleEntry[] {
  const stab = p.stabilizer ?? DEFAULT_EPSILON;
  return [
    { match: kind('activation'), rule: makeRule('pass') },
    { match: kind('sum'), rule: makeRule('norm', { stabilizer: stab }) },
    { match: kind('avgpool'), rule: makeRule('norm', { stabilizer: stab }) },
    { match: kind('batchnorm'), rule: makeRule('pass') },
    ...transformerNodes('signal'),
  ];
}

/**
 * LayerNorm, inner Softmax and products of two computed tensors (docs/lrp-transformers.md §2): the
 * identity rule on the normalisation, the softmax rule, and for gates either CP-LRP's constant gate
 * (`signal`) or AttnLRP's `uniform`; other products uniform.
 */
function transformerNodes(gate: 'signal' | 'uniform'): RuleEntry[] {
  return [
    { match: kind('layernorm'), rule: makeRule('layernorm') },
    { match: kind('softmax'), rule: makeRule('softmax') },
    { match: kind('gate'), rule: makeRule(gate) },
    { match: kind('bilinear'), rule: makeRule('uniform') },
  ];
}

/** AttnLRP (`uniform` gates) and CP-LRP (`signal` gates): epsilon on every linear layer, gradient form. */
function attention(p: CompositeParams, gate: 'signal' | 'uniform'): RuleSpec {
  return {
    form: 'gradient',
    first: [],
    layers: [
      { match: kind('activation'), rule: makeRule('pass') },
      ...transformerNodes(gate),
      { match: kind('linear'), rule: makeRule('epsilon', { epsilon: p.epsilon ?? DEFAULT_EPSILON, ...zp(p) }) },
    ],
  };
}
const zp = (p: CompositeParams) => (p.zeroParams && p.zeroParams.length > 0 ? { zero_params: p.zeroParams } : {});
const stabOf = (p: CompositeParams) => ({ stabilizer: p.stabilizer ?? DEFAULT_EPSILON });
const epsilonDense = (p: CompositeParams): RuleEntry => ({
  match: kind('dense'),
  rule: makeRule('epsilon', { epsilon: p.epsilon ?? DEFAULT_EPSILON, ...zp(p) }),
});
const convRule = (p: CompositeParams, name: string, extra: Record<string, unknown> = {}): RuleEntry => ({
  match: kind('convolution'),
  rule: makeRule(name, { ...extra, ...stabOf(p), ...zp(p) }),
});
/** The options a user gave, without the ones left unset (the rule's schema holds the defaults). */
const given = (params: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
const alphaBeta = (p: CompositeParams) => given({ alpha: p.alpha, beta: p.beta });
const flatFirst = (p: CompositeParams): RuleEntry[] => [{ match: kind('linear'), rule: makeRule('flat', { ...stabOf(p), ...zp(p) }) }];
const reluOnly = (name: string, params: Record<string, unknown> = {}): RuleSpec => ({
  first: [],
  layers: [{ match: { op: 'Relu' }, rule: makeRule(name, params) }],
});

export const COMPOSITES: Record<CompositeName, CompositeDefinition> = {
  'attn-lrp': {
    description: 'AttnLRP: linear layers epsilon, LayerNorm and activations identity, softmax its gradient, products uniform',
    build: (p) => attention(p, 'uniform'),
  },
  'cp-lrp': {
    description: 'CP-LRP: as attn-lrp, but attention weights (and other gates) are constants: all relevance to the values',
    build: (p) => attention(p, 'signal'),
  },
  'epsilon-gamma-box': {
    description: 'first convolution z-box(low, high), other convolutions gamma, dense epsilon',
    build: (p) => {
      if (p.low === undefined || p.high === undefined)
        throw new UserError('--low/--high', 'epsilon-gamma-box needs --low and --high (the input domain bounds)');
      return {
        first: [{ match: kind('convolution'), rule: makeRule('z-box', { low: p.low, high: p.high, ...stabOf(p), ...zp(p) }) }],
        layers: [...lrpBase(p), convRule(p, 'gamma', given({ gamma: p.gamma })), epsilonDense(p)],
      };
    },
  },
  'epsilon-plus': {
    description: 'convolutions z-plus, dense epsilon',
    build: (p) => ({ first: [], layers: [...lrpBase(p), convRule(p, 'z-plus'), epsilonDense(p)] }),
  },
  'epsilon-plus-flat': {
    description: 'first linear layer flat, convolutions z-plus, dense epsilon',
    build: (p) => ({ first: flatFirst(p), layers: [...lrpBase(p), convRule(p, 'z-plus'), epsilonDense(p)] }),
  },
  'epsilon-alpha2-beta1': {
    description: 'convolutions alpha-beta (2, 1), dense epsilon',
    build: (p) => ({ first: [], layers: [...lrpBase(p), convRule(p, 'alpha-beta', alphaBeta(p)), epsilonDense(p)] }),
  },
  'epsilon-alpha2-beta1-flat': {
    description: 'first linear layer flat, convolutions alpha-beta (2, 1), dense epsilon',
    build: (p) => ({ first: flatFirst(p), layers: [...lrpBase(p), convRule(p, 'alpha-beta', alphaBeta(p)), epsilonDense(p)] }),
  },
  'excitation-backprop': {
    description: 'every linear layer z-plus, sums and average pooling norm; activations keep their gradient',
    build: (p) => {
      const stab = p.stabilizer ?? DEFAULT_EPSILON;
      return {
        first: [],
        layers: [
          { match: kind('sum'), rule: makeRule('norm', { stabilizer: stab }) },
          { match: kind('avgpool'), rule: makeRule('norm', { stabilizer: stab }) },
          { match: kind('linear'), rule: makeRule('z-plus', { ...stabOf(p), ...zp(p) }) },
        ],
      };
    },
  },
  'guided-backprop': { description: 'ReLUs guided backprop, everything else gradient', build: () => reluOnly('guided-backprop') },
  deconvnet: { description: 'ReLUs deconvnet, everything else gradient', build: () => reluOnly('deconvnet') },
  'beta-smooth': {
    description: 'ReLUs beta-smooth (softplus-β derivative), everything else gradient',
    build: (p) => reluOnly('beta-smooth', given({ beta_smooth: p.betaSmooth })),
  },
};

export function buildComposite(name: string, params: CompositeParams): RuleSpec {
  const def = (COMPOSITES as Record<string, CompositeDefinition | undefined>)[name];
  if (!def) throw new UserError('--composite', `unknown composite "${name}" (known: ${COMPOSITE_NAMES.join(', ')}, none)`);
  return def.build(params);
}

/** User entries go before the composite's own (they win), as Zennit prepends user layer maps. */
export function prependRules(base: RuleSpec | null, user: RuleSpec): RuleSpec {
  if (!base) return user;
  return { first: [...user.first, ...base.first], layers: [...user.layers, ...base.layers], form: base.form ?? user.form };
}

export function matches(m: Matcher, node: Node, nodeKind: LayerKind, weightNames: string[]): boolean {
  if (m.kind !== undefined && !matchesKind(nodeKind, m.kind)) return false;
  if (m.op !== undefined && node.opType !== m.op) return false;
  if (m.name !== undefined && !m.name.test(node.name) && !weightNames.some((w) => m.name!.test(w))) return false;
  return true;
}

export interface Assignment {
  node: Node;
  kind: LayerKind;
  rule: RuleInstance | null;
  /** True when the rule came from the `first` list. */
  first: boolean;
}

/**
 * Assigns rules in graph order: until one node matched a `first` entry, `first` is tried before
 * `layers`; exactly one node ever gets a `first` rule.
 */
export function assignRules(nodes: Array<{ node: Node; kind: LayerKind; weights: string[] }>, spec: RuleSpec | null): Assignment[] {
  let firstTaken = false;
  return nodes.map(({ node, kind: k, weights }) => {
    if (!spec) return { node, kind: k, rule: null, first: false };
    if (!firstTaken) {
      const hit = spec.first.find((e) => matches(e.match, node, k, weights));
      if (hit) {
        firstTaken = true;
        return { node, kind: k, rule: hit.rule, first: true };
      }
    }
    const hit = spec.layers.find((e) => matches(e.match, node, k, weights));
    return { node, kind: k, rule: hit?.rule ?? null, first: false };
  });
}
