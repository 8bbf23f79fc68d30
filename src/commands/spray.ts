import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { jsonOption, report } from '../cli-output.js';
import { UserError } from '../errors.js';
import { CLUSTERINGS, DEFAULT_SPRAY, EMBEDDINGS, VARIANTS } from '../processors/spray-options.js';
import { integerOption } from '../util/options.js';
import { NAN_POLICIES } from '../io/non-finite.js';
import { createProgress } from '../util/progress.js';
import { guardOutputs, refuseInputAsOutput } from '../io/output-guard.js';
import { expandFilePattern } from '../util/file-pattern.js';
import { expandOutputPath } from '../run/output.js';
import { parseShard } from '../run/shard.js';
import type { RunSprayOptions } from '../jobs/spray.js';

// Ranges of the numeric options live in src/util/options.ts (one parser for every command).
const positiveInt = (_name: string) => integerOption({ min: 1, max: MAX_CLUSTER_K });
/** Largest k of --clusters (and of --n-eigval/--n-neighbors): beyond it no analysis of a category is sensible. */
const MAX_CLUSTER_K = 100_000;

/** "2:30" → 2..30, "2,5,8" → [2, 5, 8], "4" → [4]. */
export function parseClusters(value: string): number[] {
  const range = /^(\d+):(\d+)$/.exec(value);
  let ks: number[];
  if (value.split(/[:,]/).some((k) => Number(k) > MAX_CLUSTER_K)) throw new InvalidArgumentError(`cluster counts must be at most ${MAX_CLUSTER_K}`);
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (lo > hi) throw new InvalidArgumentError(`empty range ${value}`);
    ks = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  } else if (/^\d+(,\d+)*$/.test(value)) ks = value.split(',').map(Number);
  else throw new InvalidArgumentError('expected a range like 2:30 or a list like 2,5,8');
  if (ks.some((k) => k < 1)) throw new InvalidArgumentError('cluster counts must be at least 1');
  return [...new Set(ks)].sort((a, b) => a - b);
}

function parseList<T extends string>(allowed: readonly T[], what: string) {
  return (value: string): T[] => {
    if (value === '' || value === 'none') return [];
    const items = value.split(',').map((s) => s.trim());
    for (const item of items) if (!allowed.includes(item as T)) throw new InvalidArgumentError(`unknown ${what} '${item}' (choose from ${allowed.join(', ')})`);
    return [...new Set(items)] as T[];
  };
}

function parseClasses(value: string): number[] {
  if (!/^\d+(,\d+)*$/.test(value)) throw new InvalidArgumentError('expected class indices like 3,7');
  return [...new Set(value.split(',').map(Number))];
}

