import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import * as clustering from './clustering.js';
import { applyPipelineConfig } from './config.js';
import { type Data, tensor } from './data.js';
import * as embedding from './embedding.js';
import { ProcessorError } from './errors.js';
import * as flow from './flow.js';
import * as graph from './graph.js';
import { outputLeaves, Pipeline } from './pipeline.js';
import * as preprocessing from './preprocessing.js';
import { createContext, defineProcessor, Processor, type ProcessorType } from './processor.js';
import { processorTypes } from './registry.js';
import { countSteps } from './spray.js';

const tasks = () =>
  new Pipeline('T', [
    { name: 'preprocessing', description: '' },
    { name: 'embedding', description: '' },
    { name: 'clustering', description: '' },
  ]);

function isProcessorType(value: unknown): value is ProcessorType<any> {
  return !!value && typeof value === 'object' && 'compute' in value && 'params' in value && 'name' in value;
}

describe('processor registry', () => {
  it('lists every processor type the processor modules declare, once', () => {
    const declared = [clustering, embedding, flow, graph, preprocessing].flatMap((m) => Object.values(m).filter(isProcessorType));
    expect(declared.length).toBeGreaterThan(20);
    for (const type of declared) expect(processorTypes.get(type.name), type.name).toBe(type);
    expect(processorTypes.size).toBe(declared.length);
  });

  it('makes processors the default SpRAy pipeline never uses reachable from YAML', () => {
    // PCAEmbedding, Pooling and RandomWalkNormalLaplacian are imported by no command: only the registry knows them.
    const yaml = 'tasks:\n  preprocessing: [{Pooling: {stride: [1, 2]}}, Flatten]\n  embedding: {PCAEmbedding: {nComponents: 2}}\n';
    const p = applyPipelineConfig(tasks(), yaml, 'p.yaml');
    expect(
      p
        .task('preprocessing')
        .children()
        .map((c) => c.name),
    ).toEqual(['Pooling', 'Flatten']);
    expect(p.task('embedding').name).toBe('PCAEmbedding');
    expect(p.task('embedding').isOutput).toBe(true);
  });
});

describe('t-SNE method from YAML', () => {
  it("takes TSNEEmbedding's method (fft, barnes-hut, auto) and refuses any other", () => {
    const p = applyPipelineConfig(tasks(), 'tasks:\n  embedding: {TSNEEmbedding: {method: fft}}\n', 'p.yaml');
    expect(p.task('embedding').get('method' as never)).toBe('fft');
    expect(() => applyPipelineConfig(tasks(), 'tasks:\n  embedding: {TSNEEmbedding: {method: exact}}\n', 'p.yaml')).toThrow(/one of auto, fft, barnes-hut/);
  });
});

describe('group hook', () => {
  // A flow the engine has never heard of: it must be handled by its hook alone, not by its name.
  const ZipType = defineProcessor<{ steps: Processor<any>[] }>({
    name: 'TestZip',
    description: 'run every step on the input',
    cacheable: false,
    group: { childrenParam: 'steps', outputs: 'each' },
    params: { steps: flow.processorList('steps') },
    compute: (input, { steps }, context) => steps.map((s) => s.run(input, context)),
  });
  const one = tensor('float64', [2, 1], Float64Array.from([1, 2]));

  it('drives outputLeaves and countSteps for any flow', () => {
    const zip = new Processor(ZipType, {
      steps: [preprocessing.Absolute(), flow.Sequential([preprocessing.Flatten(), preprocessing.Absolute({ label: 'abs2' })])],
    });
    const out = zip.run(one, createContext()) as Data[];
    const leaves = outputLeaves(zip, out);
    expect(leaves.map((l) => l.processor.label)).toEqual(['Absolute', 'abs2']);
    expect(leaves[1]!.output).toBe(out[1]);
    expect(countSteps(zip)).toBe(3);
    expect(zip.children()).toHaveLength(2);
    expect(preprocessing.Absolute().children()).toEqual([]);
  });

  it('lets the config reader build the children of Parallel and Sequential by their declared parameter', () => {
    const yaml = 'tasks:\n  clustering:\n    Parallel:\n      broadcast: true\n      children: [{KMeans: {nClusters: 3}}, [Absolute, Flatten]]\n';
    const par = applyPipelineConfig(tasks(), yaml, 'p.yaml').task('clustering');
    expect(par.get('broadcast' as never)).toBe(true);
    expect(par.children().map((c) => c.name)).toEqual(['KMeans', 'Sequential']);
    expect(
      par
        .children()[1]!
        .children()
        .map((c) => c.name),
    ).toEqual(['Absolute', 'Flatten']);
    expect(() => applyPipelineConfig(tasks(), 'tasks:\n  clustering: {Parallel: {broadcast: true}}\n', 'p.yaml')).toThrow(
      /tasks\.clustering: Parallel needs a list of children/,
    );
  });
});

describe('processor errors', () => {
  it("a processor's complaint about its input or parameters is a ProcessorError naming the processor", () => {
    const flat = tensor('float64', [3], Float64Array.from([1, 2, 3]));
    expect(() => preprocessing.Normalize([3]).run(flat, createContext())).toThrow(ProcessorError);
    expect(() => preprocessing.Normalize([3]).run(flat, createContext())).toThrow(/^Normalize on tensor float64 \[3\]: axes \[3\]/);
    expect(() => clustering.KMeans(0)).toThrow(ProcessorError);
  });

  it('becomes a UserError naming the config file; a bug inside a processor stays an internal error', () => {
    let caught: unknown;
    try {
      applyPipelineConfig(tasks(), 'tasks:\n  embedding: {KMeans: {nClusters: -1}}\n', 'cfg.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).line).toMatch(/^cfg\.yaml: tasks\.embedding: KMeans\.nClusters: expected an integer ≥ 1/);

    const BuggyType = defineProcessor<object>({
      name: 'TestBuggy',
      description: 'has a bug',
      params: {},
      compute: () => (undefined as unknown as { shape: number[] }).shape as never,
    });
    let bug: unknown;
    try {
      new Processor(BuggyType).run(tensor('float64', [1], Float64Array.from([1])), createContext());
    } catch (error) {
      bug = error;
    }
    expect(bug).toBeInstanceOf(TypeError);
    expect(bug).not.toBeInstanceOf(ProcessorError);
    expect((bug as Error).message).not.toMatch(/TestBuggy on/);
  });
});
