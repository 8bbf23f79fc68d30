import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commitTemporaryH5, createTemporaryH5, openH5, sortedKeys } from './hdf5.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-h5tmp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createTemporaryH5', () => {
  it('hands the laid-out file to the writer, which commits it under the final name', async () => {
    const tmp = join(dir, '.out.h5.tmp');
    const final = join(dir, 'out.h5');
    const file = await createTemporaryH5(tmp, true, (h5) => {
      h5.create_group('alpha');
      return h5;
    });
    expect(existsSync(tmp)).toBe(true);
    commitTemporaryH5(file, tmp, final);
    expect(existsSync(tmp)).toBe(false);
    const back = await openH5(final, 'r');
    expect(sortedKeys(back)).toEqual(['alpha']);
    back.close();
  });

  it('closes and deletes the file when laying it out fails, and passes the error on', async () => {
    const tmp = join(dir, '.failed.h5.tmp');
    await expect(
      createTemporaryH5(tmp, false, (h5) => {
        h5.create_group('half');
        throw new Error('layout failed');
      }),
    ).rejects.toThrow('layout failed');
    expect(existsSync(tmp)).toBe(false);
  });
});
