/**
 * User rule maps (`--rules FILE.yaml`):
 *
 *   rules:                 # first match wins
 *     - match: convolution # a layer kind (or `linear`), `op:Conv`, or `name:/regex/`
 *       rule: alpha-beta
 *       params: {alpha: 1, beta: 0}
 *   first:                 # optional: tried first, until one node matched
 *     - match: convolution
 *       rule: z-box
 *       params: {low: -3, high: 3}
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { inputName } from '../util/stdin.js';
import { readTextFile } from '../util/text-file.js';
import { describeZodIssue } from '../util/zod-issue.js';
import type { Matcher, RuleEntry, RuleSpec } from './composites.js';
import { MATCHABLE_KINDS } from './kinds.js';
import { makeRule } from './rules.js';

const entrySchema = z.strictObject({
  match: z.string().min(1),
  rule: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});
const fileSchema = z.strictObject({
  rules: z.array(entrySchema).optional(),
  first: z.array(entrySchema).optional(),
});

export function parseMatcher(text: string, source?: string): Matcher {
  const t = text.trim();
  if (t.startsWith('op:')) {
    const op = t.slice(3).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(op)) throw new UserError(source, `match "${text}": not an op type`);
    return { op };
  }
  if (t.startsWith('name:')) {
    let pattern = t.slice(5).trim();
    if (pattern.length >= 2 && pattern.startsWith('/') && pattern.endsWith('/')) pattern = pattern.slice(1, -1);
    try {
      return { name: new RegExp(pattern) };
    } catch (error) {
      throw new UserError(source, `match "${text}": invalid regular expression (${(error as Error).message})`);
    }
  }
  if (!MATCHABLE_KINDS.includes(t)) {
    throw new UserError(source, `match "${text}": unknown layer kind (use one of ${MATCHABLE_KINDS.join(', ')}, op:<OpType> or name:/regex/)`);
  }
  return { kind: t };
}

/** Validates a parsed rule-map document (already a JS value); `source` names it in errors. */
export function ruleSpecFromObject(doc: unknown, source?: string): RuleSpec {
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    throw new UserError(source, `malformed rule map: ${describeZodIssue(parsed.error)}`);
  }
  const toEntries = (list: Array<z.infer<typeof entrySchema>> | undefined, section: string): RuleEntry[] =>
    (list ?? []).map((e, i) => {
      const where = `${section}[${i}]`;
      try {
        return { match: parseMatcher(e.match, source), rule: makeRule(e.rule, e.params ?? {}, source) };
      } catch (error) {
        if (error instanceof UserError) throw new UserError(source, `${where}: ${error.message}`);
        throw error;
      }
    });
  const spec = { first: toEntries(parsed.data.first, 'first'), layers: toEntries(parsed.data.rules, 'rules') };
  if (spec.first.length === 0 && spec.layers.length === 0) throw new UserError(source, 'malformed rule map: it has neither `rules` nor `first` entries');
  return spec;
}

/** Reads and validates a YAML rule map. */
export function readRuleMap(file: string): RuleSpec {
  const text = readTextFile(file, 'a rule map');
  const path = inputName(file);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new UserError(path, `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return ruleSpecFromObject(doc, path);
}
