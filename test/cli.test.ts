import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

describe('xai-tools CLI', () => {
  it('lists every subcommand in --help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['project', 'canonize', 'attribute', 'spray', 'heatmap', 'serve']) expect(r.stdout).toContain(cmd);
  });

  it('exits 2 on a usage error', async () => {
    const r = await runCli(['--no-such-option']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option');
  });
});
