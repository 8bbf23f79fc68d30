import { badRequest } from './http-error.js';

/**
 * Query-string validation. Every route names the parameters it accepts; anything else, a repeated
 * parameter, or a malformed value is a 400 with a message that names the parameter.
 */
export class Query {
  private readonly values = new Map<string, string>();

  constructor(search: URLSearchParams, allowed: readonly string[]) {
    for (const [key, value] of search) {
      if (!allowed.includes(key)) {
        throw badRequest(
          allowed.length ? `unknown query parameter '${key}' (accepted: ${allowed.join(', ')})` : `unknown query parameter '${key}' (this route takes none)`,
        );
      }
      if (this.values.has(key)) throw badRequest(`query parameter '${key}' given more than once`);
      this.values.set(key, value);
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** A free-text value (names of embeddings, clusterings …); empty is rejected. */
  string(name: string, fallback?: string): string {
    const raw = this.values.get(name);
    if (raw === undefined) {
      if (fallback === undefined) throw badRequest(`missing query parameter '${name}'`);
      return fallback;
    }
    if (raw.length === 0) throw badRequest(`query parameter '${name}' is empty`);
    if (raw.length > 512) throw badRequest(`query parameter '${name}' is too long`);
    return raw;
  }

  optionalString(name: string): string | undefined {
    return this.values.has(name) ? this.string(name) : undefined;
  }

  /** One of a fixed set of words. */
  choice<T extends string>(name: string, choices: readonly T[], fallback?: T): T {
    const raw = this.string(name, fallback);
    if (!(choices as readonly string[]).includes(raw)) {
      throw badRequest(`query parameter '${name}' must be one of ${choices.join(', ')} (got '${clip(raw)}')`);
    }
    return raw as T;
  }

  /** A decimal integer in [min, max]. */
  integer(name: string, range: { min: number; max: number }, fallback?: number): number {
    const raw = this.values.get(name);
    if (raw === undefined) {
      if (fallback === undefined) throw badRequest(`missing query parameter '${name}'`);
      return fallback;
    }
    return parseInteger(raw, `query parameter '${name}'`, range);
  }

  /** A comma-separated list of integers in [min, max], at least one, at most `maxCount`. */
  integerList(name: string, range: { min: number; max: number }, maxCount: number): number[] {
    const raw = this.values.get(name);
    if (raw === undefined) throw badRequest(`missing query parameter '${name}'`);
    if (raw.length === 0) throw badRequest(`query parameter '${name}' is empty`);
    const parts = raw.split(',');
    if (parts.length > maxCount) throw badRequest(`query parameter '${name}' lists ${parts.length} values; at most ${maxCount} are allowed`);
    return parts.map((part) => parseInteger(part, `query parameter '${name}'`, range));
  }
}

/** Parses a path segment or parameter that must be a plain decimal integer. */
export function parseInteger(raw: string, what: string, range: { min: number; max: number }): number {
  if (!/^-?\d{1,15}$/.test(raw)) throw badRequest(`${what} must be an integer (got '${clip(raw)}')`);
  const value = Number(raw);
  if (value < range.min || value > range.max) throw badRequest(`${what} must be between ${range.min} and ${range.max} (got ${value})`);
  return value;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
