/**
 * Image datasets:
 *  - `image_directory` (ViRelAy, docs/formats.md §6): samples = `<dir>_paths.txt` lines or every `**\/*.*`
 *    under the directory, sorted by full path (code-point order); labels from a regex on the path.
 *  - `image_folder` (torchvision ImageFolder, `root/<class>/<image>`): label = position of the class
 *    directory among the sorted class names. Samples are listed in the same sorted-full-path order
 *    as image_directory, so attributions made from an ImageFolder line up with a ViRelAy project
 *    pointing at the same directory.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';
import { compareBytes } from './hdf5.js';
import type { Batch, Dataset, DatasetSpec, DownSamplingMethod, UpSamplingMethod } from './dataset.js';
import { batchesOf, checkIndices } from './dataset-common.js';
import { decodeImageChw, decodeImageRgb, resampleLikeViRelAy, rgbToChwFloat, type ImagePreprocess } from './image.js';
import type { RgbImage } from './pixels.js';

/** Extensions torchvision's ImageFolder accepts (all decoded by sharp's libvips). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

/** A symlink to a directory; a dangling link or a link loop is a (broken) file, reported when it is read. */
function isDirectoryLink(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Python glob('<dir>/**\/*.*', recursive=True): names containing a dot, at any depth, no hidden entries. */
function globDotted(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.name.includes('.')) out.push(full);
      if (entry.isDirectory() || (entry.isSymbolicLink() && isDirectoryLink(full))) walk(full);
    }
  };
  walk(root);
  return out.sort(compareBytes);
}

/** The sample paths of an image directory, in ViRelAy's order. */
export function listImageDirectory(path: string): string[] {
  const root = path.replace(/[/\\]+$/, '');
  if (!existsSync(root)) throw new UserError(path, 'no such directory');
  if (!statSync(root).isDirectory()) throw new UserError(path, 'is not a directory');
  const listFile = `${root}_paths.txt`;
  let files: string[];
  if (existsSync(listFile)) {
    const lines = readFileSync(listFile, 'utf8').split('\n');
    const blank = lines.indexOf('');
    // ViRelAy turns a blank line into the parent directory itself, shifting every sample index by one.
    if (blank >= 0) throw new UserError(listFile, `line ${blank + 1} is blank (a trailing newline counts); ViRelAy would shift every sample index — remove it`);
    files = lines.map((l) => join(dirname(root), l)).sort(compareBytes);
  } else files = globDotted(root);
  if (files.length === 0) throw new UserError(path, 'contains no images (no file names with a dot)');
  return files;
}

/** Compiles a Python `re` pattern as JavaScript, anchored at the start like `re.match`. */
export function compilePythonRegex(source: string, file: string | undefined): RegExp {
  const translated = source.replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>').replace(/\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, '\\k<$1>');
  try {
    return new RegExp(translated, 'uy');
  } catch (error) {
    throw new UserError(file, `invalid label regex '${source}': ${(error as Error).message}`);
  }
}

/** Resolves each sample's label from its path with the image_directory regex (docs/formats.md §6). */
function regexLabels(files: string[], spec: DatasetSpec): Int32Array {
  const byIndex = spec.labelIndexRegex ?? null;
  const byWordNet = spec.labelWordNetIdRegex ?? null;
  if ((byIndex === null) === (byWordNet === null))
    throw new UserError(spec.path, 'exactly one of label_index_regex and label_word_net_id_regex must be set for an image directory');
  const regex = compilePythonRegex((byIndex ?? byWordNet)!, spec.path);
  if (byWordNet !== null && !spec.labelMap) throw new UserError(spec.path, 'label_word_net_id_regex needs a label map to resolve WordNet IDs');
  return Int32Array.from(files, (file) => {
    regex.lastIndex = 0;
    const match = regex.exec(file);
    const captured = match?.[1];
    if (captured === undefined) throw new UserError(file, `the label regex '${byIndex ?? byWordNet}' does not match this path (or has no capture group)`);
    if (byIndex !== null) {
      const index = Number.parseInt(captured, 10);
      if (!/^\s*[+-]?\d+\s*$/.test(captured)) throw new UserError(file, `label capture '${captured}' is not an integer`);
      if (spec.labelMap && !spec.labelMap.byIndex(index)) throw new UserError(file, `label index ${index} is not in the label map`);
      return index;
    }
    const entry = spec.labelMap!.byWordNetId(captured);
    if (!entry) throw new UserError(file, `WordNet ID '${captured}' is not in the label map`);
    return entry.index;
  });
}

interface ImageSampling {
  /** Model input for `read`. */
  chw(file: string): Promise<{ data: Float32Array; shape: [3, number, number] }>;
  /** What ViRelAy would show. */
  display(file: string): Promise<RgbImage>;
  /** Fixed [C, H, W] of `chw` results when known without decoding. */
  fixedShape: [number, number, number] | undefined;
}

function viRelAySampling(spec: DatasetSpec): ImageSampling {
  const width = spec.inputWidth;
  const height = spec.inputHeight;
  if (width === undefined || height === undefined) throw new UserError(spec.path, 'an image dataset needs input_width and input_height');
  const up: UpSamplingMethod = spec.upSamplingMethod ?? 'none';
  const down: DownSamplingMethod = spec.downSamplingMethod ?? 'none';
  const display = async (file: string): Promise<RgbImage> => resampleLikeViRelAy(await decodeImageRgb(file), width, height, up, down);
  // Pad/crop yield rows = input_width, cols = input_height; resize yields input_height rows × input_width cols.
  const resizeOnly = up === 'resize' && down === 'resize';
  const padCrop = up !== 'resize' && down === 'center_crop';
  const fixed: [number, number, number] | undefined =
    up !== 'none' && down !== 'none' && (width === height || resizeOnly || padCrop) ? (resizeOnly ? [3, height, width] : [3, width, height]) : undefined;
  return {
    display,
    chw: async (file) => {
      const image = await display(file);
      return { data: rgbToChwFloat(image), shape: [3, image.height, image.width] };
    },
    fixedShape: fixed,
  };
}

