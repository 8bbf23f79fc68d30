import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { checkJsonWithStdout, jsonOption, oneFileToStdout, refuseSeveralOnStdout, report, toStdout } from '../cli-output.js';
import { UserError } from '../errors.js';
import type { Dataset } from '../io/dataset.js';
import { getColorMap, palette } from '../render/cmap.js';
import { IMAGE_FORMATS, type ImageFormat } from '../render/formats.js';
import { replacePngPalette } from '../render/png.js';
import { selectRows } from '../render/selection.js';
import { formatColorMapList, terminalSupportsColor } from '../render/terminal.js';
import { writeAtomically } from '../util/atomic.js';
import { integerOption, numberOption, type Range } from '../util/options.js';
import { NAN_POLICIES, type NanPolicy } from '../io/non-finite.js';
import { createProgress } from '../util/progress.js';

interface HeatmapOptions {
  output?: string;
  cmap: string;
  level: number;
  symmetric: boolean;
  vmin?: number;
  vmax?: number;
  indices?: string;
  labels?: string;
  overlay: boolean;
  dataset?: string;
  datasetType?: 'hdf5' | 'image_directory' | 'image_folder';
  grid?: string;
  gridFill?: number;
  format: ImageFormat | 'html' | 'ansi';
  vocab?: string;
  quality: number;
  compression: number;
  batchSize: number;
  listCmaps: boolean;
  colorbar?: string;
  recolor?: string;
  quiet: boolean;
  json?: boolean;
  nanPolicy: NanPolicy;
}

// Ranges of the numeric options live in src/util/options.ts (one parser for every command).
const number = (_name: string, range: Range = {}) => numberOption(range);
const integer = (_name: string, lo: number, hi: number) => integerOption({ min: lo, max: hi });

const MAX_AUTO_GRID = 4096;

