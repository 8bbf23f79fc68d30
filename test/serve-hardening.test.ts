/**
 * `serve` against hostile requests and broken data, through the real CLI: Host-header allow-list
 * (DNS rebinding), framing headers, undecodable sample images answer 422 (never 500), and an
 * analysis that `project check` would reject is refused at load while the rest is served.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureProject } from './browser/fixtures.js';
import { rawGet, startServe, type ServeProcess } from './browser/server-process.js';
import { repoRoot, runCli } from './helpers/cli.js';

let dir: string;
let serve: ServeProcess;
let imageServe: ServeProcess;
let imageProject: string;
let fixture: string;

/** Sends a request exactly as written (so the Host header can be absent or anything). */
function rawRequest(port: number, text: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0), text: data }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-serve-hard-'));
  fixture = await writeFixtureProject(join(dir, 'alpha'), { name: 'Alpha', classes: 3, perClass: 10, size: 8, secondAnalysis: true });
  // raw_analysis gets a clustering three labels shorter than its index: what once made /points answer 500.
  execFileSync('/usr/bin/python3', [
    '-c',
    `
import sys, h5py
with h5py.File(sys.argv[1], 'a') as f:
    g = f['00000000/cluster']
    name = sorted(g)[0]
    d = g[name][...]
    del g[name]
    g[name] = d[:-3]
`,
    join(dir, 'alpha', 'analysis-raw.h5'),
  ]);
  serve = await startServe([fixture, '--allow-host', 'viewer.lan', '--allow-host', 'Other.Example']);

  // An image-directory project with every kind of undecodable file beside good images.
  const images = join(dir, 'images');
  cpSync(join(repoRoot, 'fixtures', 'h5py', 'images'), images, { recursive: true });
  cpSync(join(repoRoot, 'fixtures', 'h5py', 'label-map.json'), join(dir, 'label-map.json'));
  writeFileSync(join(images, 'label-0', 'empty.jpg'), '');
  writeFileSync(join(images, 'label-1', 'truncated.png'), readFileSync(join(images, 'label-1', 'img-01.png')).subarray(0, 40));
  writeFileSync(join(images, 'label-2', 'notes.txt'), 'not an image\n');
  symlinkSync('loop.png', join(images, 'label-0', 'loop.png'));
  imageProject = join(dir, 'images.yaml');
  writeFileSync(imageProject, readFileSync(join(repoRoot, 'fixtures', 'h5py', 'project-images.yaml'), 'utf8'));
  imageServe = await startServe([imageProject]);
});

afterAll(async () => {
  await serve?.stop();
  await imageServe?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Host header (DNS rebinding)', () => {
  it('refuses a foreign Host with 403 and a JSON message, on the page and the API', async () => {
    for (const path of ['/', '/api/projects', '/assets/app.js', '/api/projects/alpha/images/0']) {
      const res = await rawGet(serve.port, path, { headers: { Host: `attacker.example:${serve.port}` } });
      expect(res.status).toBe(403);
      expect(res.json<{ errorMessage: string }>().errorMessage).toMatch(/Host 'attacker\.example:\d+' is not served here .*--allow-host/);
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
    // Look-alikes of allowed names are foreign too.
    for (const host of ['localhost.attacker.example', '127.0.0.1.nip.io', 'viewer.lan.evil', `127.0.0.1:${serve.port}@evil`]) {
      const res = await rawGet(serve.port, '/api/projects', { headers: { Host: host } });
      expect(res.status, `${host}: ${res.text}`).toBe(403);
    }
  });

  it('answers the bound host, loopback names and --allow-host names (any port, any case)', async () => {
    for (const host of [
      `127.0.0.1:${serve.port}`,
      `localhost:${serve.port}`,
      'LOCALHOST',
      `[::1]:${serve.port}`,
      '127.0.0.2',
      'app.localhost',
      `viewer.lan:${serve.port}`,
      'other.example',
    ]) {
      expect((await rawGet(serve.port, '/api/projects', { headers: { Host: host } })).status, host).toBe(200);
    }
  });

  it('refuses a request without a Host header', async () => {
    const res = await rawRequest(serve.port, 'GET /api/projects HTTP/1.0\r\n\r\n');
    expect(res.status).toBe(403);
    expect(res.text).toContain('no Host header is not served here');
  });
});

describe('framing', () => {
  it("every answer forbids framing: CSP frame-ancestors 'none' and X-Frame-Options DENY", async () => {
    for (const path of ['/', '/api/projects', '/api/nothing']) {
      const res = await rawGet(serve.port, path);
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });
});

describe('an analysis that project check rejects', () => {
  it('is refused at load with the file and reason on stderr; the rest of the project is served', async () => {
    const lines = serve.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        String.raw`^xai-tools: .*analysis-raw\.h5: '00000000\/cluster\/\S+' has shape \(7\), expected \(10,\) ` +
          String.raw`to match '00000000\/index' \(analysis 'raw_analysis' not served\)$`,
      ),
    );
    const project = (await rawGet(serve.port, '/api/projects/alpha')).json<{ analyses: Array<{ name: string }> }>();
    expect(project.analyses.map((a) => a.name)).toEqual(['spectral_analysis']);
    expect((await rawGet(serve.port, '/api/projects/alpha/analyses/raw_analysis/categories/00000000')).status).toBe(404);
    const points = await rawGet(
      serve.port,
      '/api/projects/alpha/analyses/spectral_analysis/categories/00000000/points?embedding=spectral&clustering=kmeans-02',
    );
    expect(points.status).toBe(200);
  });

  it('project check refuses the same project with the same reason', async () => {
    const r = await runCli(['project', 'check', fixture]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xai-tools: .*analysis-raw\.h5: '00000000\/cluster\/\S+' has shape \(7\), expected \(10,\)/);
  });
});

describe('undecodable sample images', () => {
  it('answer 422 with a JSON reason (0-byte JPEG, truncated PNG, .txt, symlink loop), never 500; good images still 200', async () => {
    const project = (await rawGet(imageServe.port, '/api/projects')).json<Array<{ id: string; dataset: { count: number } }>>()[0]!;
    expect(project.dataset.count).toBe(13);
    const statuses: number[] = [];
    const reasons: string[] = [];
    for (let i = 0; i < project.dataset.count; i++) {
      const res = await rawGet(imageServe.port, `/api/projects/${project.id}/images/${i}`);
      statuses.push(res.status);
      if (res.status === 422) {
        expect(res.headers['content-type']).toContain('application/json');
        reasons.push(res.json<{ errorMessage: string }>().errorMessage);
      } else expect(res.headers['content-type']).toBe('image/png');
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    expect(statuses.filter((s) => s === 422)).toHaveLength(4);
    for (const reason of reasons) expect(reason).toMatch(/^sample \d+ cannot be decoded: /);
    for (const name of ['empty.jpg', 'truncated.png', 'notes.txt', 'loop.png'])
      expect(
        reasons.some((r) => r.includes(name)),
        reasons.join('\n'),
      ).toBe(true);
    // Asked again (cached or not) the answer stays 422.
    const again = await rawGet(imageServe.port, `/api/projects/${project.id}/images/${statuses.indexOf(422)}`);
    expect(again.status).toBe(422);
    expect(imageServe.stderr()).not.toContain('internal error');
  });
});