function preprocessSampling(preprocess: ImagePreprocess): ImageSampling {
  const crop = preprocess.crop;
  const resize = preprocess.resize;
  const fixed: [number, number, number] | undefined = crop
    ? [3, crop.height, crop.width]
    : resize?.mode === 'exact'
      ? [3, resize.height, resize.width]
      : undefined;
  return { chw: (file) => decodeImageChw(file, preprocess), display: decodeImageRgb, fixedShape: fixed };
}

class ImageDataset implements Dataset {
  readonly count: number;
  readonly labelShape: number[] = [];
  readonly sampleShape: [number, number, number] | undefined;

  constructor(
    readonly path: string,
    readonly files: string[],
    private readonly labelValues: Int32Array,
    private readonly sampling: ImageSampling,
    private readonly displaySampling: ImageSampling,
  ) {
    this.count = files.length;
    this.sampleShape = sampling.fixedShape;
  }

  labels(): Int32Array {
    return this.labelValues;
  }

  labelSet(index: number): number[] {
    return [this.labelValues[index]!];
  }

  async read(indices: number[]): Promise<Batch> {
    checkIndices(this.path, indices, this.count);
    const images = [];
    for (const i of indices) images.push(await this.sampling.chw(this.files[i]!));
    const shape = images[0]?.shape ?? this.sampleShape ?? [3, 0, 0];
    const size = shape[0] * shape[1] * shape[2];
    const data = new Float32Array(indices.length * size);
    images.forEach((image, b) => {
      if (image.shape[1] !== shape[1] || image.shape[2] !== shape[2]) {
        throw new UserError(
          this.files[indices[b]!],
          `decodes to ${image.shape[2]}×${image.shape[1]}, unlike ${shape[2]}×${shape[1]} in the same batch; set a resize or use batch size 1`,
        );
      }
      data.set(image.data, b * size);
    });
    return { indices: Int32Array.from(indices), data, shape: [indices.length, ...shape], labels: Int32Array.from(indices, (i) => this.labelValues[i]!) };
  }

  batches(indices: number[] | undefined, batchSize: number): AsyncIterable<Batch> {
    return batchesOf(this, indices, batchSize);
  }

  readImageForDisplay(index: number): Promise<RgbImage> {
    checkIndices(this.path, [index], this.count);
    return this.displaySampling.display(this.files[index]!);
  }

  close(): void {}
}

/** Extra option for image datasets: model preprocessing for `read` instead of ViRelAy's resampling. */
export type ImageDatasetSpec = DatasetSpec & { preprocess?: ImagePreprocess };

export async function openImageDirectory(spec: ImageDatasetSpec): Promise<Dataset> {
  const files = listImageDirectory(spec.path);
  const labels = regexLabels(files, spec);
  // `attribute` gives model preprocessing instead of ViRelAy's input size; only a project needs the latter.
  const display = spec.preprocess && (spec.inputWidth === undefined || spec.inputHeight === undefined) ? preprocessSampling({}) : viRelAySampling(spec);
  return new ImageDataset(spec.path, files, labels, spec.preprocess ? preprocessSampling(spec.preprocess) : display, display);
}

/** Class directory names of an ImageFolder root, sorted as torchvision sorts them. */
export function imageFolderClasses(root: string): string[] {
  if (!existsSync(root)) throw new UserError(root, 'no such directory');
  if (!statSync(root).isDirectory()) throw new UserError(root, 'is not a directory');
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && statSync(join(root, e.name)).isDirectory())))
    .map((e) => e.name)
    .sort(compareBytes);
}

export async function openImageFolder(spec: ImageDatasetSpec): Promise<Dataset> {
  const root = resolve(spec.path);
  const classes = imageFolderClasses(root);
  if (classes.length === 0) throw new UserError(spec.path, 'has no class directories (expected root/<class>/<image>)');
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const files = globDotted(root);
  const labels = Int32Array.from(files, (file) => {
    const relative = file.slice(root.length + 1).split(sep);
    const label = relative.length === 2 ? classIndex.get(relative[0]!) : undefined;
    if (label === undefined) throw new UserError(file, 'is not an image inside a class directory (expected root/<class>/<image>)');
    if (!IMAGE_EXTENSIONS.includes(extname(file).toLowerCase()))
      throw new UserError(file, `has extension '${extname(file)}', not an image (${IMAGE_EXTENSIONS.join(' ')})`);
    return label;
  });
  if (files.length === 0) throw new UserError(spec.path, 'contains no images');
  const haveSize = spec.inputWidth !== undefined && spec.inputHeight !== undefined;
  const display: ImageSampling = haveSize
    ? viRelAySampling({ ...spec, upSamplingMethod: spec.upSamplingMethod ?? 'resize', downSamplingMethod: spec.downSamplingMethod ?? 'resize' })
    : preprocessSampling({});
  return new ImageDataset(spec.path, files, labels, spec.preprocess ? preprocessSampling(spec.preprocess) : display, display);
}
