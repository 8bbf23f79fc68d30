import { ProcessorError } from './errors.js';
import { type Tensor, asFloat64, expectTensor, tensor } from './data.js';
import { param } from './param.js';
import { defineProcessor, Processor, type BaseOptions } from './processor.js';
import type { NoParams } from './processor.js';

/** float32 output like numpy on float32 input; float64 stays float64. */
function like(input: Tensor, shape: number[], values: Float64Array | Float32Array): Tensor {
  if (input.dtype === 'float64') return tensor('float64', shape, values instanceof Float64Array ? values : Float64Array.from(values));
  return tensor('float32', shape, values instanceof Float32Array ? values : Float32Array.from(values));
}

/** (N, C, H, W) → (N, H, W): sum over the channel axis. */
export const SumChannelType = defineProcessor<NoParams>({
  name: 'SumChannel',
  description: 'sum over the channel axis: (N,C,…) → (N,…)',
  params: {},
  compute(input) {
    const t = expectTensor(input, 'SumChannel', 2);
    const [n, c] = t.shape as [number, number];
    const rest = t.shape.slice(2);
    const inner = rest.reduce((a, b) => a * b, 1);
    // Accumulate in the input's precision, as numpy does (and without a float64 copy of large inputs).
    const out = t.dtype === 'float64' ? new Float64Array(n * inner) : new Float32Array(n * inner);
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        const src = (i * c + ch) * inner;
        for (let p = 0; p < inner; p++) out[i * inner + p]! += t.data[src + p]!;
      }
    }
    return like(t, [n, ...rest], out);
  },
});

/** Element-wise absolute value. */
export const AbsoluteType = defineProcessor<NoParams>({
  name: 'Absolute',
  description: 'element-wise |x|',
  params: {},
  compute(input) {
    const t = expectTensor(input, 'Absolute');
    const out = t.dtype === 'float64' ? new Float64Array(t.data.length) : new Float32Array(t.data.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.abs(t.data[i]!);
    return like(t, [...t.shape], out);
  },
});

export interface NormalizeParams {
  axes: number[];
}

/**
 * x / x.sum(axes, keepdims=True): each sample divided by its *signed* total, as CoRelAy's examples
 * do. A slice that sums to exactly 0 is left as zeros instead of becoming NaN.
 */
export const NormalizeType = defineProcessor<NormalizeParams>({
  name: 'Normalize',
  description: 'divide by the signed sum over the given axes',
  params: { axes: param.intList({ description: 'axes to sum over', default: [1, 2], min: 0 }) },
  compute(input, { axes }) {
    const t = expectTensor(input, 'Normalize');
    const rank = t.shape.length;
    if (axes.some((a) => a >= rank)) throw new ProcessorError(`axes [${axes.join(', ')}] do not fit a tensor of shape [${t.shape.join(', ')}]`);
    const sortedAxes = [...new Set(axes)].sort((a, b) => a - b);
    if (sortedAxes.length > 0 && sortedAxes.every((a, i) => a === rank - sortedAxes.length + i)) {
      // Trailing axes (the usual case): every kept index owns one contiguous block.
      const block = t.shape.slice(rank - sortedAxes.length).reduce((a, b) => a * b, 1);
      const out = t.dtype === 'float64' ? new Float64Array(t.data.length) : new Float32Array(t.data.length);
      for (let start = 0; start < t.data.length; start += block) {
        let s = 0;
        for (let e = start; e < start + block; e++) s += t.data[e]!;
        for (let e = start; e < start + block; e++) out[e] = s === 0 ? 0 : t.data[e]! / s;
      }
      return like(t, [...t.shape], out);
    }
    // Index of the kept (not summed) coordinates for every element.
    const keptShape = t.shape.map((s, a) => (axes.includes(a) ? 1 : s));
    const keptStrides = stridesOf(keptShape);
    const strides = stridesOf(t.shape);
    const sums = new Float64Array(keptShape.reduce((a, b) => a * b, 1));
    const keptIndex = new Int32Array(t.data.length);
    for (let e = 0; e < t.data.length; e++) {
      let rem = e;
      let k = 0;
      for (let a = 0; a < rank; a++) {
        const coord = Math.floor(rem / strides[a]!);
        rem -= coord * strides[a]!;
        if (!axes.includes(a)) k += coord * keptStrides[a]!;
      }
      keptIndex[e] = k;
      sums[k]! += t.data[e]!;
    }
    const out = new Float64Array(t.data.length);
    for (let e = 0; e < out.length; e++) {
      const s = sums[keptIndex[e]!]!;
      out[e] = s === 0 ? 0 : t.data[e]! / s;
    }
    return like(t, [...t.shape], out);
  },
});

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let a = shape.length - 2; a >= 0; a--) strides[a] = strides[a + 1]! * shape[a + 1]!;
  return strides;
}

/** (N, …) → (N, prod(…)); shares the data. */
export const FlattenType = defineProcessor<NoParams>({
  name: 'Flatten',
  description: 'reshape to (N, features)',
  params: {},
  compute(input) {
    const t = expectTensor(input, 'Flatten');
    const n = t.shape[0]!;
    return tensor(t.dtype, [n, n === 0 ? 0 : t.data.length / n], t.data as never);
  },
});

export interface HistogramParams {
  bins: number;
  channelsFirst: boolean;
}

