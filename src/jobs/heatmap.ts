import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { AttributionReader } from '../io/attribution.js';
import type { Dataset } from '../io/dataset.js';
import { writeAtomically } from '../util/atomic.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import { applyNanPolicy, type NanPolicy } from '../io/non-finite.js';
import type { Progress } from '../util/progress.js';
import { palette as paletteOf, type ColorMap } from '../render/cmap.js';
import { encodeIndices, encodeRgb, EXTENSION, type EncodeOptions, type ImageFormat } from '../render/encode.js';
import { colorbarIndices, defaultGridShape, gridify, indicesToRgb, normalizeToIndices, overlayOnGrey, reduceChannels } from '../render/heatmap.js';
import { batchRuns } from '../render/selection.js';

/** How relevance becomes colour, shared by the pixel and the token renderers. */
export interface Colouring {
  cmap: ColorMap;
  level: number;
  symmetric: boolean;
  vmin?: number;
  vmax?: number;
  /** Rows of the attribution file to render, in output order. */
  rows: number[];
}

/**
 * Streams an attribution file into heatmap images: rows are read in batches (never the whole
 * file), each sample is normalised on its own (imgify; per sample in grids too, as Zennit's grid
 * mode does), and every output goes through a temporary file so nothing half-written is left.
 */
export interface RenderJob extends Colouring {
  /** Rows with NaN/±Inf: refused (default), not drawn, or drawn with those values as 0. */
  nanPolicy?: NanPolicy;
  outDir: string;
  format: ImageFormat;
  encode?: EncodeOptions;
  /** One sheet of `cols × rows` cells per chunk of samples, or 'auto' for Zennit's default shape over all. */
  grid?: { cols: number; rows: number } | 'auto';
  /** Fill value for empty grid cells (default: the minimum over the sheet, as in Zennit). */
  gridFill?: number;
  /** Blend over a grey version of the input image from this dataset (ViRelAy's overlay). */
  overlay?: Dataset;
  batchSize?: number;
  progress: Progress;
}

export interface RenderedFile {
  file: string;
  /** Dataset sample indices in the image (one, or a grid's cells in row-major order). */
  indices: number[];
  labels: number[];
  predicted: number[];
}

interface Tile {
  index: number;
  label: number;
  predicted: number;
  /** Palette indices (H×W) or, for overlays, RGB (H×W×3). */
  data: Uint8Array;
  width: number;
  height: number;
}

function argmax(values: Float32Array, start: number, length: number): number {
  let best = 0;
  for (let k = 1; k < length; k++) if (values[start + k] > values[start + best]) best = k;
  return length > 0 ? best : -1;
}

async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  await writeAtomically(path, (tmp) => writeFileSync(tmp, bytes));
}

