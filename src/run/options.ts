/**
 * The dataset-scale options of `attribute` (image datasets, preprocessing, subsets, shards, resume,
 * threads, device): their commander declarations and their parsing into one `RunConfig`. Kept here so
 * the command file only wires them in.
 */
import { existsSync, statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UserError } from '../errors.js';
import { integerFor } from '../util/options.js';
import { parseThreads, resolveDevice, type Device } from './device.js';
import { NORMALIZE_PRESETS, checkChannels, parsePreprocess, zBoxBounds, type PreprocessSpec } from './preprocess.js';
import { parseShard, type Shard } from './shard.js';
import { parseIndexRanges, parseLabelList, type IndexRange } from './subset.js';

export const DATASET_TYPES = ['hdf5', 'image_folder', 'image_directory'] as const;
export type DatasetType = (typeof DATASET_TYPES)[number];

/** The raw option values as commander hands them over. */
export interface RunOptionValues {
  datasetType?: string;
  labelRegex?: string;
  inputSize?: string;
  resize?: string;
  crop?: string;
  mean?: string;
  std?: string;
  normalize?: string;
  indices?: string;
  labels?: string;
  shard?: string;
  shardBlock?: string;
  resume?: boolean;
  overwrite?: boolean;
  skipBad?: boolean;
  threads?: string;
  device?: string;
  quiet?: boolean;
  prefetch?: string;
}

export const DEFAULT_SHARD_BLOCK = 256;

/** Declares the options on `command` (every default is stated in --help). */
export function addRunOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--dataset-type <type>',
        'kind of --dataset: hdf5, image_folder (root/<class>/<image>, label = sorted class position) or image_directory (ViRelAy; labels ' +
          'from --label-regex) (default: hdf5 for a file, image_folder for a directory)',
      ).choices([...DATASET_TYPES]),
    )
    .option(
      '--label-regex <regex>',
      'image_directory: Python-style regex on the full path whose group 1 is the class index, e.g. "^.*/label-([0-9]+)/.*$" (default: none; ' +
        'required for image_directory)',
    )
    .option('--input-size <W,H>', 'image datasets: model input width,height (default: the model input size)')
    .option(
      '--resize <mode>',
      'image datasets: exact (stretch to the input size) or shorter[=S] (shorter side to S, default the input size; needs --crop center)',
      'exact',
    )
    .option('--crop <mode>', 'center or none (default: center with --resize shorter, else none)')
    .option('--mean <R,G,B>', 'per-channel mean subtracted from the [0,1] pixels, with --std (default: none, pixels stay in [0,1])')
    .option('--std <R,G,B>', 'per-channel standard deviation the pixels are divided by, with --mean (default: none)')
    .addOption(
      new Option(
        '--normalize <preset>',
        `named --mean/--std: ${Object.entries(NORMALIZE_PRESETS)
          .map(([k, v]) => `${k} = mean ${v.mean.join(',')} std ${v.std.join(',')}`)
          .join('; ')}; also makes --low/--high default to the normalised black and white images (default: none)`,
      ).choices(Object.keys(NORMALIZE_PRESETS)),
    )
    .option(
      '--indices <ranges>',
      'attribute only these samples: indices and start:end ranges, end exclusive (e.g. 0:1000 or 3,7,10:20); rows then carry an index dataset (default: all)',
    )
    .option('--labels <classes>', 'attribute only samples of these classes (e.g. 3,7) (default: all)')
    .option(
      '--shard <I/N>',
      'attribute shard I of N (every N-th block of samples); with N alone, I comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX; ' +
        '{shard} in -o becomes I (default: no sharding)',
    )
    .option('--shard-block <n>', 'samples per shard block', String(DEFAULT_SHARD_BLOCK))
    .option('--resume', 'continue an interrupted run from the rows in <out>.partial (they are not recomputed); a finished output is left as is', false)
    .option('--overwrite', 'replace an existing output (and discard a partial one)', false)
    .option('--skip-bad', 'report an undecodable sample with its path and go on instead of stopping the run', false)
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores of this machine; set it to the CPU quota in containers)')
    .addOption(new Option('--device <device>', 'cpu, or cuda (needs onnxruntime-node with its CUDA provider)').choices(['cpu', 'cuda']).default('cpu'))
    .option('--prefetch <n>', 'batches decoded ahead of the one being computed (1 or 2)', '1');
}

export interface RunConfig {
  datasetType: DatasetType;
  labelRegex?: string;
  subset: { indices?: IndexRange[]; labels?: Set<number> };
  shard?: Shard;
  shardBlock: number;
  resume: boolean;
  overwrite: boolean;
  skipBad: boolean;
  threads: number;
  device: Device;
  prefetch: number;
  quiet: boolean;
}

