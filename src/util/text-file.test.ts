import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { readTextFile } from './text-file.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lineOf(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).line;
  }
  throw new Error('expected a UserError');
}

describe('readTextFile', () => {
  it('reads UTF-8 text', () => {
    const path = join(dir, 'ok.txt');
    writeFileSync(path, 'größe\n');
    expect(readTextFile(path, 'a note')).toBe('größe\n');
  });

  it('names the file and the problem in one line', () => {
    const missing = join(dir, 'missing.yaml');
    expect(lineOf(() => readTextFile(missing, 'a rule map'))).toBe(`${missing}: no such file`);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    expect(lineOf(() => readTextFile(sub, 'a label map'))).toBe(`${sub}: is a directory, not a label map`);
  });

  it('quotes the errno code of any other failure', () => {
    const file = join(dir, 'plain.txt');
    writeFileSync(file, 'x');
    // A path through a regular file: ENOTDIR, which even root gets (unlike EACCES).
    expect(lineOf(() => readTextFile(join(file, 'child'), 'a label map'))).toBe(`${join(file, 'child')}: cannot read (ENOTDIR)`);
  });
});
