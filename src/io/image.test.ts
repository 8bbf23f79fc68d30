import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { centerCropRgb, decodeImageChw, decodeImageRgb, padRgb, resampleLikeViRelAy, type RgbImage } from './image.js';
import { openDataset } from './dataset.js';
import { parseLabelMap } from './labelmap.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 1-row image whose red channel is `values` (green/blue 0). */
function row(values: number[]): RgbImage {
  const data = new Uint8Array(values.length * 3);
  values.forEach((v, i) => (data[i * 3] = v));
  return { width: values.length, height: 1, data };
}
const reds = (image: RgbImage): number[] => Array.from({ length: image.width * image.height }, (_, i) => image.data[i * 3]!);

async function png(path: string, width: number, height: number, rgb: [number, number, number]): Promise<void> {
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toFile(path);
}

describe('ViRelAy resampling', () => {
  it('pads like numpy.pad (extra pixel on the left/top)', () => {
    expect(reds(padRgb(row([1, 2, 3]), 1, 7, 'fill_zeros'))).toEqual([0, 0, 1, 2, 3, 0, 0]);
    expect(reds(padRgb(row([1, 2, 3]), 1, 7, 'fill_ones'))).toEqual([1, 1, 1, 2, 3, 1, 1]);
    expect(reds(padRgb(row([1, 2, 3]), 1, 7, 'edge_repeat'))).toEqual([1, 1, 1, 2, 3, 3, 3]);
    expect(reds(padRgb(row([1, 2, 3]), 1, 7, 'mirror_edge'))).toEqual([3, 2, 1, 2, 3, 2, 1]);
    expect(reds(padRgb(row([1, 2, 3]), 1, 7, 'wrap_around'))).toEqual([2, 3, 1, 2, 3, 1, 2]);
    expect(reds(padRgb(row([1, 2, 3]), 1, 6, 'fill_zeros'))).toEqual([0, 0, 1, 2, 3, 0]);
    const tall = padRgb(row([5]), 4, 1, 'edge_repeat');
    expect([tall.width, tall.height, ...reds(tall)]).toEqual([1, 4, 5, 5, 5, 5]);
  });

  it('centre-crops with the odd remainder removed on the left/top', () => {
    expect(reds(centerCropRgb(row([1, 2, 3, 4, 5]), 1, 2))).toEqual([3, 4]);
    expect(reds(centerCropRgb(row([1, 2, 3, 4]), 1, 2))).toEqual([2, 3]);
  });

  it('compares input_width with rows and input_height with columns; resize makes width × height', async () => {
    const image: RgbImage = { width: 6, height: 10, data: new Uint8Array(180).fill(9) };
    const padded = await resampleLikeViRelAy(image, 8, 8, 'fill_zeros', 'center_crop');
    expect([padded.width, padded.height]).toEqual([8, 8]);
    const resized = await resampleLikeViRelAy(image, 4, 5, 'none', 'resize');
    expect([resized.width, resized.height]).toEqual([4, 5]);
    const untouched = await resampleLikeViRelAy(image, 8, 8, 'none', 'none');
    expect(untouched).toBe(image);
  });
});

describe('decoding', () => {
  it('decodes RGB, RGBA and grey images to RGB bytes; refuses non-images', async () => {
    const rgba = join(dir, 'rgba.png');
    await sharp({ create: { width: 2, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } })
      .png()
      .toFile(rgba);
    expect(Array.from((await decodeImageRgb(rgba)).data.subarray(0, 3))).toEqual([10, 20, 30]);
    const grey = join(dir, 'grey.png');
    await sharp({ create: { width: 2, height: 1, channels: 3, background: { r: 77, g: 77, b: 77 } } })
      .toColourspace('b-w')
      .png()
      .toFile(grey);
    expect(Array.from((await decodeImageRgb(grey)).data)).toEqual([77, 77, 77, 77, 77, 77]);
    writeFileSync(join(dir, 'text.png'), 'not an image');
    await expect(decodeImageRgb(join(dir, 'text.png'))).rejects.toThrow(/cannot decode image/);
  });

  it('model preprocessing: resize by the shorter side, centre crop, CHW in [0, 1]', async () => {
    const file = join(dir, 'wide.png');
    await png(file, 20, 10, [255, 0, 51]);
    const out = await decodeImageChw(file, { resize: { mode: 'shorter', size: 5 }, crop: { width: 4, height: 4 } });
    expect(out.shape).toEqual([3, 4, 4]);
    expect(out.data[0]).toBe(1);
    expect(out.data[16]).toBe(0);
    expect(out.data[32]).toBeCloseTo(0.2, 6);
    const exact = await decodeImageChw(file, { resize: { mode: 'exact', width: 7, height: 3 } });
    expect(exact.shape).toEqual([3, 3, 7]);
    const padded = await decodeImageChw(file, { crop: { width: 24, height: 12 } });
    expect(padded.shape).toEqual([3, 12, 24]);
    expect(padded.data[0]).toBe(0); // zero padding around a smaller image
  });
});