function positiveInteger(text: string, option: string): number {
  return integerFor(option, text, { min: 1 });
}

/** The dataset type: given, or guessed from the path (a directory of class folders is an ImageFolder). */
export function datasetTypeOf(path: string, given: string | undefined): DatasetType {
  if (given !== undefined) {
    if (!(DATASET_TYPES as readonly string[]).includes(given))
      throw new UserError('--dataset-type', `expected one of ${DATASET_TYPES.join(', ')}, got '${given}'`);
    return given as DatasetType;
  }
  if (!existsSync(path)) throw new UserError(path, 'no such file or directory');
  return statSync(path).isDirectory() ? 'image_folder' : 'hdf5';
}

/** Parses everything except the preprocessing (which needs the model's input shape). */
export function parseRunConfig(values: RunOptionValues, datasetPath: string, env: NodeJS.ProcessEnv = process.env): RunConfig {
  const datasetType = datasetTypeOf(datasetPath, values.datasetType);
  if (datasetType === 'image_directory' && !values.labelRegex) {
    throw new UserError('--label-regex', "an image_directory dataset needs --label-regex to find each image's class in its path");
  }
  if (values.resume && values.overwrite) throw new UserError('--resume', 'cannot be combined with --overwrite');
  const prefetch = positiveInteger(values.prefetch ?? '1', '--prefetch');
  if (prefetch > 2) throw new UserError('--prefetch', 'at most 2 batches are decoded ahead (memory stays bounded)');
  return {
    datasetType,
    labelRegex: values.labelRegex,
    subset: {
      indices: values.indices !== undefined ? parseIndexRanges(values.indices) : undefined,
      labels: values.labels !== undefined ? parseLabelList(values.labels) : undefined,
    },
    shard: values.shard !== undefined ? parseShard(values.shard, env) : undefined,
    shardBlock: positiveInteger(values.shardBlock ?? String(DEFAULT_SHARD_BLOCK), '--shard-block'),
    resume: values.resume ?? false,
    overwrite: values.overwrite ?? false,
    skipBad: values.skipBad ?? false,
    threads: parseThreads(values.threads),
    device: resolveDevice(values.device ?? 'cpu'),
    prefetch,
    quiet: values.quiet ?? false,
  };
}

/** True when any preprocessing option was given (they apply to image models only). */
export function hasPreprocessOptions(values: RunOptionValues): boolean {
  return hasGeometryOptions(values) || values.normalize !== undefined || values.mean !== undefined || values.std !== undefined;
}

/** True when any image-preprocessing option was given (they are refused for HDF5 input, except normalisation). */
function hasGeometryOptions(values: RunOptionValues): boolean {
  return values.inputSize !== undefined || (values.resize !== undefined && values.resize !== 'exact') || values.crop !== undefined;
}

/**
 * The preprocessing for a model input of [C, H, W] (H, W undefined when dynamic). HDF5 samples are
 * used at their stored size, so only normalisation applies to them.
 */
export function parseModelPreprocess(
  values: RunOptionValues,
  datasetType: DatasetType,
  input: { channels: number; height?: number; width?: number },
): PreprocessSpec | undefined {
  const modelSize: [number, number] | undefined = input.width !== undefined && input.height !== undefined ? [input.width, input.height] : undefined;
  if (datasetType === 'hdf5') {
    if (hasGeometryOptions(values)) throw new UserError('--resize', 'resizing and cropping apply to image datasets; HDF5 samples are used as stored');
    if (values.normalize === undefined && values.mean === undefined && values.std === undefined) return undefined;
    // Geometry is irrelevant for HDF5; the size is only a placeholder for the spec.
    const spec = parsePreprocess({ mean: values.mean, std: values.std, normalize: values.normalize, inputSize: '1' });
    checkChannels(spec, input.channels);
    return spec;
  }
  const spec = parsePreprocess(values, modelSize);
  checkChannels(spec, input.channels);
  return spec;
}

/**
 * z-box bounds when the user gave none: the normalised black and white images per channel (what
 * Zennit users compute by hand), or [0, 1] for un-normalised image pixels. `undefined` leaves the
 * method's own default (HDF5 data of unknown range).
 */
export function defaultZBoxBounds(spec: PreprocessSpec | undefined, datasetType: DatasetType, channels: number): { low: number[]; high: number[] } | undefined {
  if (spec?.normalize) return zBoxBounds(spec, channels);
  if (datasetType !== 'hdf5' && spec) return zBoxBounds(spec, channels);
  return undefined;
}
