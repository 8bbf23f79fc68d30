/**
 * Rule maps: parsing and validation of the YAML format, and how entries select nodes
 * (kinds, `op:`, `name:/regex/` on node or weight names, the `first` list, precedence over a composite).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UserError } from '../errors.js';
import { attr } from '../onnx/builder.js';
import { assignRules, buildComposite, prependRules, type RuleSpec } from './composites.js';
import { compileRelevanceGraph } from './compiler.js';
import { parseMatcher, ruleSpecFromObject } from './rulemap.js';
import { modelAround } from './testing.js';

/** conv0 → relu → conv1 → relu → flatten → fc */
const model = modelAround([1, 1, 4, 4], (b, x) => {
  const conv = (input: string, name: string) =>
    b.addNode('Conv', [input, b.constant(new Array(4).fill(0.5), [1, 1, 2, 2], `${name}.weight`)], { pads: attr.ints([1, 1, 0, 0]) }, 1, { name })[0]!;
  const h = b.addNode('Relu', [conv(x, 'features.0')], {}, 1, { name: 'relu0' })[0]!;
  const g = b.addNode('Relu', [conv(h, 'features.2')], {}, 1, { name: 'relu1' })[0]!;
  const f = b.addNode('Flatten', [g], {}, 1, { name: 'flatten' })[0]!;
  return b.addNode('Gemm', [f, b.constant(new Array(32).fill(0.1), [2, 16], 'fc.weight')], { transB: attr.int(1) }, 1, { name: 'fc' })[0]!;
});

function rulesOf(spec: RuleSpec | null): Record<string, string> {
  const { assignments } = compileRelevanceGraph(model, { inputShape: [1, 1, 4, 4], spec });
  return Object.fromEntries(assignments.map((a) => [a.node.name, a.rule ? `${a.rule.name}${a.first ? '*' : ''}` : '-']));
}

describe('rule maps', () => {
  it('matches kinds, op types and names; first match wins; `first` claims one node', () => {
    const spec = ruleSpecFromObject(
      parse(`
rules:
  - match: name:/^features\\.2$/
    rule: gamma
    params: {gamma: 0.5}
  - match: op:Relu
    rule: deconvnet
  - match: linear
    rule: epsilon
first:
  - match: convolution
    rule: z-box
    params: {low: [-1], high: 1}
`),
    );
    expect(rulesOf(spec)).toEqual({ 'features.0': 'z-box*', relu0: 'deconvnet', 'features.2': 'gamma', relu1: 'deconvnet', flatten: '-', fc: 'epsilon' });
  });

  it('matches weight names too', () => {
    const spec = ruleSpecFromObject({ rules: [{ match: 'name:fc\\.weight', rule: 'z-plus' }] });
    expect(rulesOf(spec).fc).toBe('z-plus');
    expect(rulesOf(spec)['features.0']).toBe('-');
  });

  it('user entries take precedence over the composite they are combined with', () => {
    const user = ruleSpecFromObject({ rules: [{ match: 'dense', rule: 'flat' }] });
    const rules = rulesOf(prependRules(buildComposite('epsilon-plus', {}), user));
    expect(rules).toEqual({ 'features.0': 'z-plus', relu0: 'pass', 'features.2': 'z-plus', relu1: 'pass', flatten: '-', fc: 'flat' });
  });

  it('the same selection without a compiler', () => {
    const spec = ruleSpecFromObject({ first: [{ match: 'dense', rule: 'flat' }], rules: [{ match: 'dense', rule: 'epsilon' }] });
    const node = (name: string) => ({ name, opType: 'Gemm', domain: '', inputs: [], outputs: [], attributes: {} });
    const assigned = assignRules(
      [
        { node: node('a'), kind: 'dense', weights: [] },
        { node: node('b'), kind: 'dense', weights: [] },
      ],
      spec,
    );
    expect(assigned.map((a) => a.rule!.name)).toEqual(['flat', 'epsilon']);
  });

  it('rejects malformed maps with a UserError naming the entry', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[1, 2], /malformed rule map/],
      [{ rules: [{ match: 'dense' }] }, /rules\.0\.rule/],
      [{ rules: [{ match: 'dense', rule: 'epsilon', extra: 1 }] }, /malformed rule map/],
      [{ rules: [{ match: 'densest', rule: 'epsilon' }] }, /rules\[0\]: match "densest": unknown layer kind/],
      [{ rules: [{ match: 'dense', rule: 'epsilon', params: { epsilon: -1 } }] }, /rules\[0\]: rule epsilon/],
      [{ first: [{ match: 'convolution', rule: 'z-box', params: { low: 0 } }] }, /first\[0\]: rule z-box: high/],
      [{ rules: [{ match: 'name:/(/', rule: 'pass' }] }, /invalid regular expression/],
      [{ rules: [] }, /neither/],
    ];
    for (const [doc, message] of bad) {
      expect(() => ruleSpecFromObject(doc, 'map.yaml')).toThrow(UserError);
      expect(() => ruleSpecFromObject(doc, 'map.yaml')).toThrow(message);
    }
  });

  it('parses matchers', () => {
    expect(parseMatcher('op:Conv')).toEqual({ op: 'Conv' });
    expect(parseMatcher('sum')).toEqual({ kind: 'sum' });
    expect(parseMatcher('name:/layer[12]/').name!.test('layer2.conv')).toBe(true);
  });
});
