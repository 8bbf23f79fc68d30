import { existsSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UserError } from '../errors.js';
import { isStdin, readStdin, STDIN_NAME } from '../util/stdin.js';
import { expandFilePattern } from '../util/file-pattern.js';
import { DOWN_SAMPLING_METHODS, UP_SAMPLING_METHODS, type DownSamplingMethod, type UpSamplingMethod } from '../io/sampling-methods.js';
import { jsonOption, report, STDIO, writeStdout } from '../cli-output.js';
import type { Project, ProjectDataset } from '../io/project.js';

/** ImageFolder convention: the class directory name is looked up as the label map's word_net_id. */
export const CLASS_DIRECTORY_REGEX = '^.*/([^/]+)/[^/]+$';

interface InitOptions {
  name: string;
  json?: boolean;
  model: string;
  dataset: string;
  datasetName?: string;
  labelMap: string;
  attributions?: string[];
  attributionMethod?: string;
  attributionStrategy?: string;
  analysis?: Array<{ name: string; path: string }>;
  evaluations?: string[];
  inputSize?: { width: number; height: number };
  upSampling: UpSamplingMethod;
  downSampling: DownSamplingMethod;
  labelIndexRegex?: string;
  labelWordNetIdRegex?: string;
  output: string;
}

function parseAnalysis(value: string, previous: Array<{ name: string; path: string }> = []): Array<{ name: string; path: string }> {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) throw new InvalidArgumentError(`"${value}" is not NAME=FILE.h5`);
  return [...previous, { name: value.slice(0, at), path: value.slice(at + 1) }];
}

