import { ProcessorError } from './errors.js';
import { contentHash, type Data, describeData, sha256 } from './data.js';
import type { ParamSpec, ParamSpecs } from './param.js';

/** Where processors keep results between runs (CoRelAy's `io`). */
export interface Storage {
  /** The stored result for `key`, or undefined. */
  read(key: string): Data | undefined;
  write(key: string, data: Data, meta: { processor: string; params: unknown }): void;
}

/** The default storage: nothing is kept (CoRelAy's NoStorage). */
export const noStorage: Storage = {
  read: () => undefined,
  write: () => {},
};

/** Counts per processor type: computed (cache misses or uncached) and read from the cache. */
export class RunStats {
  readonly computed = new Map<string, number>();
  readonly hits = new Map<string, number>();

  count(map: Map<string, number>, name: string): void {
    map.set(name, (map.get(name) ?? 0) + 1);
  }

  get totalComputed(): number {
    return [...this.computed.values()].reduce((a, b) => a + b, 0);
  }

  get totalHits(): number {
    return [...this.hits.values()].reduce((a, b) => a + b, 0);
  }

  /** "KMeans×2, TSNE×1" */
  static summary(map: Map<string, number>): string {
    return (
      [...map.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}×${v}`)
        .join(', ') || 'none'
    );
  }
}

export interface RunContext {
  /** Cache for every cacheable processor (noStorage when none was given). */
  readonly storage: Storage;
  readonly stats: RunStats;
  /** Called between steps; throws to stop (Ctrl-C). */
  checkpoint(): void;
  /** Step messages ("k-means k=5 …") for progress output. */
  step?(processor: Processor<any>, cached: boolean): void;
}

export function createContext(options: Partial<RunContext> = {}): RunContext {
  return { storage: options.storage ?? noStorage, stats: options.stats ?? new RunStats(), checkpoint: options.checkpoint ?? (() => {}), step: options.step };
}

/**
 * A processor kind: its declared parameters and the function it computes. Processor *instances*
 * (below) hold parameter values; types are registered by name so YAML pipelines can refer to them.
 */
export interface ProcessorType<P extends object> {
  readonly name: string;
  readonly description: string;
  readonly params: ParamSpecs<P>;
  /** False for flows and pipelines: their children are cached one by one instead. */
  readonly cacheable?: boolean;
  compute(input: Data, params: P, context: RunContext): Data;
  /** Default output name (dataset name in the analysis file), from the parameter values. */
  label?(params: P): string;
  /** Set for flows whose parameter holds child processors (Sequential, Parallel): see GroupHook. */
  readonly group?: GroupHook<P>;
  /** Clusterings whose parameters fix the number of clusters (k-means, Ward) return it here. */
  clusterCount?(params: P): number;
}

/**
 * What a flow tells the rest of the engine about its children, so that the config reader, the
 * output collector and the progress counter handle every flow alike without knowing its name.
 */
export interface GroupHook<P extends object> {
  /** The parameter that holds the child list (built recursively by the config reader). */
  readonly childrenParam: keyof P & string;
  /** 'each': the output is a tuple with one entry per child; 'last': the last child's output is the output. */
  readonly outputs: 'each' | 'last';
}

/** Options every processor accepts (CoRelAy's base params); none of them changes the result. */
export interface BaseOptions {
  /** Collect this processor's result into its pipeline's output. */
  isOutput?: boolean;
  /** Keep the last output in memory so a pipeline can resume from here. */
  isCheckpoint?: boolean;
  /** Output name; defaults to the type's label. */
  label?: string;
  /** Set false to bypass the cache for this processor. */
  cache?: boolean;
}

type AnyParams = Record<string, unknown>;

/** Parameter type of processors without parameters. */
// biome-ignore lint/complexity/noBannedTypes: `{}` (not Record<string, never>) so that `Partial<NoParams> & BaseOptions` still admits the base options.
export type NoParams = {};

export class Processor<P extends object = AnyParams> {
  readonly type: ProcessorType<P>;
  isOutput: boolean;
  isCheckpoint: boolean;
  cache: boolean;
  checkpointData: Data | undefined;
  private labelValue: string | undefined;
  private readonly values = new Map<string, unknown>();
  private readonly instanceDefaults = new Map<string, unknown>();

  constructor(type: ProcessorType<P>, values: Partial<P> & BaseOptions = {}) {
    this.type = type;
    const { isOutput, isCheckpoint, label, cache, ...rest } = values as BaseOptions & AnyParams;
    this.isOutput = isOutput ?? false;
    this.isCheckpoint = isCheckpoint ?? false;
    this.cache = cache ?? true;
    this.labelValue = label;
    for (const [name, value] of Object.entries(rest)) if (value !== undefined) this.set(name as keyof P & string, value as never);
  }

  get name(): string {
    return this.type.name;
  }

  private spec(name: string): ParamSpec<unknown> {
    const spec = (this.type.params as Record<string, ParamSpec<unknown> | undefined>)[name];
    if (!spec) throw new ProcessorError(`${this.type.name} has no parameter '${name}' (it has: ${Object.keys(this.type.params).join(', ') || 'none'})`);
    return spec;
  }

  private validated(name: string, value: unknown): unknown {
    try {
      return this.spec(name).validate(value);
    } catch (error) {
      if (error instanceof ProcessorError && !error.message.startsWith(this.type.name)) throw new ProcessorError(`${this.type.name}.${name}: ${error.message}`);
      throw error;
    }
  }

  /** Sets a parameter (validated; `undefined` clears it back to the defaults). */
  set<K extends keyof P & string>(name: K, value: P[K] | undefined): this {
    if (value === undefined) this.values.delete(name);
    else this.values.set(name, this.validated(name, value));
    return this;
  }

  /** Per-instance defaults (CoRelAy's `update_defaults`): used where no value was set. */
  updateDefaults(values: Partial<P> & BaseOptions): this {
    const { isOutput, label, ...rest } = values as BaseOptions & AnyParams;
    if (isOutput !== undefined) this.isOutput = isOutput;
    if (label !== undefined) this.labelValue ??= label;
    for (const [name, value] of Object.entries(rest)) {
      if (value === undefined) continue;
      this.instanceDefaults.set(name, this.validated(name, value));
    }
    return this;
  }

  /** Resolution order: set value → per-instance default → declared default. */
  get<K extends keyof P & string>(name: K): P[K] {
    if (this.values.has(name)) return this.values.get(name) as P[K];
    if (this.instanceDefaults.has(name)) return this.instanceDefaults.get(name) as P[K];
    const spec = this.spec(name);
    if (spec.mandatory || spec.default === undefined) throw new ProcessorError(`${this.type.name}.${name} is mandatory and was not set`);
    return spec.default as P[K];
  }

  /** The child processors of a flow (see GroupHook); empty for every other processor. */
  children(): readonly Processor<any>[] {
    const group = this.type.group;
    return group ? (this.get(group.childrenParam) as readonly Processor<any>[]) : [];
  }

  /** Whether the processor has a parameter of that name. */
  has(name: string): boolean {
    return name in this.type.params;
  }

  /** All resolved parameter values. */
  params(): P {
    const out: AnyParams = {};
    for (const name of Object.keys(this.type.params)) out[name] = this.get(name as keyof P & string);
    return out as P;
  }

  get label(): string {
    return this.labelValue ?? this.type.label?.(this.params()) ?? this.type.name;
  }

  set label(value: string) {
    this.labelValue = value;
  }

  /**
   * What the cache key is made of: the type name and *every* parameter that can change the result
   * (nested processors by their own identity). Unlike CoRelAy, nothing is left out.
   */
  identity(): { processor: string; params: unknown } {
    const params: AnyParams = {};
    for (const [name, spec] of Object.entries(this.type.params) as Array<[string, ParamSpec<unknown>]>) {
      if (spec.affectsResult === false) continue;
      params[name] = canonical(this.get(name as keyof P & string));
    }
    return { processor: this.type.name, params };
  }

  /** Cache key of this processor applied to `input`. */
  key(input: Data): string {
    return sha256(JSON.stringify({ ...this.identity(), input: contentHash(input) }));
  }

  /** CoRelAy's `__call__`: read from the cache or compute (and store). */
  run(input: Data, context: RunContext): Data {
    context.checkpoint();
    const cacheable = this.cache && this.type.cacheable !== false && context.storage !== noStorage;
    let output: Data | undefined;
    let key: string | undefined;
    if (cacheable) {
      key = this.key(input);
      output = context.storage.read(key);
      if (output !== undefined) {
        context.stats.count(context.stats.hits, this.type.name);
        context.step?.(this, true);
      }
    }
    if (output === undefined) {
      output = this.compute(input, context);
      if (this.type.cacheable !== false) {
        context.stats.count(context.stats.computed, this.type.name);
        context.step?.(this, false);
      }
      if (cacheable) context.storage.write(key!, output, this.identity());
    }
    if (this.isCheckpoint) this.checkpointData = output;
    return output;
  }

  /** The function itself, without the cache. */
  compute(input: Data, context: RunContext): Data {
    try {
      return this.type.compute(input, this.params(), context);
    } catch (error) {
      if (error instanceof ProcessorError && !error.message.includes(this.type.name)) {
        throw new ProcessorError(`${this.type.name} on ${describeData(input)}: ${error.message}`);
      }
      throw error;
    }
  }

  toString(): string {
    return `${this.type.name}(${JSON.stringify(this.identity().params)})`;
  }
}

/** Plain JSON for hashing: processors become their identity, arrays and objects recurse. */
function canonical(value: unknown): unknown {
  if (value instanceof Processor) return value.identity();
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: AnyParams = {};
    for (const k of Object.keys(value).sort()) out[k] = canonical((value as AnyParams)[k]);
    return out;
  }
  return value;
}

/**
 * Declares a processor type (checks its shape at compile time). Declaring does not make it visible
 * to `--config`: list it in registry.ts.
 */
export function defineProcessor<P extends object>(type: ProcessorType<P>): ProcessorType<P> {
  return type;
}
