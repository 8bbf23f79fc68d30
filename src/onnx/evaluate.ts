/**
 * JavaScript kernels for the ops that make up constant subgraphs in exported models (shape
 * arithmetic such as `Shape → Gather → Unsqueeze → Concat → Reshape`, casts, weight transposes).
 * Only ops whose result is bit-exact in JS are here (no exp/log/erf), so folding never changes the
 * model's numbers. Used by `shapes.ts` (values that determine shapes) and `fold.ts`.
 */
import type { DataType, Node, Tensor, TensorData } from './ir.js';
import { allocate, sizeOf, toNumbers } from './tensor.js';

/** A kernel: constant inputs (undefined for omitted optional inputs) → one tensor per node output. */
export type Kernel = (node: Node, inputs: Array<Tensor | undefined>, opset: number) => Tensor[];

// Attribute access lives in attributes.ts (shared with shapes.ts and the relevance compiler).
export { attrFloat, attrInt, attrInts, attrString } from './attributes.js';
import { attrInt, attrInts } from './attributes.js';

/** Normalises a possibly negative axis against `rank`; throws when out of range. */
export function normalizeAxis(axis: number, rank: number, node: Node): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`node ${node.name} (${node.opType}): axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Element type numbers as used by Cast's `to` attribute. */
const CAST_TYPES: Record<number, DataType> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

export function castTarget(node: Node): DataType {
  const to = attrInt(node, 'to', 0);
  const type = CAST_TYPES[to];
  if (!type) throw new Error(`node ${node.name} (Cast): target element type ${to} is not supported`);
  return type;
}

// ---------------------------------------------------------------------------------------------
// Building results

/** A tensor of `dataType` from plain numbers (rounded the way a typed-array store rounds). */
export function tensorFromNumbers(name: string, dataType: DataType, dims: number[], values: ArrayLike<number>): Tensor {
  const data = allocate(dataType, values.length);
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i++) data[i] = BigInt(Math.trunc(values[i]!));
  } else if (dataType === 'bool') {
    for (let i = 0; i < values.length; i++) data[i] = values[i] ? 1 : 0;
  } else if (dataType === 'float16') {
    throw new Error('float16 results are not computed in JS');
  } else {
    for (let i = 0; i < values.length; i++) (data as Exclude<TensorData, BigInt64Array>)[i] = values[i]!;
  }
  return { name, dataType, dims, data };
}

/** Same data, new dims (Reshape-like ops). */
function withDims(node: Node, t: Tensor, dims: number[]): Tensor[] {
  return [{ name: node.outputs[0]!, dataType: t.dataType, dims, data: t.data.slice() }];
}

function ints(t: Tensor | undefined): number[] | undefined {
  return t ? toNumbers(t) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Index helpers

export function stridesOf(dims: number[]): number[] {
  const strides = new Array<number>(dims.length);
  let s = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i]!;
  }
  return strides;
}

/** Numpy broadcast of concrete shapes; throws when incompatible. */
export function broadcastDims(shapes: number[][], node: Node): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i]!;
      if (d === 1) continue;
      if (out[j] !== 1 && out[j] !== d)
        throw new Error(`node ${node.name} (${node.opType}): shapes [${shapes.map((x) => x.join(',')).join('] and [')}] do not broadcast`);
      out[j] = d;
    }
  }
  return out;
}

/** For each element of `outDims`, the flat index into a tensor of `dims` broadcast to it. */
function broadcastIndex(dims: number[], outDims: number[]): Int32Array {
  const n = sizeOf(outDims);
  const index = new Int32Array(n);
  const offset = outDims.length - dims.length;
  const inStrides = stridesOf(dims);
  const outStrides = stridesOf(outDims);
  for (let flat = 0; flat < n; flat++) {
    let src = 0;
    let rest = flat;
    for (let k = 0; k < outDims.length; k++) {
      const coord = Math.floor(rest / outStrides[k]!);
      rest -= coord * outStrides[k]!;
      const j = k - offset;
      if (j >= 0 && dims[j] !== 1) src += coord * inStrides[j]!;
    }
    index[flat] = src;
  }
  return index;
}

// ---------------------------------------------------------------------------------------------
// Kernels

const isInt = (t: DataType): boolean => t === 'int64' || t === 'int32' || t === 'int16' || t === 'int8' || t === 'uint8';

function elementwise(resultType: (inputs: Tensor[]) => DataType, f: (values: number[], intMath: boolean) => number): Kernel {
  return (node, raw) => {
    const inputs = raw.filter((t): t is Tensor => t !== undefined);
    const dims = broadcastDims(
      inputs.map((t) => t.dims),
      node,
    );
    const values = inputs.map((t) => toNumbers(t));
    const indices = inputs.map((t) => broadcastIndex(t.dims, dims));
    const intMath = isInt(inputs[0]!.dataType);
    const n = sizeOf(dims);
    const out = new Array<number>(n);
    const args = new Array<number>(inputs.length);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < inputs.length; k++) args[k] = values[k]![indices[k]![i]!]!;
      out[i] = f(args, intMath);
    }
    return [tensorFromNumbers(node.outputs[0]!, resultType(inputs), dims, out)];
  };
}

const sameType = (inputs: Tensor[]): DataType => inputs[0]!.dataType;
const boolType = (): DataType => 'bool';
const unary = (f: (x: number, intMath: boolean) => number): Kernel => elementwise(sameType, (v, i) => f(v[0]!, i));
const binary = (f: (a: number, b: number, intMath: boolean) => number): Kernel => elementwise(sameType, (v, i) => f(v[0]!, v[1]!, i));
const compare = (f: (a: number, b: number) => boolean): Kernel => elementwise(boolType, (v) => (f(v[0]!, v[1]!) ? 1 : 0));

const identity: Kernel = (node, [x]) => [{ ...x!, name: node.outputs[0]!, dims: [...x!.dims], data: x!.data.slice() }];

function shapeKernel(node: Node, [x]: Array<Tensor | undefined>): Tensor[] {
  const rank = x!.dims.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(attrInt(node, 'start', 0));
  const end = clamp(attrInt(node, 'end', rank));
  const dims = x!.dims.slice(start, Math.max(start, end));
  return [tensorFromNumbers(node.outputs[0]!, 'int64', [dims.length], dims)];
}

function gatherKernel(node: Node, [data, indices]: Array<Tensor | undefined>): Tensor[] {
  const rank = data!.dims.length;
  const axis = normalizeAxis(attrInt(node, 'axis', 0), rank, node);
  const idx = toNumbers(indices!).map((i) => (i < 0 ? i + data!.dims[axis]! : i));
  const outer = sizeOf(data!.dims.slice(0, axis));
  const inner = sizeOf(data!.dims.slice(axis + 1));
  const axisLen = data!.dims[axis]!;
  const dims = [...data!.dims.slice(0, axis), ...indices!.dims, ...data!.dims.slice(axis + 1)];
  const out = allocate(data!.dataType, sizeOf(dims));
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const i of idx) {
      if (i < 0 || i >= axisLen) throw new Error(`node ${node.name} (Gather): index ${i} is out of range`);
      const base = (a * axisLen + i) * inner;
      for (let k = 0; k < inner; k++) (out as unknown as Array<number | bigint>)[o++] = data!.data[base + k]!;
    }
  }
  return [{ name: node.outputs[0]!, dataType: data!.dataType, dims, data: out }];
}

/** Axes from the attribute (before `inputOpset`) or the second input (from `inputOpset`). */
export function axesOf(node: Node, inputs: Array<Tensor | undefined>, opset: number, inputOpset: number): number[] | undefined {
  return opset >= inputOpset ? ints(inputs[1]) : attrInts(node, 'axes');
}

function unsqueezeKernel(node: Node, inputs: Array<Tensor | undefined>, opset: number): Tensor[] {
  const x = inputs[0]!;
  return withDims(node, x, unsqueezeDims(node, x.dims, axesOf(node, inputs, opset, 13) ?? []));
}

export function unsqueezeDims<D>(node: Node, dims: D[], axes: number[]): Array<D | 1> {
  const rank = dims.length + axes.length;
  const set = new Set(axes.map((a) => normalizeAxis(a, rank, node)));
  const out: Array<D | 1> = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : dims[j++]!);
  return out;
}

function squeezeKernel(node: Node, inputs: Array<Tensor | undefined>, opset: number): Tensor[] {
  const x = inputs[0]!;
  const axes = axesOf(node, inputs, opset, 13);
  const set = new Set((axes ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normalizeAxis(a, x.dims.length, node)));
  return withDims(
    node,
    x,
    x.dims.filter((_, i) => !set.has(i)),
  );
}

/** Output dims of Reshape; `target` may hold null for entries only known at run time. */
export function reshapeDims(node: Node, inDims: Array<number | null>, target: Array<number | null>): Array<number | null> {
  const allowZero = attrInt(node, 'allowzero', 0) === 1;
  const out: Array<number | null> = target.map((d, i) => (d === 0 && !allowZero ? (i < inDims.length ? inDims[i]! : null) : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const total = inDims.some((d) => d === null) ? null : sizeOf(inDims as number[]);
    const known = out.filter((_, i) => i !== minus);
    out[minus] = total === null || known.some((d) => d === null) ? null : total / sizeOf(known as number[]);
    if (out[minus] !== null && !Number.isInteger(out[minus]))
      throw new Error(`node ${node.name} (Reshape): cannot reshape [${inDims.join(', ')}] to [${target.join(', ')}]`);
  }
  return out;
}

function reshapeKernel(node: Node, [x, shape]: Array<Tensor | undefined>): Tensor[] {
  return withDims(node, x!, reshapeDims(node, x!.dims, toNumbers(shape!)) as number[]);
}

function flattenKernel(node: Node, [x]: Array<Tensor | undefined>): Tensor[] {
  const axis = normalizeAxis(attrInt(node, 'axis', 1), x!.dims.length + 1, node);
  return withDims(node, x!, [sizeOf(x!.dims.slice(0, axis)), sizeOf(x!.dims.slice(axis))]);
}

function concatKernel(node: Node, inputs: Array<Tensor | undefined>): Tensor[] {
  const parts = inputs.filter((t): t is Tensor => t !== undefined);
  const rank = parts[0]!.dims.length;
  const axis = normalizeAxis(attrInt(node, 'axis', 0), rank, node);
  const outer = sizeOf(parts[0]!.dims.slice(0, axis));
  const dims = [...parts[0]!.dims];
  dims[axis] = parts.reduce((s, t) => s + t.dims[axis]!, 0);
  const out = allocate(parts[0]!.dataType, sizeOf(dims)) as unknown as Array<number | bigint>;
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const t of parts) {
      const chunk = sizeOf(t.dims.slice(axis));
      for (let k = 0; k < chunk; k++) out[o++] = t.data[a * chunk + k]!;
    }
  }
  return [{ name: node.outputs[0]!, dataType: parts[0]!.dataType, dims, data: out as unknown as TensorData }];
}

/** Per-axis start/step/count of an ONNX Slice (opset ≥ 10: starts, ends, axes, steps are inputs). */
export function sliceRanges(
  node: Node,
  dims: Array<number | null>,
  starts: number[],
  ends: number[],
  axes?: number[],
  steps?: number[],
): Array<{ start: number; step: number; count: number | null }> {
  const ranges = dims.map((d) => ({ start: 0, step: 1, count: d }));
  const axisList = axes ?? starts.map((_, i) => i);
  axisList.forEach((a, i) => {
    const axis = normalizeAxis(a, dims.length, node);
    const d = dims[axis];
    const step = steps?.[i] ?? 1;
    if (step === 0) throw new Error(`node ${node.name} (Slice): step 0`);
    if (d === null || d === undefined) {
      ranges[axis] = { start: 0, step, count: null };
      return;
    }
    let s = starts[i]!;
    let e = ends[i]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    const count = Math.max(0, Math.ceil((e - s) / step));
    ranges[axis] = { start: s, step, count };
  });
  return ranges;
}

function sliceKernel(node: Node, inputs: Array<Tensor | undefined>): Tensor[] {
  const x = inputs[0]!;
  const ranges = sliceRanges(node, x.dims, toNumbers(inputs[1]!), toNumbers(inputs[2]!), ints(inputs[3]), ints(inputs[4]));
  const dims = ranges.map((r) => r.count!);
  const strides = stridesOf(x.dims);
  const outStrides = stridesOf(dims);
  const n = sizeOf(dims);
  const out = allocate(x.dataType, n) as unknown as Array<number | bigint>;
  for (let flat = 0; flat < n; flat++) {
    let rest = flat;
    let src = 0;
    for (let k = 0; k < dims.length; k++) {
      const c = Math.floor(rest / outStrides[k]!);
      rest -= c * outStrides[k]!;
      src += (ranges[k]!.start + c * ranges[k]!.step) * strides[k]!;
    }
    out[flat] = x.data[src]!;
  }
  return [{ name: node.outputs[0]!, dataType: x.dataType, dims, data: out as unknown as TensorData }];
}

function transposeKernel(node: Node, [x]: Array<Tensor | undefined>): Tensor[] {
  const rank = x!.dims.length;
  const perm = attrInts(node, 'perm') ?? x!.dims.map((_, i) => rank - 1 - i);
  const dims = perm.map((p) => x!.dims[p]!);
  const inStrides = stridesOf(x!.dims);
  const outStrides = stridesOf(dims);
  const n = sizeOf(dims);
  const out = allocate(x!.dataType, n) as unknown as Array<number | bigint>;
  for (let flat = 0; flat < n; flat++) {
    let rest = flat;
    let src = 0;
    for (let k = 0; k < rank; k++) {
      const c = Math.floor(rest / outStrides[k]!);
      rest -= c * outStrides[k]!;
      src += c * inStrides[perm[k]!]!;
    }
    out[flat] = x!.data[src]!;
  }
  return [{ name: node.outputs[0]!, dataType: x!.dataType, dims, data: out as unknown as TensorData }];
}

function expandKernel(node: Node, [x, shape]: Array<Tensor | undefined>): Tensor[] {
  const dims = broadcastDims([x!.dims, toNumbers(shape!)], node);
  const index = broadcastIndex(x!.dims, dims);
  const out = allocate(x!.dataType, index.length) as unknown as Array<number | bigint>;
  for (let i = 0; i < index.length; i++) out[i] = x!.data[index[i]!]!;
  return [{ name: node.outputs[0]!, dataType: x!.dataType, dims, data: out as unknown as TensorData }];
}

function constantOfShapeKernel(node: Node, [shape]: Array<Tensor | undefined>): Tensor[] {
  const dims = toNumbers(shape!);
  const value = node.attributes.value;
  const fill = value?.type === 'tensor' ? value.value : undefined;
  const dataType = fill?.dataType ?? 'float32';
  const out = allocate(dataType, sizeOf(dims));
  if (fill && fill.data.length > 0) (out as unknown as { fill(v: unknown): void }).fill(fill.data[0]);
  return [{ name: node.outputs[0]!, dataType, dims, data: out }];
}

function rangeKernel(node: Node, [start, limit, delta]: Array<Tensor | undefined>): Tensor[] {
  const s = toNumbers(start!)[0]!;
  const l = toNumbers(limit!)[0]!;
  const d = toNumbers(delta!)[0]!;
  const n = Math.max(Math.ceil((l - s) / d), 0);
  const values = Array.from({ length: n }, (_, i) => s + i * d);
  return [tensorFromNumbers(node.outputs[0]!, start!.dataType, [n], values)];
}

function castKernel(node: Node, [x]: Array<Tensor | undefined>): Tensor[] {
  const to = castTarget(node);
  const values = toNumbers(x!);
  return [tensorFromNumbers(node.outputs[0]!, to, [...x!.dims], values)];
}

function dropoutKernel(node: Node, [x]: Array<Tensor | undefined>): Tensor[] {
  const out = identity(node, [x], 0);
  if (node.outputs.length > 1 && node.outputs[1]) out.push(tensorFromNumbers(node.outputs[1], 'bool', [...x!.dims], new Array<number>(x!.data.length).fill(1)));
  return out;
}

const truncDiv = (a: number, b: number, intMath: boolean): number => (intMath ? Math.trunc(a / b) : a / b);
/** ONNX Mod: fmod = 0 (integers only) takes the divisor's sign, like Python's %; fmod = 1 the dividend's, like C's fmod. */
const modKernel: Kernel = (node, inputs, opset) => {
  const cStyle = attrInt(node, 'fmod', 0) === 1;
  return binary((a, b) => (cStyle ? a % b : a - b * Math.floor(a / b)))(node, inputs, opset);
};

/** Kernels keyed by op type (default domain only). */
export const kernels: Record<string, Kernel> = {
  Identity: identity,
  Dropout: dropoutKernel,
  Shape: shapeKernel,
  Size: (node, [x]) => [tensorFromNumbers(node.outputs[0]!, 'int64', [], [x!.data.length])],
  Cast: castKernel,
  Gather: gatherKernel,
  Unsqueeze: unsqueezeKernel,
  Squeeze: squeezeKernel,
  Reshape: reshapeKernel,
  Flatten: flattenKernel,
  Concat: concatKernel,
  Slice: sliceKernel,
  Transpose: transposeKernel,
  Expand: expandKernel,
  ConstantOfShape: constantOfShapeKernel,
  Range: rangeKernel,
  Neg: unary((x) => -x),
  Abs: unary((x) => Math.abs(x)),
  Sqrt: unary((x) => Math.sqrt(x)),
  Reciprocal: unary((x) => 1 / x),
  Floor: unary((x) => Math.floor(x)),
  Ceil: unary((x) => Math.ceil(x)),
  Relu: unary((x) => Math.max(x, 0)),
  Sign: unary((x) => Math.sign(x)),
  Not: elementwise(boolType, (v) => (v[0] ? 0 : 1)),
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary(truncDiv),
  Mod: modKernel,
  Min: elementwise(sameType, (v) => Math.min(...v)),
  Max: elementwise(sameType, (v) => Math.max(...v)),
  Equal: compare((a, b) => a === b),
  Less: compare((a, b) => a < b),
  Greater: compare((a, b) => a > b),
  LessOrEqual: compare((a, b) => a <= b),
  GreaterOrEqual: compare((a, b) => a >= b),
  And: elementwise(boolType, (v) => (v[0] && v[1] ? 1 : 0)),
  Or: elementwise(boolType, (v) => (v[0] || v[1] ? 1 : 0)),
  Where: elementwise(
    (inputs) => inputs[1]!.dataType,
    (v) => (v[0] ? v[1]! : v[2]!),
  ),
};

/**
 * Evaluates `node` on constant inputs, or returns undefined when no exact JS kernel exists for it
 * (other domains, float16 results, unsupported ops) or the kernel rejects the inputs.
 */
export function evaluateNode(node: Node, inputs: Array<Tensor | undefined>, opset: number): Tensor[] | undefined {
  if (node.domain !== '') return undefined;
  const kernel = kernels[node.opType];
  if (!kernel) return undefined;
  if (inputs.some((t) => t?.dataType === 'float16')) return undefined;
  try {
    return kernel(node, inputs, opset);
  } catch {
    // Not foldable here (unsupported variant, float16 result, invalid indices): leave it to the runtime.
    return undefined;
  }
}
