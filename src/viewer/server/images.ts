import sharp from 'sharp';
import { UserError } from '../../errors.js';
import { HttpError } from './http-error.js';
import { getColorMap, listColorMaps, palette } from '../../render/cmap.js';
import { colorbarIndices, encodeIndexedPng, indicesToRgb, normalizeToIndices, overlayOnGrey, reduceChannels } from '../../render/heatmap.js';
import { LruCache } from './lru.js';
import { etagOf, type Reply } from './reply.js';
import type { DisplayMode } from './routes.js';
import type { RgbImage, ViewerProject } from './model.js';

/**
 * How relevance values meet the colour map (channels summed first, per sample):
 * - `symmetric`: [−max|R|, +max|R|], 0 at the map's centre (ViRelAy's rendering; suits signed maps);
 * - `absolute`: |R| on [0, max|R|], 0 at the map's first colour (a sequential map on signed data);
 * - `minmax`: [min R, max R] stretched over the whole map.
 */
export const VALUE_SCALES = ['symmetric', 'absolute', 'minmax'] as const;
export type ValueScale = (typeof VALUE_SCALES)[number];

function scaledIndices(map: Parameters<typeof normalizeToIndices>[0], scale: ValueScale): Uint8Array {
  if (scale === 'symmetric') return normalizeToIndices(map, { symmetric: true });
  if (scale === 'minmax') return normalizeToIndices(map, { symmetric: false });
  const magnitude = Float64Array.from(map, Math.abs);
  let max = 0;
  for (const v of magnitude) if (v > max) max = v;
  return normalizeToIndices(magnitude, { vmin: 0, vmax: max });
}

/** Rendered images never change while the server runs (the fingerprint covers the files), so clients may keep them. */
const IMAGE_CACHE_CONTROL = 'private, max-age=3600';

/**
 * Renders sample images on demand (input, heatmap, overlay; colour map previews), keeps them in a
 * byte-bounded LRU, and merges concurrent requests for the same image into one rendering.
 */
export class ImageRenderer {
  private readonly cache: LruCache<Reply & { byteLength: number }>;
  private readonly pending = new Map<string, Promise<Reply & { byteLength: number }>>();
  private readonly names: string[];
  readonly defaultColorMap: string;

  constructor(options: { cacheBytes: number }) {
    this.cache = new LruCache(options.cacheBytes);
    this.names = listColorMaps();
    this.defaultColorMap = this.names.includes('black-fire-red') ? 'black-fire-red' : this.names[0];
  }

  colorMaps(): Array<{ name: string; family: 'virelay' | 'zennit'; signed: boolean }> {
    return this.names.map((name) => {
      const map = getColorMap(name);
      return { name, family: map.origin === 'virelay' ? 'virelay' : 'zennit', signed: map.signed };
    });
  }

  hasColorMap(name: string): boolean {
    return this.names.includes(name);
  }

  get stats(): { entries: number; bytes: number; hits: number; misses: number } {
    return { entries: this.cache.size, bytes: this.cache.byteSize, hits: this.cache.hits, misses: this.cache.misses };
  }

  /** The scale a map gets when the request names none: signed maps centre 0, sequential maps show |R|. */
  defaultScale(colorMap: string): ValueScale {
    return getColorMap(colorMap).signed ? 'symmetric' : 'absolute';
  }

  sampleImage(
    project: ViewerProject,
    index: number,
    mode: DisplayMode,
    colorMap: string,
    scale: ValueScale = mode === 'input' ? 'symmetric' : this.defaultScale(colorMap),
  ): Promise<Reply> {
    const key = `${project.fingerprint}|${project.id}|${index}|${mode}|${colorMap}|${mode === 'input' ? '' : scale}`;
    return this.cached(key, async () => {
      if (mode === 'input') return encodeRgbPng(await decodedImage(project, index));
      const attribution = await project.readAttribution(project.attributionRow(index));
      const colors = palette(getColorMap(colorMap));
      const [channels, height, width] = attribution.shape;
      const map = reduceChannels(attribution.data, channels, height, width, 'chw');
      const indices = scaledIndices(map, scale);
      if (mode === 'attribution') return Buffer.from(encodeIndexedPng(indices, width, height, colors));
      const input = await decodedImage(project, index);
      const blended = overlayOnGrey(
        indicesToRgb(indices, colors),
        map,
        { width, height },
        { data: input.data, width: input.width, height: input.height, channels: 3 },
      );
      return encodeRgbPng({ width: input.width, height: input.height, data: blended });
    });
  }

  preview(name: string, width: number, height: number): Promise<Reply> {
    return this.cached(`preview|${name}|${width}|${height}`, async () => {
      return Buffer.from(encodeIndexedPng(colorbarIndices(width, height), width, height, palette(getColorMap(name))));
    });
  }

  private async cached(key: string, render: () => Promise<Buffer>): Promise<Reply> {
    const hit = this.cache.get(key);
    if (hit) return hit;
    let running = this.pending.get(key);
    if (!running) {
      running = render().then((body) => ({
        contentType: 'image/png',
        body,
        byteLength: body.byteLength + key.length,
        etag: etagOf(key),
        cacheControl: IMAGE_CACHE_CONTROL,
      }));
      this.pending.set(key, running);
      running.then(
        (reply) => {
          this.cache.set(key, reply);
          this.pending.delete(key);
        },
        () => this.pending.delete(key),
      );
    }
    return running;
  }
}

/**
 * A sample's image, or a 422 saying why it cannot be shown: a 0-byte or truncated file, a file
 * that is no image, a symlink loop are the data's problems, never the server's (the page draws a
 * placeholder from the 422).
 */
async function decodedImage(project: ViewerProject, index: number): Promise<RgbImage> {
  try {
    return await project.readImage(index);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      error instanceof UserError
        ? error.line
        : code
          ? `${code} (${errnoWords[code] ?? 'cannot read'})`
          : error instanceof Error
            ? error.message.split('\n')[0]
            : String(error);
    throw new HttpError(422, `sample ${index} cannot be decoded: ${reason}`);
  }
}

const errnoWords: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  ELOOP: 'symbolic link loop',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
};

async function encodeRgbPng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
