/**
 * The relevance compiler's drawing board: a `GraphBuilder` plus the static shape of every value it
 * emits, and small helpers for the element-wise algebra the rules are written in (z + sgn(z)·ε,
 * R / z, masks, broadcast-aware sums). Every helper returns the name of a new value.
 */
import { attr, GraphBuilder } from '../onnx/builder.js';
import type { Attribute, Graph } from '../onnx/ir.js';
import { sizeOf } from '../onnx/tensor.js';

export class Emitter {
  readonly builder: GraphBuilder;
  /** Static shape of every value the compiler knows (forward values and everything emitted). */
  readonly shapes: Map<string, number[]>;
  private readonly scalars = new Map<number, string>();
  private readonly arrays = new Map<Float32Array, string>();

  constructor(graph: Graph, shapes: Map<string, number[]>) {
    this.builder = new GraphBuilder(graph);
    this.shapes = new Map(shapes);
    // Linear layers hand out the model's own weight buffers (see LinearLayer.weight): a constant
    // asked for with such a buffer and the initializer's dims IS that initializer, so the weight is
    // neither duplicated in the encoded model nor in onnxruntime's memory.
    for (const [name, t] of graph.initializers) {
      if (t.dataType === 'float32' && t.data instanceof Float32Array && !this.arrays.has(t.data)) {
        this.arrays.set(t.data, name);
        this.shapes.set(name, [...t.dims]);
      }
    }
  }

  shape(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`relevance compiler: no static shape known for value ${name}`);
    return s;
  }

  /** Emits `opType(inputs)`; the first output gets `shape` (when given). */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute>, shape: number[] | undefined, prefix = 'rel'): string {
    const [out] = this.builder.addNode(opType, inputs, attributes, 1, { outputPrefix: `${prefix}_${opType}` });
    if (shape) this.shapes.set(out!, shape);
    return out!;
  }

  /** Emits a node with several outputs, each with its shape. */
  opMulti(opType: string, inputs: string[], attributes: Record<string, Attribute>, shapes: number[][], prefix = 'rel'): string[] {
    const outs = this.builder.addNode(opType, inputs, attributes, shapes.length, { outputPrefix: `${prefix}_${opType}` });
    outs.forEach((o, i) => this.shapes.set(o, shapes[i]!));
    return outs;
  }

  /**
   * A float32 constant (initializer) of the given shape. A Float32Array is used without copying and
   * emitted once however often it is asked for (rules reuse modified weights between passes).
   */
  constant(values: ArrayLike<number>, dims: number[], prefix = 'rel_const'): string {
    if (values instanceof Float32Array) {
      const known = this.arrays.get(values);
      if (known && sameShape(this.shape(known), dims)) return known;
      const name = this.builder.addInitializer({ name: prefix, dataType: 'float32', dims: [...dims], data: values });
      this.arrays.set(values, name);
      this.shapes.set(name, dims);
      return name;
    }
    const name = this.builder.constant(values, dims, prefix);
    this.shapes.set(name, dims);
    return name;
  }

  /** A shared rank-0 float32 constant. */
  scalar(value: number): string {
    const key = Object.is(value, -0) ? 0 : value;
    let name = this.scalars.get(key);
    if (!name) {
      name = this.constant([value], [], 'rel_scalar');
      this.scalars.set(key, name);
    }
    return name;
  }

  int64(values: number[], dims: number[] = [values.length]): string {
    const name = this.builder.constantInt64(values, dims, 'rel_i64');
    this.shapes.set(name, dims);
    return name;
  }

  // ---- element-wise algebra (NumPy broadcasting; the result takes the broadcast shape) ----

  private binary(opType: string, a: string, b: string): string {
    return this.op(opType, [a, b], {}, broadcastShapes(this.shape(a), this.shape(b)));
  }

  add(a: string, b: string): string {
    return this.binary('Add', a, b);
  }
  sub(a: string, b: string): string {
    return this.binary('Sub', a, b);
  }
  mul(a: string, b: string): string {
    return this.binary('Mul', a, b);
  }
  div(a: string, b: string): string {
    return this.binary('Div', a, b);
  }
  scale(a: string, factor: number): string {
    return factor === 1 ? a : this.mul(a, this.scalar(factor));
  }
  neg(a: string): string {
    return this.op('Neg', [a], {}, this.shape(a));
  }
  relu(a: string): string {
    return this.op('Relu', [a], {}, this.shape(a));
  }
  /** min(a, 0) */
  negativePart(a: string): string {
    return this.op('Min', [a, this.scalar(0)], {}, this.shape(a));
  }
  sigmoid(a: string): string {
    return this.op('Sigmoid', [a], {}, this.shape(a));
  }

  greater(a: string, b: string): string {
    return this.binary('Greater', a, b);
  }
  less(a: string, b: string): string {
    return this.binary('Less', a, b);
  }
  and(a: string, b: string): string {
    return this.binary('And', a, b);
  }
  /** cond ? a : b */
  where(cond: string, a: string, b: string): string {
    return this.op('Where', [cond, a, b], {}, broadcastShapes(this.shape(cond), broadcastShapes(this.shape(a), this.shape(b))));
  }

  /** Sum of several same-shaped (or broadcastable) values; one value is returned as is. */
  sum(values: string[]): string {
    if (values.length === 0) throw new Error('sum of nothing');
    if (values.length === 1) return values[0]!;
    const shape = values.map((v) => this.shape(v)).reduce(broadcastShapes);
    return this.op('Sum', values, {}, shape);
  }

  reshape(a: string, shape: number[]): string {
    if (sameShape(this.shape(a), shape)) return a;
    return this.op('Reshape', [a, this.int64(shape)], {}, shape);
  }

  /** Sums `a` over the axes where it is larger than `shape` (undoing broadcasting), then reshapes to `shape`. */
  reduceTo(a: string, shape: number[]): string {
    const from = this.shape(a);
    if (sameShape(from, shape)) return a;
    const offset = from.length - shape.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      const target = i < offset ? 1 : shape[i - offset]!;
      if (target === 1 && from[i] !== 1) axes.push(i);
    }
    let out = a;
    if (axes.length > 0) {
      const kept = from.map((d, i) => (axes.includes(i) ? 1 : d));
      out = this.op('ReduceSum', [a, this.int64(axes)], { keepdims: attr.int(1) }, kept);
    }
    return this.reshape(out, shape);
  }

  /** Broadcasts `a` up to `shape`. */
  expand(a: string, shape: number[]): string {
    if (sameShape(this.shape(a), shape)) return a;
    return this.op('Expand', [a, this.int64(shape)], {}, shape);
  }

  zeros(shape: number[]): string {
    return this.expand(this.scalar(0), shape);
  }

  concat(values: string[], axis: number): string {
    if (values.length === 1) return values[0]!;
    const shapes = values.map((v) => this.shape(v));
    const out = [...shapes[0]!];
    out[axis] = shapes.reduce((n, s) => n + s[axis]!, 0);
    return this.op('Concat', values, { axis: attr.int(axis) }, out);
  }

  split(a: string, axis: number, sizes: number[]): string[] {
    if (sizes.length === 1) return [a];
    const shape = this.shape(a);
    return this.opMulti(
      'Split',
      [a, this.int64(sizes)],
      { axis: attr.int(axis) },
      sizes.map((n) => shape.map((d, i) => (i === axis ? n : d))),
    );
  }

  numel(name: string): number {
    return sizeOf(this.shape(name));
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function broadcastShapes(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}
