/**
 * The API the viewer page's newer parts use, against a real `xai-tools serve`: spray's suspicion
 * scores in the project description, ViRelAy share links redirected to the page with our query,
 * value scales of heatmaps, and the value range behind a heatmap (the colour legend's numbers).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { palette } from '../src/render/cmap.js';
import { writeFixtureProject } from './browser/fixtures.js';
import { rawGet, startServe, type ServeProcess } from './browser/server-process.js';

let dir: string;
let serve: ServeProcess;
const get = (path: string) => rawGet(serve.port, path);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-serve-api-'));
  const scored = await writeFixtureProject(join(dir, 'scored'), { name: 'Scored', classes: 3, perClass: 8, size: 16, suspicion: [0.3, 0.1, 0.2] });
  const plain = await writeFixtureProject(join(dir, 'plain'), { name: 'Plain', classes: 2, perClass: 6, size: 8 });
  serve = await startServe([scored, plain]);
});

afterAll(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pixels = async (path: string) => {
  const response = await get(path);
  expect(response.status, response.text).toBe(200);
  return (await sharp(response.body).removeAlpha().raw().toBuffer()).subarray(0, 3);
};

describe('viewer API', () => {
  it("lists spray's suspicion score and number of groups per category, null where the file has none", async () => {
    const scored = (await get('/api/projects/scored')).json<{ analyses: Array<{ categories: Array<{ name: string; suspicion: unknown }> }> }>();
    expect(scored.analyses[0].categories.map((c) => [c.name, c.suspicion])).toEqual([
      ['00000000', { score: expect.closeTo(0.3, 6), groups: 2 }],
      ['00000001', { score: expect.closeTo(0.1, 6), groups: 2 }],
      ['00000002', { score: expect.closeTo(0.2, 6), groups: 2 }],
    ]);
    const plain = (await get('/api/projects/plain')).json<{ analyses: Array<{ categories: Array<{ suspicion: unknown }> }> }>();
    expect(plain.analyses[0].categories.every((c) => c.suspicion === null)).toBe(true);
  });

  it('redirects a ViRelAy share link to the page with the same view in our query', async () => {
    const res = await get(
      '/projects/1?analysisMethod=spectral_analysis&analysisCategory=00000001&clustering=kmeans-02' +
        '&embedding=tsne&firstEmbeddingDimension=0&secondEmbeddingDimension=1&colorMap=seismic&imageMode=overlay&embeddingVectors=6,7',
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location as string, 'http://x/projects/1');
    expect(location.pathname).toBe('/');
    expect(Object.fromEntries(location.searchParams)).toEqual({
      project: 'plain',
      analysis: 'spectral_analysis',
      category: '00000001',
      clustering: 'kmeans-02',
      embedding: 'tsne',
      x: '0',
      y: '1',
      colormap: 'virelay-seismic',
      mode: 'overlay',
      selection: '6,7',
    });
    const missing = await get('/projects/5');
    expect(missing.status).toBe(404);
    expect(missing.json<{ errorMessage: string }>().errorMessage).toMatch(/no project 5/);
  });

  it('draws sequential maps on |R| by default, signed maps centred on 0, and validates `scale`', async () => {
    // Sample 3: square in corner 3, so pixel (0, 0) has relevance exactly 0.
    const base = '/api/projects/scored/images/3?mode=attribution';
    const hot = palette('hot');
    expect([...(await pixels(`${base}&colormap=hot`))]).toEqual([...hot.subarray(0, 3)]);
    expect([...(await pixels(`${base}&colormap=hot&scale=absolute`))]).toEqual([...hot.subarray(0, 3)]);
    expect([...(await pixels(`${base}&colormap=hot&scale=symmetric`))]).toEqual([...hot.subarray(127 * 3, 128 * 3)]);
    const coldnhot = palette('coldnhot');
    expect([...(await pixels(`${base}&colormap=coldnhot`))]).toEqual([...coldnhot.subarray(127 * 3, 128 * 3)]);
    // min–max: pixel (0, 0) is neither the minimum nor the maximum, so neither end colour.
    const minmax = [...(await pixels(`${base}&colormap=coldnhot&scale=minmax`))];
    expect(minmax).not.toEqual([...coldnhot.subarray(0, 3)]);
    expect(minmax).not.toEqual([...coldnhot.subarray(127 * 3, 128 * 3)]);
    const bad = await get(`${base}&scale=log`);
    expect(bad.status).toBe(400);
    expect(bad.json<{ errorMessage: string }>().errorMessage).toMatch(/scale.*symmetric, absolute, minmax/);
  });

  it('answers the value range behind a heatmap (channels summed), 404 without attribution', async () => {
    // Fixture: 1 + (i % 7)·0.1 per channel on the square, −0.3·(x + y)/(2·size) per channel elsewhere.
    const range = (await get('/api/projects/scored/attributions/9/range')).json<{ min: number; max: number; maxAbs: number }>();
    expect(range.max).toBeCloseTo(3 * (1 + (9 % 7) * 0.1), 5);
    // Sample 9: square in corner 1 (top right), so (15, 15) lies outside it and is the most negative pixel.
    expect(range.min).toBeCloseTo(-0.9 * (30 / 32), 5);
    expect(range.maxAbs).toBeCloseTo(range.max, 5);
    expect((await get('/api/projects/scored/attributions/99/range')).status).toBe(404);
  });
});
