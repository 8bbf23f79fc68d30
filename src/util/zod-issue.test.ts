import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodIssue } from './zod-issue.js';

const schema = z.object({ rules: z.array(z.object({ eps: z.number() })) });

function errorOf(value: unknown, s: z.ZodType = schema): z.ZodError {
  const parsed = s.safeParse(value);
  if (parsed.success) throw new Error('expected a failure');
  return parsed.error;
}

describe('describeZodIssue', () => {
  it('prefixes the dotted path of the first issue', () => {
    expect(describeZodIssue(errorOf({ rules: [{ eps: 1 }, { eps: 'x' }] }))).toBe('rules.1.eps: Invalid input: expected number, received string');
  });

  it('gives the bare message for an issue about the whole document', () => {
    expect(describeZodIssue(errorOf(3))).toBe('Invalid input: expected object, received number');
  });

  it('lets the reader name the place (and a place for the whole document)', () => {
    const where = (path: readonly PropertyKey[]) => (path.length ? `entry ${String(path[0])}` : 'top level');
    expect(describeZodIssue(errorOf([1, 'a'], z.array(z.number())), where)).toBe('entry 1: Invalid input: expected number, received string');
    expect(describeZodIssue(errorOf({}, z.array(z.number())), where)).toBe('top level: Invalid input: expected array, received object');
  });
});
