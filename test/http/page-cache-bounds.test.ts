import { describe, expect, it } from 'vitest';
import { Html } from '../../module/http/common/html-chunks.js';
import { PageCache, TOKEN_SLOT } from '../../module/http/common/page-cache.js';

const body = (text: string) => new Html([`<form><input name="_csrf" value="${TOKEN_SLOT}">`, text, `<input value="${TOKEN_SLOT}"></form>`]);
// What a body with no text of its own takes in the cache (its token slots included).
const fixed = Buffer.byteLength(body('').toString());

describe('PageCache', () => {
  it('gives each reuse its own token, escaped, in every slot', () => {
    const cache = new PageCache(1024);
    cache.set('k', 'fp', body('日本語 — ok'), 'v');
    const hit = cache.get<string>('k', 'fp')!;
    expect(hit.value).toBe('v');
    expect(hit.body('a"b<c').toString()).toBe('<form><input name="_csrf" value="a&#34;b&lt;c">日本語 — ok<input value="a&#34;b&lt;c"></form>');
    expect(hit.body('t2').toString()).toContain('value="t2">日本語');
  });

  it('drops a body once its data changed, and keeps at most maxBytes, the least recently used leaving first', () => {
    const size = fixed + 10;
    const cache = new PageCache(size * 3);
    for (const k of ['a', 'b', 'c']) cache.set(k, 'fp', body('x'.repeat(10)), k);
    expect(cache.held()).toEqual({ pages: 3, bytes: size * 3 });
    expect(cache.get('a', 'other')).toBeUndefined();
    expect(cache.get('a', 'fp'), 'a changed: gone').toBeUndefined();
    expect(cache.held()).toEqual({ pages: 2, bytes: size * 2 });
    cache.set('a', 'fp', body('x'.repeat(10)), 'a');
    cache.get('b', 'fp');
    cache.set('d', 'fp', body('x'.repeat(10)), 'd');
    // c was the least recently used: b was just read, a and d just kept.
    expect(cache.get('c', 'fp')).toBeUndefined();
    expect(['a', 'b', 'd'].map((k) => cache.get<string>(k, 'fp')?.value)).toEqual(['a', 'b', 'd']);
    expect(cache.held().bytes).toBeLessThanOrEqual(size * 3);
  });

  it('answers a body too large to keep without keeping it, and keeps nothing with 0 bytes', () => {
    const small = new PageCache(fixed + 5);
    const page = small.set('k', 'fp', body('x'.repeat(10)), 'v');
    expect(page.body('t').toString()).toContain('xxxxxxxxxx');
    expect(small.held()).toEqual({ pages: 0, bytes: 0 });
    const none = new PageCache(0);
    expect(none.enabled).toBe(false);
    none.set('k', 'fp', body(''), 'v');
    expect(none.get('k', 'fp')).toBeUndefined();
  });
});
