/**
 * `xai-tools serve` against a real server process on a random port: every API route, every
 * validation error, path traversal attempts, failing projects, and clean shutdown.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAnalysis } from '../src/io/analysis.js';
import { decodePoints } from '../src/viewer/points-format.js';
import { writeFixtureProject } from './browser/fixtures.js';
import { rawGet, startServe, type ServeProcess } from './browser/server-process.js';
import { runCli } from './helpers/cli.js';

let dir: string;
let serve: ServeProcess;
let port: number;
const get = (path: string, headers?: Record<string, string>) => rawGet(port, path, { headers });
const P = '/api/projects/alpha-project';
const CAT = `${P}/analyses/spectral_analysis/categories/00000001`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-serve-'));
  const alpha = await writeFixtureProject(join(dir, 'alpha'), { name: 'Alpha Project', classes: 3, perClass: 20, size: 16, secondAnalysis: true });
  const beta = await writeFixtureProject(join(dir, 'beta'), { name: 'Beta', classes: 2, perClass: 10, size: 8, attributionEvery: 2 });
  writeFileSync(
    join(dir, 'broken.yaml'),
    'project:\n  name: Broken\n  model: m\n  label_map: missing.json\n  dataset: {name: d, type: hdf5, path: nowhere.h5}\n',
  );
  serve = await startServe([alpha, beta, join(dir, 'broken.yaml')]);
  port = serve.port;
});

afterAll(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('start-up', () => {
  it('prints the URL, serves the good projects and reports the broken one with file and reason', () => {
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(serve.stdout()).toContain('Alpha Project, Beta');
    const lines = serve.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^xai-tools: .*broken\.yaml: .*missing\.json.*\(not served\)$/);
  });

  it('serves the page and its assets from memory', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('assets/app.js');
    expect((await get('/index.html')).text).toBe(page.text);
    const js = await get('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toContain('javascript');
    expect((await get('/assets/app.css')).headers['content-type']).toContain('text/css');
    const again = await get('/assets/app.js', { 'If-None-Match': js.headers.etag as string });
    expect(again.status).toBe(304);
    const head = await rawGet(port, '/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });
});

describe('project routes', () => {
  it('lists projects in command-line order', async () => {
    const res = await get('/api/projects');
    expect(res.status).toBe(200);
    const list = res.json<Array<{ id: string; name: string; dataset: { count: number }; attribution: { method: string } | null; analyses: string[] }>>();
    expect(list.map((p) => p.id)).toEqual(['alpha-project', 'beta']);
    expect(list[0].dataset.count).toBe(60);
    expect(list[0].attribution?.method).toBe('LRP EpsilonPlus');
    expect(list[0].analyses).toEqual(['spectral_analysis', 'raw_analysis']);
  });

  it('describes one project with labels and categories (label names, counts)', async () => {
    const project = (await get(P)).json<{
      labels: Array<{ name: string }>;
      analyses: Array<{ name: string; categories: Array<{ name: string; label: string; count: number; suspicion: number | null }> }>;
    }>();
    expect(project.labels.map((l) => l.name)).toEqual(['Apple', 'Leaf', 'Sky']);
    expect(project.analyses[0].categories).toEqual([
      { name: '00000000', label: 'Apple', count: 20, suspicion: null },
      { name: '00000001', label: 'Leaf', count: 20, suspicion: null },
      { name: '00000002', label: 'Sky', count: 20, suspicion: null },
    ]);
    expect(project.analyses[1].categories.map((c) => c.name)).toEqual(['00000000']);
  });

  it('describes a category: embeddings with dimensions and eigenvalues, clusterings with counts', async () => {
    const category = (await get(CAT)).json<{
      count: number;
      embeddings: Array<{ name: string; dims: number; eigenvalues: number[] | null }>;
      clusterings: Array<{ name: string; clusters: Array<{ id: number; count: number }> }>;
    }>();
    expect(category.count).toBe(20);
    expect(category.embeddings.map((e) => [e.name, e.dims])).toEqual([
      ['spectral', 4],
      ['tsne', 2],
    ]);
    expect(category.embeddings[0].eigenvalues?.map((v) => Math.round(v * 100) / 100)).toEqual([0.9, 0.55, 0.2, 0]);
    expect(category.embeddings[1].eigenvalues).toBeNull();
    expect(category.clusterings.find((c) => c.name === 'kmeans-02')?.clusters).toEqual([
      { id: 0, count: 10 },
      { id: 1, count: 10 },
    ]);
  });

  it('sends points as compact binary columns with an ETag', async () => {
    const res = await get(`${CAT}/points?embedding=spectral&clustering=kmeans-02&x=2&y=0`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.body.length).toBe(16 + 20 * 16);
    const bytes = res.body.buffer.slice(res.body.byteOffset, res.body.byteOffset + res.body.length) as ArrayBuffer;
    const points = decodePoints(bytes);
    expect([...points.index]).toEqual(Array.from({ length: 20 }, (_, i) => 20 + i));
    expect([...points.cluster]).toEqual(Array.from({ length: 20 }, (_, i) => (i < 10 ? 0 : 1)));
    // Column 0 of the synthetic spectral embedding is side − 0.5 plus small noise.
    expect(points.y[0]).toBeLessThan(0);
    expect(points.y[19]).toBeGreaterThan(0);
    const cached = await get(`${CAT}/points?embedding=spectral&clustering=kmeans-02&x=2&y=0`, { 'If-None-Match': res.headers.etag as string });
    expect(cached.status).toBe(304);
    const defaults = decodePoints(new Uint8Array((await get(`${CAT}/points?embedding=tsne&clustering=kmeans-10`)).body).buffer);
    expect(defaults.x[0]).toBeLessThan(0); // first half sits left
  });

  it('sends binary points equal, value for value, to what the analysis file holds', async () => {
    // A wrong column, a swapped axis, a lossy cast or a reordered row would each break this.
    const res = await get(`${CAT}/points?embedding=spectral&clustering=kmeans-02&x=2&y=0`);
    const points = decodePoints(new Uint8Array(res.body).buffer);
    const file = await openAnalysis(join(dir, 'alpha', 'analysis.h5'));
    try {
      const category = file.category('00000001');
      const spectral = category.embeddings.find((e) => e.name === 'spectral')!;
      const labels = category.clusterings.find((c) => c.name === 'kmeans-02')!.labels;
      const n = category.index.length;
      expect(points.x.length).toBe(n);
      expect([...points.index]).toEqual([...category.index]);
      expect([...points.cluster]).toEqual([...labels]);
      expect([...points.x]).toEqual(Array.from({ length: n }, (_, i) => spectral.data[i * 4 + 2]));
      expect([...points.y]).toEqual(Array.from({ length: n }, (_, i) => spectral.data[i * 4 + 0]));
    } finally {
      file.close();
    }
  });

  it('answers sample information with labels and top predictions', async () => {
    const list = (await get(`${P}/samples?indices=0,4,59`)).json<
      Array<{ index: number; labels: Array<{ index: number; name: string }>; hasAttribution: boolean; predictions: Array<{ index: number; score: number }> }>
    >();
    expect(list.map((s) => s.index)).toEqual([0, 4, 59]);
    expect(list[0].labels).toEqual([{ index: 0, name: 'Apple' }]);
    expect(list[0].predictions[0].index).toBe(0);
    expect(list[1].predictions[0].index).toBe(1); // every 5th sample is "misclassified"
    expect(list[2].labels[0].name).toBe('Sky');
    const one = (await get(`${P}/samples/59`)).json<{ index: number }>();
    expect(one.index).toBe(59);
    const beta = (await get('/api/projects/beta/samples?indices=0,1')).json<Array<{ hasAttribution: boolean; predictions?: unknown }>>();
    expect(beta.map((s) => s.hasAttribution)).toEqual([true, false]);
    expect(beta[1].predictions).toBeUndefined();
  });
});

describe('images', () => {
  it('renders input, attribution and overlay PNGs at the sample size', async () => {
    for (const mode of ['input', 'attribution', 'overlay']) {
      const res = await get(`${P}/images/3?mode=${mode}`);
      expect(res.status, mode).toBe(200);
      expect(res.headers['content-type']).toBe('image/png');
      const meta = await sharp(res.body).metadata();
      expect([meta.width, meta.height]).toEqual([16, 16]);
    }
  });

  it('renders every colour map differently and caches with ETags', async () => {
    const maps = (await get('/api/colormaps')).json<{ default: string; colorMaps: Array<{ name: string; family: string }> }>();
    expect(maps.default).toBe('black-fire-red');
    const names = maps.colorMaps.map((c) => c.name);
    for (const name of [
      'coldnhot',
      'bwr',
      'hot',
      'gray',
      'black-fire-red',
      'gray-red',
      'black-green',
      'black-yellow',
      'blue-white-red',
      'afm-hot',
      'jet',
      'seismic',
    ])
      expect(names).toContain(name);
    expect(maps.colorMaps.find((c) => c.name === 'jet')?.family).toBe('virelay');
    expect(maps.colorMaps.find((c) => c.name === 'coldnhot')?.family).toBe('zennit');
    const bodies = new Set<string>();
    for (const name of names) {
      const res = await get(`${P}/images/5?mode=attribution&colormap=${encodeURIComponent(name)}`);
      expect(res.status, name).toBe(200);
      bodies.add(res.body.toString('base64'));
    }
    expect(bodies.size).toBe(names.length);
    const first = await get(`${P}/images/5?mode=overlay&colormap=jet`);
    const second = await get(`${P}/images/5?mode=overlay&colormap=jet`);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(second.body.equals(first.body)).toBe(true);
    expect((await get(`${P}/images/5?mode=overlay&colormap=jet`, { 'If-None-Match': first.headers.etag as string })).status).toBe(304);
    expect(first.headers['cache-control']).toContain('max-age');
  });

  it('serves colour map previews', async () => {
    const res = await get('/api/colormaps/coldnhot?width=100&height=8');
    expect(res.status).toBe(200);
    const meta = await sharp(res.body).metadata();
    expect([meta.width, meta.height]).toEqual([100, 8]);
    expect((await sharp((await get('/api/colormaps/jet')).body).metadata()).width).toBe(256);
  });

  it('answers 404 for a heatmap of a sample without attribution, but shows its input', async () => {
    expect((await get('/api/projects/beta/images/1?mode=attribution')).status).toBe(404);
    expect((await get('/api/projects/beta/images/1?mode=input')).status).toBe(200);
  });
});

describe('validation', () => {
  const cases: Array<[string, number, RegExp]> = [
    [`${P}/images/3?mode=bogus`, 400, /mode.*input, attribution, overlay/],
    [`${P}/images/3?mode=attribution&colormap=nope`, 400, /unknown colour map 'nope'/],
    [`${P}/images/3?colormap=`, 400, /colormap.*empty/],
    [`${P}/images/3?size=2`, 400, /unknown query parameter 'size'/],
    [`${P}/images/3?mode=input&mode=overlay`, 400, /more than once/],
    [`${P}/images/-1`, 400, /sample index must be between/],
    [`${P}/images/1.5`, 400, /sample index must be an integer/],
    [`${P}/images/abc`, 400, /sample index must be an integer/],
    [`${P}/images/99999999999999999999`, 400, /sample index must be an integer/],
    [`${P}/images/60`, 404, /no sample 60/],
    [`${P}/samples`, 400, /missing query parameter 'indices'/],
    [`${P}/samples?indices=`, 400, /indices.*empty/],
    [`${P}/samples?indices=1,x`, 400, /indices.*integer/],
    [`${P}/samples?indices=1,,2`, 400, /indices.*integer/],
    [`${P}/samples?indices=${Array.from({ length: 1001 }, (_, i) => i % 60).join(',')}`, 400, /at most 1000/],
    [`${P}/samples?indices=5,600`, 404, /no sample 600/],
    [`${P}/samples/600`, 404, /no sample 600/],
    [`${CAT}/points`, 400, /missing query parameter 'embedding'/],
    [`${CAT}/points?embedding=tsne`, 400, /missing query parameter 'clustering'/],
    [`${CAT}/points?embedding=tsne&clustering=kmeans-02&x=2`, 400, /'x' must be between 0 and 1/],
    [`${CAT}/points?embedding=spectral&clustering=kmeans-02&y=-1`, 400, /'y' must be between 0 and 3/],
    [`${CAT}/points?embedding=spectral&clustering=kmeans-02&x=one`, 400, /'x' must be an integer/],
    [`${CAT}/points?embedding=umap&clustering=kmeans-02`, 404, /no embedding 'umap'/],
    [`${CAT}/points?embedding=tsne&clustering=dbscan`, 404, /no clustering 'dbscan'/],
    [`${CAT}?x=1`, 400, /takes none/],
    ['/api/colormaps/jet?width=0', 400, /'width' must be between 1 and 1024/],
    ['/api/colormaps/jet?height=65', 400, /'height' must be between 1 and 64/],
    ['/api/colormaps/nope', 404, /unknown colour map/],
    ['/api/projects/nope', 404, /unknown project 'nope'/],
    ['/api/projects/broken', 404, /unknown project/],
    [`${P}/analyses/nope/categories/00000001`, 404, /no analysis 'nope'/],
    [`${P}/analyses/spectral_analysis/categories/99`, 404, /no category '99'/],
    [`${P}/analyses/spectral-analysis/categories/00000001`, 404, /no analysis 'spectral-analysis'/],
    ['/api/nothing', 404, /no API route/],
    ['/api/projects/%zz', 400, /malformed percent-encoding/],
  ];
  it.each(cases.map(([path, status, message]) => [path.length > 120 ? `${path.slice(0, 117)}...` : path, status, message, path] as const))(
    '%s → %i',
    async (_title, status, message, path) => {
      const res = await get(path);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.json<{ errorMessage: string }>().errorMessage).toMatch(message);
    },
  );

  it('refuses methods other than GET and HEAD', async () => {
    const res = await rawGet(port, '/api/projects', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });
});

describe('path traversal', () => {
  const attempts = [
    '/../package.json',
    '/assets/../package.json',
    '/assets/../../package.json',
    '/assets/..%2f..%2fpackage.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/assets/..%5c..%5cpackage.json',
    '//etc/passwd',
    '/etc/passwd',
    '/assets//etc/passwd',
    '/assets/%2fetc%2fpasswd',
    '/assets/%00index.html',
    '/dist/web/app.js',
    '/src/viewer/web/main.ts',
    `/api/projects/alpha-project/images/..%2f..%2f..%2fetc%2fpasswd`,
    '/api/projects/..%2f..%2fetc%2fpasswd',
    '/api/projects/alpha-project/analyses/..%2fanalysis.h5/categories/x',
    '/api/colormaps/..%2f..%2fpackage.json',
    `/api/projects/alpha-project/images/3?colormap=..%2f..%2f..%2fetc%2fpasswd&mode=attribution`,
    `/api/projects/alpha-project/images/3?colormap=%2Fetc%2Fpasswd&mode=attribution`,
    `/api/projects/${encodeURIComponent(join(tmpdir(), 'x'))}`,
  ];
  it.each(attempts)('%s is refused', async (path) => {
    const res = await get(path);
    expect([400, 404]).toContain(res.status);
    expect(res.text).not.toMatch(/root:|"name": "xai-tools"|HDF/);
  });
});

describe('process', () => {
  it('exits 1 with one line when no project loads', async () => {
    const res = await runCli(['serve', '--port', '0', join(dir, 'broken.yaml')]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n').at(-1)).toMatch(/^xai-tools: none of the 1 project file\(s\) could be loaded$/);
  });

  it('reports a port in use as a user error', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const busy = (blocker.address() as { port: number }).port;
    try {
      const res = await runCli(['serve', '--port', String(busy), join(dir, 'beta', 'project.yaml')]);
      // An error about an option's value is a usage error: exit 2 with the --help hint.
      expect(res.code).toBe(2);
      expect(res.stderr.trim()).toBe(
        `xai-tools: --port: port ${busy} on 127.0.0.1 is in use; choose another (--port 0 picks a free one) (see xai-tools serve --help)`,
      );
    } finally {
      blocker.close();
    }
  });

  it('rejects bad options as usage errors', async () => {
    expect((await runCli(['serve', '--port', '70000', 'x.yaml'])).code).toBe(2);
    expect((await runCli(['serve'])).code).toBe(2);
  });

  it('documents every option with its default', async () => {
    const help = await runCli(['serve', '--help']);
    expect(help.code).toBe(0);
    for (const text of ['--host', '"127.0.0.1"', '--port', '8080', '--open', '--cache-mb', '256']) expect(help.stdout).toContain(text);
  });

  it('--open hands the URL to the desktop opener', async () => {
    const bin = join(dir, 'fake-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\necho "$@" > ${join(dir, 'opened.txt')}\n`, { mode: 0o755 });
    const opened = await startServe(['--open', join(dir, 'beta', 'project.yaml')], { env: { PATH: `${bin}:${process.env.PATH}` } });
    try {
      for (let i = 0; i < 50 && !existsSync(join(dir, 'opened.txt')); i++) await new Promise((done) => setTimeout(done, 100));
      expect(readFileSync(join(dir, 'opened.txt'), 'utf8').trim()).toBe(opened.url);
    } finally {
      await opened.stop();
    }
  });

  it('shuts down cleanly on SIGINT and SIGTERM', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const other = await startServe([join(dir, 'beta', 'project.yaml')]);
      expect((await rawGet(other.port, '/api/projects')).status).toBe(200);
      const exited = new Promise<number | null>((done) => other.child.on('exit', (code) => done(code)));
      other.child.kill(signal);
      expect(await exited).toBe(0);
      expect(other.stdout()).toContain('Viewer stopped.');
      await expect(rawGet(other.port, '/')).rejects.toThrow();
    }
  });
});
