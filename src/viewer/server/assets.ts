import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etagOf, type Reply } from './reply.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The page's built files, read into memory once at start. Requests are answered from this map by
 * exact name, so no part of a request path is ever joined to a directory on disk.
 */
export class Assets {
  private readonly files = new Map<string, Reply>();

  constructor(dir: string) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const body = readFileSync(join(dir, entry.name));
      this.files.set(entry.name, {
        contentType: CONTENT_TYPES[extname(entry.name)] ?? 'application/octet-stream',
        body,
        etag: etagOf(body),
      });
    }
    if (!this.files.has('index.html')) throw new Error(`the viewer's page is not built (${dir} has no index.html; run npm run build)`);
  }

  get(name: string): Reply | undefined {
    return this.files.get(name);
  }

  /** dist/web next to the compiled server, or the build output when running from src/ with tsx. */
  static locate(): string {
    const here = dirname(fileURLToPath(import.meta.url));
    const candidates = [join(here, '..', '..', 'web'), join(here, '..', '..', '..', 'dist', 'web')];
    return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0];
  }
}
