// The Clever-Hans demo's claims exactly as README.md states them (test/demo.test.ts checks the
// chain's outputs more loosely): "its suspicion table ranks 'three' first" and "pick class 'three'
// and clustering kmeans-02: one cluster holds exactly the 300 tagged samples".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openH5, type Dataset, type Group } from '../src/io/hdf5.js';
import { repoRoot } from './helpers/cli.js';
import { DEMO_CHAIN_TIMEOUT_MS, demoChain } from './helpers/demo-chain.js';

const info = JSON.parse(readFileSync(join(repoRoot, 'fixtures', 'clever-hans', 'fixture.json'), 'utf8')) as {
  classes: string[];
  artifact_class: number;
  stamped_indices: number[];
};
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

describe('README claims about npm run demo', () => {
  let out: string;
  let stdout = '';
  beforeAll(async () => {
    ({ out, stdout } = await demoChain());
  }, DEMO_CHAIN_TIMEOUT_MS);

  it('the README still makes the claims checked here', () => {
    expect(readme).toContain('its suspicion table ranks "three" first');
    expect(readme).toContain('clustering `kmeans-02`: one cluster holds exactly the 300 tagged samples');
    expect(info.classes[info.artifact_class]).toBe('three');
    expect(info.stamped_indices).toHaveLength(300);
  });

  it('"three" ranks first in the suspicion table spray prints', () => {
    const table = stdout.slice(stdout.lastIndexOf('rank  category'));
    const first = table.split('\n')[1]!.trim().split(/\s+/);
    expect(first[0]).toBe('1');
    expect(first[2]).toBe('three');
  });

  it('kmeans-02 of "three" has one cluster that is exactly the 300 tagged samples', async () => {
    const file = await openH5(join(out, 'analysis.h5'), 'r');
    try {
      const category = file.get(String(info.artifact_class).padStart(8, '0')) as Group;
      const index = Array.from((category.get('index') as Dataset).value as ArrayLike<number>, Number);
      const labels = Array.from((category.get('cluster/kmeans-02') as Dataset).value as ArrayLike<number>, Number);
      const tagged = [...info.stamped_indices].sort((a, b) => a - b);
      const clusters = [...new Set(labels)].map((c) => index.filter((_, row) => labels[row] === c).sort((a, b) => a - b));
      expect(clusters).toHaveLength(2);
      expect(clusters).toContainEqual(tagged);
    } finally {
      file.close();
    }
  });
});
