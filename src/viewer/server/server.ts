import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { UserError } from '../../errors.js';
import { Assets } from './assets.js';
import { hostAllowlist } from './host-check.js';
import { HttpError, badRequest, notFound } from './http-error.js';
import { ImageRenderer } from './images.js';
import { LruCache } from './lru.js';
import type { ViewerProject } from './model.js';
import { Query } from './params.js';
import { jsonReply, type Reply } from './reply.js';
import { matchRoute, type ApiContext } from './routes.js';
import { virelayLinkRedirect } from './virelay-link.js';

export interface ViewerServerOptions {
  projects: ViewerProject[];
  host: string;
  port: number;
  /** Directory of the built page (default: dist/web). */
  assetsDir?: string;
  /** Memory budget of the rendered-image cache. */
  imageCacheBytes?: number;
  /** Further Host-header names to answer besides the bound host and loopback names (`serve --allow-host`). */
  allowHosts?: string[];
  /** Called with one line per failed request that is a bug (500), for the server log. */
  onInternalError?: (error: unknown) => void;
}

export interface RunningViewer {
  url: string;
  port: number;
  server: Server;
  images: ImageRenderer;
  close(): Promise<void>;
}

// regl (under regl-scatterplot) compiles its draw calls with `new Function`, hence 'unsafe-eval';
// everything else is limited to this origin.
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // No other origin may frame the page (clickjacking); X-Frame-Options for browsers without CSP level 2.
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; script-src 'self' " +
    "'unsafe-eval'; frame-ancestors 'none'",
};

/**
 * Splits the raw request target into decoded path segments and the query. The raw path is parsed
 * here instead of through `new URL` so that `..`, `.` and encoded slashes stay visible as
 * segments and can be refused; nothing from the path is ever used to build a file name.
 */
export function parseTarget(target: string): { segments: string[]; search: URLSearchParams } {
  if (!target.startsWith('/')) throw badRequest('request target must be an absolute path');
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawSegments = rawPath.slice(1).split('/');
  const segments = rawSegments.map((raw) => {
    try {
      return decodeURIComponent(raw);
    } catch {
      throw badRequest('malformed percent-encoding in the path');
    }
  });
  if (segments.some((s) => s === '.' || s === '..' || s.includes('\0'))) throw notFound('no such resource');
  // A trailing slash (`/api/projects/`) names the same resource as without it.
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  return { segments, search: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
}

async function resolve(ctx: ApiContext, assets: Assets, target: string): Promise<Reply> {
  const { segments, search } = parseTarget(target);
  if (segments[0] === 'api') {
    const match = matchRoute(segments.slice(1));
    if (!match) throw notFound(`no API route ${segments.join('/')}`);
    return match.route.handle(ctx, match.params, new Query(search, match.route.query));
  }
  if (segments[0] === 'projects' && segments.length === 2) return virelayLinkRedirect(ctx.projects, segments[1], search);
  // The page itself: `/` (state lives in the query string) and its built files by exact name.
  const name =
    segments.length === 1 && (segments[0] === '' || segments[0] === 'index.html')
      ? 'index.html'
      : segments.length === 2 && segments[0] === 'assets'
        ? segments[1]
        : undefined;
  const asset = name === undefined ? undefined : assets.get(name);
  if (!asset) throw notFound('no such resource');
  return asset;
}

function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'Content-Type': reply.contentType,
    'Cache-Control': reply.cacheControl ?? 'no-cache',
    ...reply.headers,
  };
  if (reply.etag) {
    headers.ETag = reply.etag;
    const tags = req.headers['if-none-match'];
    if (tags && tags.split(',').some((t) => t.trim() === reply.etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
  }
  headers['Content-Length'] = reply.body.byteLength;
  res.writeHead(reply.status ?? 200, headers);
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}

export async function startViewer(options: ViewerServerOptions): Promise<RunningViewer> {
  const assets = new Assets(options.assetsDir ?? Assets.locate());
  const images = new ImageRenderer({ cacheBytes: options.imageCacheBytes ?? 256 * 1024 * 1024 });
  const ctx: ApiContext = { projects: options.projects, images, points: new LruCache<Buffer>(64 * 1024 * 1024) };

  const hostAllowed = hostAllowlist(options.host, options.allowHosts);
  const server = createServer((req, res) => {
    if (!hostAllowed(req.headers.host)) {
      const shown = req.headers.host === undefined ? 'no Host header' : `Host '${req.headers.host.slice(0, 200)}'`;
      send(
        req,
        res,
        jsonReply(
          { errorMessage: `${shown} is not served here (DNS rebinding protection); start serve with --allow-host NAME to allow a name` },
          { status: 403, etag: false },
        ),
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(req, res, jsonReply({ errorMessage: `method ${req.method} is not allowed` }, { status: 405, etag: false }));
      return;
    }
    resolve(ctx, assets, req.url ?? '/').then(
      (reply) => send(req, res, reply),
      (error: unknown) => {
        if (error instanceof HttpError) {
          send(req, res, jsonReply({ errorMessage: error.message }, { status: error.status, etag: false }));
          return;
        }
        // A file the project references turned out unreadable or inconsistent: the data's fault, not the server's.
        if (error instanceof UserError) {
          send(req, res, jsonReply({ errorMessage: error.line }, { status: 422, etag: false }));
          return;
        }
        options.onInternalError?.(error);
        send(req, res, jsonReply({ errorMessage: 'internal server error' }, { status: 500, etag: false }));
      },
    );
  });
  server.keepAliveTimeout = 5000;
  // CONNECT (proxy tunnels) bypasses the request handler; without this listener Node drops the
  // socket without an answer. This server is no proxy: answer 405 like any other method.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    const body = JSON.stringify({ errorMessage: 'method CONNECT is not allowed' });
    socket.on('error', () => {});
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ` +
        `${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    server,
    images,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
