/**
 * Tensor helpers shared by the codec, the constant folder, the canonizers and the relevance compiler:
 * the table between ONNX element types and our `DataType`s, constructors for common tensors, and
 * conversions to plain numbers.
 */
import type { DataType, Tensor, TensorData } from './ir.js';

/** ONNX `TensorProto.DataType` numbers of the element types the IR handles. */
export const ONNX_TYPE_OF: Record<DataType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

/** Inverse of `ONNX_TYPE_OF`. */
export const DATA_TYPE_OF: ReadonlyMap<number, DataType> = new Map(Object.entries(ONNX_TYPE_OF).map(([name, code]) => [code, name as DataType]));

/** Bytes per element of each type (bool is stored as one byte, float16 as its raw 16 bits). */
export const BYTES_PER_ELEMENT: Record<DataType, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
};

/** Allocates a zero-filled array of the right typed-array class for `dataType`. */
export function allocate(dataType: DataType, length: number): TensorData {
  switch (dataType) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'float16':
      return new Uint16Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
  }
}

/**
 * Reinterprets little-endian bytes as elements of `dataType`. The bytes are always copied into a
 * fresh, aligned buffer, so the result never aliases the (possibly reused) input.
 */
export function fromBytes(dataType: DataType, bytes: Uint8Array): TensorData {
  const size = BYTES_PER_ELEMENT[dataType];
  if (bytes.byteLength % size !== 0) throw new Error(`raw data of ${bytes.byteLength} bytes is not a whole number of ${dataType} elements`);
  // Not `bytes.slice()`: on a Node Buffer that is a view into the same memory, not a copy.
  const owned = new Uint8Array(bytes.byteLength);
  owned.set(bytes);
  const copy = owned.buffer;
  const length = bytes.byteLength / size;
  switch (dataType) {
    case 'float32':
      return new Float32Array(copy, 0, length);
    case 'float64':
      return new Float64Array(copy, 0, length);
    case 'float16':
      return new Uint16Array(copy, 0, length);
    case 'int64':
      return new BigInt64Array(copy, 0, length);
    case 'int32':
      return new Int32Array(copy, 0, length);
    case 'int16':
      return new Int16Array(copy, 0, length);
    case 'int8':
      return new Int8Array(copy, 0, length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(copy, 0, length);
  }
}

/** The little-endian bytes of a tensor's data (a view, not a copy). */
export function toBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A float32 tensor; `values` is copied. */
export function float32Tensor(name: string, values: ArrayLike<number>, dims: number[]): Tensor {
  const data = Float32Array.from(values);
  checkLength(name, data.length, dims);
  return { name, dataType: 'float32', dims: [...dims], data };
}

/** An int64 tensor from plain numbers (or bigints); `values` is copied. */
export function int64Tensor(name: string, values: ArrayLike<number | bigint>, dims: number[]): Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
  checkLength(name, data.length, dims);
  return { name, dataType: 'int64', dims: [...dims], data };
}

function checkLength(name: string, length: number, dims: number[]): void {
  if (length !== sizeOf(dims)) throw new Error(`tensor ${name}: ${length} values do not fill shape [${dims.join(', ')}]`);
}

/** The elements as plain numbers (int64 beyond 2^53 loses precision; float16 is decoded). */
export function toNumbers(tensor: Tensor): number[] {
  const out = new Array<number>(tensor.data.length);
  if (tensor.dataType === 'float16') {
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(tensor.data[i] as number);
  } else {
    for (let i = 0; i < out.length; i++) out[i] = Number(tensor.data[i]);
  }
  return out;
}

/** The elements as a fresh Float32Array (any numeric type converted). */
export function toFloat32(tensor: Tensor): Float32Array {
  if (tensor.dataType === 'float32') return (tensor.data as Float32Array).slice();
  return Float32Array.from(toNumbers(tensor));
}

/**
 * The elements as float32 WITHOUT copying when the tensor already is float32 (its own, possibly
 * shared, buffer: read it, never write it; see `Tensor`); other types are converted into a fresh array.
 * Prefer this over `toFloat32` wherever the result is only read: weights are hundreds of MB.
 */
export function float32Data(tensor: Tensor): Float32Array {
  return tensor.dataType === 'float32' ? (tensor.data as Float32Array) : toFloat32(tensor);
}

/** A new tensor object (own name and dims) sharing `tensor`'s data buffer: copy-on-write, see `Tensor`. */
export function shareTensor(tensor: Tensor, name = tensor.name): Tensor {
  return { name, dataType: tensor.dataType, dims: [...tensor.dims], data: tensor.data };
}

/** Decodes one IEEE 754 half-precision value from its 16 bits. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** True for the floating-point element types. */
export function isFloatType(dataType: DataType): boolean {
  return dataType === 'float32' || dataType === 'float64' || dataType === 'float16';
}