/** Renders every selected row; returns what was written (also saved as `heatmaps.csv`). */
export async function runHeatmapJob(reader: AttributionReader, job: RenderJob): Promise<RenderedFile[]> {
  const [channels, height, width] = chwOf(reader);
  const pal = paletteOf(job.cmap, job.level);
  const overlay = job.overlay !== undefined;
  const ext = EXTENSION[job.format];
  const allIndices = reader.indices();
  const allLabels = reader.labels();
  let largest = 0;
  for (const v of allIndices) largest = Math.max(largest, v);
  // Zero-padded so that file names sort by sample index.
  const digits = String(largest).length;
  const nameOf = (index: number, label: number): string => `${String(index).padStart(digits, '0')}${label >= 0 ? `-label${label}` : ''}${ext}`;
  const written: RenderedFile[] = [];
  const sampleSize = channels * height * width;

  const gridShape = job.grid === 'auto' ? defaultGridShape(Math.max(1, job.rows.length)) : job.grid;
  const perSheet = gridShape ? gridShape.cols * gridShape.rows : 0;
  let sheet: Tile[] = [];
  let sheetNumber = 0;

  const flushSheet = async (): Promise<void> => {
    if (!gridShape || sheet.length === 0) return;
    const first = sheet[0];
    for (const t of sheet) {
      if (t.width !== first.width || t.height !== first.height) {
        throw new UserError(
          job.overlay?.path,
          `grid cells must share one size, but sample ${t.index} is ${t.width}×${t.height} and sample ${first.index} is ${first.width}×${first.height}`,
        );
      }
    }
    const tileChannels = overlay ? 3 : 1;
    const g = gridify(
      sheet.map((t) => t.data),
      { width: first.width, height: first.height, channels: tileChannels },
      gridShape,
      job.gridFill,
    );
    const file = join(job.outDir, `grid-${String(sheetNumber).padStart(4, '0')}${ext}`);
    const bytes = overlay
      ? await encodeRgb(g.data, g.width, g.height, job.format === 'jpeg' ? 'jpeg' : 'rgb-png', job.encode)
      : await encodeIndices(g.data, g.width, g.height, pal, job.format, job.encode);
    await writeOutput(file, bytes);
    written.push({ file, indices: sheet.map((t) => t.index), labels: sheet.map((t) => t.label), predicted: sheet.map((t) => t.predicted) });
    sheet = [];
    sheetNumber++;
  };

  const mapBuffer = new Float32Array(height * width);
  const indexBuffer = new Uint8Array(height * width);
  job.progress.start('heatmaps', job.rows.length, 'samples');
  for (const batch of batchRuns(job.rows, job.batchSize ?? 64)) {
    throwIfInterrupted();
    // Read each run once, then find rows inside the runs.
    const blocks = batch.runs.map(([start, end]) => {
      const data = reader.read(start, end);
      const skip = applyNanPolicy(
        reader.paths.join(', '),
        data.attribution,
        sampleSize,
        job.nanPolicy ?? 'error',
        (r) => `row ${start + r} (sample ${allIndices[start + r]})`,
      );
      return { start, end, data, skip };
    });
    for (const row of batch.rows) {
      const block = blocks.find((b) => row >= b.start && row < b.end)!;
      const local = row - block.start;
      if (block.skip.has(local)) continue;
      const attribution = block.data.attribution.subarray(local * sampleSize, (local + 1) * sampleSize);
      const index = allIndices[row];
      const label = allLabels[row];
      const predicted = argmax(block.data.prediction, local * reader.numClasses, reader.numClasses);
      const map = reduceChannels(attribution, channels, height, width, 'chw', mapBuffer);
      // Grid tiles are kept until their sheet is written; single images are encoded right away.
      const indices = normalizeToIndices(map, { symmetric: job.symmetric, vmin: job.vmin, vmax: job.vmax }, gridShape ? undefined : indexBuffer);

      let tile: Tile;
      if (job.overlay) {
        const image = await job.overlay.readImageForDisplay(index);
        // Larger images get the heatmap upscaled (nearest, as ViRelAy); a smaller one is the wrong dataset.
        if (image.width < width || image.height < height) {
          throw new UserError(
            job.overlay.path,
            `sample ${index} is ${image.width}×${image.height}, smaller than its ${width}×${height} attribution; is it the dataset the ` +
              `attributions were computed on?`,
          );
        }
        const rgb = overlayOnGrey(indicesToRgb(indices, pal), map, { width, height }, { ...image, channels: 3 });
        tile = { index, label, predicted, data: rgb, width: image.width, height: image.height };
      } else {
        tile = { index, label, predicted, data: indices, width, height };
      }

      if (gridShape) {
        sheet.push(tile);
        if (sheet.length === perSheet) await flushSheet();
      } else {
        const file = join(job.outDir, nameOf(index, label));
        const bytes = overlay
          ? await encodeRgb(tile.data, tile.width, tile.height, job.format === 'jpeg' ? 'jpeg' : 'rgb-png', job.encode)
          : await encodeIndices(tile.data, width, height, pal, job.format, job.encode);
        await writeOutput(file, bytes);
        written.push({ file, indices: [index], labels: [label], predicted: [predicted] });
      }
    }
    job.progress.advance(batch.rows.length);
  }
  await flushSheet();
  job.progress.finish();

  await writeOutput(join(job.outDir, 'heatmaps.csv'), manifest(written, gridShape?.cols));
  return written;
}

/** `file,cell,index,label,predicted`: one line per rendered sample (cell = row:col in a grid). */
function manifest(files: RenderedFile[], cols: number | undefined): Uint8Array {
  const lines = ['file,cell,index,label,predicted'];
  for (const f of files) {
    const name = f.file.split(/[\\/]/).pop()!;
    f.indices.forEach((index, k) => {
      const cell = cols ? `${Math.floor(k / cols)}:${k % cols}` : '';
      lines.push(`${name},${cell},${index},${f.labels[k]},${f.predicted[k]}`);
    });
  }
  return new TextEncoder().encode(`${lines.join('\n')}\n`);
}

/** [C, H, W] of the reader's samples (2-D attributions count as one channel). */
function chwOf(reader: AttributionReader): [number, number, number] {
  const s = reader.sampleShape;
  if (s.length === 3) return [s[0], s[1], s[2]];
  if (s.length === 2) return [1, s[0], s[1]];
  throw new UserError(reader.paths[0], `attributions of shape [${s.join(', ')}] are not images; heatmaps need (C, H, W) or (H, W) samples`);
}

/** A horizontal colour bar (256×24 by default) of the palette. */
export async function writeColorbar(
  path: string,
  cmap: ColorMap,
  level: number,
  format: ImageFormat,
  size = { width: 256, height: 24 },
  encode?: EncodeOptions,
): Promise<void> {
  const bytes = await encodeIndices(colorbarIndices(size.width, size.height), size.width, size.height, paletteOf(cmap, level), format, encode);
  await writeOutput(path, bytes);
}
