/**
 * Fuzz: HTTP requests (methods, paths, query strings, headers) against a real `serve` process.
 * Requests are written to the socket byte for byte (no client-side normalisation), built from the
 * API's real route shapes with hostile pieces mixed in. Every answer must come within the timeout
 * and be below 500; the server must keep running and never log an internal error.
 */
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureProject } from '../browser/fixtures.js';
import { rawGet, startServe, type ServeProcess } from '../browser/server-process.js';
import { cases, draw } from './harness.js';

let dir: string;
let serve: ServeProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-fuzz-http-'));
  const project = await writeFixtureProject(join(dir, 'alpha'), { name: 'Alpha', classes: 2, perClass: 8, size: 8, attributionEvery: 2 });
  serve = await startServe([project]);
});
afterAll(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const segmentArb = fc.oneof(
  fc.constantFrom(
    'api',
    'projects',
    'alpha',
    'analyses',
    'spectral_analysis',
    'categories',
    '00000000',
    '00000001',
    'points',
    'samples',
    'images',
    'attributions',
    'range',
    'colormaps',
    'evaluation',
    'assets',
    'app.js',
    'index.html',
    '',
  ),
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2F',
    '%00',
    '%',
    '%zz',
    '%C0%AF',
    '-1',
    '0',
    '7',
    '15',
    '16',
    '99999999999999999999',
    '1e3',
    '0x10',
    ' ',
    '\u00e9',
    '%E2%80%AE',
    '*',
  ),
  fc.string({ maxLength: 8 }),
  fc.nat({ max: 40 }).map(String),
);
const queryValueArb = fc.oneof(
  fc.constantFrom(
    '',
    'input',
    'attribution',
    'overlay',
    'jet',
    'bwr',
    'black-fire-red',
    'symmetric',
    'minmax',
    'spectral',
    'kmeans-02',
    '0',
    '1',
    '-1',
    '0,1,2',
    '1,,2',
    '9'.repeat(30),
    '%',
    '%00',
  ),
  fc.string({ maxLength: 10 }),
  fc.nat().map(String),
);
const queryArb = fc.array(
  fc.tuple(
    fc.constantFrom(
      'mode',
      'colormap',
      'scale',
      'indices',
      'embedding',
      'clustering',
      'x',
      'y',
      'width',
      'height',
      'project',
      'analysis',
      'category',
      'zz',
      '',
    ),
    queryValueArb,
  ),
  { maxLength: 5 },
);
const headerArb = fc.oneof(
  fc.tuple(
    fc.constantFrom(
      'If-None-Match',
      'Range',
      'Accept',
      'Accept-Encoding',
      'Cookie',
      'Origin',
      'X-Forwarded-For',
      'Content-Length',
      'Transfer-Encoding',
      'Expect',
      'Connection',
    ),
    fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('*', 'bytes=0-1', 'bytes=-5', 'gzip', 'chunked', '100-continue', 'close', '0', '-1', '"x"')),
  ),
  fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/), fc.string({ maxLength: 20 })),
);
const requestArb = fc.record({
  method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'BREW'),
  segments: fc.oneof({ arbitrary: fc.constant([] as string[]), weight: 2 }, { arbitrary: fc.array(segmentArb, { minLength: 1, maxLength: 9 }), weight: 3 }),
  // Mostly real route prefixes, so the fuzz reaches the handlers and their parameter checks.
  prefix: fc.constantFrom(
    [],
    ['api'],
    ['api', 'projects'],
    ['api', 'projects', 'alpha', 'images', '0'],
    ['api', 'projects', 'alpha', 'samples', '2'],
    ['api', 'colormaps', 'jet'],
    ['api', 'projects', 'alpha'],
    ['api', 'projects', 'alpha', 'images'],
    ['api', 'projects', 'alpha', 'samples'],
    ['api', 'projects', 'alpha', 'analyses', 'spectral_analysis', 'categories', '00000000'],
    ['api', 'colormaps'],
    ['projects'],
  ),
  query: queryArb,
  rawQuery: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  host: fc.constantFrom('127.0.0.1', '127.0.0.1', 'localhost', 'attacker.example', '', '[::1]', '127.0.0.1:1', 'x'.repeat(300)),
  headers: fc.array(headerArb, { maxLength: 4 }),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
});
type FuzzRequest = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

/** Header values cannot hold CR/LF (that would be a different request); everything else goes through. */
const clean = (s: string): string => s.replace(/[\r\n]/g, '');

function requestText(r: FuzzRequest, port: number): string {
  const path = `/${[...r.prefix, ...r.segments].map((s) => clean(s).replace(/[ ?#]/g, encodeURIComponent)).join('/')}`;
  const query =
    r.rawQuery !== undefined
      ? `?${clean(r.rawQuery).replace(/[ #]/g, '+')}`
      : r.query.length
        ? `?${r.query.map(([k, v]) => `${k}=${clean(v).replace(/[ #&]/g, encodeURIComponent)}`).join('&')}`
        : '';
  const lines = [`${r.method} ${path}${query} ${r.version}`];
  if (r.host !== '') lines.push(`Host: ${r.host.startsWith('127.0.0.1') || r.host === 'localhost' ? `${r.host}:${port}` : r.host}`);
  for (const [name, value] of r.headers) if (!/^(content-length|transfer-encoding)$/i.test(name)) lines.push(`${name}: ${clean(value)}`);
  lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Sends one raw request; resolves with the status code (0 when the server closed without one). */
function send(port: number, text: string, timeoutMs: number): Promise<{ status: number; timedOut: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ status: 0, timedOut: true });
    }, timeoutMs);
    socket.on('data', (d) => {
      if (head.length < 64) head += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), timedOut: false });
    });
  });
}

describe('fuzz: HTTP requests against a real serve', () => {
  const count = cases(1000);
  it(`${count} requests: every one answered below 500 within 10 s; the server keeps running`, async () => {
    const requests = draw(requestArb, count, 5);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    // Four connections at a time: concurrency is part of what a server must survive.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < requests.length) {
          const text = requestText(requests[next++]!, serve.port);
          const { status, timedOut } = await send(serve.port, text, 10_000);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (timedOut || status >= 500 || status === 0)
            failures.push(`${timedOut ? 'hang' : status === 0 ? 'no answer' : status}: ${JSON.stringify(text.slice(0, 300))}`);
        }
      }),
    );
    expect(failures).toEqual([]);
    // The fuzz reached the handlers (not only 404s and 403s): successes and parameter errors both occur.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect((statuses.get(400) ?? 0) + (statuses.get(404) ?? 0)).toBeGreaterThan(0);
    expect(statuses.get(403) ?? 0).toBeGreaterThan(0);
    expect((await rawGet(serve.port, '/api/projects')).status).toBe(200);
    expect(serve.stderr()).not.toMatch(/internal error/);
  });
});
