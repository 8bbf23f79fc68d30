import { basename, extname } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UserError } from '../errors.js';
import type { CascadeMethod } from '../eval/cascade.js';
import type { EvaluationTarget, PerturbationSettings } from '../jobs/evaluate.js';
import type { EvaluationFile } from '../io/evaluation.js';
import { COMPOSITE_NAMES } from '../lrp/composite-names.js';
import { ORDERS } from '../eval/orders.js';
import { BASELINES } from '../eval/graphs.js';
import { addRunOptions, type RunOptionValues } from '../run/options.js';
import { integerOption, numberOption } from '../util/options.js';

/** The engine's perturbation settings plus what the command itself handles. */
interface EvaluateOptions extends RunOptionValues, PerturbationSettings {
  model?: string;
  dataset?: string;
  output?: string;
  target: string;
  batchSize: number;
  randomBaseline: boolean;
  perClass: boolean;
  json: boolean;
  plot?: string;
  plotOnly?: boolean;
  randomize?: 'cascade';
  sanitySamples: number;
  sanityDepth?: number;
  sanityThreshold: number;
  sanityPlot?: string;
  low?: number[];
  high?: number[];
  canonize: boolean;
  quiet: boolean;
}

// Ranges of the numeric options live in src/util/options.ts (one parser for every command).
const positiveInteger = integerOption({ min: 1 });
const nonNegativeInteger = integerOption({ min: 0 });
const positiveNumber = numberOption({ min: 0, exclusiveMin: true });

function parseTarget(value: string): EvaluationTarget {
  if (value === 'label' || value === 'prediction') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError(`"${value}" is not label, prediction or a class index`);
}

const numberList = (value: string): number[] =>
  value.split(',').map((v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${v}" is not a number`);
    return n;
  });

/** The method a group's name stands for, for the sanity check: gradient or an LRP composite. */
function cascadeMethod(
  buildComposite: typeof import('../lrp/composites.js').buildComposite,
  options: EvaluateOptions,
  name: string,
  zBox: { low: number[]; high: number[] } | undefined,
): CascadeMethod {
  if (name === 'gradient') return { name, spec: null, method: { kind: 'gradient' } };
  if (!COMPOSITE_NAMES.includes(name)) {
    throw new UserError(
      name,
      `--randomize cascade attributes again with the method a file's name gives; name it gradient or a composite ` +
        `(${COMPOSITE_NAMES.join(', ')}) with NAME=FILE`,
    );
  }
  const bound = (values: number[] | undefined): number | number[] | undefined => (values && values.length === 1 ? values[0] : values);
  return { name, spec: buildComposite(name, { low: bound(options.low ?? zBox?.low), high: bound(options.high ?? zBox?.high) }), method: { kind: 'gradient' } };
}

/** `NAME=FILE` or `FILE` (named after the file: `epsilon-plus.h5` → epsilon-plus). */
function namedFile(arg: string): { name: string; path: string } {
  const match = /^([^=/\\]+)=(.+)$/.exec(arg);
  if (match) return { name: match[1]!, path: match[2]! };
  return { name: basename(arg, extname(arg)), path: arg };
}

async function show(output: string | undefined, options: EvaluateOptions, file: EvaluationFile): Promise<void> {
  // Loaded here, not at start-up: defining the command (and --help) must not load the engines.
  const [{ summariesOf }, { formatTable }, { formatCascade }, { writeChart }, { cascadeChart, curvesChart, reportDocument }] = await Promise.all([
    import('../jobs/evaluate.js'),
    import('../eval/metrics.js'),
    import('../eval/cascade.js'),
    import('../eval/plot.js'),
    import('../eval/report.js'),
  ]);
  const summaries = summariesOf(file, options.perClass);
  if (options.json) process.stdout.write(`${JSON.stringify(reportDocument(file, summaries), null, 2)}\n`);
  else process.stdout.write(`${formatTable(summaries)}\n${file.cascade ? `\n${formatCascade(file.cascade)}\n` : ''}`);
  if (output) await writeChart(output, curvesChart(file, summaries));
  if (options.sanityPlot) {
    if (!file.cascade) throw new UserError(file.path, 'holds no sanity check to plot (run with --randomize cascade)');
    await writeChart(options.sanityPlot, cascadeChart(file.cascade));
  }
}

async function run(command: Command, files: string[], options: EvaluateOptions): Promise<void> {
  if (options.plotOnly) {
    if (files.length !== 1 || !options.output) command.error('error: --plot-only takes one evaluation file and -o <curves.svg|png>', { exitCode: 2 });
    const { readEvaluation } = await import('../io/evaluation.js');
    await show(options.output, options, await readEvaluation(files[0]!));
    return;
  }
  if (!options.model || !options.dataset || !options.output)
    command.error('error: evaluate needs --model, --dataset and -o (or --plot-only FILE -o PLOT)', { exitCode: 2 });
  if (files.length === 0) command.error('error: give at least one attribution file', { exitCode: 2 });
  const [{ runEvaluateJob }, { buildComposite }] = await Promise.all([import('../jobs/evaluate.js'), import('../lrp/composites.js')]);
  const result = await runEvaluateJob({
    modelPath: options.model,
    datasetPath: options.dataset,
    attributions: files.map(namedFile),
    output: options.output,
    batchSize: options.batchSize,
    target: parseTarget(options.target),
    patch: options.patch,
    steps: options.steps,
    perStep: options.perStep,
    order: options.order,
    baseline: options.baseline,
    blurSigma: options.blurSigma,
    seed: options.seed,
    randomBaseline: options.randomBaseline,
    perClass: options.perClass,
    values: options,
    cascade:
      options.randomize === 'cascade'
        ? {
            samples: options.sanitySamples,
            depth: options.sanityDepth,
            threshold: options.sanityThreshold,
            canonize: options.canonize,
            methodOf: (name, zBox) => cascadeMethod(buildComposite, options, name, zBox),
          }
        : undefined,
  });
  if (result) await show(options.plot, options, result.file);
}

