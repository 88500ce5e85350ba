import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCALES_DIR, NAMESPACES } from '../../module/i18n/i18n.js';

type Tree = { [k: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'string') out.set(prefix + k, v);
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}

const load = (lng: string, ns: string) => flatten(JSON.parse(readFileSync(join(LOCALES_DIR, lng, `${ns}.json`), 'utf8')) as Tree);
const placeholders = (s: string) => [...s.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1]).sort();

describe('locales', () => {
  it('every namespace the module loads exists in every language, and nothing else', () => {
    for (const lng of ['en', 'ko', 'ja']) {
      const files = readdirSync(join(LOCALES_DIR, lng)).filter((f) => f.endsWith('.json')).map((f) => f.replace('.json', '')).sort();
      expect(files, lng).toEqual([...NAMESPACES].sort());
    }
  });

  for (const ns of NAMESPACES) {
    for (const lng of ['ko', 'ja']) {
      it(`${lng}/${ns}: same keys and placeholders as en, translated`, () => {
        const en = load('en', ns);
        const other = load(lng, ns);
        expect([...other.keys()].sort(), 'keys').toEqual([...en.keys()].sort());
        for (const [key, value] of en) {
          const translated = other.get(key)!;
          expect(placeholders(translated), `${lng}:${ns}:${key} placeholders`).toEqual(placeholders(value));
          // A value copied over is a missed translation; even a pure pattern like "{{a}} ({{b}})"
          // has its own punctuation and word order in Korean and Japanese.
          expect(translated, `${lng}:${ns}:${key}`).not.toBe(value);
        }
      });
    }
  }
});
