import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './cache.js';
import { type Data, tensor } from './data.js';
import { Identity, Parallel, Select, Sequential, Shaper } from './flow.js';
import { param } from './param.js';
import { Pipeline } from './pipeline.js';
import { createContext, defineProcessor, Processor, RunStats } from './processor.js';
import { KMeans } from './clustering.js';

const calls: number[] = [];
const AddType = defineProcessor<{ amount: number; mandatoryThing: number }>({
  name: 'TestAdd',
  description: 'adds a constant',
  params: {
    amount: param.int({ description: 'what to add', default: 1 }),
    mandatoryThing: param.int({ description: 'unused', mandatory: true }),
  },
  compute(input, { amount }) {
    calls.push(amount);
    const t = input as { data: Float64Array; shape: number[] };
    return tensor(
      'float64',
      t.shape,
      t.data.map((v) => v + amount),
    );
  },
});
const add = (amount?: number, extra: Record<string, unknown> = {}) => new Processor(AddType, { amount, mandatoryThing: 0, ...extra });
const value = (d: Data): number => (d as { data: Float64Array }).data[0]!;
const one = tensor('float64', [1], Float64Array.from([1]));

describe('parameters', () => {
  it('resolve set value → per-instance default → declared default', () => {
    const p = new Processor(AddType, { mandatoryThing: 1 });
    expect(p.get('amount')).toBe(1);
    p.updateDefaults({ amount: 5 });
    expect(p.get('amount')).toBe(5);
    p.set('amount', 7);
    expect(p.get('amount')).toBe(7);
    p.set('amount', undefined);
    expect(p.get('amount')).toBe(5);
  });

  it('validate on assignment and name the processor', () => {
    expect(() => new Processor(AddType, { amount: 1.5 as number })).toThrow(/TestAdd.amount: expected an integer/);
    expect(() => new Processor(AddType, { nope: 1 } as never)).toThrow(/TestAdd has no parameter 'nope'/);
    expect(() => KMeans(0)).toThrow(/KMeans.nClusters/);
  });

  it('mandatory parameters fail on first read, not at construction', () => {
    const p = new Processor(AddType, {});
    expect(() => p.get('mandatoryThing')).toThrow(/mandatory/);
  });

  it('identity holds every result-affecting parameter, not bookkeeping ones', () => {
    const p = add(3, { isOutput: true, label: 'x' });
    expect(p.identity()).toEqual({ processor: 'TestAdd', params: { amount: 3, mandatoryThing: 0 } });
    expect(p.label).toBe('x');
  });
});

describe('flows', () => {
  const ctx = () => createContext();
  it('Sequential chains children', () => {
    expect(value(Sequential([add(1), add(10)]).run(one, ctx()))).toBe(12);
  });
  it('Parallel broadcasts or zips', () => {
    const out = Parallel([add(1), add(2)], { broadcast: true }).run(one, ctx()) as Data[];
    expect(out.map(value)).toEqual([2, 3]);
    const zipped = Parallel([add(1), add(2)]).run([one, tensor('float64', [1], Float64Array.from([5]))], ctx()) as Data[];
    expect(zipped.map(value)).toEqual([2, 7]);
    expect(() => Parallel([add(1), add(2)]).run([one], ctx())).toThrow(/2 children/);
    // A non-tuple input goes to every child even without broadcast.
    expect((Parallel([add(1), add(2)]).run(one, ctx()) as Data[]).map(value)).toEqual([2, 3]);
  });
  it('Shaper regroups by nested indices and Select picks one', () => {
    const [a, b, c] = [1, 2, 3].map((v) => tensor('float64', [1], Float64Array.from([v])));
    const out = Shaper([1, [0, 2]]).run([a!, b!, c!], ctx()) as Data[];
    expect(value(out[0]!)).toBe(2);
    expect((out[1] as Data[]).map(value)).toEqual([1, 3]);
    expect(value(Select(2).run([a!, b!, c!], ctx()))).toBe(3);
  });
});

describe('pipeline', () => {
  const specs = [
    { name: 'first', description: '', makeDefault: () => add(1) },
    { name: 'second', description: '', makeDefault: () => add(10), defaults: { isOutput: true } },
    { name: 'third', description: '' },
  ];
  it('collects outputs: one flagged task → that output itself', () => {
    expect(value(new Pipeline('P', specs).run(one, createContext()))).toBe(12);
  });
  it('several flagged → tuple in task order; none → last output', () => {
    const p = new Pipeline('P', specs, { first: add(1, { isOutput: true }) });
    expect((p.run(one, createContext()) as Data[]).map(value)).toEqual([2, 12]);
    const q = new Pipeline('P', specs, { second: add(100) });
    // The replacement does not inherit isOutput from the task default (CoRelAy semantics).
    expect(q.task('second').isOutput).toBe(false);
    expect(value(q.run(one, createContext()))).toBe(102);
  });
  it('rejects unknown tasks and processors of the wrong kind', () => {
    expect(() => new Pipeline('P', specs, { fourth: Identity() })).toThrow(/no task 'fourth'/);
    const typed = new Pipeline('P', [{ name: 'only', description: '', accepts: ['TestAdd'] }]);
    expect(() => typed.setTask('only', Identity())).toThrow(/takes TestAdd, not Identity/);
  });
  it('resumes from a checkpoint', () => {
    const p = new Pipeline('P', specs, { first: add(1, { isCheckpoint: true }) });
    p.run(one, createContext());
    calls.length = 0;
    expect(value(p.fromCheckpoint(createContext()))).toBe(12);
    expect(calls).toEqual([10]);
  });
});

describe('content-hashed cache', () => {
  it('re-running computes nothing; changing one parameter recomputes only what depends on it', () => {
    const storage = new MemoryStorage();
    const build = (kTwo: number) => Sequential([add(1), Parallel([add(2), add(kTwo), add(4)], { broadcast: true })]);
    calls.length = 0;
    const stats = new RunStats();
    const first = build(3).run(one, createContext({ storage, stats }));
    expect(calls).toEqual([1, 2, 3, 4]);
    calls.length = 0;
    const again = build(3).run(one, createContext({ storage }));
    expect(calls).toEqual([]);
    expect((again as Data[]).map(value)).toEqual((first as Data[]).map(value));
    calls.length = 0;
    const changed = createContext({ storage });
    build(30).run(one, changed);
    expect(calls).toEqual([30]);
    expect(changed.stats.totalHits).toBe(3);
    expect(changed.stats.totalComputed).toBe(1);
  });

  it('keys on the exact input bytes', () => {
    const storage = new MemoryStorage();
    const p = add(1);
    calls.length = 0;
    p.run(one, createContext({ storage }));
    p.run(tensor('float64', [1], Float64Array.from([1 + 1e-12])), createContext({ storage }));
    expect(calls).toEqual([1, 1]);
  });

  it('changing one k-means k recomputes only that clustering', () => {
    const storage = new MemoryStorage();
    const x = tensor('float64', [6, 1], Float64Array.from([0, 0.1, 0.2, 5, 5.1, 9]));
    const run = (ks: number[]) => {
      const ctx = createContext({ storage });
      Parallel(
        ks.map((k) => KMeans(k)),
        { broadcast: true },
      ).run(x, ctx);
      return ctx.stats;
    };
    expect(run([2, 3, 4]).totalComputed).toBe(3);
    const stats = run([2, 5, 4]);
    expect(stats.computed.get('KMeans')).toBe(1);
    expect(stats.hits.get('KMeans')).toBe(2);
  });
});