export function register(program: Command): void {
  const command = program
    .command('evaluate')
    .description(
      'faithfulness of attributions by region perturbation (Samek et al. 2017): replace P×P patches in order of relevance by a baseline, ' +
        'record the target logit after every step, write per-sample curves and AOPC to an evaluation HDF5 and print a ranked table of ' +
        'methods (resumable, shardable)',
    )
    .argument(
      '[attributions...]',
      'attribution databases to evaluate (from `attribute`), each FILE or NAME=FILE (default name: the file name without extension)',
    )
    .option('--model <file>', 'the ONNX classifier the attributions explain (required)')
    .option('--dataset <path>', 'the dataset the attributions were computed on (HDF5 or image directory, as for attribute) (required)')
    .option('-o, --output <file>', 'evaluation HDF5 to write (one group per attribution file, plus "random"); with --plot-only: the plot (required)')
    .option('--patch <n>', 'patch size P: images are split into P×P patches', positiveInteger, 8)
    .option('--steps <n>', 'perturbation steps K (default: enough to replace every patch, at most 100)', nonNegativeInteger)
    .option('--per-step <n>', 'patches replaced per step', positiveInteger, 1)
    .addOption(
      new Option('--order <order>', 'morf: most relevant patch first; lerf: least relevant first; random: seeded random order')
        .choices([...ORDERS])
        .default('morf'),
    )
    .addOption(
      new Option(
        '--baseline <kind>',
        'what a replaced patch becomes: zero, mean (the channel mean of the sample), blur (Gaussian blur of the sample), uniform (seeded ' +
          "noise over the sample's value range)",
      )
        .choices([...BASELINES])
        .default('zero'),
    )
    .option('--blur-sigma <pixels>', 'blur baseline: Gaussian standard deviation (default: patch / 2)', positiveNumber)
    .option('--seed <n>', 'seed of the random order and the uniform baseline', nonNegativeInteger, 0)
    .option(
      '--target <which>',
      'class whose logit is recorded: label or prediction (the stored label / the top class of the stored prediction of each attribution ' +
        'row), or a class index',
      (v: string) => {
        parseTarget(v);
        return v;
      },
      'label',
    )
    .option('--batch-size <n>', 'perturbed images per onnxruntime run (1 to 65536)', integerOption({ min: 1, max: 65536 }), 64)
    .option('--no-random-baseline', 'do not also evaluate the random order (default: evaluated on the first file\'s rows, group "random")')
    .option('--per-class', 'also summarise each target class', false)
    .option('--json', 'print the summary as one JSON document instead of the table', false)
    .option('--plot <file>', 'also draw the mean curves (± SE) of every method as .svg or .png (default: none)')
    .option('--plot-only', 'read an existing evaluation file (the argument) and write its plot to -o, and print its table', false)
    .addOption(
      new Option(
        '--randomize <check>',
        'sanity check: cascade = attribute the first --sanity-samples rows again on models whose top 1…L weight layers are seeded random ' +
          "(Adebayo et al. 2018), with the method each file's name gives (gradient or a composite), and report Spearman ρ and SSIM with the " +
          'original heatmaps (default: none)',
      ).choices(['cascade']),
    )
    .option('--sanity-samples <n>', 'cascade: samples attributed again', positiveInteger, 8)
    .option('--sanity-depth <n>', 'cascade: randomise up to this many layers (default: every layer with weights)', positiveInteger)
    .option(
      '--sanity-threshold <rho>',
      'cascade: flag a method whose mean Spearman ρ with every layer randomised is still at least this (-1 to 1)',
      numberOption({ min: -1, max: 1 }),
      0.5,
    )
    .option('--sanity-plot <file>', 'cascade: draw ρ and SSIM per depth as .svg or .png (default: none)')
    .option(
      '--low <values>',
      'cascade, epsilon-gamma-box: lowest input value, one number or one per channel (default: from --normalize, as attribute)',
      numberList,
    )
    .option('--high <values>', 'cascade, epsilon-gamma-box: highest input value (default: from --normalize)', numberList)
    .option('--no-canonize', 'cascade: do not canonize the model before attributing (default: canonize, as attribute does)')
    .option('-q, --quiet', 'no progress or summary output on stderr', false);
  addRunOptions(command).action(async (files: string[], options: EvaluateOptions) => {
    await run(command, files, options);
  });
}
