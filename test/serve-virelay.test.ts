/**
 * A project written the way ViRelAy's own tooling writes it (h5py, only ViRelAy's keys; see
 * test/browser/make_virelay_project.py) must open in our viewer: channels-last uint8 images,
 * attributions without `index`, int64 clusterings with CoRelAy's extra `train_split`, WordNet-ID
 * categories, and one analysis method split over two project entries.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePoints } from '../src/viewer/points-format.js';
import { rawGet, startServe, type ServeProcess } from './browser/server-process.js';
import { repoRoot } from './helpers/cli.js';

let dir: string;
let serve: ServeProcess;
const get = (path: string) => rawGet(serve.port, path);
const P = '/api/projects/virelay-example';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-virelay-'));
  execFileSync('/usr/bin/python3', [join(repoRoot, 'test', 'browser', 'make_virelay_project.py'), dir], { stdio: 'pipe' });
  serve = await startServe([join(dir, 'project.yaml')]);
});

afterAll(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a project made for ViRelAy', () => {
  it('has only ViRelAy keys in its project file', () => {
    const yaml = readFileSync(join(dir, 'project.yaml'), 'utf8');
    expect(yaml).not.toMatch(/input_width|xai|created|version/);
  });

  it('loads with both analysis entries merged into one method', async () => {
    expect(serve.stderr()).toBe('');
    const project = (await get(P)).json<{
      name: string;
      model: string;
      analyses: Array<{ name: string; categories: Array<{ name: string; label: string; count: number; suspicion: number | null }> }>;
    }>();
    expect(project.name).toBe('ViRelAy Example');
    expect(project.analyses).toHaveLength(1);
    expect(project.analyses[0].categories).toEqual([
      { name: 'n01440764', label: 'tench', count: 8, suspicion: null },
      { name: 'n02102040', label: 'English springer', count: 8, suspicion: null },
      { name: 'n02979186', label: 'cassette player', count: 8, suspicion: null },
    ]);
  });

  it('lists per category what the file holds, including CoRelAy extras', async () => {
    const category = (await get(`${P}/analyses/spectral_analysis/categories/n02979186`)).json<{
      embeddings: Array<{ name: string; dims: number; eigenvalues: number[] | null }>;
      clusterings: Array<{ name: string; clusters: Array<{ id: number; count: number }> }>;
    }>();
    expect(category.embeddings.map((e) => [e.name, e.dims])).toEqual([
      ['spectral', 3],
      ['tsne', 2],
    ]);
    expect(category.embeddings[0].eigenvalues?.length).toBe(3);
    expect(category.clusterings.map((c) => c.name)).toEqual(['kmeans-02', 'train_split']);
  });

  it('sends the int64 clustering and sample indices of the second file', async () => {
    const res = await get(`${P}/analyses/spectral_analysis/categories/n02979186/points?embedding=tsne&clustering=kmeans-02`);
    expect(res.status).toBe(200);
    const points = decodePoints(new Uint8Array(res.body).buffer);
    expect([...points.index]).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    expect([...points.cluster]).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('renders channels-last uint8 inputs and channels-last attributions', async () => {
    for (const mode of ['input', 'attribution', 'overlay']) {
      const res = await get(`${P}/images/17?mode=${mode}&colormap=blue-white-red`);
      expect(res.status, mode).toBe(200);
      const meta = await sharp(res.body).metadata();
      expect([meta.width, meta.height]).toEqual([12, 12]);
    }
    const info = (await get(`${P}/samples?indices=17`)).json<Array<{ labels: Array<{ name: string }>; hasAttribution: boolean; predictions: unknown[] }>>();
    expect(info[0].labels[0].name).toBe('cassette player');
    expect(info[0].hasAttribution).toBe(true);
    expect(info[0].predictions).toHaveLength(3);
  });
});
