import { describe, expect, it } from 'vitest';
import { HttpError } from './http-error.js';
import { parseTarget } from './server.js';
import { Query } from './params.js';

const query = (search: string, allowed: string[]) => new Query(new URLSearchParams(search), allowed);
const status = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof HttpError ? `${error.status} ${error.message}` : `other ${String(error)}`;
  }
  return 'ok';
};

describe('Query', () => {
  it('accepts declared parameters with defaults', () => {
    const q = query('mode=overlay&x=3', ['mode', 'x', 'y']);
    expect(q.choice('mode', ['input', 'overlay'] as const, 'input')).toBe('overlay');
    expect(q.integer('x', { min: 0, max: 5 })).toBe(3);
    expect(q.integer('y', { min: 0, max: 5 }, 1)).toBe(1);
  });

  it('answers 400 with a message for every malformed value', () => {
    expect(status(() => query('z=1', ['x']))).toMatch(/^400 unknown query parameter 'z'/);
    expect(status(() => query('x=1&x=2', ['x']))).toMatch(/^400 .*more than once/);
    expect(status(() => query('x=1e3', ['x']).integer('x', { min: 0, max: 9 }))).toMatch(/^400 .*must be an integer/);
    expect(status(() => query('x=0x1', ['x']).integer('x', { min: 0, max: 9 }))).toMatch(/^400 .*must be an integer/);
    expect(status(() => query('x=10', ['x']).integer('x', { min: 0, max: 9 }))).toMatch(/^400 .*between 0 and 9/);
    expect(status(() => query('m=x', ['m']).choice('m', ['a', 'b'] as const))).toMatch(/^400 .*one of a, b/);
    expect(status(() => query('i=1,,2', ['i']).integerList('i', { min: 0, max: 9 }, 5))).toMatch(/^400 /);
    expect(status(() => query('i=1,2,3', ['i']).integerList('i', { min: 0, max: 9 }, 2))).toMatch(/^400 .*at most 2/);
    expect(query('i=4,0,9', ['i']).integerList('i', { min: 0, max: 9 }, 5)).toEqual([4, 0, 9]);
  });
});

describe('parseTarget', () => {
  it('decodes segments and keeps dot segments visible for refusal', () => {
    expect(parseTarget('/api/projects/a%20b?x=1').segments).toEqual(['api', 'projects', 'a b']);
    expect(parseTarget('/api/projects/').segments).toEqual(['api', 'projects']);
    expect(parseTarget('/assets/..%2fx').segments).toEqual(['assets', '../x']);
    expect(status(() => parseTarget('/assets/../x'))).toMatch(/^404/);
    expect(status(() => parseTarget('/assets/%2e%2e/x'))).toMatch(/^404/);
    expect(status(() => parseTarget('/a%zz'))).toMatch(/^400 malformed/);
    expect(status(() => parseTarget('http://evil/x'))).toMatch(/^400/);
  });
});
