import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { jsonOption, report } from '../cli-output.js';
import type { CompositeParams, RuleSpec } from '../lrp/composites.js';
import { COMPOSITE_NAMES } from '../lrp/composite-names.js';
import type { MethodOptions } from '../lrp/attributors.js';
import { addRunOptions, type RunOptionValues } from '../run/options.js';
import { checkLowHigh, integerOption, numberOption } from '../util/options.js';
import { readTextFile } from '../util/text-file.js';

const ATTRIBUTORS = ['gradient', 'smoothgrad', 'integrated-gradients', 'occlusion'] as const;
const DEFAULT_COMPOSITE = 'epsilon-plus-flat';

/** The command's own options plus the dataset-scale ones (src/run/options.ts). */
interface AttributeOptions extends RunOptionValues {
  model: string;
  dataset: string;
  output: string;
  composite?: string;
  rules?: string;
  attributor: (typeof ATTRIBUTORS)[number];
  low?: number[];
  high?: number[];
  epsilon?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  stabilizer?: number;
  betaSmooth?: number;
  zeroParams?: Array<'weight' | 'bias'>;
  steps: number;
  baseline: number;
  noiseLevel: number;
  samples: number;
  window: number[];
  stride: number[];
  occlusionScore: 'logit' | 'seed';
  target: string;
  batchSize: number;
  canonize: boolean;
  quiet: boolean;
  json?: boolean;
}

// Ranges of the numeric options live in src/util/options.ts (one parser for every command).
const number = numberOption();
const positiveInteger = integerOption({ min: 1 });
const nonNegative = numberOption({ min: 0 });
const positive = numberOption({ min: 0, exclusiveMin: true });
/** `3` or `-1.8,-2.0,-1.7` (one value per input channel). */
const numberList = (value: string): number[] => value.split(',').map((v) => number(v));
const integerList = (value: string): number[] => value.split(',').map((v) => positiveInteger(v));
const zeroParams = (value: string): Array<'weight' | 'bias'> =>
  value.split(',').map((v) => {
    const t = v.trim();
    if (t !== 'weight' && t !== 'bias') throw new InvalidArgumentError(`"${t}" is not a parameter name (weight, bias)`);
    return t;
  });

function oneOrList(values: number[] | undefined): number | number[] | undefined {
  if (!values) return undefined;
  return values.length === 1 ? values[0] : values;
}

/** The rule engines, loaded by the action: defining the command (and --help) must not load them. */
async function loadRuleEngines() {
  const [{ buildComposite, prependRules }, { readRuleMap }] = await Promise.all([import('../lrp/composites.js'), import('../lrp/rulemap.js')]);
  return { buildComposite, prependRules, readRuleMap };
}
type RuleEngines = Awaited<ReturnType<typeof loadRuleEngines>>;

/** `zBox`: z-box bounds derived from the image preprocessing, used where --low/--high are absent. */
function ruleSpec(engines: RuleEngines, options: AttributeOptions, zBox?: { low: number[]; high: number[] }): RuleSpec | null {
  const { buildComposite, prependRules, readRuleMap } = engines;
  const params: CompositeParams = {
    epsilon: options.epsilon,
    stabilizer: options.stabilizer,
    gamma: options.gamma,
    low: oneOrList(options.low ?? zBox?.low),
    high: oneOrList(options.high ?? zBox?.high),
    alpha: options.alpha,
    beta: options.beta,
    betaSmooth: options.betaSmooth,
    zeroParams: options.zeroParams,
  };
  // Without --composite: the rule map alone, or the default composite.
  const compositeName = options.composite ?? (options.rules ? 'none' : DEFAULT_COMPOSITE);
  const composite = compositeName === 'none' ? null : buildComposite(compositeName, params);
  if (!options.rules) return composite;
  return prependRules(composite, readRuleMap(options.rules));
}

function methodOf(options: AttributeOptions): MethodOptions {
  switch (options.attributor) {
    case 'gradient':
      return { kind: 'gradient' };
    case 'smoothgrad':
      return { kind: 'smoothgrad', noiseLevel: options.noiseLevel, samples: options.samples };
    case 'integrated-gradients':
      return { kind: 'integrated-gradients', steps: options.steps, baseline: options.baseline };
    case 'occlusion':
      return { kind: 'occlusion', window: oneOrList(options.window)!, stride: oneOrList(options.stride)!, score: options.occlusionScore };
  }
}

function parseTarget(value: string): 'label' | 'prediction' | number {
  if (value === 'label' || value === 'prediction') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError(`"${value}" is not label, prediction or a class index`);
}

/** Every option that changes the attribution values (a partial run resumes only under the same ones). */
const METHOD_KEYS = [
  'composite',
  'attributor',
  'low',
  'high',
  'epsilon',
  'gamma',
  'alpha',
  'beta',
  'stabilizer',
  'betaSmooth',
  'zeroParams',
  'steps',
  'baseline',
  'noiseLevel',
  'samples',
  'window',
  'stride',
  'occlusionScore',
  'canonize',
] as const;

