import { ProcessorError } from './errors.js';
import type { Data } from './data.js';
import { Identity } from './flow.js';
import { type BaseOptions, Processor, type ProcessorType, type RunContext } from './processor.js';
import type { NoParams } from './processor.js';

/** One step of a pipeline: a name, what may fill it, and the processor used when none is given. */
export interface TaskSpec {
  readonly name: string;
  readonly description: string;
  /** Processor type names allowed in this task (CoRelAy's proc_type); undefined = any. */
  readonly accepts?: readonly string[];
  /** Builds the default processor; `defaults` are applied as its per-instance defaults. */
  readonly makeDefault?: () => Processor<any>;
  readonly defaults?: Record<string, unknown> & BaseOptions;
}

const pipelineType: ProcessorType<NoParams> = {
  name: 'Pipeline',
  description: 'named tasks run in order',
  cacheable: false,
  params: {},
  compute() {
    throw new Error('Pipeline.compute is overridden');
  },
};

/**
 * CoRelAy's Pipeline: tasks run in declaration order, each fed the previous output. The result
 * collects every task whose processor has `isOutput`: none → the last output, one → that output
 * itself, several → a tuple in task order. A processor the user plugs in keeps its own
 * `isOutput` (it does not inherit the default's), as in CoRelAy.
 */
export class Pipeline extends Processor<NoParams> {
  readonly pipelineName: string;
  readonly specs: readonly TaskSpec[];
  private readonly assigned = new Map<string, Processor<any>>();

  constructor(name: string, specs: readonly TaskSpec[], tasks: Record<string, Processor<any> | undefined> = {}, options: BaseOptions = {}) {
    super({ ...pipelineType, name }, options);
    this.pipelineName = name;
    this.specs = specs;
    for (const spec of specs) {
      const made = spec.makeDefault ? spec.makeDefault() : Identity();
      if (spec.defaults) made.updateDefaults(spec.defaults);
      this.assigned.set(spec.name, made);
    }
    for (const [name, processor] of Object.entries(tasks)) if (processor) this.setTask(name, processor);
  }

  taskNames(): string[] {
    return this.specs.map((s) => s.name);
  }

  task(name: string): Processor<any> {
    const p = this.assigned.get(name);
    if (!p) throw new ProcessorError(`${this.pipelineName} has no task '${name}' (tasks: ${this.taskNames().join(', ')})`);
    return p;
  }

  setTask(name: string, processor: Processor<any>): this {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) throw new ProcessorError(`${this.pipelineName} has no task '${name}' (tasks: ${this.taskNames().join(', ')})`);
    if (spec.accepts && !spec.accepts.includes(processor.name)) {
      throw new ProcessorError(`task '${name}' of ${this.pipelineName} takes ${spec.accepts.join(' or ')}, not ${processor.name}`);
    }
    this.assigned.set(name, processor);
    return this;
  }

  override identity(): { processor: string; params: unknown } {
    return { processor: this.pipelineName, params: Object.fromEntries(this.specs.map((s) => [s.name, this.task(s.name).identity()])) };
  }

  override compute(input: Data, context: RunContext): Data {
    const outputs: Data[] = [];
    let data = input;
    for (const spec of this.specs) {
      const processor = this.task(spec.name);
      data = processor.run(data, context);
      if (processor.isOutput) outputs.push(data);
    }
    if (outputs.length === 0) return data;
    return outputs.length === 1 ? outputs[0]! : outputs;
  }

  /** Re-runs the tasks after the last checkpointed one from its stored output; returns the final output. */
  fromCheckpoint(context: RunContext): Data {
    const names = this.taskNames();
    for (let i = names.length - 1; i >= 0; i--) {
      const processor = this.task(names[i]!);
      if (!processor.isCheckpoint) continue;
      if (processor.checkpointData === undefined) throw new Error(`task '${names[i]}' is a checkpoint but has not run yet`);
      let data = processor.checkpointData;
      for (const later of names.slice(i + 1)) data = this.task(later).run(data, context);
      return data;
    }
    throw new Error(`${this.pipelineName} has no checkpoint task`);
  }
}

/** (processor, output) pairs of every output leaf, following the pipeline's output rules. */
export function outputLeaves(processor: Processor<any>, output: Data): Array<{ processor: Processor<any>; output: Data }> {
  if (processor instanceof Pipeline) {
    const flagged = processor.specs.map((s) => processor.task(s.name)).filter((p) => p.isOutput);
    if (flagged.length === 0) return outputLeaves(processor.task(processor.specs[processor.specs.length - 1]!.name), output);
    if (flagged.length === 1) return outputLeaves(flagged[0]!, output);
    return flagged.flatMap((p, i) => outputLeaves(p, (output as readonly Data[])[i]!));
  }
  const group = processor.type.group;
  if (!group) return [{ processor, output }];
  const children = processor.children();
  if (group.outputs === 'each') return children.flatMap((child, i) => outputLeaves(child, (output as readonly Data[])[i]!));
  return children.length ? outputLeaves(children[children.length - 1]!, output) : [];
}