/**
 * Per sample and channel, numpy.histogram(values, bins, density=True) over that channel's pixels
 * with range [min, max] (widened to ±0.5 when min = max, as numpy does). (N,C,H,W) → (N,C,bins);
 * (N,H,W) counts as one channel.
 */
export const HistogramType = defineProcessor<HistogramParams>({
  name: 'Histogram',
  description: 'per-channel density histograms',
  params: {
    bins: param.int({ description: 'number of bins', default: 32, min: 1 }),
    channelsFirst: param.bool({ description: 'input is (N,C,H,W) rather than (N,H,W,C)', default: true }),
  },
  compute(input, { bins, channelsFirst }) {
    const t = expectTensor(input, 'Histogram', 3);
    const n = t.shape[0]!;
    let c: number;
    let pixels: number;
    let at: (i: number, ch: number, p: number) => number;
    if (t.shape.length === 3) {
      c = 1;
      pixels = t.shape[1]! * t.shape[2]!;
      at = (i, _ch, p) => t.data[i * pixels + p]!;
    } else if (channelsFirst) {
      c = t.shape[1]!;
      pixels = t.shape.slice(2).reduce((a, b) => a * b, 1);
      at = (i, ch, p) => t.data[(i * c + ch) * pixels + p]!;
    } else {
      c = t.shape[t.shape.length - 1]!;
      pixels = t.shape.slice(1, -1).reduce((a, b) => a * b, 1);
      at = (i, ch, p) => t.data[(i * pixels + p) * c + ch]!;
    }
    const out = new Float64Array(n * c * bins);
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let p = 0; p < pixels; p++) {
          const v = at(i, ch, p);
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (lo === hi) {
          lo -= 0.5;
          hi += 0.5;
        }
        const width = (hi - lo) / bins;
        const o = (i * c + ch) * bins;
        for (let p = 0; p < pixels; p++) {
          const v = at(i, ch, p);
          // numpy: the last bin is closed on the right.
          const b = v === hi ? bins - 1 : Math.floor((v - lo) / width);
          out[o + Math.min(bins - 1, Math.max(0, b))]!++;
        }
        for (let b = 0; b < bins; b++) out[o + b] = out[o + b]! / (pixels * width);
      }
    }
    return like(t, [n, c, bins], out);
  },
});

export interface PoolingParams {
  stride: number[];
  reduction: 'mean' | 'sum' | 'max';
}

/**
 * Block reduction (skimage's block_reduce): each block of `stride` (one entry per axis) becomes one
 * value; edges not divisible by the stride are padded with 0. `mean` is average-pool downsampling.
 */
export const PoolingType = defineProcessor<PoolingParams>({
  name: 'Pooling',
  description: 'block reduction (average-pool downsampling by default)',
  params: {
    stride: param.intList({ description: 'block size per axis', default: [1, 1, 2, 2], min: 1 }),
    reduction: param.oneOf(['mean', 'sum', 'max'] as const, { description: 'how a block is reduced', default: 'mean' }),
  },
  compute(input, { stride, reduction }) {
    const t = expectTensor(input, 'Pooling');
    if (stride.length !== t.shape.length) throw new ProcessorError(`stride [${stride.join(', ')}] needs one entry per axis of [${t.shape.join(', ')}]`);
    const outShape = t.shape.map((s, a) => Math.ceil(s / stride[a]!));
    const blockSize = stride.reduce((a, b) => a * b, 1);
    const inStrides = stridesOf(t.shape);
    const outStrides = stridesOf(outShape);
    const size = outShape.reduce((a, b) => a * b, 1);
    const out = new Float64Array(size).fill(reduction === 'max' ? -Infinity : 0);
    const seen = new Int32Array(size);
    const values = asFloat64(t);
    for (let e = 0; e < values.length; e++) {
      let rem = e;
      let o = 0;
      for (let a = 0; a < t.shape.length; a++) {
        const coord = Math.floor(rem / inStrides[a]!);
        rem -= coord * inStrides[a]!;
        o += Math.floor(coord / stride[a]!) * outStrides[a]!;
      }
      const v = values[e]!;
      if (reduction === 'max') out[o] = Math.max(out[o]!, v);
      else out[o]! += v;
      seen[o]!++;
    }
    for (let o = 0; o < size; o++) {
      if (reduction === 'mean')
        out[o] = out[o]! / blockSize; // padding zeros count, as in block_reduce
      else if (reduction === 'max' && seen[o]! < blockSize) out[o] = Math.max(out[o]!, 0);
    }
    return like(t, outShape, out);
  },
});

export const SumChannel = (o: BaseOptions = {}) => new Processor(SumChannelType, o);
export const Absolute = (o: BaseOptions = {}) => new Processor(AbsoluteType, o);
export const Normalize = (axes: number[] = [1, 2], o: BaseOptions = {}) => new Processor(NormalizeType, { axes, ...o });
export const Flatten = (o: BaseOptions = {}) => new Processor(FlattenType, o);
export const Histogram = (bins = 32, o: BaseOptions = {}) => new Processor(HistogramType, { bins, ...o });
export const Pooling = (stride: number[], reduction: PoolingParams['reduction'] = 'mean', o: BaseOptions = {}) =>
  new Processor(PoolingType, { stride, reduction, ...o });