function parseSize(value: string): { width: number; height: number } {
  const m = /^\s*(\d+)\s*[,x]\s*(\d+)\s*$/.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InvalidArgumentError(`"${value}" is not W,H (two positive integers)`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Infers the dataset block: an HDF5 file → hdf5, a directory → image_directory. */
async function datasetBlock(options: InitOptions): Promise<ProjectDataset> {
  const path = resolve(options.dataset);
  if (!existsSync(path)) throw new UserError(options.dataset, 'no such file or directory');
  const name = options.datasetName ?? basename(path, extname(path));
  if (statSync(path).isDirectory()) {
    if (!options.inputSize) throw new UserError('--input-size', 'is required for an image directory (ViRelAy resamples images to it)');
    if (options.labelIndexRegex && options.labelWordNetIdRegex)
      throw new UserError('--label-index-regex', 'give only one of --label-index-regex and --label-word-net-id-regex');
    return {
      name,
      type: 'image_directory',
      path,
      inputWidth: options.inputSize.width,
      inputHeight: options.inputSize.height,
      upSamplingMethod: options.upSampling,
      downSamplingMethod: options.downSampling,
      labelIndexRegex: options.labelIndexRegex ?? null,
      labelWordNetIdRegex: options.labelIndexRegex ? null : (options.labelWordNetIdRegex ?? CLASS_DIRECTORY_REGEX),
    };
  }
  // HDF5: input size defaults to the samples' own size (ViRelAy ignores these keys for hdf5).
  let size = options.inputSize;
  if (!size) {
    const { openDataset } = await import('../io/dataset.js');
    const dataset = await openDataset({ type: 'hdf5', path });
    const shape = dataset.sampleShape;
    dataset.close();
    if (shape) size = { width: shape[2], height: shape[1] };
  }
  return { name, type: 'hdf5', path, inputWidth: size?.width, inputHeight: size?.height, upSamplingMethod: 'none', downSamplingMethod: 'none' };
}

async function init(options: InitOptions): Promise<void> {
  if (options.attributions?.length) {
    if (!options.attributionMethod) throw new UserError('--attribution-method', 'is required with --attributions');
    if (!options.attributionStrategy) throw new UserError('--attribution-strategy', 'is required with --attributions');
  }
  // Loaded here, not at start-up: defining the command (and --help) must not load the readers.
  const [{ readLabelMap }, { checkProject, formatProject, formatSummary, writeProject }] = await Promise.all([
    import('../io/labelmap.js'),
    import('../io/project.js'),
  ]);
  // The project links its files by path; stdin has none (`project check -` reads the project itself).
  if (isStdin(options.labelMap)) throw new UserError('--label-map', "'-' (stdin) cannot be linked from a project, which names its files by path; name a file");
  readLabelMap(options.labelMap);
  const analyses = new Map<string, string[]>();
  for (const a of options.analysis ?? []) analyses.set(a.name, [...(analyses.get(a.name) ?? []), ...expandFilePattern(a.path).map((p) => resolve(p))]);
  const project: Project = {
    name: options.name,
    model: options.model,
    labelMap: resolve(options.labelMap),
    dataset: await datasetBlock(options),
    analyses: [...analyses].map(([analysisMethod, sources]) => ({ analysisMethod, sources })),
    ...(options.evaluations?.length ? { evaluations: options.evaluations.map((p) => resolve(p)) } : {}),
  };
  if (options.attributions?.length) {
    project.attributions = {
      attributionMethod: options.attributionMethod!,
      attributionStrategy: options.attributionStrategy!,
      sources: options.attributions.flatMap((p) => expandFilePattern(p)).map((p) => resolve(p)),
    };
  }
  const summary = await checkProject(project, '--analysis');
  const toStdout = options.output === STDIO;
  if (toStdout && options.json) report({ json: true, outputOnStdout: true }, null, []);
  // On stdout, paths are written relative to the current directory.
  if (toStdout) await writeStdout(formatProject(resolve('project.yaml'), project));
  else await writeProject(options.output, project);
  report({ json: options.json, outputOnStdout: toStdout }, { ...summary, output: toStdout ? null : resolve(options.output) }, [
    ...formatSummary(summary),
    toStdout ? 'wrote the project to stdout' : `wrote ${options.output}`,
  ]);
}

async function check(file: string, options: { json?: boolean }): Promise<void> {
  const { checkProject, formatSummary, parseProject, readProject } = await import('../io/project.js');
  // From stdin, the project's relative paths are taken from the working directory.
  const project = isStdin(file) ? parseProject(readStdin('a project file').toString('utf8'), STDIN_NAME) : readProject(file);
  file = isStdin(file) ? STDIN_NAME : file;
  for (const warning of project.warnings ?? []) process.stderr.write(`xai-tools: ${file}: warning: ${warning}\n`);
  const summary = await checkProject(project, file);
  report(options, { ...summary, ok: true, warnings: project.warnings ?? [] }, [...formatSummary(summary), `${file}: OK`]);
}

export function register(program: Command): void {
  const project = program.command('project').description('write and check ViRelAy project files (YAML linking dataset, label map, attributions, analyses)');

  project
    .command('init')
    .description('write a project file after checking that everything it links fits together; paths are written relative to the output file')
    .requiredOption('--name <name>', 'project name (unique among projects served together)')
    .requiredOption('--model <name>', 'model name (display only)')
    .requiredOption('--dataset <path>', 'dataset: an HDF5 file (type hdf5) or an image directory (type image_directory)')
    .option('--dataset-name <name>', 'dataset display name (default: the dataset file or directory name)')
    .requiredOption('--label-map <path>', 'label map JSON ([{index, word_net_id, name}, ...])')
    .option(
      '--attributions <files...>',
      'attribution HDF5 file(s); several shards need an index dataset each; * and ? in a file name are expanded (default: none)',
    )
    .option('--attribution-method <name>', 'attribution method name, e.g. "LRP EpsilonPlusFlat" (required with --attributions)')
    .addOption(
      new Option('--attribution-strategy <strategy>', 'which label was explained (required with --attributions)').choices(['true_label', 'predicted_label']),
    )
    .option(
      '--analysis <NAME=FILE...>',
      'analysis method name and HDF5 file; repeat a NAME to give it several files, or use * and ? in the file name for the shard files of ' +
        '`spray --shard` (default: none)',
      (v: string, prev?: Array<{ name: string; path: string }>) => parseAnalysis(v, prev),
    )
    .option('--evaluations <files...>', 'evaluation HDF5 file(s) from `evaluate`: the viewer colours points by AOPC and shows it per sample (default: none)')
    .option('--input-size <W,H>', "input_width,input_height (default for hdf5: the samples' width and height; required for image directories)", parseSize)
    .addOption(new Option('--up-sampling <method>', 'image directories: how smaller images are enlarged').choices([...UP_SAMPLING_METHODS]).default('resize'))
    .addOption(new Option('--down-sampling <method>', 'image directories: how larger images are reduced').choices([...DOWN_SAMPLING_METHODS]).default('resize'))
    .option('--label-index-regex <regex>', 'image directories: Python regex whose group 1 is the class index (default: none)')
    .option(
      '--label-word-net-id-regex <regex>',
      `image directories: Python regex whose group 1 is a label-map word_net_id (default: ${CLASS_DIRECTORY_REGEX}, the class directory name)`,
    )
    .requiredOption('-o, --output <project.yaml>', 'project file to write (- = stdout, paths relative to the current directory)')
    .addOption(jsonOption())
    .action(async (options: InitOptions) => init(options));

  project
    .command('check')
    .description("run the project init checks on an existing project file (ours or ViRelAy's) and print a summary")
    .argument('<project.yaml>', 'project file, or - to read it from stdin (its relative paths then start at the working directory)')
    .addOption(jsonOption())
    .action(async (file: string, options: { json?: boolean }) => check(file, options));
}