async function run(options: AttributeOptions): Promise<void> {
  const target = parseTarget(options.target);
  checkLowHigh(options.low, options.high);
  const method = methodOf(options);
  const engines = await loadRuleEngines();
  ruleSpec(engines, options, { low: [0], high: [1] }); // unknown composites and bad rule maps fail before any work
  const { runAttributeJob } = await import('../jobs/attribute.js');
  const summary = await runAttributeJob({
    modelPath: options.model,
    datasetPath: options.dataset,
    output: options.output,
    batchSize: options.batchSize,
    target,
    values: options,
    method: (zBox) => ({ spec: ruleSpec(engines, options, zBox), method, canonize: options.canonize }),
    methodDescription: {
      ...Object.fromEntries(METHOD_KEYS.map((k) => [k, options[k] ?? null])),
      rules: options.rules ? readTextFile(options.rules, 'a rule map') : null,
    },
  });
  // The text report is the engine's last progress line (stderr); --json gives the same as data.
  const described = {
    attributor: options.attributor,
    composite: options.composite ?? (options.rules ? 'none' : DEFAULT_COMPOSITE),
    rules: options.rules ?? null,
  };
  const done = summary ? { ...summary, output: resolve(summary.output), alreadyComplete: false } : { output: resolve(options.output), alreadyComplete: true };
  report(options, { ...done, target, ...described }, []);
}

export function register(program: Command): void {
  const command = program
    .command('attribute')
    .description(
      'compute attributions (LRP composites, rule maps, gradient, SmoothGrad, Integrated Gradients, Occlusion) ' +
        'for the samples of an HDF5 dataset or an image folder with an ONNX model; writes the attribution database (resumable, shardable)',
    )
    .requiredOption('--model <file>', 'ONNX classifier (opset 7 to 21), one input [batch, ...], output [batch, classes] (required)')
    .requiredOption(
      '--dataset <path>',
      "HDF5 dataset ('data' (N, C, H, W) / (N, H, W, C) / (N, features) and 'label'), or a directory of JPEG/PNG/WebP images: " +
        'root/<class>/<image> or a ViRelAy image_directory (see --dataset-type) (required)',
    )
    .requiredOption(
      '-o, --output <file>',
      'attribution database to write (attribution, label, prediction = logits, index when not all samples in order); rows go to ' +
        '<file>.partial until the run finishes; {shard} is replaced by the shard index (required)',
    )
    .option(
      '--composite <name>',
      `LRP composite: ${COMPOSITE_NAMES.join(', ')}, or none for the plain gradient (default: ${DEFAULT_COMPOSITE}; none when --rules is given)`,
    )
    .option('--rules <file>', 'YAML rule map (rules: / first: lists of {match, rule, params}); its entries take precedence over the composite (default: none)')
    .option(
      '--attributor <name>',
      `${ATTRIBUTORS.join(', ')} (with a composite, gradient is LRP)`,
      (v: string) => {
        if (!(ATTRIBUTORS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${ATTRIBUTORS.join(', ')}`);
        return v;
      },
      'gradient',
    )
    .option('--low <values>', 'epsilon-gamma-box: lowest input value, one number or one per channel (comma-separated) (required by that composite)', numberList)
    .option('--high <values>', 'epsilon-gamma-box: highest input value, one number or one per channel (required by that composite)', numberList)
    .option('--epsilon <value>', "epsilon of the dense layers' Epsilon rule (default: 1e-6)", nonNegative)
    .option('--gamma <value>', "gamma of epsilon-gamma-box's Gamma rule, ≥ 0 (default: 0.25)", nonNegative)
    .option('--alpha <value>', 'alpha of the alpha-beta composites (default: 2; alpha - beta must be 1)', nonNegative)
    .option('--beta <value>', 'beta of the alpha-beta composites (default: 1)', nonNegative)
    .option('--stabilizer <value>', 'denominator stabiliser of the other rules (default: 1e-6)', nonNegative)
    .option('--beta-smooth <value>', 'beta of the beta-smooth composite, > 0 (default: 10)', positive)
    .option('--zero-params <names>', "parameters the composite's rules zero: bias, weight (comma-separated) (default: none)", zeroParams)
    .option('--steps <n>', 'integrated-gradients: path steps', positiveInteger, 20)
    .option('--baseline <value>', 'integrated-gradients: constant baseline input', number, 0)
    .option('--noise-level <value>', "smoothgrad: noise standard deviation relative to each sample's value range", nonNegative, 0.1)
    .option('--samples <n>', 'smoothgrad: noisy samples, the last one noise-free', positiveInteger, 20)
    .addOption(
      new Option('--window <sizes>', 'occlusion: window size, one number or one per trailing axis (comma-separated)').argParser(integerList).default([8], '8'),
    )
    .addOption(new Option('--stride <sizes>', 'occlusion: window stride, like --window').argParser(integerList).default([8], '8'))
    .option(
      '--occlusion-score <kind>',
      'occlusion: logit = each window scores the target logit; seed = the one-hot seed itself, i.e. Zennit with a constant attr_output (every window scores 1)',
      (v: string) => {
        if (v !== 'logit' && v !== 'seed') throw new InvalidArgumentError('must be logit or seed');
        return v;
      },
      'logit',
    )
    .option(
      '--target <which>',
      'class to attribute: label, prediction or a class index; the output relevance is its one-hot vector',
      (v: string) => {
        parseTarget(v);
        return v;
      },
      'label',
    )
    .option('--batch-size <n>', 'samples per onnxruntime run (1 to 65536)', integerOption({ min: 1, max: 65536 }), 16)
    .option('--no-canonize', 'do not canonize the model first (default: canonize: fold batch norms, fuse dense layers, …)')
    .option('-q, --quiet', 'no progress or summary output', false)
    .addOption(jsonOption());
  addRunOptions(command).action(async (options: AttributeOptions) => {
    await run(options);
  });
}
