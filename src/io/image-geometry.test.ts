/**
 * Resize and centre crop on an image whose every pixel is different, against sharp called directly:
 * a wrong crop offset, a crop before the resize, a wrong output size or another kernel all change
 * the pixels (a solid-colour image would hide every one of these).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePreprocessFor, parsePreprocess } from '../run/preprocess.js';
import { decodeImageChw } from './image.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-geometry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const W = 24;
const H = 16;
const file = join(dir, 'ramp.png');
beforeAll(async () => {
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      data[o] = x * 10;
      data[o + 1] = y * 15;
      data[o + 2] = (x * 37 + y * 91) % 256;
    }
  }
  await sharp(data, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(file);
});

/** sharp's own resize (and optional extract) of the test image, as CHW floats in [0, 1]. */
async function reference(
  width: number,
  height: number,
  kernel: 'linear' | 'cubic',
  extract?: { left: number; top: number; width: number; height: number },
): Promise<number[]> {
  let pipeline = sharp(file).removeAlpha().resize(width, height, { fit: 'fill', kernel });
  if (extract) pipeline = sharp(await pipeline.raw().toBuffer(), { raw: { width, height, channels: 3 } }).extract(extract);
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  return Array.from(Float32Array.from({ length: 3 * n }, (_, k) => data[(k % n) * 3 + Math.floor(k / n)]! / 255));
}

describe('model preprocessing geometry against sharp', () => {
  it('exact resize: width × height with the requested kernel', async () => {
    const out = await decodeImageChw(file, { resize: { mode: 'exact', width: 7, height: 5 }, kernel: 'linear' });
    expect(out.shape).toEqual([3, 5, 7]);
    expect(Array.from(out.data)).toEqual(await reference(7, 5, 'linear'));
    expect(Array.from(out.data)).not.toEqual(await reference(7, 5, 'cubic'));
  });

  it('--resize shorter=8 --crop center to 6×6 (torchvision Resize(8) + CenterCrop(6)): resize to 12×8, then cut at (3, 1)', async () => {
    const spec = parsePreprocess({ inputSize: '6,6', resize: 'shorter=8', crop: 'center' });
    const out = await decodeImageChw(file, imagePreprocessFor(spec));
    expect(out.shape).toEqual([3, 6, 6]);
    expect(Array.from(out.data)).toEqual(await reference(12, 8, 'linear', { left: 3, top: 1, width: 6, height: 6 }));
    // One pixel off in either direction is a different image.
    expect(Array.from(out.data)).not.toEqual(await reference(12, 8, 'linear', { left: 2, top: 1, width: 6, height: 6 }));
    expect(Array.from(out.data)).not.toEqual(await reference(12, 8, 'linear', { left: 3, top: 0, width: 6, height: 6 }));
  });

  it('an odd remainder puts the extra pixel on the left/top (12×8 → 5×5 starts at (4, 2))', async () => {
    const out = await decodeImageChw(file, { resize: { mode: 'shorter', size: 8 }, crop: { width: 5, height: 5 }, kernel: 'linear' });
    expect(Array.from(out.data)).toEqual(await reference(12, 8, 'linear', { left: 4, top: 2, width: 5, height: 5 }));
  });
});
