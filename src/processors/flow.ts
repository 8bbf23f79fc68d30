import { ProcessorError } from './errors.js';
import { type Data, describeData, isTuple } from './data.js';
import type { ParamSpec } from './param.js';
import { type BaseOptions, defineProcessor, Processor } from './processor.js';
import type { NoParams } from './processor.js';

/** A parameter holding a list of processors (flow children). */
export function processorList(description: string): ParamSpec<Processor<any>[]> {
  return {
    description,
    mandatory: true,
    validate(v) {
      if (!Array.isArray(v) || v.some((p) => !(p instanceof Processor))) throw new ProcessorError('expected a list of processors');
      return [...v];
    },
  };
}

export interface SequentialParams {
  children: Processor<any>[];
}

/** Feeds the input to the first child, its output to the second, …; returns the last output. */
export const SequentialType = defineProcessor<SequentialParams>({
  name: 'Sequential',
  description: 'run children one after the other, each on the previous output',
  cacheable: false,
  group: { childrenParam: 'children', outputs: 'last' },
  params: { children: processorList('the processors, in order') },
  compute(input, { children }, context) {
    return children.reduce<Data>((data, child) => child.run(data, context), input);
  },
});

export interface ParallelParams {
  children: Processor<any>[];
  broadcast: boolean;
}

/**
 * A tuple with one entry per child. With `broadcast` (or a non-tuple input) every child gets the
 * same input; otherwise the input tuple is zipped with the children (lengths must match).
 */
export const ParallelType = defineProcessor<ParallelParams>({
  name: 'Parallel',
  description: 'run children side by side; returns a tuple',
  cacheable: false,
  group: { childrenParam: 'children', outputs: 'each' },
  params: {
    children: processorList('the processors'),
    broadcast: { description: 'give every child the whole input', default: false, validate: (v) => checkBool(v) },
  },
  compute(input, { children, broadcast }, context) {
    if (broadcast || !isTuple(input)) return children.map((child) => child.run(input, context));
    if (input.length !== children.length) throw new ProcessorError(`Parallel has ${children.length} children but the input is a ${describeData(input)}`);
    return children.map((child, i) => child.run(input[i]!, context));
  },
});

function checkBool(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ProcessorError(`expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

type Indices = number | readonly Indices[];

export interface ShaperParams {
  indices: Indices[];
}

/** Picks elements of a tuple by (nested) index: Shaper([1, [0, 2]]) on (a, b, c) gives (b, (a, c)). */
export const ShaperType = defineProcessor<ShaperParams>({
  name: 'Shaper',
  description: 'pick and regroup tuple elements by index',
  cacheable: false,
  params: {
    indices: {
      description: 'nested list of indices',
      mandatory: true,
      validate(v) {
        const ok = (x: unknown): boolean => (typeof x === 'number' && Number.isInteger(x)) || (Array.isArray(x) && x.every(ok));
        if (!Array.isArray(v) || !ok(v)) throw new ProcessorError('expected a nested list of integers');
        return v as Indices[];
      },
    },
  },
  compute(input, { indices }) {
    const items: readonly Data[] = isTuple(input) ? input : [input];
    const pick = (ix: Indices): Data => {
      if (typeof ix === 'number') {
        const item = items[ix];
        if (item === undefined) throw new ProcessorError(`index ${ix} out of range for ${items.length} elements`);
        return item;
      }
      return (ix as readonly Indices[]).map(pick);
    };
    return indices.map(pick);
  },
});

/** Returns its input unchanged (the default task processor). */
export const IdentityType = defineProcessor<NoParams>({
  name: 'Identity',
  description: 'pass the input through',
  cacheable: false,
  params: {},
  compute: (input) => input,
});

export interface SelectParams {
  index: number;
}

/** Element `index` of a tuple (SpectralClustering's `select_eigenvector` is Select(1)). */
export const SelectType = defineProcessor<SelectParams>({
  name: 'Select',
  description: 'take one element of a tuple',
  cacheable: false,
  params: {
    index: {
      description: 'position in the tuple',
      default: 0,
      validate(v) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ProcessorError(`expected a non-negative integer, got ${JSON.stringify(v)}`);
        return v;
      },
    },
  },
  compute(input, { index }) {
    if (!isTuple(input) || index >= input.length) throw new ProcessorError(`cannot take element ${index} of ${describeData(input)}`);
    return input[index]!;
  },
});

export const Sequential = (children: Processor<any>[], options: BaseOptions = {}) => new Processor(SequentialType, { children, ...options });
export const Parallel = (children: Processor<any>[], options: BaseOptions & { broadcast?: boolean } = {}) =>
  new Processor(ParallelType, { children, ...options });
export const Shaper = (indices: Indices[], options: BaseOptions = {}) => new Processor(ShaperType, { indices, ...options });
export const Identity = (options: BaseOptions = {}) => new Processor(IdentityType, options);
export const Select = (index: number, options: BaseOptions = {}) => new Processor(SelectType, { index, ...options });
