import { createHash } from 'node:crypto';

/** What a handler answers; the server turns it into headers and a body (and 304s on a matching ETag). */
export interface Reply {
  status?: number;
  contentType: string;
  body: Buffer;
  /** Strong validator; the same resource with the same data always gets the same tag. */
  etag?: string;
  /** Cache-Control value; defaults to `no-cache` (revalidate with the ETag every time). */
  cacheControl?: string;
  /** Further response headers (e.g. Location of a redirect). */
  headers?: Record<string, string>;
}

export function jsonReply(value: unknown, options: { status?: number; etag?: boolean } = {}): Reply {
  const body = Buffer.from(JSON.stringify(value));
  return {
    status: options.status,
    contentType: 'application/json; charset=utf-8',
    body,
    etag: options.etag === false ? undefined : etagOf(body),
  };
}

export function etagOf(...parts: Array<string | Uint8Array>): string {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return `"${hash.digest('base64url').slice(0, 22)}"`;
}