/** The job's options as commander parses them (inputs come as arguments), plus the report switches. */
interface SprayCliOptions extends Omit<RunSprayOptions, 'inputs' | 'clustersGiven' | 'shard'> {
  shard?: string;
  quiet?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('spray')
    .description(
      "SpRAy: spectral analysis of every category's attributions (CoRelAy's pipeline), written as a ViRelAy analysis file. " +
        'Deterministic: every random step is seeded and eigenvector signs are fixed (largest entry positive), so the same input gives the same file. ' +
        'Prints the categories ranked by suspicion (largest eigengap) at the end.',
    )
    .argument(
      '<attributions...>',
      'attribution HDF5 file(s); several files are read as shards, rows in file order; * and ? in a file name are expanded (sorted)',
    )
    .requiredOption('-o, --output <analysis.h5>', 'analysis HDF5 file to write')
    .option(
      '--label-map <file.json>',
      'label map: category names become its word_net_ids and every listed class is analysed (default: none; names are the class index as %08d)',
    )
    .addOption(new Option('--categories <by>', 'group samples by their true label or by the predicted class').choices(['label', 'prediction']).default('label'))
    .option('--classes <list>', 'only these class indices, e.g. 3,7 (default: all classes)', parseClasses)
    .addOption(
      new Option(
        '--variant <name>',
        'pre-processing: spectral = sum channels, normalise, flatten; absspectral = |x| first; fullspectral = keep channels; histogram = ' +
          'per-channel histograms',
      )
        .choices([...VARIANTS])
        .default(DEFAULT_SPRAY.variant),
    )
    .option('--n-eigval <m>', 'eigenpairs in the spectral embedding (shrunk to n−1 for small categories)', positiveInt('--n-eigval'), DEFAULT_SPRAY.nEigval)
    .option('--n-neighbors <k>', 'neighbours of the kNN affinity (shrunk to n−1 for small categories)', positiveInt('--n-neighbors'), DEFAULT_SPRAY.nNeighbors)
    .addOption(
      new Option('--clusters <ks>', 'k for k-means and agglomerative (Ward), eps = k/10 for DBSCAN: a range a:b or a list a,b,c')
        .argParser(parseClusters)
        .default(DEFAULT_SPRAY.clusters, '2:30'),
    )
    .addOption(
      new Option('--algorithms <list>', `clusterings to compute, from ${CLUSTERINGS.join(', ')}`)
        .argParser(parseList(CLUSTERINGS, 'clustering'))
        .default(DEFAULT_SPRAY.algorithms, CLUSTERINGS.join(',')),
    )
    .addOption(
      new Option('--embeddings <list>', `2-D embeddings of the spectral embedding, from ${EMBEDDINGS.join(', ')}, or none`)
        .argParser(parseList(EMBEDDINGS, 'embedding'))
        .default(DEFAULT_SPRAY.embeddings, 'tsne,umap'),
    )
    .option(
      '--config <pipeline.yaml>',
      'replace tasks of the pipeline (preprocessing, pairwise_distance, affinity, laplacian, embedding, select_eigenvector, clustering) by ' +
        'processors described in YAML',
    )
    .option('--cache <cache.h5>', 'reuse results: every step is stored under a hash of its input data and all its parameters (default: no cache)')
    .option('--seed <n>', 'seed of every random step (0 to 4294967295)', integerOption({ min: 0, max: 0xffffffff }), DEFAULT_SPRAY.seed)
    .option('--name <name>', 'analysis method name (recorded in the file; use it in the project file)', 'spectral_analysis')
    .addOption(
      new Option('--nan-policy <policy>', 'rows holding NaN/±Inf: error (refuse, naming the first row), skip (leave them out), zero (set those values to 0)')
        .choices([...NAN_POLICIES])
        .default('error'),
    )
    .option(
      '--shard <I/N>',
      'analyse shard I of N of the categories (the I-th of N contiguous runs of the sorted categories); with N alone, I comes from ' +
        'SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX; {shard} in -o and --cache becomes I (default: no sharding)',
    )
    .option('-q, --quiet', 'no progress output and no ranking table', false)
    .addOption(jsonOption())
    .action(async (inputs: string[], options: SprayCliOptions, command: Command) => {
      if (options.name.includes('-')) throw new UserError('--name', `'${options.name}' contains '-', which ViRelAy cannot serve; use '_'`);
      const shard = options.shard === undefined ? undefined : parseShard(options.shard);
      const output = expandOutputPath(options.output, shard);
      if (!shard && options.cache && /\{shards?\}/.test(options.cache))
        throw new UserError('--cache', `'${options.cache}' uses {shard} but no --shard was given`);
      if (shard) {
        command.setOptionValue('output', output);
        if (options.cache) command.setOptionValue('cache', expandOutputPath(options.cache, shard));
        guardOutputs(command); // the preAction hook saw the names before {shard} was replaced
        options = command.opts<SprayCliOptions>();
      }
      // Patterns are expanded here, for Kubernetes Jobs that pass arguments without a shell.
      const files = inputs.flatMap((input) => expandFilePattern(input));
      refuseInputAsOutput(options.output, files);
      // Loaded here, not at start-up: defining the command (and --help) must not load the engines.
      const [{ runSprayJob, suspicionRanking, suspicionTable }, { RunStats }] = await Promise.all([
        import('../jobs/spray.js'),
        import('../processors/processor.js'),
      ]);
      const progress = await createProgress({ quiet: options.quiet });
      const result = await runSprayJob(
        {
          inputs: files,
          output: options.output,
          labelMap: options.labelMap,
          categories: options.categories,
          classes: options.classes,
          config: options.config,
          cache: options.cache,
          name: options.name,
          variant: options.variant,
          nEigval: options.nEigval,
          nNeighbors: options.nNeighbors,
          clusters: options.clusters,
          clustersGiven: command.getOptionValueSource('clusters') === 'cli',
          nanPolicy: options.nanPolicy,
          algorithms: options.algorithms,
          embeddings: options.embeddings,
          seed: options.seed,
          shard,
        },
        progress,
      );
      if (options.cache) {
        progress.log(`cache: ${result.stats.totalHits} hits, ${result.stats.totalComputed} misses`);
        progress.log(`  computed: ${RunStats.summary(result.stats.computed)}`);
      }
      const lines = options.quiet ? [] : [suspicionTable(result.categories).trimEnd()];
      report(options, { output: resolve(options.output), categories: suspicionRanking(result.categories) }, lines);
    });
}
