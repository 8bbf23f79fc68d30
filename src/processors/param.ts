import { ProcessorError } from './errors.js';
/**
 * Declared parameters of a processor (CoRelAy's `Param`): each has a validator, a default (unless
 * mandatory) and a description for `--help` and error messages. Every parameter whose
 * `affectsResult` is true (all but the bookkeeping ones) is part of the processor's cache key.
 */
export interface ParamSpec<T> {
  readonly description: string;
  readonly default?: T;
  /** No default: reading it before it is set is an error. */
  readonly mandatory?: boolean;
  /** False for bookkeeping parameters (output flag, label) that cannot change the result. */
  readonly affectsResult?: boolean;
  /** Returns the accepted value or throws a TypeError naming what was expected. */
  validate(value: unknown): T;
}

export type ParamSpecs<P> = { readonly [K in keyof P]: ParamSpec<P[K]> };

function fail(expected: string, value: unknown): never {
  throw new ProcessorError(`expected ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
}

interface Common<T> {
  description: string;
  default?: T;
  mandatory?: boolean;
  affectsResult?: boolean;
}

export const param = {
  int(o: Common<number> & { min?: number; max?: number }): ParamSpec<number> {
    return {
      ...o,
      validate(v) {
        if (typeof v !== 'number' || !Number.isInteger(v)) fail('an integer', v);
        if (o.min !== undefined && v < o.min) fail(`an integer ≥ ${o.min}`, v);
        if (o.max !== undefined && v > o.max) fail(`an integer ≤ ${o.max}`, v);
        return v;
      },
    };
  },
  number(o: Common<number> & { min?: number; max?: number; exclusiveMin?: boolean }): ParamSpec<number> {
    return {
      ...o,
      validate(v) {
        if (typeof v !== 'number' || !Number.isFinite(v)) fail('a finite number', v);
        if (o.min !== undefined && (o.exclusiveMin ? v <= o.min : v < o.min)) fail(`a number ${o.exclusiveMin ? '>' : '≥'} ${o.min}`, v);
        if (o.max !== undefined && v > o.max) fail(`a number ≤ ${o.max}`, v);
        return v;
      },
    };
  },
  bool(o: Common<boolean>): ParamSpec<boolean> {
    return {
      ...o,
      validate(v) {
        if (typeof v !== 'boolean') fail('true or false', v);
        return v;
      },
    };
  },
  string(o: Common<string>): ParamSpec<string> {
    return {
      ...o,
      validate(v) {
        if (typeof v !== 'string') fail('a string', v);
        return v;
      },
    };
  },
  oneOf<T extends string>(choices: readonly T[], o: Common<T>): ParamSpec<T> {
    return {
      ...o,
      validate(v) {
        if (typeof v !== 'string' || !choices.includes(v as T)) fail(`one of ${choices.join(', ')}`, v);
        return v as T;
      },
    };
  },
  intList(o: Common<number[]> & { min?: number; max?: number }): ParamSpec<number[]> {
    return {
      ...o,
      validate(v) {
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x))) fail('a list of integers', v);
        const list = v as number[];
        if (o.min !== undefined && list.some((x) => x < o.min!)) fail(`integers ≥ ${o.min}`, v);
        if (o.max !== undefined && list.some((x) => x > o.max!)) fail(`integers ≤ ${o.max}`, v);
        return [...list];
      },
    };
  },
};
