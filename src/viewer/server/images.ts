import sharp from 'sharp';
import { getColorMap, listColorMaps, palette } from '../../render/cmap.js';
import { colorbarIndices, encodeIndexedPng, heatmapIndices, indicesToRgb, overlayOnGrey, reduceChannels } from '../../render/heatmap.js';
import { LruCache } from './lru.js';
import { etagOf, type Reply } from './reply.js';
import type { DisplayMode } from './routes.js';
import type { RgbImage, ViewerProject } from './model.js';

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

  colorMaps(): Array<{ name: string; family: 'virelay' | 'zennit' }> {
    return this.names.map((name) => ({ name, family: getColorMap(name).origin === 'virelay' ? 'virelay' : 'zennit' }));
  }

  hasColorMap(name: string): boolean {
    return this.names.includes(name);
  }

  get stats(): { entries: number; bytes: number; hits: number; misses: number } {
    return { entries: this.cache.size, bytes: this.cache.byteSize, hits: this.cache.hits, misses: this.cache.misses };
  }

  sampleImage(project: ViewerProject, index: number, mode: DisplayMode, colorMap: string): Promise<Reply> {
    const key = `${project.fingerprint}|${project.id}|${index}|${mode}|${colorMap}`;
    return this.cached(key, async () => {
      if (mode === 'input') return encodeRgbPng(await project.readImage(index));
      const attribution = await project.readAttribution(project.attributionRow(index));
      const colors = palette(getColorMap(colorMap));
      const [channels, height, width] = attribution.shape;
      // ViRelAy's rendering: channels summed, normalised symmetrically around 0 (zero = mid colour).
      const indices = heatmapIndices(attribution.data, attribution.shape, { symmetric: true, reduce: 'sum' });
      if (mode === 'attribution') return Buffer.from(encodeIndexedPng(indices, width, height, colors));
      const input = await project.readImage(index);
      const map = reduceChannels(attribution.data, channels, height, width, 'chw');
      const blended = overlayOnGrey(indicesToRgb(indices, colors), map, { width, height }, { data: input.data, width: input.width, height: input.height, channels: 3 });
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

async function encodeRgbPng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}