/** `COLSxROWS` or `auto`. */
function parseGrid(spec: string): { cols: number; rows: number } | 'auto' {
  if (spec === 'auto') return 'auto';
  const m = /^(\d+)x(\d+)$/i.exec(spec.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UserError('--grid', `"${spec}" is not COLSxROWS (e.g. 8x4) or auto`);
  // One sheet is held in memory until written: at most MAX_AUTO_GRID tiles, as for auto.
  if (Number(m[1]) * Number(m[2]) > MAX_AUTO_GRID)
    throw new UserError('--grid', `${spec} puts ${Number(m[1]) * Number(m[2])} tiles on a sheet (limit ${MAX_AUTO_GRID})`);
  return { cols: Number(m[1]), rows: Number(m[2]) };
}

/**
 * Creates the output directory if needed and checks that we can write into it. Levels are
 * created one by one: Node's recursive mkdir spins forever on some pseudo file systems (/proc).
 */
function prepareOutputDir(dir: string): void {
  const target = resolve(dir);
  try {
    const missing: string[] = [];
    let existing = target;
    while (!existsSync(existing)) {
      missing.unshift(existing);
      const parent = dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
    if (!statSync(existing).isDirectory()) {
      throw new UserError(
        dir,
        existing === target ? 'output path exists and is not a directory' : `output directory is not writable (${existing} is not a directory)`,
      );
    }
    for (const level of missing) mkdirSync(level);
    accessSync(target, constants.W_OK);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(dir, `output directory is not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function resolveColorMap(spec: string) {
  try {
    return getColorMap(spec);
  } catch (error) {
    if (error instanceof UserError) throw new UserError('--cmap', error.message);
    throw error;
  }
}

function formatFromPath(path: string, fallback: ImageFormat): ImageFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  return fallback === 'jpeg' ? 'png' : fallback;
}

/** `--recolor in.png`: new palette, same indices; written to -o (file or directory) or in place. */
async function recolor(options: HeatmapOptions): Promise<void> {
  const input = options.recolor!;
  if (!existsSync(input)) throw new UserError(input, 'no such file');
  if (statSync(input).isDirectory()) throw new UserError(input, 'is a directory, not a heatmap PNG');
  const bytes = new Uint8Array(readFileSync(input));
  const out = replacePngPalette(input, bytes, palette(resolveColorMap(options.cmap), options.level));
  let target = options.output ?? input;
  if (options.output && existsSync(options.output) && statSync(options.output).isDirectory()) target = join(options.output, basename(input));
  await writeAtomically(target, (tmp) => writeFileSync(tmp, out));
}

function datasetSpecFor(path: string, type: HeatmapOptions['datasetType']): { type: 'hdf5' | 'image_directory' | 'image_folder'; path: string } {
  if (!existsSync(path)) throw new UserError(path, 'dataset not found');
  return { type: type ?? (statSync(path).isDirectory() ? 'image_folder' : 'hdf5'), path };
}

async function run(attributions: string[], options: HeatmapOptions): Promise<void> {
  if (options.listCmaps) {
    process.stdout.write(`${formatColorMapList(terminalSupportsColor(), options.level)}\n`);
    return;
  }
  const cmap = resolveColorMap(options.cmap);
  if (options.recolor) return recolor(options);
  // Loaded here, not at start-up: defining the command (and --help) must not load the engines.
  const [{ openAttributionSet }, { openDataset }, { runHeatmapJob, writeColorbar }, { tokenAnsi, writeTokenHtml }] = await Promise.all([
    import('../io/attribution.js'),
    import('../io/dataset.js'),
    import('../jobs/heatmap.js'),
    import('../jobs/token-heatmap.js'),
  ]);

  if (options.colorbar) {
    prepareOutputDir(dirname(resolve(options.colorbar)));
    await writeColorbar(
      options.colorbar,
      cmap,
      options.level,
      formatFromPath(options.colorbar, options.format === 'html' || options.format === 'ansi' ? 'png' : options.format),
      undefined,
      { png: { level: 9 }, quality: options.quality },
    );
    if (attributions.length === 0) return;
  }
  if (attributions.length === 0) throw new UserError(undefined, 'no attribution file given (see xai-tools heatmap --help)');
  if (!options.output && options.format !== 'ansi') throw new UserError(undefined, 'missing -o/--output DIR for the heatmaps');
  if (options.overlay && !options.dataset) throw new UserError('--overlay', 'needs --dataset D.h5|DIR (the input images)');
  if (options.vmin !== undefined && options.vmax !== undefined && !(options.vmin < options.vmax)) {
    throw new UserError('--vmin', `must be smaller than --vmax (got ${options.vmin} and ${options.vmax})`);
  }
  const grid = options.grid === undefined ? undefined : parseGrid(options.grid);
  checkJsonWithStdout(options);

  const reader = await openAttributionSet(attributions);
  let dataset: Dataset | undefined;
  try {
    const rows = selectRows(attributions.join(', '), reader.indices(), reader.labels(), { indices: options.indices, labels: options.labels });
    if (rows.length === 0) throw new UserError(attributions[0], 'the selection matches no samples');
    if (grid === 'auto' && rows.length > MAX_AUTO_GRID) {
      // One sheet holds every tile in memory until it is written.
      throw new UserError(
        '--grid',
        `auto puts all ${rows.length} selected samples on one sheet (limit ${MAX_AUTO_GRID}); use COLSxROWS for several sheets or narrow --indices/--labels`,
      );
    }
    if (toStdout(options)) {
      // Known before any work: one file per sample, or per sheet of a grid.
      if (reader.sampleShape.length === 1)
        throw new UserError('-o', '- writes one image to stdout; token attributions go to an HTML file or, with --format ansi, to stdout');
      const images = grid === undefined ? rows.length : grid === 'auto' ? 1 : Math.ceil(rows.length / (grid.cols * grid.rows));
      refuseSeveralOnStdout(images, 'images', 'select one sample (--indices), put them on one sheet (--grid auto), or give a directory');
    }
    // What both renderers (pixels and tokens) take: the colour map, its scaling and the rows.
    const colouring = { cmap, level: options.level, symmetric: options.symmetric, vmin: options.vmin, vmax: options.vmax, rows };
    if (reader.sampleShape.length === 1) {
      // Token attributions [N, T]: coloured text (src/render/tokens.ts); token ids from --dataset.
      const job = {
        ...colouring,
        datasetPath: options.dataset,
        vocabPath: options.vocab,
        batchSize: options.batchSize,
      };
      if (options.format === 'ansi') process.stdout.write(`${await tokenAnsi(reader, terminalSupportsColor(), job)}\n`);
      else {
        const html = options.output!.toLowerCase().endsWith('.html') ? options.output! : join(options.output!, 'tokens.html');
        prepareOutputDir(dirname(html));
        await writeTokenHtml(reader, html, job);
        if (!options.quiet) process.stderr.write(`wrote ${rows.length} token row${rows.length === 1 ? '' : 's'} to ${html}\n`);
      }
      return;
    }
    if (options.format === 'html' || options.format === 'ansi')
      throw new UserError(
        attributions[0],
        `--format ${options.format} is for token attributions [N, T]; this file holds samples of shape (${reader.sampleShape.join(', ')})`,
      );
    const output = options.output!;
    if (!toStdout(options)) prepareOutputDir(output);
    if (options.overlay) {
      dataset = await openDataset(datasetSpecFor(options.dataset!, options.datasetType));
      // Check every sample up front rather than failing half-way through the images.
      const all = reader.indices();
      const outside = rows.find((r) => all[r] >= dataset!.count);
      if (outside !== undefined) {
        throw new UserError(
          options.dataset,
          `the dataset has ${dataset.count} samples, but the attribution file refers to sample ${all[outside]}; is it the dataset the ` +
            `attributions were computed on?`,
        );
      }
    }
    const progress = await createProgress({ quiet: options.quiet });
    const render = (outDir: string) =>
      runHeatmapJob(reader, {
        outDir,
        ...colouring,
        format: options.format as ImageFormat,
        encode: { png: { level: options.compression }, quality: options.quality },
        grid,
        gridFill: options.gridFill,
        overlay: dataset,
        batchSize: options.batchSize,
        nanPolicy: options.nanPolicy,
        progress,
      });
    const files = toStdout(options) ? await oneFileToStdout(render, (written) => written.map((w) => w.file)) : await render(output);
    const images = `${files.length} image${files.length === 1 ? '' : 's'}`;
    if (toStdout(options)) {
      if (!options.quiet) process.stderr.write(`wrote ${images} to stdout\n`);
    } else if (options.json) {
      const manifest = join(resolve(output), 'heatmaps.csv');
      report(options, { output: resolve(output), images: files.length, manifest, files: files.map((f) => ({ ...f, file: resolve(f.file) })) }, []);
    } else if (!options.quiet) process.stderr.write(`wrote ${images} and heatmaps.csv to ${output}\n`);
  } finally {
    dataset?.close();
    reader.close();
  }
}

export function register(program: Command): void {
  program
    .command('heatmap')
    .description(
      "Render attributions as heatmap images, identical to Zennit's imgify: channels summed, normalised per sample, " +
        '8-bit indices with the colour map as PNG palette (re-colourable with --recolor). One file per sample, named ' +
        '<index>-label<label>.png, or grid sheets; heatmaps.csv lists what was written.',
    )
    .argument('[attributions...]', 'attribution HDF5 file(s) (several files are read as one, rows in file order)')
    .option(
      '-o, --output <path>',
      'output directory, or - for stdout when the run writes one image (or, with --recolor, the output file or directory; default: in place)',
    )
    .option('--cmap <name|cmsl>', 'colour map: a name from --list-cmaps or a CMSL source such as "00f,80:fff,f00"', 'coldnhot')
    .option(
      '--level <x>',
      'colour-map level (> 0): >1 saturates earlier, <1 compresses towards the centre colour',
      number('--level', { min: 0, exclusiveMin: true } as Range),
      1,
    )
    .option('--symmetric', "symmetric bounds (−max|a|, +max|a|) so relevance 0 is the centre colour (Zennit's usual choice); default min/max", false)
    .option('--vmin <x>', 'fixed lower bound (overrides the computed one)', number('--vmin'))
    .option('--vmax <x>', 'fixed upper bound (overrides the computed one)', number('--vmax'))
    .option('--indices <spec>', 'dataset sample indices to render: 0:100, 5, 1,4,9, 10:, 0:100:10 (default: all rows)')
    .option('--labels <list>', 'only samples with these labels, e.g. 3,7 (default: all)')
    .option('--overlay', 'blend the heatmap over a grey version of the input image (RGB output; needs --dataset)', false)
    .option('--dataset <path>', 'dataset with the input images: HDF5 file or image directory')
    .addOption(
      new Option('--dataset-type <type>', 'dataset type (default: hdf5 for a file, image_folder for a directory)').choices([
        'hdf5',
        'image_directory',
        'image_folder',
      ]),
    )
    .option('--grid <COLSxROWS|auto>', "grid sheets of COLS×ROWS samples (Zennit's gridify); auto: one sheet, floor(√N) columns (default: one file per sample)")
    .option('--grid-fill <index>', "palette index for empty grid cells (default: the sheet's minimum, as Zennit)", integer('--grid-fill', 0, 255))
    .addOption(
      new Option(
        '--format <format>',
        'png: indexed PNG with the colour map as palette; rgb-png; jpeg; for token attributions [N, T]: html (the default there) or ansi ' +
          '(coloured text on stdout, NO_COLOR respected)',
      )
        .choices([...IMAGE_FORMATS, 'html', 'ansi'])
        .default('png'),
    )
    .option('--vocab <file>', 'token attributions: vocabulary, one token a line (line k is token id k; ids need --dataset); default: ids')
    .option('--quality <n>', 'JPEG quality', integer('--quality', 1, 100), 90)
    .option('--compression <level>', 'PNG deflate level 0-9 (1 is fast and nearly as small for heatmaps)', integer('--compression', 0, 9), 1)
    .option('--batch-size <n>', 'attribution rows read per batch', integer('--batch-size', 1, 1 << 20), 64)
    .option('--list-cmaps', 'list the colour maps (with a colour preview when the terminal supports it) and exit', false)
    .option('--colorbar <file>', 'also write a 256×24 colour bar of --cmap/--level to this file (.png or .jpg); alone when no attribution file is given')
    .option('--recolor <png>', 'swap the palette of an indexed heatmap PNG for --cmap/--level, keeping its indices')
    .addOption(
      new Option(
        '--nan-policy <policy>',
        'samples holding NaN/±Inf: error (refuse, naming the first row), skip (not drawn), zero (drawn with those values as 0)',
      )
        .choices([...NAN_POLICIES])
        .default('error'),
    )
    .option('-q, --quiet', 'no progress output', false)
    .addOption(jsonOption())
    .action(async (attributions: string[], options: HeatmapOptions) => {
      await run(attributions, options);
    });
}
