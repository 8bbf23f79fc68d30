import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisWriter, openAnalysis, readAnalysis, type CategoryAnalysis } from './analysis.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-analysis-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function category(name: string, index: number[]): CategoryAnalysis {
  const n = index.length;
  return {
    name,
    index: Int32Array.from(index),
    embeddings: [
      { name: 'spectral', data: Float32Array.from({ length: n * 4 }, (_, i) => i / 10), shape: [n, 4], eigenvalue: Float32Array.of(0.9, 0.5, 0.1, 0) },
      { name: 'tsne', data: Float32Array.from({ length: n * 2 }, (_, i) => -i), shape: [n, 2], attrs: { embedding: 'spectral', index: [0, 1] } },
    ],
    clusterings: [
      { name: 'kmeans-02', labels: Int32Array.from(index, (v) => v % 2), k: 2, embedding: 'spectral', attrs: { index: [0, 1, 2, 3] } },
      { name: 'dbscan-eps=0.2', labels: Int32Array.from(index, () => -1), embedding: 'spectral' },
    ],
  };
}

describe('analysis database', () => {
  it('round-trips categories, embeddings, clusterings and attributes', async () => {
    const path = join(dir, 'analysis.h5');
    const w = await AnalysisWriter.create(path);
    w.addCategory('spectral_analysis', category('n00000002', [20, 21, 25]));
    w.addCategory('spectral_analysis', category('n00000001', [8, 9, 10, 11]));
    w.commit();
    expect(readdirSync(dir)).toEqual(['analysis.h5']);
    const file = await readAnalysis(path);
    expect([...file.analyses.keys()]).toEqual(['spectral_analysis']);
    const cats = file.analyses.get('spectral_analysis')!;
    expect([...cats.keys()]).toEqual(['n00000001', 'n00000002']);
    const c = cats.get('n00000001')!;
    expect(Array.from(c.index)).toEqual([8, 9, 10, 11]);
    expect(c.embeddings.map((e) => e.name)).toEqual(['spectral', 'tsne']);
    expect(Array.from(c.embeddings[0]!.eigenvalue!)).toEqual([0.9, 0.5, 0.1, 0].map(Math.fround));
    expect(c.embeddings[0]!.shape).toEqual([4, 4]);
    expect(c.embeddings[1]!.attrs).toEqual({ embedding: 'spectral', index: [0, 1] });
    expect(c.clusterings.map((k) => k.name)).toEqual(['dbscan-eps=0.2', 'kmeans-02']);
    expect(Array.from(c.clusterings[0]!.labels)).toEqual([-1, -1, -1, -1]);
    expect(c.clusterings[1]!.k).toBe(2);
    expect(c.clusterings[1]!.embedding).toBe('spectral');
    const lazy = await openAnalysis(path);
    expect(lazy.embeddingNames).toEqual(['spectral', 'tsne']);
    expect(Array.from(lazy.categoryIndex('n00000002'))).toEqual([20, 21, 25]);
    lazy.close();
  });

  it('refuses what ViRelAy cannot load', async () => {
    const w = await AnalysisWriter.create(join(dir, 'bad.h5'));
    expect(() => w.addCategory('spectral-analysis', category('a', [1]))).toThrow(/'-'/);
    const bad = category('b', [1, 2]);
    bad.embeddings[1]!.shape = [2, 1];
    bad.embeddings[1]!.data = new Float32Array(2);
    expect(() => w.addCategory('x', bad)).toThrow(/at least 2/);
    w.addCategory('x', category('c', [1, 2]));
    const other = category('d', [3]);
    other.clusterings.pop();
    expect(() => w.addCategory('x', other)).toThrow(/different/);
    w.abort();
    expect(readdirSync(dir).some((f) => f.includes('bad'))).toBe(false);
    const empty = await AnalysisWriter.create(join(dir, 'empty.h5'));
    expect(() => empty.commit()).toThrow(/no categories/);
    expect(readdirSync(dir).some((f) => f.includes('empty'))).toBe(false);
  });
});
