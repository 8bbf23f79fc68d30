/**
 * `serve --host` and `--cache-mb` through the real CLI: the server listens on the interface it is
 * given and nowhere else, a host it cannot bind is a one-line `--host` error, and the image-cache
 * size is validated and, at its smallest, still serves every image correctly (nothing cached that
 * does not fit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureProject } from './browser/fixtures.js';
import { rawGet, startServe } from './browser/server-process.js';
import { runCli } from './helpers/cli.js';

let dir: string;
let project: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xai-serve-options-'));
  project = await writeFixtureProject(join(dir, 'p'), { name: 'P', classes: 2, perClass: 6, size: 8 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves true when a TCP connection to host:port is accepted, false when it is refused. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('serve --host', () => {
  it('listens on the given loopback address only', async () => {
    // 127.0.0.2 is loopback on Linux but a different interface address from 127.0.0.1.
    const serve = await startServe(['--host', '127.0.0.2', project]);
    try {
      expect(serve.url).toBe(`http://127.0.0.2:${serve.port}/`);
      expect(await accepts('127.0.0.2', serve.port)).toBe(true);
      expect(await accepts('127.0.0.1', serve.port)).toBe(false);
    } finally {
      await serve.stop();
    }
  });

  it('an address the machine does not have is a one-line --host error', async () => {
    const r = await runCli(['serve', '--port', '0', '--host', '192.0.2.1', project]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^xai-tools: --host: cannot listen on 192\.0\.2\.1:0 \(EADDRNOTAVAIL\)/)]);
  });
});

describe('serve --cache-mb', () => {
  it('refuses sizes outside 1…65536 as usage errors naming the option', async () => {
    for (const value of ['0', '65537', '1.5', 'lots']) {
      const r = await runCli(['serve', '--cache-mb', value, project]);
      expect(r.code, value).toBe(2);
      expect(r.stderr, value).toMatch(/--cache-mb.*expected an integer from 1 to 65536/);
    }
  });

  it('with the smallest cache, repeated and interleaved image requests give identical bytes', async () => {
    const serve = await startServe(['--cache-mb', '1', project]);
    const path = (i: number, mode: string) => `/api/projects/p/images/${i}?mode=${mode}&colormap=bwr`;
    try {
      const first = new Map<string, Buffer>();
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 12; i++) {
          for (const mode of ['input', 'attribution', 'overlay']) {
            const r = await rawGet(serve.port, path(i, mode));
            expect(r.status, path(i, mode)).toBe(200);
            const key = path(i, mode);
            if (round === 0) first.set(key, r.body);
            else expect(r.body.equals(first.get(key)!), key).toBe(true);
          }
        }
      }
      // Different samples are different pictures: the cache never answers one key with another's bytes.
      expect(first.get(path(0, 'attribution'))!.equals(first.get(path(1, 'attribution'))!)).toBe(false);
    } finally {
      await serve.stop();
    }
  });
});
