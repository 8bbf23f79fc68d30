/**
 * Host-header check against DNS rebinding: a page on another origin can point its own host name at
 * 127.0.0.1 and then read the API with the browser's same-origin blessing; the one thing it cannot
 * change is the Host header, which still carries its name. So a request is served only when its
 * Host names the interface the server is bound to, a loopback name, or a name the user allowed
 * (`serve --allow-host`). Bound to a wildcard (0.0.0.0, ::), the machine's own addresses and host
 * name count as bound.
 */
import { hostname, networkInterfaces } from 'node:os';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/** The host part of a Host header, lower-case, without port or IPv6 brackets; undefined when malformed. */
export function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = header.trim().toLowerCase();
  if (value === '') return undefined;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return value.slice(1, end);
  }
  const colon = value.indexOf(':');
  if (colon >= 0 && !/^\d{1,5}$/.test(value.slice(colon + 1))) return undefined;
  const name = colon < 0 ? value : value.slice(0, colon);
  // A trailing dot names the same DNS host (`localhost.`).
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function isLoopback(name: string): boolean {
  return LOOPBACK_NAMES.includes(name) || name.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name === '::ffff:127.0.0.1';
}

/** Decides, per request, whether the Host header is one this server answers to. */
export function hostAllowlist(boundHost: string, allowed: readonly string[] = []): (header: string | undefined) => boolean {
  const names = new Set<string>([...allowed.map((h) => hostOf(h) ?? h.toLowerCase()), hostOf(boundHost) ?? boundHost.toLowerCase()]);
  if (boundHost === '0.0.0.0' || boundHost === '::' || boundHost === '') {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) names.add(a.address.toLowerCase());
  }
  return (header) => {
    const name = hostOf(header);
    return name !== undefined && (isLoopback(name) || names.has(name));
  };
}
