import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetTypeOf, defaultZBoxBounds, parseModelPreprocess, parseRunConfig } from './options.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-options-'));
const h5 = join(dir, 'd.h5');
writeFileSync(h5, '');

describe('parseRunConfig', () => {
  it('guesses the dataset type from the path', () => {
    expect(datasetTypeOf(dir, undefined)).toBe('image_folder');
    expect(datasetTypeOf(h5, undefined)).toBe('hdf5');
    expect(datasetTypeOf(dir, 'image_directory')).toBe('image_directory');
    expect(() => datasetTypeOf(join(dir, 'missing'), undefined)).toThrow(/no such file/);
  });

  it('parses every dataset-scale option', () => {
    const config = parseRunConfig({ indices: '0:10', labels: '1', shard: '3', shardBlock: '8', threads: '2', skipBad: true, prefetch: '2' }, dir, {
      JOB_COMPLETION_INDEX: '1',
    });
    expect(config).toMatchObject({
      datasetType: 'image_folder',
      shard: { index: 1, count: 3 },
      shardBlock: 8,
      threads: 2,
      skipBad: true,
      device: 'cpu',
      prefetch: 2,
    });
    expect(config.subset.indices).toEqual([{ start: 0, end: 10 }]);
    expect([...config.subset.labels!]).toEqual([1]);
  });

  it.each([
    [{ resume: true, overwrite: true }, /cannot be combined/],
    [{ prefetch: '3' }, /at most 2/],
    [{ datasetType: 'image_directory' }, /needs --label-regex/],
    [{ device: 'tpu' }, /expected cpu or cuda/],
    [{ shardBlock: '0' }, /positive integer/],
  ])('rejects %j', (values, message) => {
    expect(() => parseRunConfig(values, dir, {})).toThrow(message);
  });
});

describe('preprocessing for the model', () => {
  it('refuses geometry options for HDF5 samples but normalises them', () => {
    expect(() => parseModelPreprocess({ inputSize: '8' }, 'hdf5', { channels: 3 })).toThrow(/image datasets/);
    const spec = parseModelPreprocess({ normalize: 'imagenet' }, 'hdf5', { channels: 3, height: 8, width: 8 });
    expect(spec?.normalize?.mean).toEqual([0.485, 0.456, 0.406]);
    expect(parseModelPreprocess({}, 'hdf5', { channels: 3 })).toBeUndefined();
  });

  it('defaults z-box bounds to the normalised black and white, or [0,1] for raw image pixels', () => {
    const normalised = parseModelPreprocess({ normalize: 'imagenet' }, 'image_folder', { channels: 3, height: 8, width: 8 });
    expect(defaultZBoxBounds(normalised, 'image_folder', 3)!.low[0]).toBeCloseTo(-0.485 / 0.229, 6);
    const raw = parseModelPreprocess({}, 'image_folder', { channels: 3, height: 8, width: 8 });
    expect(defaultZBoxBounds(raw, 'image_folder', 3)).toEqual({ low: [0, 0, 0], high: [1, 1, 1] });
    expect(defaultZBoxBounds(undefined, 'hdf5', 3)).toBeUndefined();
    expect(() => parseModelPreprocess({ mean: '0.5,0.5', std: '1,1' }, 'image_folder', { channels: 3, height: 8, width: 8 })).toThrow(
      /2 values but the model input has 3 channels/,
    );
  });
});