describe('image datasets', () => {
  it('ImageFolder: class index = sorted class directory, refuses stray files', async () => {
    const root = join(dir, 'folder');
    for (const [cls, n] of [
      ['dog', 2],
      ['cat', 1],
    ] as const) {
      mkdirSync(join(root, cls), { recursive: true });
      for (let i = 0; i < n; i++) await png(join(root, cls, `${i}.png`), 3 + i, 3, [i * 100, 0, 0]);
    }
    const ds = await openDataset({ type: 'image_folder', path: root });
    expect(ds.count).toBe(3);
    expect(Array.from(ds.labels())).toEqual([0, 1, 1]); // cat/0.png, dog/0.png, dog/1.png
    expect((await ds.read([2])).shape).toEqual([1, 3, 3, 4]);
    await expect(ds.read([1, 2])).rejects.toThrow(/unlike/);
    const sized = await openDataset({ type: 'image_folder', path: root, inputWidth: 5, inputHeight: 5 });
    expect(sized.sampleShape).toEqual([3, 5, 5]);
    expect((await sized.read([0, 1, 2])).shape).toEqual([3, 3, 5, 5]);
    writeFileSync(join(root, 'notes.txt'), 'x');
    await expect(openDataset({ type: 'image_folder', path: root })).rejects.toThrow(/not an image inside a class directory/);
  });

  it('image_directory: <dir>_paths.txt order, WordNet-ID regex, refuses blank lines', async () => {
    const root = join(dir, 'listed');
    mkdirSync(join(root, 'n01'), { recursive: true });
    mkdirSync(join(root, 'n02'), { recursive: true });
    await png(join(root, 'n01', 'img-10.png'), 4, 4, [1, 1, 1]);
    await png(join(root, 'n01', 'img-2.png'), 4, 4, [2, 2, 2]);
    await png(join(root, 'n02', 'img-1.png'), 4, 4, [3, 3, 3]);
    const labelMap = parseLabelMap('[{"index":5,"word_net_id":"n01","name":"a"},{"index":7,"word_net_id":"n02","name":"b"}]', 'l.json');
    const spec = {
      type: 'image_directory' as const,
      path: root,
      inputWidth: 4,
      inputHeight: 4,
      upSamplingMethod: 'none' as const,
      downSamplingMethod: 'none' as const,
      labelIndexRegex: null,
      labelWordNetIdRegex: '^.*/(n[0-9]+)/[^/]+$',
      labelMap,
    };
    writeFileSync(`${root}_paths.txt`, 'listed/n02/img-1.png\nlisted/n01/img-2.png\nlisted/n01/img-10.png');
    const ds = await openDataset(spec);
    expect(Array.from(ds.labels())).toEqual([5, 5, 7]); // sorted: img-10 before img-2
    expect(Array.from((await ds.readImageForDisplay(1)).data.subarray(0, 3))).toEqual([2, 2, 2]);
    writeFileSync(`${root}_paths.txt`, 'listed/n02/img-1.png\n');
    await expect(openDataset(spec)).rejects.toThrow(/line 2 is blank/);
    rmSync(`${root}_paths.txt`);
    await expect(openDataset({ ...spec, labelWordNetIdRegex: '^.*/(x[0-9]+)/' })).rejects.toThrow(/does not match/);
  });
});

describe('formats sharp cannot read', () => {
  it('decodes Netpbm and BMP exactly like Pillow', async () => {
    const formats = join(import.meta.dirname, '..', '..', 'fixtures', 'h5py', 'formats');
    const expected = JSON.parse(readFileSync(join(formats, 'expected.json'), 'utf8')) as Record<string, number[]>;
    expect(Object.keys(expected)).toHaveLength(7);
    for (const [name, rgb] of Object.entries(expected)) {
      const image = await decodeImageRgb(join(formats, name));
      expect([name, image.width, image.height, Array.from(image.data)]).toEqual([name, 3, 2, rgb]);
    }
  });
});
