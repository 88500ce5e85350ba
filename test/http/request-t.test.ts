import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { describe, expect, it, vi } from 'vitest';
import { SUPPORTED_LOCALES } from '../../module/config/options.js';
import { createI18n, LOCALES_DIR, NAMESPACES } from '../../module/i18n/i18n.js';
import { fastRequestT, LanguageStrings, requestT } from '../../module/http/common/request-t.js';
import type { ModuleContext } from '../../module/http/common/module-context.js';

const i18n = await createI18n('en');

/** Every leaf key of a namespace as `ns:path`, with its placeholder names. */
function keys(lng: string): { key: string; placeholders: string[] }[] {
  const out: { key: string; placeholders: string[] }[] = [];
  for (const ns of NAMESPACES) {
    const walk = (node: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(node)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (typeof v === 'string') out.push({ key: `${ns}:${path}`, placeholders: [...v.matchAll(/\{\{-?\s*(\w+)/g)].map((m) => m[1]!) });
        else if (v && typeof v === 'object') walk(v as Record<string, unknown>, path);
      }
    };
    walk(JSON.parse(readFileSync(join(LOCALES_DIR, lng, `${ns}.json`), 'utf8')), '');
  }
  return out;
}

describe('the request translate function answers exactly as i18next does', () => {
  for (const lng of SUPPORTED_LOCALES) {
    it(`for every key of every namespace in ${lng}, with and without values`, () => {
      const full = i18n.getFixedT(lng) as unknown as (k: string | string[], o?: Record<string, unknown>) => string;
      let slowCalls = 0;
      const t = requestT(new LanguageStrings(i18n, lng), (k, o) => { slowCalls += 1; return full(k, o); });
      const all = keys(lng);
      expect(all.length).toBeGreaterThan(100);
      const values = [
        (name: string) => `<${name}> & "x"`,
        (name: string) => name.length,
        () => '{{max}} $t(errors:name_required) {{- raw}}',
      ];
      for (const { key, placeholders } of all) {
        expect(t(key), key).toBe(full(key));
        for (const value of values) {
          const opts = Object.fromEntries(placeholders.map((p) => [p, value(p)]));
          expect(t(key, opts), key).toBe(full(key, opts));
        }
        expect(t(key, { count: 2 }), key).toBe(full(key, { count: 2 }));
        expect(t(key, { defaultValue: 'd' }), key).toBe(full(key, { defaultValue: 'd' }));
      }
      expect(t('snapshots:no_such_key'), 'missing key').toBe(full('snapshots:no_such_key'));
      expect(t(['snapshots:no_such_key', 'snapshots:title'])).toBe(full(['snapshots:no_such_key', 'snapshots:title']));
      // The point of it: plain keys and simple placeholders never reach i18next.
      slowCalls = 0;
      const fresh = requestT(new LanguageStrings(i18n, lng), (k, o) => { slowCalls += 1; return full(k, o); });
      fresh('snapshots:title');
      fresh('snapshots:action.pin_label', { name: 'n' });
      expect(slowCalls).toBe(0);
    });
  }

  it('falls back like i18next when a key is missing in the language, and remembers slow answers per request', () => {
    let calls = 0;
    const t = requestT(new LanguageStrings(i18n, 'ko'), (k, o) => { calls += 1; return (i18n.getFixedT('ko') as unknown as (a: string, b?: object) => string)(k as string, o); });
    expect(t('errors:no_such_code', { defaultValue: 'fallback' })).toBe('fallback');
    expect(t('errors:no_such_code', { defaultValue: 'fallback' })).toBe('fallback');
    expect(calls).toBe(1);
  });

  it('shares a language\'s templates between requests, and sees resources added later', async () => {
    const own = await createI18n('en');
    const middleware = fastRequestT({ i18n: own } as unknown as ModuleContext);
    const tFor = (language: string) => {
      const req = { language, t: own.getFixedT(language) } as unknown as Request;
      middleware(req, {} as Response, () => {});
      return req.t as unknown as (k: string, o?: Record<string, unknown>) => string;
    };
    const getResource = vi.spyOn(own, 'getResource');
    expect(tFor('en')('snapshots:title')).toBe('Snapshots');
    expect(tFor('en')('snapshots:title')).toBe('Snapshots');
    expect(tFor('ko-KR')('snapshots:title')).toBe(own.getFixedT('ko')('snapshots:title'));
    expect(getResource).toHaveBeenCalledTimes(2);
    own.addResource('en', 'snapshots', 'title', 'Backups of {{name}}');
    expect(tFor('en')('snapshots:title', { name: '<b>' })).toBe('Backups of <b>');
  });
});
