import { describe, expect, it } from 'vitest';
import { LruCache } from './lru.js';

const item = (n: number) => ({ byteLength: n });

describe('LruCache', () => {
  it('evicts the least recently used entries once over the byte budget', () => {
    const cache = new LruCache<{ byteLength: number }>(10);
    cache.set('a', item(4));
    cache.set('b', item(4));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('c', item(4)); // 12 bytes: b goes
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.byteSize).toBe(8);
    expect(cache.hits).toBe(3);
    expect(cache.misses).toBe(1);
  });

  it('replaces an entry under the same key and never keeps one larger than the budget', () => {
    const cache = new LruCache<{ byteLength: number }>(10);
    cache.set('a', item(3));
    cache.set('a', item(5));
    expect(cache.byteSize).toBe(5);
    cache.set('huge', item(11));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toBe(1);
  });
});
