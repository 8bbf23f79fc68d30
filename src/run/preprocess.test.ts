import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { normalizeBatch, parseInputSize, parsePreprocess, zBoxBounds } from './preprocess.js';

describe('preprocessing options', () => {
  it('parses the input size', () => {
    expect(parseInputSize('224,224')).toEqual([224, 224]);
    expect(parseInputSize('64')).toEqual([64, 64]);
    expect(() => parseInputSize('224x224')).toThrow(UserError);
    expect(() => parseInputSize('0,4')).toThrow(UserError);
  });

  it('defaults to the model size, exact resize, no normalisation', () => {
    expect(parsePreprocess({}, [32, 32])).toEqual({ width: 32, height: 32, resize: 'exact', shorterSide: 32, crop: 'none', normalize: undefined });
  });

  it('builds the torchvision ImageNet pipeline', () => {
    const spec = parsePreprocess({ inputSize: '224,224', resize: 'shorter=256', crop: 'center', normalize: 'imagenet' });
    expect(spec).toMatchObject({ width: 224, height: 224, resize: 'shorter', shorterSide: 256, crop: 'center' });
    expect(spec.normalize).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  });

  it('accepts explicit mean and std', () => {
    expect(parsePreprocess({ inputSize: '8', mean: '0.5,0.5,0.5', std: '0.25, 0.25, 0.25' }).normalize).toEqual({
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
    });
  });

  it.each([
    [{ inputSize: '8', mean: '0.5' }, undefined, /--mean and --std must be given together/],
    [{ inputSize: '8', mean: '0.5,0.5', std: '1' }, undefined, /has 1 values but --mean has 2/],
    [{ inputSize: '8', mean: '0', std: '0' }, undefined, /positive/],
    [{ inputSize: '8', normalize: 'cifar' }, undefined, /unknown preset 'cifar'/],
    [{ inputSize: '8', normalize: 'imagenet', mean: '0,0,0', std: '1,1,1' }, undefined, /either --normalize or --mean/],
    [{ inputSize: '8', resize: 'shorter', crop: 'none' }, undefined, /needs --crop center/],
    [{ inputSize: '8', resize: 'shorter=4' }, undefined, /smaller than/],
    [{ inputSize: '8', resize: 'bigger' }, undefined, /exact, shorter/],
    [{ inputSize: '16' }, [8, 8], /differs from the model's fixed input size 8,8/],
    [{}, undefined, /give --input-size/],
  ] as const)('rejects %j (model size %j)', (options, modelSize, message) => {
    expect(() => parsePreprocess(options, modelSize ? [...modelSize] : undefined)).toThrow(message);
  });
});

describe('normalisation', () => {
  it('maps black and white to the z-box bounds, per channel', () => {
    const spec = parsePreprocess({ inputSize: '2,1', normalize: 'imagenet' });
    // One sample, 3 channels, 1x2 pixels: black then white in every channel.
    const batch = Float32Array.from([0, 1, 0, 1, 0, 1]);
    normalizeBatch(batch, [1, 3, 1, 2], spec);
    const { low, high } = zBoxBounds(spec, 3);
    for (let c = 0; c < 3; c++) {
      expect(batch[2 * c]).toBeCloseTo(low[c]!, 6);
      expect(batch[2 * c + 1]).toBeCloseTo(high[c]!, 6);
    }
    expect(low[0]).toBeCloseTo(-0.485 / 0.229, 6);
    expect(high[2]).toBeCloseTo((1 - 0.406) / 0.225, 6);
  });

  it('normalises every sample of a batch and leaves [0,1] alone without a normalisation', () => {
    const spec = parsePreprocess({ inputSize: '1', mean: '0.5', std: '0.5' });
    const batch = Float32Array.from([0, 0.5, 1, 0.25]); // 4 samples of 1x1x1
    normalizeBatch(batch, [4, 1, 1, 1], spec);
    expect([...batch]).toEqual([-1, 0, 1, -0.5]);
    const plain = parsePreprocess({ inputSize: '1' });
    expect(zBoxBounds(plain, 3)).toEqual({ low: [0, 0, 0], high: [1, 1, 1] });
  });
});
