import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandOutputPath, fingerprintOf, partialPathsFor, planOutput, readJournal, writeJournal } from './output.js';

function paths() {
  return partialPathsFor(join(mkdtempSync(join(tmpdir(), 'xai-out-')), 'a.h5'));
}

describe('planOutput', () => {
  const fp = fingerprintOf({ model: 'm', composite: 'epsilon-gamma-box' });

  it('starts fresh when nothing exists', () => {
    expect(planOutput(paths(), { resume: false, overwrite: false, fingerprint: fp })).toEqual({ action: 'fresh' });
    expect(planOutput(paths(), { resume: true, overwrite: false, fingerprint: fp })).toEqual({ action: 'fresh' });
  });

  it('refuses an existing output unless --overwrite; --resume of a finished run does nothing', () => {
    const p = paths();
    writeFileSync(p.final, 'x');
    expect(() => planOutput(p, { resume: false, overwrite: false, fingerprint: fp })).toThrow(/already exists; use --overwrite/);
    expect(planOutput(p, { resume: false, overwrite: true, fingerprint: fp })).toEqual({ action: 'fresh' });
    expect(planOutput(p, { resume: true, overwrite: false, fingerprint: fp })).toEqual({ action: 'done' });
  });

  it('resumes a partial run with the same fingerprint only', () => {
    const p = paths();
    writeFileSync(p.partial, 'rows');
    writeJournal(p, { fingerprint: fp, rows: 16, position: 17, skipped: [{ index: 3, reason: 'bad.jpg: corrupt' }] });
    expect(() => planOutput(p, { resume: false, overwrite: false, fingerprint: fp })).toThrow(/--resume or start over with --overwrite/);
    const plan = planOutput(p, { resume: true, overwrite: false, fingerprint: fp });
    expect(plan).toMatchObject({ action: 'resume', journal: { rows: 16, position: 17 } });
    expect(() => planOutput(p, { resume: true, overwrite: false, fingerprint: fingerprintOf({ other: 1 }) })).toThrow(/different model, dataset/);
    expect(readJournal(p).skipped).toHaveLength(1);
  });

  it('discards a partial run on --overwrite', () => {
    const p = paths();
    writeFileSync(p.partial, 'rows');
    writeJournal(p, { fingerprint: fp, rows: 1, position: 1, skipped: [] });
    expect(planOutput(p, { resume: false, overwrite: true, fingerprint: fp })).toEqual({ action: 'fresh' });
    expect(existsSync(p.partial) || existsSync(p.journal)).toBe(false);
  });

  it('refuses a partial file without its journal, and a garbled journal', () => {
    const p = paths();
    writeFileSync(p.partial, 'rows');
    expect(() => planOutput(p, { resume: true, overwrite: false, fingerprint: fp })).toThrow(/incomplete partial output/);
    writeFileSync(p.journal, '{not json');
    expect(() => planOutput(p, { resume: true, overwrite: false, fingerprint: fp })).toThrow(/cannot read the record/);
  });
});

describe('expandOutputPath', () => {
  it('fills in the shard, zero-padded to the shard count', () => {
    expect(expandOutputPath('out/attr-{shard}-of-{shards}.h5', { index: 3, count: 16 })).toBe('out/attr-03-of-16.h5');
    expect(expandOutputPath('a.h5', undefined)).toBe('a.h5');
    expect(() => expandOutputPath('a-{shard}.h5', undefined)).toThrow(/no --shard/);
  });
});
